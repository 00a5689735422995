/**
 * A running job of the bundled runtime: builds subtasks and channels from a job spec, restores from
 * a savepoint or checkpoint with any per-vertex parallelism (key groups and source splits
 * redistributed), runs periodic checkpoints, takes savepoints, stops with a savepoint, and fails
 * over from the last completed checkpoint under a fixed-delay restart strategy.
 */
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type LogEvent, type Logger, type MetricPoint, silentLogger, StreamtuneError } from '../core/index.ts';
import { DEFAULT_MAX_PARALLELISM, checkParallelism, keyGroupOf, keyGroupRange } from './keygroups.ts';
import { isSourceSpec, parseDuration, type JobSpec, type VertexSpec } from './spec.ts';
import { Channel, InputGate } from './stream.ts';
import { Subtask, type OutputEdge } from './task.ts';
import { Faults } from './faults.ts';
import { CheckpointCoordinator, type CheckpointStats, type CompletedCheckpoint, type CoordinatorSettings } from './checkpoint/coordinator.ts';
import { readCheckpoint, type CheckpointMetadata } from './checkpoint/storage.ts';
import type { Operator, Rec, RestoredState } from './operators/types.ts';
import type { SourceReader } from './sources/types.ts';
import { createMap, createFilter } from './operators/basic.ts';
import { createLookup } from './operators/lookup.ts';
import { createWindowAggregate } from './operators/window.ts';
import { createJsonlSink, prepareJsonlSinkDir } from './sinks/jsonl.ts';
import { createCollectSink, createDiscardSink } from './sinks/simple.ts';
import { createDatasetSource, type SplitOffset } from './sources/dataset.ts';
import { createGeneratorSource } from './sources/generator.ts';
import { resolveDataPath } from './paths.ts';
import { randomId, vertexId } from './ids.ts';
import { ProcessMetrics, jobMetricPoints } from './metrics/points.ts';

/** A source vertex's `idleTimeout` in ms (0 = never idle), from any source type that has the setting. */
function sourceIdleTimeout(v: VertexSpec): number {
  const t = (v as { idleTimeout?: number | string }).idleTimeout;
  return t === undefined ? 0 : parseDuration(t, `vertex '${v.name}' idleTimeout`, 0);
}

/** Job lifecycle (Flink's JobStatus names). */
export type JobState = 'CREATED' | 'INITIALIZING' | 'RUNNING' | 'RESTARTING' | 'FAILED' | 'CANCELLING' | 'CANCELED' | 'FINISHED';

/** Factories for vertex types beyond the built-in ones (the Kafka source and sink register here). */
export interface VertexFactories {
  source?: Record<string, (spec: VertexSpec) => SourceReader>;
  operator?: Record<string, (spec: VertexSpec) => Operator>;
}

const extraFactories: Required<VertexFactories> = { source: {}, operator: {} };

/** Registers vertex factories (e.g. `kafka-source`). */
export function registerVertexFactories(f: VertexFactories): void {
  Object.assign(extraFactories.source, f.source ?? {});
  Object.assign(extraFactories.operator, f.operator ?? {});
}

/** Options of {@link LocalJob}. */
export interface JobOptions {
  /** per-vertex parallelism overrides: vertex name → parallelism */
  parallelism?: Record<string, number>;
  /** restore from this savepoint or checkpoint directory */
  fromSavepoint?: string;
  /** skip state of vertices the job no longer has. Default false. */
  allowNonRestoredState?: boolean;
  /** default savepoint directory. Default `<checkpoint dir>/savepoints`. */
  savepointDir?: string;
  /** the JobID (32 hex). Default random. */
  jobId?: string;
  /** checkpoint setting overrides (ms) */
  checkpoints?: { interval?: number; timeout?: number; minPause?: number; unaligned?: boolean };
  logger?: Logger;
  /** records per buffer. Default 512. */
  batchSize?: number;
  /** data buffers per channel. Default 8. */
  channelCapacity?: number;
  /** span of per-second rates, ms. Default 5000 (Flink's meters use 60 s). */
  metricsWindowMs?: number;
  /** overrides of the sink output directories: vertex name → dir */
  outputDirs?: Record<string, string>;
}

/** Vertex as built for an attempt. */
export interface VertexInfo {
  name: string;
  id: string;
  type: VertexSpec['type'];
  parallelism: number;
  inputs: string[];
  keyed: boolean;
  /** source splits / partitions */
  partitions?: number;
}

/** Receives every metric of a job at each interval (push); `LocalJob.metricPoints()` is the pull API. */
export interface MetricReporter {
  /** Called every interval with all metric points; a rejected promise or throw is logged, never fatal. */
  report(points: MetricPoint[]): void | Promise<void>;
}

/** Final outcome of a job run. */
export interface JobResult {
  state: 'FINISHED' | 'CANCELED' | 'FAILED';
  error?: Error;
  savepoint?: string;
}

/** A job running in this process. */
export class LocalJob {
  readonly id: string;
  readonly name: string;
  readonly maxParallelism: number;
  state: JobState = 'CREATED';
  numRestarts = 0;
  /** ms epoch when the job started running (first attempt) */
  startedAt = 0;
  /** records handed to collect sinks */
  readonly collected: Rec[] = [];
  readonly stats: CheckpointStats = {
    numberOfCompletedCheckpoints: 0,
    numberOfFailedCheckpoints: 0,
    numberOfInProgressCheckpoints: 0,
    lastCheckpointDuration: 0,
    lastCheckpointSize: 0,
    lastCompleted: undefined,
    history: [],
  };
  readonly vertices: VertexInfo[];
  private readonly spec: JobSpec;
  private readonly settings: CoordinatorSettings;
  private readonly unaligned: boolean;
  private readonly restart: { attempts: number; delay: number };
  private readonly logger: Logger;
  private readonly opts: JobOptions;
  private subtasks: Subtask[] = [];
  private coordinator: CheckpointCoordinator | undefined;
  private checkpointCounter = 0;
  private restoreFrom: string | undefined;
  private doneResolve!: (r: JobResult) => void;
  private readonly donePromise: Promise<JobResult>;
  private logListeners: Array<(e: LogEvent) => void> = [];
  private readonly procMetrics = new ProcessMetrics();
  private sampler: NodeJS.Timeout | undefined;
  private attemptId = randomId();
  private stopping = false;
  private finalSavepoint: string | undefined;
  /** source readers of the current attempt, for {@link sourceOffsets} */
  private readers: Array<{ vertex: string; reader: SourceReader }> = [];

  /** Builds the job; throws INVALID_ARGUMENT for unknown vertices or bad parallelism overrides. */
  constructor(spec: JobSpec, opts: JobOptions = {}) {
    this.spec = spec;
    this.opts = opts;
    this.name = spec.name;
    this.id = opts.jobId ?? randomId();
    this.maxParallelism = spec.maxParallelism ?? DEFAULT_MAX_PARALLELISM;
    this.logger = (opts.logger ?? silentLogger).namespace('runtime').child({ job_id: this.id, job_name: this.name });
    const names = new Set(spec.vertices.map((v) => v.name));
    for (const [v, p] of Object.entries(opts.parallelism ?? {})) {
      if (!names.has(v)) throw new StreamtuneError('INVALID_ARGUMENT', `--parallelism: job '${spec.name}' has no vertex '${v}' (vertices: ${[...names].join(', ')})`);
      checkParallelism(v, p, this.maxParallelism);
    }
    const cp = spec.checkpoints ?? {};
    const dataDir = process.env.STREAMTUNE_DATA_DIR ?? './data';
    this.settings = {
      interval: opts.checkpoints?.interval ?? parseDuration(cp.interval, 'checkpoints.interval', 10_000),
      timeout: opts.checkpoints?.timeout ?? parseDuration(cp.timeout, 'checkpoints.timeout', 60_000),
      minPause: opts.checkpoints?.minPause ?? parseDuration(cp.minPause, 'checkpoints.minPause', 0),
      retained: cp.retained ?? 3,
      dir: resolve(cp.dir ? resolveDataPath(cp.dir, spec.baseDir ?? process.cwd()) : join(dataDir, 'checkpoints', spec.name)),
    };
    this.unaligned = opts.checkpoints?.unaligned ?? cp.unaligned ?? false;
    const rs = spec.restartStrategy ?? { type: 'fixed-delay' };
    this.restart = rs.type === 'none' ? { attempts: 0, delay: 0 } : { attempts: rs.attempts ?? 3, delay: parseDuration(rs.delay, 'restartStrategy.delay', 1000) };
    this.vertices = spec.vertices.map((v) => {
      const inputs = spec.edges.filter((e) => e.to === v.name).map((e) => vertexId(spec.name, e.from));
      const par = opts.parallelism?.[v.name] ?? v.parallelism ?? 1;
      return {
        name: v.name,
        id: vertexId(spec.name, v.name),
        type: v.type,
        parallelism: par,
        inputs,
        keyed: spec.edges.some((e) => e.to === v.name && e.partitioning === 'hash'),
        partitions: v.type === 'dataset-source' || v.type === 'generator-source' ? (v.splits ?? 4) : undefined,
      };
    });
    for (const v of this.vertices) {
      if (v.partitions !== undefined && v.parallelism > v.partitions) {
        throw new StreamtuneError('INVALID_ARGUMENT', `source '${v.name}' has ${v.partitions} splits; its parallelism ${v.parallelism} cannot exceed them`);
      }
    }
    this.restoreFrom = opts.fromSavepoint;
    this.donePromise = new Promise((r) => (this.doneResolve = r));
  }

  /** Checkpoint settings in force (ms). */
  checkpointSettings(): CoordinatorSettings & { unaligned: boolean } {
    return { ...this.settings, unaligned: this.unaligned };
  }

  /** Subscribes to the job's warnings, errors and exceptions as log events. Returns an unsubscribe function. */
  onLog(listener: (e: LogEvent) => void): () => void {
    this.logListeners.push(listener);
    return () => {
      this.logListeners = this.logListeners.filter((l) => l !== listener);
    };
  }

  private emitLog(e: Omit<LogEvent, 'job_id' | 'job_name' | 'timestamp'>): void {
    const ev: LogEvent = { timestamp: Date.now(), job_id: this.id, job_name: this.name, ...e };
    for (const l of this.logListeners) {
      try {
        l(ev);
      } catch (err) {
        this.logger.warn('log listener failed', { error: (err as Error).message });
      }
    }
  }

  /**
   * Starts the job (restoring when asked). Resolves once every subtask runs. Throws
   * SAVEPOINT_MISSING / SAVEPOINT_CORRUPT / INVALID_ARGUMENT before anything is written.
   */
  async start(): Promise<void> {
    if (this.state !== 'CREATED') throw new StreamtuneError('JOB_STATE', `job ${this.name} was already started`);
    this.state = 'INITIALIZING';
    let meta: CheckpointMetadata | undefined;
    if (this.restoreFrom) meta = this.loadRestore(this.restoreFrom);
    this.startedAt = Date.now();
    await this.launch(meta);
    this.sampler = setInterval(() => this.sample(), 1000);
    this.sampler.unref();
  }

  private loadRestore(path: string): CheckpointMetadata {
    const meta = readCheckpoint(path);
    if (meta.maxParallelism !== this.maxParallelism) {
      throw new StreamtuneError('INVALID_ARGUMENT', `savepoint ${path} was taken with max parallelism ${meta.maxParallelism}; the job has ${this.maxParallelism} (key groups cannot change)`);
    }
    const known = new Set(this.vertices.map((v) => v.name));
    const unknown = Object.keys(meta.vertices).filter((v) => !known.has(v));
    if (unknown.length > 0 && !this.opts.allowNonRestoredState) {
      throw new StreamtuneError('INVALID_ARGUMENT', `savepoint ${path} has state for vertices the job does not have: ${unknown.join(', ')} (allowNonRestoredState to skip it)`);
    }
    this.checkpointCounter = Math.max(this.checkpointCounter, meta.checkpointId);
    return meta;
  }

  private restoredFor(meta: CheckpointMetadata | undefined, vertex: string, subtask: number, parallelism: number): RestoredState | undefined {
    const v = meta?.vertices[vertex];
    if (!v) return undefined;
    const list: unknown[] = [];
    const keyed = new Map<number, unknown>();
    const range = keyGroupRange(subtask, parallelism, this.maxParallelism);
    for (const st of v.subtasks) {
      if (!st) continue;
      for (const x of st.list) list.push(x);
      for (const [kg, s] of st.keyed) if (kg >= range.start && kg <= range.end) keyed.set(kg, s);
    }
    // records in flight at an unaligned checkpoint: by key group over a hash edge, else dealt round-robin
    const inflight = { values: [] as Rec[], ts: [] as number[] };
    let dealt = 0;
    for (const b of v.inflight ?? []) {
      const e = this.spec.edges[b.edge];
      const key = e?.partitioning === 'hash' ? e.key : undefined;
      for (let j = 0; j < b.values.length; j++) {
        const r = b.values[j]!;
        let mine: boolean;
        if (key !== undefined) {
          const kg = keyGroupOf(r[key] ?? null, this.maxParallelism);
          mine = kg >= range.start && kg <= range.end;
        } else mine = dealt++ % parallelism === subtask;
        if (mine) {
          inflight.values.push(r);
          inflight.ts.push(b.ts[j]!);
        }
      }
    }
    return { list, keyed, oldParallelism: v.parallelism, ...(inflight.values.length > 0 ? { inflight } : {}) };
  }

  private buildOperator(v: VertexSpec): Operator {
    const extra = extraFactories.operator[v.type];
    if (extra) return extra(v);
    switch (v.type) {
      case 'map':
        return createMap(v);
      case 'filter':
        return createFilter(v);
      case 'lookup':
        return createLookup(v);
      case 'window-aggregate':
        return createWindowAggregate(v);
      case 'jsonl-sink':
        return createJsonlSink(this.opts.outputDirs?.[v.name] ? { ...v, path: this.opts.outputDirs[v.name]! } : v);
      case 'collect-sink':
        return createCollectSink();
      case 'discard-sink':
        return createDiscardSink();
      default:
        throw new StreamtuneError('INVALID_SPEC', `vertex '${v.name}': type '${v.type}' is not available (is its module loaded?)`);
    }
  }

  private buildReader(v: VertexSpec): SourceReader {
    const extra = extraFactories.source[v.type];
    if (extra) return extra(v);
    if (v.type === 'dataset-source') {
      const reader = createDatasetSource(v);
      this.readers.push({ vertex: v.name, reader });
      return reader;
    }
    if (v.type === 'generator-source') return createGeneratorSource(v);
    throw new StreamtuneError('INVALID_SPEC', `vertex '${v.name}': source type '${v.type}' is not available (is its module loaded?)`);
  }

  private async launch(meta: CheckpointMetadata | undefined): Promise<void> {
    const spec = this.spec;
    const baseDir = spec.baseDir ?? process.cwd();
    const capacity = this.opts.channelCapacity ?? 8;
    const par = new Map(this.vertices.map((v) => [v.name, v.parallelism]));
    // sink directories: commit what the restored state covers, drop uncommitted work
    for (const v of spec.vertices) {
      if (v.type !== 'jsonl-sink') continue;
      const dir = resolveDataPath(this.opts.outputDirs?.[v.name] ?? v.path, baseDir);
      const list = (meta?.vertices[v.name]?.subtasks ?? []).flatMap((s) => s?.list ?? []);
      prepareJsonlSinkDir(dir, list);
    }
    // channels: edge → [upstream subtask][downstream subtask]
    const edgeChannels = spec.edges.map((e) => {
      const up = par.get(e.from)!;
      const down = par.get(e.to)!;
      // a forward edge whose ends got different parallelism (an override) becomes rebalance, as Flink does
      const partitioning = (e.partitioning ?? 'forward') === 'forward' && up !== down ? 'rebalance' : (e.partitioning ?? 'forward');
      if (e.partitioning === 'forward' && up !== down) {
        this.logger.warn(`edge ${e.from} -> ${e.to} is forward but parallelism differs (${up} vs ${down}): using rebalance`);
      }
      const grid: Channel[][] = [];
      for (let u = 0; u < up; u++) {
        grid.push([]);
        for (let d = 0; d < down; d++) {
          // forward: one channel per pair (u, u); other pairs never used, so not created
          grid[u]!.push(partitioning === 'forward' && u !== d ? (undefined as unknown as Channel) : new Channel(capacity));
        }
      }
      return { edge: e, partitioning, grid };
    });
    const attempt = this.numRestarts;
    const subtasks: Subtask[] = [];
    const vertexPar: Record<string, number> = {};
    const coordinator = new CheckpointCoordinator(
      { name: this.name, id: this.id, maxParallelism: this.maxParallelism },
      { ...this.settings, dir: this.settings.dir, unaligned: this.unaligned },
      subtasks,
      vertexPar,
      this.stats,
      () => ++this.checkpointCounter,
      this.logger.namespace('checkpoint'),
      () => this.state === 'RUNNING' && this.subtasks.every((s) => s.state === 'RUNNING'),
    );
    this.attemptId = randomId();
    this.readers = [];
    for (const [vi, v] of spec.vertices.entries()) {
      const p = par.get(v.name)!;
      vertexPar[v.name] = p;
      for (let i = 0; i < p; i++) {
        const outputs: OutputEdge[] = edgeChannels
          .filter((ec) => ec.edge.from === v.name)
          .map((ec) => ({
            partitioning: ec.partitioning,
            key: ec.edge.key,
            target: ec.edge.to,
            edgeIndex: spec.edges.indexOf(ec.edge),
            maxParallelism: this.maxParallelism,
            channels: ec.partitioning === 'forward' ? [ec.grid[i]![i]!] : ec.grid[i]!,
          }));
        const inputs: Channel[] = [];
        const inputEdges: number[] = [];
        for (const ec of edgeChannels.filter((x) => x.edge.to === v.name)) {
          for (let u = 0; u < ec.grid.length; u++) {
            if (!ec.grid[u]![i]) continue;
            inputs.push(ec.grid[u]![i]!);
            inputEdges.push(spec.edges.indexOf(ec.edge));
          }
        }
        const source = isSourceSpec(v);
        subtasks.push(
          new Subtask(
            v.name,
            vi,
            i,
            p,
            source ? 'source' : 'operator',
            source ? this.buildReader(v) : undefined,
            source ? undefined : this.buildOperator(v),
            source ? undefined : new InputGate(inputs, inputEdges),
            outputs,
            new Faults(v.faults, v.name, attempt),
            coordinator,
            this.restoredFor(meta, v.name, i, p),
            { jobId: this.id, jobName: this.name, maxParallelism: this.maxParallelism, attempt, baseDir, collected: this.collected },
            { batchSize: this.opts.batchSize ?? 512, logger: this.logger.namespace('task'), metricsWindowMs: this.opts.metricsWindowMs ?? 5000, idleTimeoutMs: source ? sourceIdleTimeout(v) : 0 },
          ),
        );
      }
    }
    this.subtasks = subtasks;
    this.coordinator = coordinator;
    this.state = 'RUNNING';
    this.logger.info(`job ${this.name} running`, { attempt, restored_from: this.restoreFrom ?? null, parallelism: Object.fromEntries(par) });
    const runs = subtasks.map((s) =>
      s.run().catch((err: Error) => {
        this.onTaskFailure(s, err, subtasks);
        throw err;
      }),
    );
    coordinator.start();
    void Promise.allSettled(runs).then(async (results) => {
      if (this.subtasks !== subtasks) return; // a newer attempt took over
      if (results.some((r) => r.status === 'rejected')) return; // failover handles it
      if (subtasks.every((s) => s.state === 'FINISHED')) {
        try {
          await coordinator.finalCheckpoint();
        } catch (err) {
          this.logger.error('final checkpoint failed', { error: (err as Error).message });
        }
        coordinator.stop('job finished');
        await this.closeAll(subtasks);
        this.finish({ state: 'FINISHED' });
      }
    });
  }

  private onTaskFailure(s: Subtask, err: Error, attemptTasks: Subtask[]): void {
    if (this.subtasks !== attemptTasks || this.state !== 'RUNNING') return;
    this.logger.error(`task ${s.vertex} (${s.index + 1}/${s.parallelism}) failed: ${err.name}: ${err.message}`, {
      vertex: s.vertex,
      subtask_index: s.index,
      attempt: this.numRestarts,
      exception_class: err.name,
      stack: err.stack,
    });
    this.emitLog({ level: 'error', vertex: s.vertex, subtask_index: s.index, attempt: this.numRestarts, message: err.message, exception_class: err.name, stack: err.stack });
    void this.failover(err, attemptTasks);
  }

  private async failover(err: Error, attemptTasks: Subtask[]): Promise<void> {
    this.state = 'RESTARTING';
    this.coordinator?.stop('job failing over');
    this.cancelTasks(attemptTasks);
    await this.closeAll(attemptTasks);
    if (this.numRestarts >= this.restart.attempts) {
      this.logger.error(`job ${this.name} failed: restart strategy exhausted after ${this.numRestarts} restarts`, { error: err.message });
      this.emitLog({ level: 'error', message: `job failed after ${this.numRestarts} restarts: ${err.message}`, exception_class: err.name, stack: err.stack });
      this.finish({ state: 'FAILED', error: err });
      return;
    }
    this.numRestarts++;
    await sleep(this.restart.delay);
    if (this.stopping) return;
    const from = this.stats.lastCompleted?.path ?? this.restoreFrom;
    this.logger.warn(`restarting job ${this.name} (restart ${this.numRestarts}/${this.restart.attempts})`, { restore_from: from ?? null });
    this.emitLog({ level: 'warn', message: `job restarting from ${from ?? 'the beginning'} after ${err.name}: ${err.message}`, attempt: this.numRestarts });
    try {
      const meta = from ? readCheckpoint(from) : undefined;
      await this.launch(meta);
    } catch (e) {
      this.finish({ state: 'FAILED', error: e as Error });
    }
  }

  private cancelTasks(tasks: Subtask[]): void {
    for (const s of tasks) s.cancel();
  }

  private async closeAll(tasks: Subtask[]): Promise<void> {
    for (const s of tasks) await s.close();
  }

  private finish(r: JobResult): void {
    if (this.state === 'FINISHED' || this.state === 'CANCELED' || this.state === 'FAILED') return;
    this.state = r.state;
    if (this.sampler) clearInterval(this.sampler);
    this.sample();
    this.logger.info(`job ${this.name} ${r.state.toLowerCase()}`, { restarts: this.numRestarts });
    this.doneResolve({ ...r, savepoint: this.finalSavepoint });
  }

  /** Resolves when the job reached a terminal state. */
  done(): Promise<JobResult> {
    return this.donePromise;
  }

  /** Subtasks of the current attempt (read-only use). */
  currentSubtasks(): readonly Subtask[] {
    return this.subtasks;
  }

  private sample(): void {
    const now = performance.now();
    for (const s of this.subtasks) s.metrics.sample(now);
    this.procMetrics.sample();
  }

  /**
   * Takes a savepoint into `targetDir` (default the job's savepoint directory) while the job keeps
   * running. Resolves with its path. Throws CHECKPOINT_FAILED / CHECKPOINT_TIMEOUT / JOB_STATE.
   */
  async triggerSavepoint(targetDir?: string): Promise<CompletedCheckpoint> {
    if (this.state !== 'RUNNING' || !this.coordinator) throw new StreamtuneError('JOB_STATE', `job ${this.name} is ${this.state}, not RUNNING`);
    return this.coordinator.trigger({ savepoint: true, stop: false, targetDir: targetDir ?? this.opts.savepointDir });
  }

  /**
   * Stops the job with a savepoint (Flink's stop without drain): sources stop after the savepoint
   * barrier, the savepoint completes, sinks commit, then the job ends FINISHED with the savepoint
   * path in its result. If the savepoint fails the job keeps running and this throws.
   */
  async stopWithSavepoint(targetDir?: string): Promise<CompletedCheckpoint> {
    if (this.state !== 'RUNNING' || !this.coordinator) throw new StreamtuneError('JOB_STATE', `job ${this.name} is ${this.state}, not RUNNING`);
    const done = await this.coordinator.trigger({ savepoint: true, stop: true, targetDir: targetDir ?? this.opts.savepointDir });
    this.stopping = true;
    this.finalSavepoint = done.path;
    this.coordinator.stop('stopped with savepoint');
    const tasks = this.subtasks;
    this.cancelTasks(tasks);
    await this.closeAll(tasks);
    this.finish({ state: 'FINISHED' });
    return done;
  }

  /** Cancels the job without a savepoint. */
  async cancel(): Promise<void> {
    if (this.state === 'FINISHED' || this.state === 'CANCELED' || this.state === 'FAILED') return;
    this.stopping = true;
    this.state = 'CANCELLING';
    this.coordinator?.stop('cancelled');
    const tasks = this.subtasks;
    this.cancelTasks(tasks);
    await this.closeAll(tasks);
    this.finish({ state: 'CANCELED' });
  }

  /**
   * Pushes all metrics to `reporter` every `intervalMs` (default 5000 ms, the collector's default
   * interval) until the job ends or the returned function is called.
   */
  addReporter(reporter: MetricReporter, intervalMs = 5000): () => void {
    const push = () => {
      try {
        const r = reporter.report(this.metricPoints());
        if (r) r.catch((err: unknown) => this.logger.warn('metric reporter failed', { error: (err as Error).message }));
      } catch (err) {
        this.logger.warn('metric reporter failed', { error: (err as Error).message });
      }
    };
    const timer = setInterval(push, intervalMs);
    timer.unref();
    void this.donePromise.then(() => {
      clearInterval(timer);
      push();
    });
    return () => clearInterval(timer);
  }

  /**
   * Per-split offsets of the dataset-replay sources of the current attempt at `now` (ms epoch):
   * `readOffset` = records of the split read, `arrivedOffset` = records arrived by `now` (all of
   * them without a rate). After a restore the read positions come from the savepoint, so offsets
   * continue. Splits of subtasks that have not opened yet are missing. Used by the collector to
   * report dataset replays as consumer-group lag (docs/METRICS.md).
   */
  sourceOffsets(now = Date.now()): Array<SplitOffset & { vertex: string }> {
    const out: Array<SplitOffset & { vertex: string }> = [];
    for (const { vertex, reader } of this.readers) {
      const r = reader as SourceReader & { splitOffsets?: (now: number) => SplitOffset[] };
      if (r.splitOffsets) for (const o of r.splitOffsets(now)) out.push({ vertex, ...o });
    }
    return out.sort((a, b) => (a.vertex < b.vertex ? -1 : a.vertex > b.vertex ? 1 : a.split - b.split));
  }

  /** The job's metrics now, as Flink's InfluxDB reporter would write them (`docs/METRICS.md`). */
  metricPoints(now = Date.now()): MetricPoint[] {
    return jobMetricPoints(this, now, { host: hostname(), tmId: `streamtune-tm-${process.pid}`, attemptId: this.attemptId }, this.procMetrics);
  }
}
