/**
 * The bundled runtime's {@link JobExecutor}: stop with savepoint, start from a savepoint with
 * per-vertex parallelism (keys = JobVertexIDs, as on Flink; the catalog maps them to the spec's vertex names) and checkpoint settings, wait until running, describe,
 * cancel — over {@link LocalJob}s run by the bundled catalog (`platform/bundled/catalog.ts`), which
 * implements {@link BundledJobHost} and persists every start's settings.
 *
 * It also measures each restart's downtime: a 5 ms sampler watches the job's record counters during
 * the stop (last change = last record processed before the stop) and after the start (first change =
 * first record processed after it).
 */
import { errorMessage, type Logger, silentLogger, StreamtuneError } from '../../core/index.ts';
import type { CompletedCheckpoint, LocalJob } from '../../runtime/index.ts';
import type { ChangeSupport, ExecutorChange, JobExecutor, JobTopology, SavepointOptions, StartRequest, StopOptions } from '../executor.ts';
import { isTerminalJobState, type CheckpointingSettings, type JobState } from '../job.ts';

/** What the executor needs from whatever runs the {@link LocalJob}s (the bundled catalog). */
export interface BundledJobHost {
  /** The current execution of a job, if one was started in this process. */
  localJob(jobId: string): LocalJob | undefined;
  /** Topology and state of a known job (also when it is stopped); undefined for an unknown id. */
  topology(jobId: string): JobTopology | undefined;
  /**
   * Starts a new execution of a known job (same JobID) from `savepointPath` with settings merged
   * over the current ones; persists the settings once it runs. `failAtFirstRecord` (test hook,
   * {@link BundledExecutorFaults.failNextRun}): this execution only gets a poison record in every
   * vertex and no restarts, so it fails at its first record and ends FAILED. Throws NOT_FOUND,
   * JOB_STATE (an execution is running), INVALID_ARGUMENT (bad parallelism),
   * SAVEPOINT_MISSING/SAVEPOINT_CORRUPT.
   */
  startExecution(jobId: string, req: { savepointPath?: string; parallelism?: Record<string, number>; checkpointing?: CheckpointingSettings; allowNonRestoredState?: boolean; failAtFirstRecord?: boolean }): Promise<LocalJob>;
  /** Stops the running execution with a savepoint into `targetDir` (default the job's savepoint dir);
   * the job stays wanted (a restart follows). Throws NOT_FOUND, JOB_STATE, CHECKPOINT_FAILED/TIMEOUT. */
  stopExecution(jobId: string, targetDir: string | undefined): Promise<CompletedCheckpoint>;
  /** Takes a savepoint, the job keeps running. */
  savepoint(jobId: string, targetDir: string | undefined): Promise<CompletedCheckpoint>;
  /** Cancels the running execution without a savepoint. */
  cancelExecution(jobId: string): Promise<void>;
}

/**
 * Test hook: faults injected into the next call, each cleared once used. Real runtime behaviour
 * otherwise. `failNextSavepoint: true` fails the next stop-with-savepoint / savepoint with
 * OPERATION_FAILED (reason 'failure-cause') without touching the job; `'timeout'` waits the call's
 * `timeoutMs` and fails with reason 'timeout'. `failNextStart` fails the next start with
 * OPERATION_FAILED (reason 'job-failed') before anything is started. `failNextRun` lets the next
 * start succeed and the execution then fail, so that it ends FAILED instead of RUNNING (a job that
 * cannot run with its new settings): the execution is started with a poison record in every vertex
 * (`faults.failOnRecord`, the first record fails) and no restarts (`restartStrategy: none`), and the
 * runtime's own failover ends it FAILED; `start()` resolves once it has ended, so that
 * `waitUntilRunning` deterministically sees the terminal state. Needs a source that has records
 * left to read (an execution that never reads one would not fail).
 */
export interface BundledExecutorFaults {
  failNextSavepoint?: boolean | 'timeout';
  failNextStart?: boolean;
  failNextRun?: boolean;
}

/** Options of {@link BundledExecutor}. */
export interface BundledExecutorOptions {
  logger?: Logger;
  /** test hook, see {@link BundledExecutorFaults}; mutable: set `executor.faults.failNextStart = true` */
  faults?: BundledExecutorFaults;
}

/** Timestamps (ms since epoch) around the latest restart of one job. */
interface RestartTimes {
  lastRecordBeforeStop?: number;
  firstRecordAfterStart?: Promise<number | undefined>;
}

const SAMPLE_MS = 5;

/** Sum of every subtask's records in and out: changes whenever the job processes a record. */
function recordCount(job: LocalJob): number {
  let n = 0;
  for (const s of job.currentSubtasks()) n += s.metrics.numRecordsIn + s.metrics.numRecordsOut;
  return n;
}

function failed(reason: 'failure-cause' | 'timeout' | 'job-failed', message: string, cause?: unknown): StreamtuneError {
  return new StreamtuneError('OPERATION_FAILED', message, { retriable: reason === 'timeout', details: { reason }, cause });
}

/** {@link JobExecutor} of the bundled runtime (`kind: 'bundled'`). Errors as in `platform/executor.ts`. */
export class BundledExecutor implements JobExecutor {
  readonly kind = 'bundled' as const;
  /** test hook, see {@link BundledExecutorFaults} */
  readonly faults: BundledExecutorFaults;
  private readonly logger: Logger;
  private readonly restarts = new Map<string, RestartTimes>();

  constructor(
    private readonly host: BundledJobHost,
    opts: BundledExecutorOptions = {},
  ) {
    this.logger = (opts.logger ?? silentLogger).namespace('tuner.bundled');
    this.faults = opts.faults ?? {};
  }

  /**
   * Parallelism and checkpoint settings: yes (a restart from a savepoint with the new spec). Memory:
   * no — the bundled runtime's TaskManagers (the process and its worker threads) share the V8 heap
   * limit the Node.js process was started with (`--max-old-space-size`), not a per-job setting.
   */
  supports(kind: ExecutorChange): ChangeSupport {
    if (kind === 'memory') {
      return { ok: false, reason: "the bundled runtime's TaskManagers (the Node.js process and its worker threads) share the V8 heap limit the process was started with (--max-old-space-size); a job restart cannot change it" };
    }
    return { ok: true };
  }

  /** Current topology: vertex ids are vertex names. Throws NOT_FOUND. */
  describe(jobId: string): Promise<JobTopology> {
    const t = this.host.topology(jobId);
    if (!t) return Promise.reject(new StreamtuneError('NOT_FOUND', `no job ${jobId}`));
    return Promise.resolve(t);
  }

  /** Savepoint while the job keeps running. Throws OPERATION_FAILED (reason 'failure-cause' | 'timeout'). */
  async triggerSavepoint(jobId: string, opts: SavepointOptions): Promise<{ savepointPath: string }> {
    const timeoutMs = opts.timeoutMs ?? 600_000;
    await this.injectedSavepointFault(timeoutMs);
    const sp = await this.withTimeout(this.host.savepoint(jobId, opts.targetDirectory), timeoutMs, 'savepoint');
    return { savepointPath: sp.path };
  }

  /**
   * Stop with savepoint (no drain). On failure the job keeps running (the runtime resumes its
   * sources); on timeout, if the stop still completes later the job is started again from that
   * savepoint with unchanged settings, so it keeps running unchanged either way.
   * Throws OPERATION_FAILED ('failure-cause' | 'timeout'), NOT_FOUND, JOB_STATE.
   */
  async stopWithSavepoint(jobId: string, opts: StopOptions): Promise<{ savepointPath: string }> {
    const job = this.host.localJob(jobId);
    if (!job) {
      if (!this.host.topology(jobId)) throw new StreamtuneError('NOT_FOUND', `no job ${jobId}`);
      throw new StreamtuneError('JOB_STATE', `job ${jobId} is not running`);
    }
    if (job.state !== 'RUNNING') throw new StreamtuneError('JOB_STATE', `job ${job.name} is ${job.state}, not RUNNING`);
    await this.injectedSavepointFault(opts.timeoutMs);
    // last record processed before the stop: last change of the record counters while stopping
    let count = recordCount(job);
    let lastChange = Date.now();
    const sampler = setInterval(() => {
      const c = recordCount(job);
      if (c !== count) {
        count = c;
        lastChange = Date.now();
      }
    }, SAMPLE_MS);
    const stop = this.host.stopExecution(jobId, opts.targetDirectory);
    try {
      const sp = await this.withTimeout(stop, opts.timeoutMs, 'stop with savepoint');
      if (recordCount(job) !== count) lastChange = Date.now();
      this.restarts.set(jobId, { lastRecordBeforeStop: lastChange });
      return { savepointPath: sp.path };
    } catch (err) {
      if (isTimeout(err)) {
        // the stop may still complete: then bring the job back as it was
        stop.then(
          (sp) => {
            this.logger.warn(`stop with savepoint of ${job.name} completed after its timeout; starting it again unchanged`, { savepoint: sp.path });
            return this.host.startExecution(jobId, { savepointPath: sp.path });
          },
          () => undefined,
        ).catch((e: unknown) => this.logger.error(`restarting ${job.name} after a late stop failed`, { error: errorMessage(e) }));
        throw err;
      }
      if (err instanceof StreamtuneError && (err.code === 'NOT_FOUND' || err.code === 'JOB_STATE')) throw err;
      throw failed('failure-cause', `stop with savepoint of ${job.name} failed: ${errorMessage(err)}`, err);
    } finally {
      clearInterval(sampler);
    }
  }

  /**
   * Starts a new execution with the same JobID from `req.savepointPath` (absent = without state),
   * parallelism by vertex id (JobVertexID) and checkpoint settings; resolves once it runs. Throws
   * OPERATION_FAILED ('job-failed') when the start fails, INVALID_ARGUMENT for bad overrides,
   * NOT_FOUND, JOB_STATE (already running).
   */
  async start(req: StartRequest): Promise<{ jobId: string }> {
    if (this.faults.failNextStart) {
      this.faults.failNextStart = false;
      throw failed('job-failed', `start of job ${req.jobId} failed (injected fault)`);
    }
    const failRun = this.faults.failNextRun === true;
    this.faults.failNextRun = false;
    let job: LocalJob;
    try {
      job = await this.host.startExecution(req.jobId, {
        savepointPath: req.savepointPath,
        parallelism: req.parallelism,
        checkpointing: req.checkpointing,
        allowNonRestoredState: req.allowNonRestoredState,
        ...(failRun ? { failAtFirstRecord: true } : {}),
      });
    } catch (err) {
      if (err instanceof StreamtuneError && ['NOT_FOUND', 'JOB_STATE', 'INVALID_ARGUMENT'].includes(err.code)) throw err;
      throw failed('job-failed', `start of job ${req.jobId} failed: ${errorMessage(err)}`, err);
    }
    if (failRun) {
      // injected fault: the start succeeded; the execution fails at its first record (see BundledExecutorFaults)
      const r = await job.done();
      this.logger.warn(`job ${job.name} started and then ended ${r.state} (injected fault)`, { error: r.error ? errorMessage(r.error) : null });
      return { jobId: req.jobId };
    }
    // first record processed after the start
    const first = new Promise<number | undefined>((resolve) => {
      const t0 = Date.now();
      const timer = setInterval(() => {
        if (recordCount(job) > 0) {
          clearInterval(timer);
          resolve(Date.now());
        } else if (job.state !== 'RUNNING' && job.state !== 'RESTARTING' && job.state !== 'INITIALIZING') {
          clearInterval(timer);
          resolve(undefined);
        } else if (Date.now() - t0 > 600_000) {
          clearInterval(timer);
          resolve(undefined);
        }
      }, SAMPLE_MS);
      timer.unref();
    });
    const times = this.restarts.get(req.jobId) ?? {};
    this.restarts.set(req.jobId, { ...times, firstRecordAfterStart: first });
    return { jobId: req.jobId };
  }

  /** Polls every 20 ms. Throws OPERATION_FAILED 'job-failed' (terminal state) or 'timeout'. */
  async waitUntilRunning(jobId: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const t = this.host.topology(jobId);
      if (!t) throw new StreamtuneError('NOT_FOUND', `no job ${jobId}`);
      if (t.state === 'RUNNING') return;
      if (isTerminalJobState(t.state)) throw failed('job-failed', `job ${t.name} is ${t.state}, not RUNNING`);
      if (Date.now() > deadline) throw failed('timeout', `job ${t.name} not RUNNING after ${timeoutMs} ms (${t.state})`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Cancels the running execution without a savepoint (a no-op when none runs). Throws NOT_FOUND. */
  async cancel(jobId: string): Promise<void> {
    if (!this.host.topology(jobId)) throw new StreamtuneError('NOT_FOUND', `no job ${jobId}`);
    await this.host.cancelExecution(jobId);
  }

  /**
   * Downtime of the latest restart, ms: last record processed before the stop → first record
   * processed after the start. Waits up to `timeoutMs` for the first record; undefined when no stop
   * and start were seen in this process or no record came in time.
   */
  async downtimeMs(jobId: string, timeoutMs: number): Promise<number | undefined> {
    const r = this.restarts.get(jobId);
    if (r?.lastRecordBeforeStop === undefined || !r.firstRecordAfterStart) return undefined;
    let timer: NodeJS.Timeout | undefined;
    const first = await Promise.race([r.firstRecordAfterStart, new Promise<undefined>((res) => (timer = setTimeout(() => res(undefined), timeoutMs)))]);
    clearTimeout(timer);
    return first === undefined ? undefined : Math.max(0, first - r.lastRecordBeforeStop);
  }

  private async injectedSavepointFault(timeoutMs: number): Promise<void> {
    const f = this.faults.failNextSavepoint;
    if (!f) return;
    this.faults.failNextSavepoint = false;
    if (f === 'timeout') {
      await new Promise((r) => setTimeout(r, timeoutMs));
      throw failed('timeout', `savepoint not completed within ${timeoutMs} ms (injected fault)`);
    }
    throw failed('failure-cause', 'savepoint failed (injected fault)');
  }

  private async withTimeout<T>(p: Promise<T>, timeoutMs: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        p,
        new Promise<never>((_, rej) => {
          timer = setTimeout(() => rej(failed('timeout', `${what} not completed within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}

function isTimeout(err: unknown): boolean {
  return err instanceof StreamtuneError && err.code === 'OPERATION_FAILED' && err.details.reason === 'timeout';
}
