/**
 * The bundled catalog: a {@link JobCatalog} that runs its jobs itself on the bundled runtime
 * ({@link LocalJob}), with the {@link BundledExecutor} the tuner drives.
 *
 * Everything about a job is kept under `<dataDir>/jobs/<job id>/`:
 * - `job.json`: the spec, the current settings (parallelism by vertex name, checkpointing), whether
 *   the job is wanted running, and the latest completed checkpoint or savepoint (written atomically:
 *   temp file, fsync, rename);
 * - `checkpoints/` (the spec's `checkpoints.dir` is replaced by it) and `savepoints/`.
 *
 * When streamtune starts again, every job that was wanted running is started again — same JobID, so
 * its series stay continuous — from its latest completed checkpoint or savepoint: the newest intact
 * one on disk (highest checkpoint id), so that a restart never silently ignores the savepoint
 * (StreamPark users' complaint, docs/PRIOR-ART.md). A stop by the tuner (a restart)
 * leaves the job wanted; `stop()` (the user's) does not; a bounded job that finished is not restarted.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { errorMessage, type Logger, silentLogger, StreamtuneError } from '../../core/index.ts';
import { type CompletedCheckpoint, DEFAULT_MAX_PARALLELISM, type JobSpec, LocalJob, parseJobSpecYaml, randomId, readCheckpoint, vertexId } from '../../runtime/index.ts';
import type { TopologyVertex } from '../topology.ts';
import type { JobCatalog } from '../catalog.ts';
import { isTerminalJobState, type CheckpointingSettings, type JobState, type ManagedJob, type SnapshotRecord } from '../job.ts';
import type { JobExecutor, JobTopology } from '../executor.ts';
import { BundledExecutor, type BundledExecutorFaults, type BundledJobHost } from './executor.ts';

/** What `job.json` holds (plain JSON). */
export interface BundledJobRecord {
  jobId: string;
  name: string;
  /** the spec as submitted, `baseDir` absolute; builder functions (`fn`) are not kept */
  spec: JobSpec;
  /** parallelism overrides by vertex name, as last started */
  parallelism: Record<string, number>;
  /** checkpoint setting overrides (ms), as last started */
  checkpointing: CheckpointingSettings;
  /** JSONL sink output directories by vertex name */
  outputDirs?: Record<string, string>;
  /** 'running': start it again when streamtune starts; 'stopped' by the user; 'finished' (bounded);
   * 'failed' (restart strategy exhausted) */
  desired: 'running' | 'stopped' | 'finished' | 'failed';
  /** latest completed checkpoint or savepoint */
  latest?: SnapshotRecord;
  /** ms since epoch */
  createdAt: number;
  updatedAt: number;
}

/** Options of {@link BundledCatalog.submitSpec}. */
export interface SubmitSpecOptions {
  /** parallelism by vertex name */
  parallelism?: Record<string, number>;
  /** restore from this savepoint/checkpoint; default: the latest of a stopped job of the same name */
  savepointPath?: string;
  /** start without state even when a stopped job of the same name has snapshots. Default false. */
  fresh?: boolean;
  /** JobID for a new job (32 hex). Default random, or the id of a stopped job of the same name. */
  jobId?: string;
  /** checkpoint setting overrides (ms) */
  checkpointing?: CheckpointingSettings;
  /** JSONL sink output directories by vertex name */
  outputDirs?: Record<string, string>;
}

/** Options of {@link createBundledCatalog}. */
export interface BundledCatalogOptions {
  /** root of the catalog's files (`<dataDir>/jobs/<id>/`) */
  dataDir: string;
  logger?: Logger;
  /** ms since epoch; default Date.now */
  now?: () => number;
  /** test hook of the executor, see {@link BundledExecutorFaults} */
  faults?: BundledExecutorFaults;
  /** ms between looks at each job's completed checkpoints. Default 200. */
  snapshotPollMs?: number;
  /** extra {@link LocalJob} options for every execution (tests: metricsWindowMs, channelCapacity) */
  jobOptions?: { metricsWindowMs?: number; channelCapacity?: number; batchSize?: number };
}

interface Entry {
  record: BundledJobRecord;
  job?: LocalJob;
  /** state when no execution runs in this process (or after it ended) */
  state: JobState;
  startedAt?: number;
  /** set while this process stops the execution on purpose */
  stopping?: 'tuner' | 'user' | 'close';
  /** highest checkpoint id recorded */
  lastSnapshotId: number;
  /** serialises starts and stops of the job */
  lock: Promise<unknown>;
}

/** The bundled runtime's job catalog. Errors: see {@link JobCatalog}. */
export interface BundledCatalog extends JobCatalog {
  /** The executor the tuner drives (`kind: 'bundled'`). */
  readonly executor: BundledExecutor & JobExecutor;
  /** The current execution of a job, when one was started in this process. */
  localJob(jobId: string): LocalJob | undefined;
  /** Called with every new execution (submit, restart by the tuner, start at startup). */
  onJobStarted(listener: (job: LocalJob, managed: ManagedJob) => void): () => void;
  /** Called with every completed checkpoint and savepoint of every job. */
  onSnapshot(listener: (s: SnapshotRecord) => void): () => void;
  /** Runs a parsed spec; resolves once it is RUNNING. Throws CONFLICT when a job of that name runs. */
  submitSpec(spec: JobSpec, opts?: SubmitSpecOptions): Promise<ManagedJob>;
  /** Latest completed checkpoint or savepoint of a job (newest intact on disk or recorded). */
  latestSnapshot(jobId: string): SnapshotRecord | undefined;
  /** The directory of a job's files. */
  jobDir(jobId: string): string;
  /** Stops every running job with a savepoint (kept wanted, so the next start resumes it). */
  close(): Promise<void>;
}

function writeJsonAtomic(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(value, null, 2));
  const fd = openSync(tmp, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** Strips builder functions so that a spec survives JSON. */
function plainSpec(spec: JobSpec): JobSpec {
  return JSON.parse(JSON.stringify(spec)) as JobSpec;
}

function toRuntimeState(s: LocalJob['state']): JobState {
  return s;
}

/**
 * Opens the catalog under `dataDir`, starts again every job that was running (from its latest
 * checkpoint or savepoint) and resolves once they run (a job that cannot start is logged and left
 * FAILED). Throws INVALID_CONFIG when `dataDir` cannot be created.
 */
export async function createBundledCatalog(opts: BundledCatalogOptions): Promise<BundledCatalog> {
  const c = new Catalog(opts);
  await c.open();
  return c;
}

class Catalog implements BundledCatalog, BundledJobHost {
  readonly executor: BundledExecutor;
  private readonly entries = new Map<string, Entry>();
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly root: string;
  private changeListeners: Array<(j: ManagedJob) => void> = [];
  private startListeners: Array<(j: LocalJob, m: ManagedJob) => void> = [];
  private snapshotListeners: Array<(s: SnapshotRecord) => void> = [];
  private poller: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly opts: BundledCatalogOptions) {
    this.logger = (opts.logger ?? silentLogger).namespace('tuner.catalog');
    this.now = opts.now ?? Date.now;
    this.root = resolve(opts.dataDir, 'jobs');
    this.executor = new BundledExecutor(this, { logger: opts.logger, faults: opts.faults });
  }

  async open(): Promise<void> {
    try {
      mkdirSync(this.root, { recursive: true });
    } catch (err) {
      throw new StreamtuneError('INVALID_CONFIG', `dataDir ${this.opts.dataDir}: cannot create ${this.root}: ${errorMessage(err)}`, { cause: err });
    }
    for (const id of readdirSync(this.root)) {
      const file = join(this.root, id, 'job.json');
      if (!existsSync(file)) continue;
      let record: BundledJobRecord;
      try {
        record = JSON.parse(readFileSync(file, 'utf8')) as BundledJobRecord;
      } catch (err) {
        this.logger.error(`skipping ${file}: not readable JSON`, { error: errorMessage(err) });
        continue;
      }
      const entry: Entry = { record, state: record.desired === 'finished' ? 'FINISHED' : record.desired === 'failed' ? 'FAILED' : 'CANCELED', lastSnapshotId: 0, lock: Promise.resolve() };
      this.entries.set(record.jobId, entry);
      const latest = this.findLatest(entry);
      if (latest) {
        entry.record.latest = latest.record;
        entry.lastSnapshotId = latest.id;
      }
    }
    for (const e of this.entries.values()) {
      if (e.record.desired !== 'running') continue;
      try {
        await this.startExecution(e.record.jobId, { savepointPath: e.record.latest?.path });
        this.logger.info(`job ${e.record.name} started again`, { job_id: e.record.jobId, restored_from: e.record.latest?.path ?? null });
      } catch (err) {
        e.state = 'FAILED';
        this.logger.error(`job ${e.record.name} could not be started again`, { job_id: e.record.jobId, error: errorMessage(err) });
        this.emitChange(e);
      }
    }
    this.poller = setInterval(() => this.pollSnapshots(), this.opts.snapshotPollMs ?? 200);
    this.poller.unref();
  }

  // ---- JobCatalog -------------------------------------------------------------------------

  list(): ManagedJob[] {
    return [...this.entries.values()].map((e) => this.managed(e));
  }

  get(jobId: string): ManagedJob | undefined {
    const e = this.entries.get(jobId);
    return e ? this.managed(e) : undefined;
  }

  async submit(yamlText: string, opts: { source?: string; parallelism?: Record<string, number>; savepointPath?: string } = {}): Promise<ManagedJob> {
    const source = opts.source ?? 'job spec';
    const spec = parseJobSpecYaml(yamlText, source);
    spec.baseDir = opts.source && existsSync(opts.source) ? dirname(resolve(opts.source)) : process.cwd();
    return this.submitSpec(spec, { parallelism: opts.parallelism, savepointPath: opts.savepointPath });
  }

  async submitSpec(spec: JobSpec, opts: SubmitSpecOptions = {}): Promise<ManagedJob> {
    const same = [...this.entries.values()].find((e) => e.record.name === spec.name);
    if (same && same.job && !isTerminalJobState(same.job.state)) {
      throw new StreamtuneError('CONFLICT', `a job named '${spec.name}' is already running (${same.record.jobId})`, { details: { job_id: same.record.jobId } });
    }
    const jobId = same?.record.jobId ?? opts.jobId ?? randomId();
    const now = this.now();
    const record: BundledJobRecord = {
      jobId,
      name: spec.name,
      spec: { ...plainSpec(spec), baseDir: resolve(spec.baseDir ?? process.cwd()) },
      parallelism: { ...(opts.parallelism ?? {}) },
      checkpointing: { ...(opts.checkpointing ?? {}) },
      outputDirs: opts.outputDirs ?? same?.record.outputDirs,
      desired: 'running',
      latest: opts.fresh ? undefined : same?.record.latest,
      createdAt: same?.record.createdAt ?? now,
      updatedAt: now,
    };
    // validate before anything is written: the constructor checks vertices and parallelism
    new LocalJob(this.runtimeSpec(record), { jobId, parallelism: record.parallelism });
    const entry: Entry = same ?? { record, state: 'CREATED', lastSnapshotId: 0, lock: Promise.resolve() };
    const previous = entry.record;
    entry.record = record;
    this.entries.set(jobId, entry);
    const from = opts.savepointPath ?? (opts.fresh ? undefined : this.findLatest(entry)?.record.path);
    try {
      await this.startExecution(jobId, { savepointPath: from });
    } catch (err) {
      if (same) entry.record = previous;
      else this.entries.delete(jobId);
      throw err;
    }
    return this.managed(entry);
  }

  async triggerSavepoint(jobId: string): Promise<{ savepointPath: string }> {
    const sp = await this.savepoint(jobId, undefined);
    return { savepointPath: sp.path };
  }

  async stop(jobId: string): Promise<{ savepointPath: string }> {
    const e = this.entry(jobId);
    const sp = await this.stopWith(e, undefined, 'user');
    e.record.desired = 'stopped';
    this.persist(e);
    this.emitChange(e);
    return { savepointPath: sp.path };
  }

  onChange(listener: (job: ManagedJob) => void): () => void {
    this.changeListeners.push(listener);
    return () => {
      this.changeListeners = this.changeListeners.filter((l) => l !== listener);
    };
  }

  // ---- BundledCatalog ---------------------------------------------------------------------

  localJob(jobId: string): LocalJob | undefined {
    return this.entries.get(jobId)?.job;
  }

  onJobStarted(listener: (job: LocalJob, managed: ManagedJob) => void): () => void {
    this.startListeners.push(listener);
    return () => {
      this.startListeners = this.startListeners.filter((l) => l !== listener);
    };
  }

  onSnapshot(listener: (s: SnapshotRecord) => void): () => void {
    this.snapshotListeners.push(listener);
    return () => {
      this.snapshotListeners = this.snapshotListeners.filter((l) => l !== listener);
    };
  }

  latestSnapshot(jobId: string): SnapshotRecord | undefined {
    const e = this.entries.get(jobId);
    return e ? (this.findLatest(e)?.record ?? e.record.latest) : undefined;
  }

  jobDir(jobId: string): string {
    return join(this.root, jobId);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.poller) clearInterval(this.poller);
    for (const e of this.entries.values()) {
      if (e.job?.state !== 'RUNNING') continue;
      try {
        await this.stopWith(e, undefined, 'close');
      } catch (err) {
        this.logger.warn(`job ${e.record.name}: stop with savepoint at close failed; cancelling (it resumes from its latest checkpoint)`, { error: errorMessage(err) });
        await e.job?.cancel();
      }
    }
    this.pollSnapshots();
  }

  // ---- BundledJobHost ---------------------------------------------------------------------

  topology(jobId: string): JobTopology | undefined {
    const e = this.entries.get(jobId);
    if (!e) return undefined;
    const maxP = e.record.spec.maxParallelism ?? DEFAULT_MAX_PARALLELISM;
    return { jobId, name: e.record.name, state: this.stateOf(e), maxParallelism: maxP, vertices: this.managed(e).topology };
  }

  startExecution(jobId: string, req: { savepointPath?: string; parallelism?: Record<string, number>; checkpointing?: CheckpointingSettings; allowNonRestoredState?: boolean; failAtFirstRecord?: boolean }): Promise<LocalJob> {
    const e = this.entry(jobId);
    return this.locked(e, async () => {
      if (this.closed) throw new StreamtuneError('JOB_STATE', 'the catalog is closed');
      if (e.job && !isTerminalJobState(e.job.state)) throw new StreamtuneError('JOB_STATE', `job ${e.record.name} is ${e.job.state}; stop it first`);
      const parallelism = { ...e.record.parallelism, ...byVertexName(e.record.spec, req.parallelism ?? {}) };
      const checkpointing = { ...e.record.checkpointing, ...(req.checkpointing ?? {}) };
      const spec = this.runtimeSpec(e.record);
      const job = new LocalJob(req.failAtFirstRecord ? failingAtFirstRecord(spec) : spec, {
        jobId,
        parallelism,
        fromSavepoint: req.savepointPath,
        allowNonRestoredState: req.allowNonRestoredState,
        savepointDir: join(this.jobDir(jobId), 'savepoints'),
        checkpoints: checkpointing,
        outputDirs: e.record.outputDirs,
        logger: this.opts.logger,
        ...this.opts.jobOptions,
      });
      await job.start();
      e.job = job;
      e.stopping = undefined;
      e.startedAt = job.startedAt;
      e.record = { ...e.record, parallelism, checkpointing, desired: 'running', updatedAt: this.now() };
      this.persist(e);
      void job.done().then((r) => this.onDone(e, job, r.state));
      const m = this.managed(e);
      for (const l of this.startListeners) {
        try {
          l(job, m);
        } catch (err) {
          this.logger.warn('job-started listener failed', { error: errorMessage(err) });
        }
      }
      this.emitChange(e);
      return job;
    });
  }

  stopExecution(jobId: string, targetDir: string | undefined): Promise<CompletedCheckpoint> {
    return this.stopWith(this.entry(jobId), targetDir, 'tuner');
  }

  async savepoint(jobId: string, targetDir: string | undefined): Promise<CompletedCheckpoint> {
    const e = this.entry(jobId);
    if (!e.job || e.job.state !== 'RUNNING') throw new StreamtuneError('JOB_STATE', `job ${e.record.name} is ${this.stateOf(e)}, not RUNNING`);
    const sp = await e.job.triggerSavepoint(targetDir ?? join(this.jobDir(jobId), 'savepoints'));
    this.pollSnapshots();
    return sp;
  }

  async cancelExecution(jobId: string): Promise<void> {
    const e = this.entry(jobId);
    await this.locked(e, async () => {
      e.stopping = 'user';
      await e.job?.cancel();
      e.record.desired = 'stopped';
      this.persist(e);
    });
    this.emitChange(e);
  }

  // ---- internals --------------------------------------------------------------------------

  private entry(jobId: string): Entry {
    const e = this.entries.get(jobId);
    if (!e) throw new StreamtuneError('NOT_FOUND', `no job ${jobId}`);
    return e;
  }

  private locked<T>(e: Entry, fn: () => Promise<T>): Promise<T> {
    const run = e.lock.then(fn, fn);
    e.lock = run.catch(() => undefined);
    return run;
  }

  private stopWith(e: Entry, targetDir: string | undefined, by: 'tuner' | 'user' | 'close'): Promise<CompletedCheckpoint> {
    return this.locked(e, async () => {
      const job = e.job;
      if (!job || job.state !== 'RUNNING') throw new StreamtuneError('JOB_STATE', `job ${e.record.name} is ${this.stateOf(e)}, not RUNNING`);
      e.stopping = by;
      let sp: CompletedCheckpoint;
      try {
        sp = await job.stopWithSavepoint(targetDir ?? join(this.jobDir(e.record.jobId), 'savepoints'));
      } catch (err) {
        e.stopping = undefined;
        throw err;
      }
      this.pollSnapshots();
      this.emitChange(e);
      return sp;
    });
  }

  private onDone(e: Entry, job: LocalJob, state: 'FINISHED' | 'CANCELED' | 'FAILED'): void {
    if (e.job !== job) return;
    this.pollSnapshots();
    if (!e.stopping) {
      // ended on its own: a bounded job finished, or the restart strategy gave up
      e.record.desired = state === 'FAILED' ? 'failed' : state === 'FINISHED' ? 'finished' : 'stopped';
      this.persist(e);
    }
    this.emitChange(e);
  }

  private runtimeSpec(r: BundledJobRecord): JobSpec {
    return { ...r.spec, checkpoints: { ...(r.spec.checkpoints ?? {}), dir: join(this.jobDir(r.jobId), 'checkpoints') } };
  }

  private stateOf(e: Entry): JobState {
    return e.job ? toRuntimeState(e.job.state) : e.state;
  }

  private persist(e: Entry): void {
    e.record.updatedAt = this.now();
    writeJsonAtomic(join(this.jobDir(e.record.jobId), 'job.json'), e.record);
  }

  /** The newest intact snapshot of a job: on disk (checkpoints/, savepoints/) or recorded. */
  private findLatest(e: Entry): { id: number; record: SnapshotRecord } | undefined {
    const dirs = [join(this.jobDir(e.record.jobId), 'checkpoints'), join(this.jobDir(e.record.jobId), 'savepoints')];
    const candidates: string[] = [];
    for (const d of dirs) {
      if (!existsSync(d)) continue;
      for (const n of readdirSync(d)) if (n.startsWith('chk-') || n.startsWith('savepoint-')) candidates.push(join(d, n));
    }
    if (e.record.latest && !candidates.includes(e.record.latest.path)) candidates.push(e.record.latest.path);
    let best: { id: number; record: SnapshotRecord } | undefined;
    for (const path of candidates) {
      try {
        const meta = readCheckpoint(path);
        if (meta.jobId !== e.record.jobId) continue;
        if (!best || meta.checkpointId > best.id || (meta.checkpointId === best.id && meta.savepoint)) {
          best = { id: meta.checkpointId, record: { job_id: e.record.jobId, kind: meta.savepoint ? 'savepoint' : 'checkpoint', path, completedAt: meta.timestamp } };
        }
      } catch {
        // missing, half-written or corrupt: not a candidate
      }
    }
    return best;
  }

  /** Records every newly completed checkpoint/savepoint of the running executions. */
  private pollSnapshots(): void {
    for (const e of this.entries.values()) {
      const job = e.job;
      if (!job) continue;
      let newest: CompletedCheckpoint | undefined;
      for (const h of job.stats.history) {
        if (!('path' in h) || h.id <= e.lastSnapshotId) continue;
        e.lastSnapshotId = h.id;
        newest = h;
        const rec: SnapshotRecord = { job_id: e.record.jobId, kind: h.savepoint ? 'savepoint' : 'checkpoint', path: h.path, completedAt: h.timestamp + h.duration, sizeBytes: h.size };
        for (const l of this.snapshotListeners) {
          try {
            l(rec);
          } catch (err) {
            this.logger.warn('snapshot listener failed', { error: errorMessage(err) });
          }
        }
      }
      if (newest) {
        e.record.latest = { job_id: e.record.jobId, kind: newest.savepoint ? 'savepoint' : 'checkpoint', path: newest.path, completedAt: newest.timestamp + newest.duration, sizeBytes: newest.size };
        try {
          this.persist(e);
        } catch (err) {
          this.logger.error(`job ${e.record.name}: cannot persist its latest snapshot`, { error: errorMessage(err) });
        }
      }
    }
  }

  private emitChange(e: Entry): void {
    const m = this.managed(e);
    for (const l of this.changeListeners) {
      try {
        l(m);
      } catch (err) {
        this.logger.warn('job change listener failed', { error: errorMessage(err) });
      }
    }
  }

  private managed(e: Entry): ManagedJob {
    const r = e.record;
    const spec = r.spec;
    const maxP = spec.maxParallelism ?? DEFAULT_MAX_PARALLELISM;
    const topology: TopologyVertex[] = spec.vertices.map((v) => {
      const live = e.job?.vertices.find((x) => x.name === v.name);
      const inputs = spec.edges.filter((x) => x.to === v.name).map((x) => vertexId(spec.name, x.from));
      const partitions = live?.partitions ?? (v.type === 'dataset-source' || v.type === 'generator-source' ? (v.splits ?? 4) : undefined);
      return {
        id: vertexId(spec.name, v.name),
        name: v.name,
        parallelism: live?.parallelism ?? r.parallelism[v.name] ?? v.parallelism ?? 1,
        maxParallelism: maxP,
        inputs,
        ...(partitions !== undefined ? { partitions } : {}),
        keyedInput: spec.edges.some((x) => x.to === v.name && x.partitioning === 'hash'),
      };
    });
    const kafka = spec.vertices.filter((v) => v.type === 'kafka-source');
    const consumerGroup = kafka.length > 0 ? (kafka[0] as { groupId: string }).groupId : spec.name;
    const cs = e.job?.checkpointSettings();
    return {
      job_id: r.jobId,
      name: r.name,
      executor: 'bundled',
      state: this.stateOf(e),
      consumerGroup,
      ...(kafka.length > 0 ? { topics: [...new Set(kafka.map((v) => (v as { topic: string }).topic))] } : {}),
      topology,
      checkpointing: cs ? { interval: cs.interval, timeout: cs.timeout, minPause: cs.minPause, unaligned: cs.unaligned } : { ...r.checkpointing },
      startedAt: e.startedAt,
      restartTimeMs: BUNDLED_RESTART_MS,
    };
  }
}

/**
 * ms a savepoint restart of a bundled job is planned with (ManagedJob.restartTimeMs). Stop with
 * savepoint plus restore takes well under 2 s in process (bench/runtime.ts, bench/tuner.ts); 10 s
 * leaves margin for large state. Replaces the planner's Flink default of 5 min, which would size a
 * bundled job for records piling up during a restart that never lasts that long.
 */
export const BUNDLED_RESTART_MS = 10_000;

/**
 * Test hook ({@link BundledExecutorFaults.failNextRun}): the spec with a poison record in every vertex
 * (every record matches `faults.failOnRecord`) and no restarts, so an execution of it fails at its
 * first record and the runtime's failover ends it FAILED.
 */
function failingAtFirstRecord(spec: JobSpec): JobSpec {
  return {
    ...spec,
    restartStrategy: { type: 'none' },
    vertices: spec.vertices.map((v) => ({ ...v, faults: { ...(v.faults ?? {}), failOnRecord: '1 == 1' } })),
  };
}

/**
 * Parallelism overrides keyed by vertex name, as the runtime takes them, from overrides keyed by
 * JobVertexID (what the executor contract uses). A key that is no vertex's id but is a vertex's name
 * is taken as that name: operations journaled before vertex ids were used on the bundled runtime.
 * @throws StreamtuneError INVALID_ARGUMENT naming the key when it is neither.
 */
function byVertexName(spec: JobSpec, overrides: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, p] of Object.entries(overrides)) {
    const v = spec.vertices.find((x) => vertexId(spec.name, x.name) === key) ?? spec.vertices.find((x) => x.name === key);
    if (!v) throw new StreamtuneError('INVALID_ARGUMENT', `parallelism: job ${spec.name} has no vertex with id or name '${key}'`, { details: { field: `parallelism.${key}` } });
    out[v.name] = p;
  }
  return out;
}
