/**
 * A running job of the bundled runtime: builds subtasks and channels from a job spec, restores from
 * a savepoint or checkpoint with any per-vertex parallelism (key groups and source splits
 * redistributed), runs periodic checkpoints, takes savepoints, stops with a savepoint, and fails
 * over from the last completed checkpoint under a fixed-delay restart strategy.
 */
import { availableParallelism, hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { setTimeout as sleep } from 'node:timers/promises';
import { type LogEvent, type Logger, type MetricPoint, silentLogger, StreamtuneError } from '../core/index.ts';
import { DEFAULT_MAX_PARALLELISM, checkParallelism, keyGroupOf, keyGroupRange } from './keygroups.ts';
import { isSourceSpec, parseDuration, type JobSpec, type Partitioning, type VertexSpec } from './spec.ts';
import type { Subtask, SubtaskView } from './task.ts';
import { CheckpointCoordinator, type CheckpointStats, type CompletedCheckpoint, type CoordinatorSettings } from './checkpoint/coordinator.ts';
import { readCheckpoint, type CheckpointMetadata } from './checkpoint/storage.ts';
import type { Rec, RestoredState } from './operators/types.ts';
import type { SourceReader } from './sources/types.ts';
import { jsonlSinkStateProblem, prepareJsonlSinkDir } from './sinks/jsonl.ts';
import type { DatasetSourceReader, SplitOffset } from './sources/dataset.ts';
import { resolveDataPath } from './paths.ts';
import { randomId, vertexId } from './ids.ts';
import { ProcessMetrics, jobMetricPoints } from './metrics/points.ts';
import { buildDeployment, type Deployment, type DeploymentDescriptor } from './taskmanager/deploy.ts';
import { placeSubtasks, usedTaskManagers } from './taskmanager/placement.ts';
import { Link } from './taskmanager/remote.ts';
import { RemoteSubtask, runningWorkerTaskManager, taskManagerId, workerTaskManager, type RemoteDeployment } from './taskmanager/pool.ts';

export { registerVertexFactories, type VertexFactories } from './taskmanager/deploy.ts';

/**
 * TaskManagers of a job without `taskManagers` in its spec or options: `STREAMTUNE_TASK_MANAGERS`
 * when set (a positive integer), else the number of cores (`os.availableParallelism()`).
 */
export function defaultTaskManagers(): number {
  const env = Number(process.env.STREAMTUNE_TASK_MANAGERS);
  return Number.isInteger(env) && env >= 1 ? env : availableParallelism();
}

/** The subtasks of one attempt and where they run. */
interface AttemptDeployments {
  local: Deployment;
  remotes: RemoteDeployment[];
}

/** Job lifecycle (Flink's JobStatus names). */
export type JobState = 'CREATED' | 'INITIALIZING' | 'RUNNING' | 'RESTARTING' | 'FAILED' | 'CANCELLING' | 'CANCELED' | 'FINISHED';

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
  /**
   * TaskManagers to spread the subtasks over (see `JobSpec.taskManagers`); wins over the spec's.
   * Default: the spec's, else {@link defaultTaskManagers}.
   */
  taskManagers?: number;
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
  private subtasks: SubtaskView[] = [];
  /** where each attempt's subtasks run, until they are closed */
  private readonly attempts = new Map<readonly SubtaskView[], AttemptDeployments>();
  /** TaskManagers the subtasks are spread over */
  readonly taskManagers: number;
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
      // details.field names the override (`parallelism.<vertex>`: the API body's field, the CLI's --parallelism)
      if (!names.has(v)) throw new StreamtuneError('INVALID_ARGUMENT', `--parallelism: job '${spec.name}' has no vertex '${v}' (vertices: ${[...names].join(', ')})`, { details: { field: `parallelism.${v}` } });
      try {
        checkParallelism(v, p, this.maxParallelism);
      } catch (err) {
        throw new StreamtuneError('INVALID_ARGUMENT', (err as Error).message, { cause: err, details: { field: `parallelism.${v}` } });
      }
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
    const tms = opts.taskManagers ?? spec.taskManagers ?? defaultTaskManagers();
    if (!Number.isInteger(tms) || tms < 1) throw new StreamtuneError('INVALID_ARGUMENT', `taskManagers must be a positive integer, got ${tms}`);
    this.taskManagers = tms;
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
      throw new StreamtuneError('INVALID_ARGUMENT', `savepoint ${path} was taken with max parallelism ${meta.maxParallelism}; the job has ${this.maxParallelism} (key groups cannot change)`, { details: { file: path, field: 'maxParallelism' } });
    }
    const known = new Set(this.vertices.map((v) => v.name));
    const unknown = Object.keys(meta.vertices).filter((v) => !known.has(v));
    if (unknown.length > 0 && !this.opts.allowNonRestoredState) {
      throw new StreamtuneError('INVALID_ARGUMENT', `savepoint ${path} has state for vertices the job does not have: ${unknown.join(', ')} (allowNonRestoredState to skip it)`, { details: { file: path, field: `vertices.${unknown[0]}` } });
    }
    // the sinks' pending files are committed before the subtasks open: check them all first
    for (const v of this.spec.vertices) {
      if (v.type !== 'jsonl-sink') continue;
      const subtasks = meta.vertices[v.name]?.subtasks ?? [];
      for (let i = 0; i < subtasks.length; i++) {
        const bad = jsonlSinkStateProblem(subtasks[i]?.list ?? []);
        if (bad) {
          const field = `vertices.${v.name}.subtasks[${i}].list[${bad.index}]`;
          throw new StreamtuneError('SAVEPOINT_CORRUPT', `${path} is corrupt: ${field}: ${bad.message}`, { details: { file: path, field } });
        }
      }
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
    const partitioning: Partitioning[] = spec.edges.map((e) => {
      const up = par.get(e.from)!;
      const down = par.get(e.to)!;
      // a forward edge whose ends got different parallelism (an override) becomes rebalance, as Flink does
      if ((e.partitioning ?? 'forward') === 'forward' && up !== down) {
        if (e.partitioning === 'forward') this.logger.warn(`edge ${e.from} -> ${e.to} is forward but parallelism differs (${up} vs ${down}): using rebalance`);
        return 'rebalance';
      }
      return e.partitioning ?? 'forward';
    });
    const parallelism = Object.fromEntries(par);
    const placement = placeSubtasks(spec, parallelism, this.taskManagers);
    const used = usedTaskManagers(placement);
    const attempt = this.numRestarts;
    const subtasks: SubtaskView[] = [];
    const vertexPar: Record<string, number> = {};
    for (const v of spec.vertices) vertexPar[v.name] = par.get(v.name)!;
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
    const taskLogger = this.logger.namespace('task');
    const tasksOn = (tm: number): DeploymentDescriptor['tasks'] => {
      const out: DeploymentDescriptor['tasks'] = [];
      for (const v of spec.vertices) {
        const p = par.get(v.name)!;
        for (let i = 0; i < p; i++) {
          if (placement.tm[v.name]![i] !== tm) continue;
          const restored = this.restoredFor(meta, v.name, i, p);
          out.push(restored ? { vertex: v.name, index: i, restored } : { vertex: v.name, index: i });
        }
      }
      return out;
    };
    // functions do not cross threads; their vertices never run on a worker (placement.ts)
    const cloneable: JobSpec = { ...spec, vertices: spec.vertices.map((v) => ('fn' in v && typeof v.fn === 'function' ? ({ ...v, fn: undefined } as VertexSpec) : v)) };
    const descriptor = (tm: number): DeploymentDescriptor => ({
      deploymentId: `${this.attemptId}-${tm}`,
      jobId: this.id,
      jobName: this.name,
      attempt,
      maxParallelism: this.maxParallelism,
      baseDir,
      spec: tm === 0 ? spec : cloneable,
      parallelism,
      placement,
      partitioning,
      capacity,
      batchSize: this.opts.batchSize ?? 512,
      metricsWindowMs: this.opts.metricsWindowMs ?? 5000,
      ...(this.opts.outputDirs ? { outputDirs: this.opts.outputDirs } : {}),
      tasks: tasksOn(tm),
    });
    // links between every two TaskManagers of the attempt: TaskManager 0 keeps its ends, workers get theirs
    const links0 = new Map<number, Link>();
    const ports = new Map<number, Array<{ peer: number; port: MessagePort }>>(used.map((tm) => [tm, []]));
    for (const a of used) {
      for (const b of used) {
        if (b <= a) continue;
        const mc = new MessageChannel();
        if (a === 0) links0.set(b, new Link(mc.port1));
        else ports.get(a)!.push({ peer: b, port: mc.port1 });
        ports.get(b)!.push({ peer: a, port: mc.port2 });
      }
    }
    const remotes: RemoteDeployment[] = [];
    const proxies = new Map<string, RemoteSubtask>();
    let local: Deployment;
    try {
      for (const tm of used) {
        if (tm === 0) continue;
        const w = await workerTaskManager(tm);
        const desc = descriptor(tm);
        remotes.push(
          w.deploy(desc, ports.get(tm)!, this.opts.logger !== undefined, {
            acker: coordinator,
            collected: (records) => {
              for (const r of records) this.collected.push(r);
            },
            log: (level, ns, meta, msg) => {
              let l = taskLogger;
              for (const n of ns) l = l.namespace(n);
              l.child(meta)[level](msg);
            },
          }, (d) => {
            for (const t of desc.tasks) {
              const p = par.get(t.vertex)!;
              const v = spec.vertices.find((x) => x.name === t.vertex)!;
              const proxy = new RemoteSubtask(d, t.vertex, t.index, p, isSourceSpec(v) ? 'source' : 'operator', keyGroupRange(t.index, p, this.maxParallelism), w.tmId);
              d.tasks.set(`${t.vertex}#${t.index}`, proxy);
              proxies.set(`${t.vertex}#${t.index}`, proxy);
            }
          }),
        );
      }
      await Promise.all(remotes.map((r) => r.deployed));
      local = buildDeployment(descriptor(0), {
        me: 0,
        links: links0,
        acker: coordinator,
        collected: this.collected,
        logger: taskLogger,
        onReader: (vertex, _i, reader) => this.readers.push({ vertex, reader }),
      });
    } catch (err) {
      for (const r of remotes) {
        r.cancel();
        r.dispose();
      }
      for (const l of links0.values()) l.close();
      for (const l of ports.values()) for (const { port } of l) port.close();
      throw err;
    }
    const locals = new Map(local.subtasks.map((s) => [`${s.vertex}#${s.index}`, s]));
    for (const v of spec.vertices) {
      for (let i = 0; i < par.get(v.name)!; i++) {
        const key = `${v.name}#${i}`;
        const s = locals.get(key) ?? proxies.get(key)!;
        subtasks.push(s);
      }
    }
    this.attempts.set(subtasks, { local, remotes });
    this.subtasks = subtasks;
    this.coordinator = coordinator;
    this.state = 'RUNNING';
    this.logger.info(`job ${this.name} running`, {
      attempt,
      restored_from: this.restoreFrom ?? null,
      parallelism: Object.fromEntries(par),
      task_managers: used.map((tm) => taskManagerId(tm)),
    });
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

  private onTaskFailure(s: SubtaskView, err: Error, attemptTasks: SubtaskView[]): void {
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

  private async failover(err: Error, attemptTasks: SubtaskView[]): Promise<void> {
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

  private cancelTasks(tasks: readonly SubtaskView[]): void {
    const d = this.attempts.get(tasks);
    if (!d) return;
    d.local.cancel();
    for (const r of d.remotes) r.cancel();
  }

  /** Closes every subtask of an attempt, then releases its channels and TaskManager deployments. */
  private async closeAll(tasks: readonly SubtaskView[]): Promise<void> {
    for (const s of tasks) await s.close();
    const d = this.attempts.get(tasks);
    if (!d) return;
    this.attempts.delete(tasks);
    d.local.dispose();
    for (const r of d.remotes) r.dispose();
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

  /**
   * Subtasks of the current attempt (read-only use), in spec vertex order then subtask index: the
   * {@link Subtask} itself for those on TaskManager 0 (this thread), a handle with a copy of the
   * metrics (refreshed every 200 ms) for those on worker TaskManagers.
   */
  currentSubtasks(): readonly SubtaskView[] {
    return this.subtasks;
  }

  private sample(): void {
    const now = performance.now();
    for (const s of this.subtasks) if (!(s instanceof RemoteSubtask)) (s as Subtask).metrics.sample(now);
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
      const r = reader as Partial<DatasetSourceReader>;
      if (r.splitOffsets) for (const o of r.splitOffsets(now)) out.push({ vertex, ...o });
    }
    // splits read on worker TaskManagers: positions as last reported, arrivals as of `now`
    for (const s of this.subtasks) {
      if (!(s instanceof RemoteSubtask) || !s.splitOffsets) continue;
      for (const o of s.splitOffsets) {
        const arrived = o.arrivalRate > 0 ? Math.min(o.splitRecords, Math.floor(((now - o.startedAt) * o.arrivalRate) / 1000) + 1) : o.splitRecords;
        out.push({ vertex: s.vertex, ...o, arrivedOffset: Math.max(o.readOffset, arrived) });
      }
    }
    return out.sort((a, b) => (a.vertex < b.vertex ? -1 : a.vertex > b.vertex ? 1 : a.split - b.split));
  }

  /** The job's metrics now, as Flink's InfluxDB reporter would write them (`docs/METRICS.md`). */
  metricPoints(now = Date.now()): MetricPoint[] {
    const workers: Array<{ tmId: string; stats: NonNullable<ReturnType<typeof runningWorkerTaskManager>>['stats'] }> = [];
    const seen = new Set<string>();
    for (const s of this.subtasks) {
      if (!(s instanceof RemoteSubtask) || seen.has(s.tmId)) continue;
      seen.add(s.tmId);
      const index = Number(s.tmId.slice(s.tmId.lastIndexOf('-') + 1));
      workers.push({ tmId: s.tmId, stats: runningWorkerTaskManager(index)?.stats });
    }
    return jobMetricPoints(this, now, { host: hostname(), tmId: taskManagerId(0), attemptId: this.attemptId, workers }, this.procMetrics);
  }
}
