/**
 * {@link JobExecutor} for Apache Flink over its REST API (Flink ≥ 1.17 for per-vertex overrides at
 * submission; ≥ 1.18 with the adaptive scheduler for in-place rescale). Semantics from
 * docs/FLINK-CONTRACT.md (REST API):
 * - stop-with-savepoint: `POST /jobs/:jid/stop` with a caller-chosen `triggerId`, then poll
 *   `/jobs/:jid/savepoints/:triggerId` until COMPLETED (location or failure-cause) or the timeout.
 *   A failed savepoint leaves the job RUNNING; streamtune does not touch it further. A stop that
 *   completes after the timeout is followed by a start from it with the previous parallelism.
 * - start: `POST /jars/:jarid/run` with `savepointPath` and
 *   `flinkConfiguration["pipeline.jobvertex-parallelism-overrides"] = "<vid>:<p>,…"`.
 * - rescale in place: `PUT /jobs/:jid/resource-requirements` listing every vertex, upperBound = target,
 *   lowerBound lowered only when it would exceed the target (the Flink Kubernetes operator's rule).
 */
import { errorMessage, type Logger, poll, silentLogger, sleep, StreamtuneError } from '../../core/index.ts';
import type { ChangeSupport, ExecutorChange, JobExecutor, JobTopology, SavepointOptions, StartRequest, StopOptions } from '../executor.ts';
import { isTerminalJobState, type JobState } from '../job.ts';
import { flinkTopology } from './topology.ts';
import {
  FlinkRestClient,
  formatParallelismOverrides,
  newTriggerId,
  PARALLELISM_OVERRIDES_KEY,
  type FlinkRestClientOptions,
  type JarRunRequest,
  type ParallelismBounds,
} from './rest-client.ts';

/** Options of {@link FlinkExecutor}. */
export interface FlinkExecutorOptions {
  /** REST client options (baseUrl, authorization, timeouts, retries). */
  rest: FlinkRestClientOptions;
  /** Id of the uploaded jar that `start` runs (`POST /jars/upload` → basename of `filename`). Required for `start`. */
  jarId?: string;
  /** Fully qualified entry class; default the jar manifest's. */
  entryClass?: string;
  /** Program arguments passed as `programArgsList`. Default none. */
  programArgs?: string[];
  /** Restore claim mode (Flink 1.20+ `claimMode`). Default not sent (Flink's default, NO_CLAIM). */
  claimMode?: 'CLAIM' | 'NO_CLAIM' | 'LEGACY';
  /**
   * Per-job program: `jarId`, `entryClass` and `programArgs` by job name or JobID (JobID wins), laid
   * over the cluster-wide ones above when `start` restarts that job. The REST API does not keep a
   * job's program arguments, so a cluster running one jar with different arguments per job (its
   * topic, consumer group, knobs) says them here. Default none.
   */
  jobs?: Record<string, FlinkJobProgram>;
  /** Extra `flinkConfiguration` entries sent on every start. Default none. */
  flinkConfiguration?: Record<string, string>;
  /** 'adaptive' enables {@link FlinkExecutor.rescaleInPlace} (needs `jobmanager.scheduler: adaptive`, Flink 1.18+). Default 'default'. */
  scheduler?: 'default' | 'adaptive';
  /**
   * Start the new execution under the JobID of the one it replaces (`jobId` of `POST /jars/:jarid/run`)
   * instead of a fresh one, so that metrics, diagnoses, operations and policies stay attached to one
   * id across tuner restarts, as on the bundled runtime. Flink accepts a JobID again once the
   * previous execution's entry left its JobResultStore (`job-result-store.delete-on-commit: true`,
   * Flink's default); until the stopped execution's cleanup finishes, a submit under its JobID is
   * refused with DuplicateJobSubmissionException ("Job has already been submitted"), which `start`
   * retries for up to `duplicateJobRetryMs`. Only with HA: without it (the embedded JobResultStore)
   * Flink 1.20 keeps every finished JobID for good and refuses it forever. Default false (a new
   * JobID per start: {@link StartRequest.runAs}, else Flink's choice).
   */
  keepJobId?: boolean;
  /** ms `start` keeps retrying a submit refused as a duplicate JobID (see `keepJobId`). Default 30 000. */
  duplicateJobRetryMs?: number;
  /** ms between savepoint/status polls. Default 500. */
  pollIntervalMs?: number;
  /** ms to wait for a plain savepoint ({@link SavepointOptions.timeoutMs} wins). Default 600 000. */
  savepointTimeoutMs?: number;
  /** ms a stop-with-savepoint that timed out is still watched for a late completion (then the job is started again unchanged). Default 600 000. */
  lateStopWatchMs?: number;
  logger?: Logger;
  /** ms since epoch, for polling deadlines. Default Date.now. */
  now?: () => number;
  /** Waits between polls. Default a timer. Tests inject a virtual one. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** The program a job is (re)started with: which uploaded jar, entry class and arguments. */
export interface FlinkJobProgram {
  /** id of the uploaded jar (`POST /jars/upload`) */
  jarId?: string;
  /** fully qualified entry class; default the jar manifest's */
  entryClass?: string;
  /** program arguments (`programArgsList`) */
  programArgs?: string[];
}

/** Flink implementation of {@link JobExecutor}; errors as documented in `platform/executor.ts`. */
export class FlinkExecutor implements JobExecutor {
  readonly kind = 'flink' as const;
  readonly client: FlinkRestClient;
  private readonly log: Logger;
  private readonly pollMs: number;
  private readonly now: () => number;
  /** JobID → job name, as last described (for the per-job programs of `opts.jobs`) */
  private readonly names = new Map<string, string>();
  /** JobID → when its sources stopped for the latest stop or in-place rescale (ms since epoch, JobManager clock where known), for {@link downtimeMs} */
  private readonly downSince = new Map<string, { at: number; how: 'savepoint' | 'rescale'; requestedAt: number }>();

  /** True unless `keepJobId`: a start runs under a new JobID ({@link StartRequest.runAs} when given). */
  get restartsUnderNewJobId(): boolean {
    return this.opts.keepJobId !== true;
  }

  /** True with `scheduler: 'adaptive'`: {@link rescaleInPlace} is available. */
  get rescalesInPlace(): boolean {
    return this.opts.scheduler === 'adaptive';
  }

  /**
   * Parallelism: with `jarId` (restart from a savepoint) or the adaptive scheduler (in place).
   * Checkpoint settings: with `jarId` (they are job configuration, sent on the restart). Memory: no —
   * `taskmanager.memory.*` is the cluster's configuration, read when a TaskManager process starts;
   * resubmitting one job cannot change it.
   */
  supports(kind: ExecutorChange): ChangeSupport {
    if (kind === 'memory') return { ok: false, reason: "TaskManager memory (taskmanager.memory.*) is the Flink cluster's configuration, read when a TaskManager starts; resubmitting one job cannot change it" };
    if (this.opts.jarId || Object.values(this.opts.jobs ?? {}).some((j) => j.jarId)) return { ok: true };
    if (kind === 'parallelism' && this.opts.scheduler === 'adaptive') return { ok: true };
    return {
      ok: false,
      reason: kind === 'parallelism'
        ? 'flink.jarId is not set and the scheduler is not adaptive: streamtune can neither restart the job from a savepoint nor rescale it in place'
        : 'flink.jarId is not set: checkpoint settings take a restart from a savepoint, which runs the jar',
    };
  }

  constructor(private readonly opts: FlinkExecutorOptions) {
    this.client = new FlinkRestClient({ ...opts.rest, logger: opts.rest.logger ?? opts.logger });
    this.log = (opts.logger ?? silentLogger).namespace('flink-executor');
    this.pollMs = opts.pollIntervalMs ?? 500;
    this.now = opts.now ?? Date.now;
  }

  /** `GET /jobs/:jid` and its `/plan` → topology. Vertex ids are JobVertexIDs. Throws NOT_FOUND for an unknown job, FLINK_API. */
  async describe(jobId: string): Promise<JobTopology> {
    const [d, plan] = await onJob(jobId, () => Promise.all([this.client.jobDetails(jobId), this.client.jobPlan(jobId)]));
    this.names.set(d.jid, d.name);
    return {
      jobId: d.jid,
      name: d.name,
      state: d.state as JobState,
      maxParallelism: d.maxParallelism ?? -1,
      vertices: flinkTopology(d, plan),
    };
  }

  /** `POST /jobs/:jid/savepoints` (cancel-job false) and poll. Throws NOT_FOUND for an unknown job, OPERATION_FAILED, FLINK_API. */
  async triggerSavepoint(jobId: string, opts: SavepointOptions): Promise<{ savepointPath: string }> {
    const triggerId = newTriggerId();
    await onJob(jobId, () => this.client.triggerSavepoint(jobId, { targetDirectory: opts.targetDirectory, cancelJob: false, triggerId }));
    return this.awaitSavepoint(jobId, triggerId, opts.timeoutMs ?? this.opts.savepointTimeoutMs ?? 600_000, 'savepoint');
  }

  /**
   * `POST /jobs/:jid/stop` and poll until the savepoint completes, fails or `timeoutMs` passes.
   * Flink goes on with a stop whose wait timed out here; so after a timeout the stop is watched in
   * the background (at most `lateStopWatchMs`), and if it still completes, the job is started again
   * from that savepoint with the per-vertex parallelism it ran with before the stop (read with
   * `GET /jobs/:jid` first): it keeps running unchanged instead of being left stopped by an
   * operation that already ended FAILED. Throws NOT_FOUND for an unknown job, OPERATION_FAILED
   * ('failure-cause' | 'timeout'), FLINK_API.
   */
  async stopWithSavepoint(jobId: string, opts: StopOptions): Promise<{ savepointPath: string }> {
    const before = await this.describe(jobId);
    const triggerId = newTriggerId();
    this.log.info('stop-with-savepoint', { job_id: jobId, triggerId, drain: opts.drain ?? false });
    const requestedAt = this.now();
    await this.client.stopWithSavepoint(jobId, { targetDirectory: opts.targetDirectory, drain: opts.drain ?? false, triggerId });
    try {
      const r = await this.awaitSavepoint(jobId, triggerId, opts.timeoutMs, 'stop-with-savepoint');
      // the sources stopped emitting at the savepoint's barrier: its trigger time on the JobManager's clock
      const stats = await this.client.checkpoints(jobId).catch(() => undefined);
      const sp = stats?.latest?.savepoint;
      const at = sp?.external_path === r.savepointPath && sp.trigger_timestamp ? sp.trigger_timestamp : requestedAt;
      this.downSince.set(jobId, { at, how: 'savepoint', requestedAt });
      return r;
    } catch (err) {
      if (err instanceof StreamtuneError && err.details.reason === 'timeout') this.restartAfterLateStop(before, triggerId);
      throw err;
    }
  }

  /** Watches a stop-with-savepoint that timed out; if it completes, starts the job again from it unchanged. */
  private restartAfterLateStop(before: JobTopology, triggerId: string): void {
    const jobId = before.jobId;
    const parallelism = Object.fromEntries(before.vertices.map((v) => [v.id, v.parallelism]));
    this.awaitSavepoint(jobId, triggerId, this.opts.lateStopWatchMs ?? 600_000, 'late stop-with-savepoint', true)
      .then(
        async ({ savepointPath }) => {
          this.log.warn(`stop-with-savepoint of ${jobId} completed after its timeout; starting it again unchanged`, { job_id: jobId, savepointPath, parallelism });
          await this.start({ jobId, savepointPath, parallelism });
        },
        () => undefined, // failed (Flink keeps the job running) or still not done: nothing to bring back
      )
      .catch((err: unknown) => this.log.error(`starting ${jobId} again after a late stop-with-savepoint failed`, { job_id: jobId, error: errorMessage(err) }));
  }

  /** `check` every poll interval until it gives a value (`core/poll.ts`); on timeout, `onTimeout()` is thrown. */
  private pollFor<T>(check: () => Promise<T | undefined>, timeoutMs: number, what: string, onTimeout: () => Error, background = false): Promise<T> {
    return poll(check, {
      intervalMs: this.pollMs, timeoutMs, what, now: this.now, timeoutError: onTimeout,
      sleep: this.opts.sleep ?? ((ms, signal) => sleep(ms, signal, background)),
    });
  }

  /** Polls the savepoint status; `background` timers do not keep the process alive. */
  private async awaitSavepoint(jobId: string, triggerId: string, timeoutMs: number, what: string, background = false): Promise<{ savepointPath: string }> {
    const check = async (): Promise<{ savepointPath: string } | undefined> => {
      const s = await this.client.savepointStatus(jobId, triggerId);
      if (s.status === 'COMPLETED') {
        this.log.info(`${what} completed`, { job_id: jobId, triggerId, savepointPath: s.location });
        return { savepointPath: s.location };
      }
      if (s.status === 'FAILED') {
        // Flink (1.20) accepts a savepoint trigger for a job it does not know and fails the operation
        if (JOB_NOT_FOUND.test(`${s.failureClass ?? ''} ${s.failureMessage} ${s.stackTrace ?? ''}`)) {
          throw new StreamtuneError('NOT_FOUND', `no Flink job ${jobId}: ${s.failureMessage}`, { details: { jobId, triggerId } });
        }
        this.log.warn(`${what} failed`, { job_id: jobId, triggerId, failure: s.failureMessage });
        throw new StreamtuneError('OPERATION_FAILED', `${what} of job ${jobId} failed: ${s.failureMessage}`, {
          details: { reason: 'failure-cause', jobId, triggerId, failureClass: s.failureClass, failureMessage: s.failureMessage, stackTrace: s.stackTrace },
        });
      }
      return undefined;
    };
    const timedOut = () =>
      new StreamtuneError('OPERATION_FAILED', `${what} of job ${jobId} did not complete within ${timeoutMs} ms (trigger ${triggerId})`, {
        retriable: true,
        details: { reason: 'timeout', jobId, triggerId, timeoutMs },
      });
    return this.pollFor(check, timeoutMs, `${what} of job ${jobId}`, timedOut, background);
  }

  /**
   * `POST /jars/:jarId/run` with savepointPath, allowNonRestoredState, checkpointing keys and
   * `pipeline.jobvertex-parallelism-overrides` built from `req.parallelism`. Throws INVALID_CONFIG
   * without `jarId`, INVALID_ARGUMENT for a parallelism < 1.
   */
  async start(req: StartRequest): Promise<{ jobId: string }> {
    const program = this.programOf(req.jobId);
    if (!program.jarId) throw new StreamtuneError('INVALID_CONFIG', 'flink.jarId is required to start jobs over REST', { details: { field: 'jarId' } });
    const conf: Record<string, string> = { ...(this.opts.flinkConfiguration ?? {}) };
    const overrides = req.parallelism ?? {};
    for (const [vid, p] of Object.entries(overrides)) {
      if (!Number.isInteger(p) || p < 1) {
        throw new StreamtuneError('INVALID_ARGUMENT', `parallelism for vertex ${vid} must be an integer ≥ 1, got ${p}`, { details: { field: `parallelism.${vid}` } });
      }
    }
    if (Object.keys(overrides).length > 0) conf[PARALLELISM_OVERRIDES_KEY] = formatParallelismOverrides(overrides);
    const cp = req.checkpointing;
    if (cp?.interval !== undefined) conf['execution.checkpointing.interval'] = `${cp.interval} ms`;
    if (cp?.timeout !== undefined) conf['execution.checkpointing.timeout'] = `${cp.timeout} ms`;
    if (cp?.minPause !== undefined) conf['execution.checkpointing.min-pause'] = `${cp.minPause} ms`;
    if (cp?.unaligned !== undefined) conf['execution.checkpointing.unaligned.enabled'] = String(cp.unaligned);
    const body: JarRunRequest = {};
    if (this.opts.keepJobId) body.jobId = req.jobId;
    else if (req.runAs !== undefined) {
      if (!/^[0-9a-f]{32}$/.test(req.runAs)) throw new StreamtuneError('INVALID_ARGUMENT', `runAs must be a JobID (32 hex digits), got '${req.runAs}'`, { details: { field: 'runAs' } });
      body.jobId = req.runAs;
    }
    if (program.entryClass !== undefined) body.entryClass = program.entryClass;
    if (program.programArgs !== undefined) body.programArgsList = program.programArgs;
    if (req.savepointPath !== undefined) body.savepointPath = req.savepointPath;
    if (req.allowNonRestoredState !== undefined) body.allowNonRestoredState = req.allowNonRestoredState;
    if (this.opts.claimMode !== undefined && req.savepointPath !== undefined) body.claimMode = this.opts.claimMode;
    if (Object.keys(conf).length > 0) body.flinkConfiguration = conf;
    const jobId = await this.runJarRetryingDuplicate(program.jarId, body);
    // the downtime of the stop that preceded this start is measured on the new execution
    const down = this.downSince.get(req.jobId);
    if (down && jobId !== req.jobId) {
      this.downSince.delete(req.jobId);
      this.downSince.set(jobId, down);
    }
    const name = this.names.get(req.jobId);
    if (name !== undefined) this.names.set(jobId, name);
    this.log.info('job submitted', { previous_job_id: req.jobId, job_id: jobId, savepointPath: req.savepointPath, overrides });
    return { jobId };
  }

  /** The program `jobId` restarts with: `opts.jobs[JobID]`, else `opts.jobs[its name]`, over the cluster-wide options. */
  programOf(jobId: string): FlinkJobProgram {
    const name = this.names.get(jobId);
    const own = this.opts.jobs?.[jobId] ?? (name !== undefined ? this.opts.jobs?.[name] : undefined) ?? {};
    const out: FlinkJobProgram = {};
    const jarId = own.jarId ?? this.opts.jarId;
    const entryClass = own.entryClass ?? this.opts.entryClass;
    const programArgs = own.programArgs ?? this.opts.programArgs;
    if (jarId !== undefined) out.jarId = jarId;
    if (entryClass !== undefined) out.entryClass = entryClass;
    if (programArgs !== undefined) out.programArgs = [...programArgs];
    return out;
  }

  /**
   * `runJar`, retried every poll interval for up to `duplicateJobRetryMs` while Flink refuses the
   * fixed JobID as a duplicate (the stopped execution is not cleaned up yet). Other errors, and the
   * duplicate refusal after the deadline, are thrown as they are (FLINK_API).
   */
  private async runJarRetryingDuplicate(jarId: string, body: JarRunRequest): Promise<string> {
    let last: unknown;
    const check = async (): Promise<string | undefined> => {
      try {
        return await this.client.runJar(jarId, body);
      } catch (err) {
        const duplicate = body.jobId !== undefined && /DuplicateJobSubmission|already been submitted/i.test(errorMessage(err));
        if (!duplicate) throw err;
        last = err;
        this.log.info('JobID not free yet (previous execution still cleaning up); submitting again', { job_id: body.jobId });
        return undefined;
      }
    };
    // the duplicate refusal after the deadline is thrown as it is (FLINK_API)
    return this.pollFor(check, this.opts.duplicateJobRetryMs ?? 30_000, `JobID ${body.jobId} to be free`, () => last as StreamtuneError);
  }

  /**
   * Polls `GET /jobs/:jid` until the job is RUNNING and so is every one of its vertices (FINISHED
   * counts too: a bounded source that is done). Flink reports the job RUNNING as soon as scheduling
   * starts, before any task is deployed or has opened its operators, so a job whose tasks fail at
   * start would pass for running; Flink's own tests wait for every task the same way
   * (`CommonTestUtils.waitForAllTaskRunning`). A terminal job state first → OPERATION_FAILED
   * 'job-failed'; an unknown job → NOT_FOUND.
   */
  async waitUntilRunning(jobId: string, timeoutMs: number): Promise<void> {
    let state = 'unknown';
    /** vertices not running yet, for the timeout message */
    let waitingFor: string[] = [];
    const check = async (): Promise<true | undefined> => {
      const d = await onJob(jobId, () => this.client.jobDetails(jobId));
      state = d.state;
      waitingFor = d.vertices.filter((v) => v.status !== undefined && v.status !== 'RUNNING' && v.status !== 'FINISHED').map((v) => `${v.name} ${v.status}`);
      if (d.state === 'RUNNING' && waitingFor.length === 0) return true;
      if (isTerminalJobState(d.state)) {
        throw new StreamtuneError('OPERATION_FAILED', `job ${jobId} reached ${d.state} instead of RUNNING`, { details: { reason: 'job-failed', jobId, state: d.state } });
      }
      return undefined;
    };
    const timedOut = () =>
      new StreamtuneError('OPERATION_FAILED', `job ${jobId} not RUNNING after ${timeoutMs} ms (state ${state}${waitingFor.length > 0 ? `; vertices ${waitingFor.join(', ')}` : ''})`, {
        retriable: true,
        details: { reason: 'timeout', jobId, state, waitingFor, timeoutMs },
      });
    await this.pollFor(check, timeoutMs, `job ${jobId} RUNNING`, timedOut);
  }

  /** `PATCH /jobs/:jid?mode=cancel`. Throws NOT_FOUND for an unknown job, FLINK_API. */
  async cancel(jobId: string): Promise<void> {
    await onJob(jobId, () => this.client.cancel(jobId));
  }

  /**
   * In-place rescale (adaptive scheduler, Flink 1.18+): reads the current requirements, sets
   * upperBound = target for the overridden vertices, lowers lowerBound only when it exceeds the target,
   * keeps every other vertex as it was, and PUTs the full map. Throws INVALID_CONFIG when not
   * configured for the adaptive scheduler, INVALID_ARGUMENT for an unknown vertex or a target outside
   * [1, maxParallelism].
   */
  async rescaleInPlace(jobId: string, overrides: Record<string, number>): Promise<void> {
    if (this.opts.scheduler !== 'adaptive') {
      throw new StreamtuneError('INVALID_CONFIG', 'rescaleInPlace needs scheduler: adaptive (jobmanager.scheduler: adaptive, Flink ≥ 1.18)', { details: { field: 'scheduler' } });
    }
    const topo = await this.describe(jobId);
    const current = await this.client.resourceRequirements(jobId);
    const next: Record<string, ParallelismBounds> = {};
    for (const v of topo.vertices) {
      const cur = current[v.id] ?? { lowerBound: 1, upperBound: v.parallelism };
      next[v.id] = { ...cur };
    }
    for (const [vid, target] of Object.entries(overrides)) {
      const v = topo.vertices.find((x) => x.id === vid);
      if (!v) throw new StreamtuneError('INVALID_ARGUMENT', `vertex ${vid} is not part of job ${jobId}`, { details: { field: `overrides.${vid}` } });
      if (!Number.isInteger(target) || target < 1 || target > v.maxParallelism) {
        throw new StreamtuneError('INVALID_ARGUMENT', `parallelism for vertex ${vid} must be in [1, ${v.maxParallelism}] (max parallelism), got ${target}`, { details: { field: `overrides.${vid}` } });
      }
      const cur = next[vid]!;
      next[vid] = { lowerBound: cur.lowerBound > target ? target : cur.lowerBound, upperBound: target };
    }
    this.log.info('rescale in place', { job_id: jobId, overrides });
    const requestedAt = this.now();
    await this.client.updateResourceRequirements(jobId, next);
    this.downSince.set(jobId, { at: requestedAt, how: 'rescale', requestedAt });
  }

  /**
   * Downtime of the job's latest stop-with-savepoint → start, or in-place rescale, ms: from the
   * moment its sources stopped to the moment every subtask of the new execution was RUNNING, both
   * read from Flink's own records on the JobManager's clock (so no polling interval is in it):
   * - stopped: a stop-with-savepoint's sources stop emitting at its barrier, i.e. at the savepoint's
   *   `trigger_timestamp` (`GET /jobs/:jid/checkpoints`, `latest.savepoint`); an in-place rescale's
   *   tasks are cancelled when the adaptive scheduler restarts the job, i.e. at the job's latest
   *   `timestamps.RESTARTING` (`GET /jobs/:jid`) after the request (else the request time);
   * - running again: the latest `timestamps.RUNNING` over every subtask of every vertex of the new
   *   execution (`GET /jobs/:jid/vertices/:vid/subtasktimes`): from then on each source reads and
   *   every operator processes.
   * Records in flight between the barrier and the stop are processed meanwhile, and a restored
   * source first re-reads what arrived during the restart: the lag that builds is
   * downtime × input rate. Waits up to `timeoutMs` for every subtask to run; undefined when no stop
   * or rescale of the job was seen by this executor, or the subtasks are not all RUNNING in time.
   */
  async downtimeMs(jobId: string, timeoutMs: number): Promise<number | undefined> {
    const down = this.downSince.get(jobId);
    if (!down) return undefined;
    const deadline = this.now() + timeoutMs;
    for (;;) {
      const d = await this.client.jobDetails(jobId).catch(() => undefined);
      const allRunning = d?.state === 'RUNNING' && d.vertices.every((v) => v.status === 'RUNNING' || v.status === 'FINISHED');
      if (d && allRunning) {
        let at = down.at;
        if (down.how === 'rescale') {
          const restarting = d.timestamps?.RESTARTING;
          // the JobManager's clock and ours are one machine's here; allow 1 s of skew elsewhere
          if (restarting !== undefined && restarting >= down.requestedAt - 1000) at = restarting;
        }
        const times = await Promise.all(d.vertices.map((v) => this.client.subtaskTimes(jobId, v.id).catch(() => undefined)));
        let running = -Infinity;
        for (const t of times) {
          if (!t) return undefined;
          for (const st of t.subtasks) running = Math.max(running, st.timestamps.RUNNING ?? Number.NaN);
        }
        if (!Number.isFinite(running) || running < at) return undefined;
        this.downSince.delete(jobId);
        return running - at;
      }
      if (this.now() >= deadline) return undefined;
      await (this.opts.sleep ?? sleep)(this.pollMs);
    }
  }
}

/**
 * Flink's exception for an unknown JobID (`org.apache.flink.runtime.messages.FlinkJobNotFoundException`),
 * as a savepoint operation's failure cause names it.
 */
const JOB_NOT_FOUND = /FlinkJobNotFoundException/;

/**
 * Runs a REST call addressed to one job: Flink's 404 for it (`FlinkJobNotFoundException`, "Job … not
 * found") becomes NOT_FOUND, as the executor contract (`platform/executor.ts`) has it for an unknown
 * job id; the FLINK_API error is kept as the cause. Other errors pass unchanged.
 */
async function onJob<T>(jobId: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof StreamtuneError && err.code === 'FLINK_API' && err.details.status === 404) {
      throw new StreamtuneError('NOT_FOUND', `no Flink job ${jobId}: ${err.message}`, { cause: err, details: { jobId } });
    }
    throw err;
  }
}
