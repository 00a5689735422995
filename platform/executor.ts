/**
 * The executor interface: what the tuner needs from whatever runs a job. Two implementations: the
 * bundled runtime (`runtime/`) and Apache Flink over its REST API (`platform/flink/executor.ts`).
 * Everything here is plain data so that one shared contract suite can run against both.
 *
 * Errors: every method throws {@link StreamtuneError} (`core/errors.ts`):
 * - `FLINK_API` for a failed call to the cluster. `retriable` is true for connection errors,
 *   timeouts and HTTP 5xx/429 (retrying the same call can succeed), false for other 4xx.
 * - `OPERATION_FAILED` when the cluster accepted the request but the operation did not succeed.
 *   `details.reason` says why: `'failure-cause'` (Flink reported a failure cause; the message
 *   carries it; not retriable), `'timeout'` (not done within the caller's `timeoutMs`; retriable,
 *   the job was left as it was), `'job-failed'` (the job reached FAILED/CANCELED instead of RUNNING).
 * - `NOT_FOUND` for an unknown job id, `JOB_STATE` for a job in the wrong state for the call,
 *   `INVALID_ARGUMENT` for bad parallelism overrides (unknown vertex, out of [1, maxParallelism]).
 */
import type { CheckpointingSettings, JobState } from './job.ts';
import type { TopologyVertex } from './topology.ts';

/**
 * The kinds of change the tuner may ask of an executor: new per-vertex parallelism, new checkpoint
 * settings (both through {@link JobExecutor.start} from a savepoint, parallelism also through
 * {@link JobExecutor.rescaleInPlace}) and TaskManager memory.
 */
export const EXECUTOR_CHANGES = ['parallelism', 'checkpointing', 'memory'] as const;

/** One of {@link EXECUTOR_CHANGES}. */
export type ExecutorChange = (typeof EXECUTOR_CHANGES)[number];

/** Whether an executor carries out a kind of change: yes, or no and why (one sentence, for people). */
export type ChangeSupport = { ok: true } | { ok: false; reason: string };

/** The topology of a job as the executor sees it now. */
export interface JobTopology {
  jobId: string;
  name: string;
  state: JobState;
  /** Job-wide max parallelism; -1 when the cluster does not report one. */
  maxParallelism: number;
  vertices: TopologyVertex[];
}

/** A request to start (or restart) a job. */
export interface StartRequest {
  /** The id of the job being replaced (used to find its program / spec). */
  jobId: string;
  /** Savepoint to restore from; absent = start without state. */
  savepointPath?: string;
  /** New parallelism by vertex id ({@link TopologyVertex.id}, the JobVertexID); vertices not listed keep theirs. */
  parallelism?: Record<string, number>;
  checkpointing?: CheckpointingSettings;
  /** Skip savepoint state that maps to no operator. Default false. */
  allowNonRestoredState?: boolean;
  /**
   * The job id the started job gets, chosen by the caller (Flink: the JobID of `POST /jars/:jarid/run`,
   * 32 hex digits), for executors that start a job under a new id ({@link JobExecutor.restartsUnderNewJobId}).
   * Absent: the executor's own choice. Ignored by executors that keep the id.
   */
  runAs?: string;
}

/** Options of {@link JobExecutor.triggerSavepoint}. */
export interface SavepointOptions {
  /** Directory (URI) for the savepoint; absent = the cluster's default (`execution.checkpointing.savepoint-dir`). */
  targetDirectory?: string;
  /** ms to wait for completion. Default chosen by the implementation (Flink: 10 min). */
  timeoutMs?: number;
}

/** Options of {@link JobExecutor.stopWithSavepoint}. */
export interface StopOptions {
  targetDirectory?: string;
  /** Emit MAX_WATERMARK before the savepoint, flushing event-time timers (Flink `drain`). Default false. */
  drain?: boolean;
  /** ms to wait for the savepoint to complete; on expiry throws OPERATION_FAILED (reason 'timeout'). */
  timeoutMs: number;
}

/**
 * Runs, stops and rescales jobs. Implementations: bundled runtime (`kind: 'bundled'`) and Flink REST
 * (`kind: 'flink'`). See the module comment for the errors thrown.
 */
export interface JobExecutor {
  readonly kind: 'bundled' | 'flink';
  /** Current topology and state of a job. Throws NOT_FOUND for an unknown job. */
  describe(jobId: string): Promise<JobTopology>;
  /** Takes a savepoint and leaves the job running; resolves with its path once COMPLETED. */
  triggerSavepoint(jobId: string, opts: SavepointOptions): Promise<{ savepointPath: string }>;
  /**
   * Takes a savepoint and stops the job (Flink: POST /jobs/:jid/stop). On failure the job keeps
   * running (Flink keeps it RUNNING when the savepoint fails). On timeout it keeps running too: if the
   * stop still completes later, the executor starts the job again from that savepoint with the
   * settings it ran with.
   */
  stopWithSavepoint(jobId: string, opts: StopOptions): Promise<{ savepointPath: string }>;
  /**
   * True when a started job runs under a new job id rather than `StartRequest.jobId` (Flink without
   * HA: a JobID is never reused in a session cluster). The tuner then picks the id
   * ({@link StartRequest.runAs}) and journals it before the start. Default false (the bundled
   * runtime keeps the id).
   */
  readonly restartsUnderNewJobId?: boolean;
  /** Starts a job (from a savepoint, with overrides); resolves with the new job id once submitted. */
  start(req: StartRequest): Promise<{ jobId: string }>;
  /** Polls until the job is RUNNING with its tasks running (not only scheduled); throws OPERATION_FAILED
   * with reason 'job-failed' when it reaches a terminal state first, reason 'timeout' (retriable) after
   * `timeoutMs` ms, NOT_FOUND for an unknown job. */
  waitUntilRunning(jobId: string, timeoutMs: number): Promise<void>;
  /** Cancels a job without a savepoint. */
  cancel(jobId: string): Promise<void>;
  /**
   * Changes parallelism without a restart from savepoint, where supported (Flink ≥ 1.18 with the
   * adaptive scheduler: PUT resource-requirements). `overrides` maps vertex id (JobVertexID) → parallelism.
   */
  rescaleInPlace?(jobId: string, overrides: Record<string, number>): Promise<void>;
  /**
   * True when {@link rescaleInPlace} can be used with this executor as configured (Flink: `scheduler:
   * 'adaptive'`). The tuner then changes parallelism-only operations in place, without a savepoint.
   */
  readonly rescalesInPlace?: boolean;
  /**
   * Whether this executor, as configured, carries out changes of `kind` on its jobs. The tuner offers
   * Apply only for recommendations whose every action is of a supported kind; the others are advice
   * with the setting a person changes. Answers from the configuration alone (no call to the cluster).
   */
  supports(kind: ExecutorChange): ChangeSupport;
  /**
   * Downtime of the latest stop/start (or in-place rescale) of the job, ms. Bundled runtime: last
   * record processed before the stop → first record processed after the start. Flink: the sources
   * stopping (the savepoint's trigger time, or the adaptive scheduler's RESTARTING) → every subtask
   * of the new execution RUNNING, from the JobManager's records (`FlinkExecutor.downtimeMs`).
   * Waits up to `timeoutMs` ms; undefined when unknown. Optional: where missing, the tuner measures
   * stop completed → running (in place: request → running with the new parallelism).
   */
  downtimeMs?(jobId: string, timeoutMs: number): Promise<number | undefined>;
}
