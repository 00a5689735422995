/**
 * Plain-data shapes of the tuner: operations and their journaled steps, verification results,
 * per-job tuning policy (modes and guardrails) and the records of checkpoints and savepoints.
 * Deciding (`tuner/policy.ts`, `tuner/verify.ts`: pure functions) is kept apart from applying
 * (`tuner/operation.ts`, `tuner/service.ts`: I/O through a {@link JobExecutor}).
 */
import type { Diagnosis, TuningAction } from '../diagnoser/index.ts';
import type { SnapshotRecord, VertexRef } from '../platform/index.ts';
import type { Applicability } from './applicability.ts';

/**
 * Every lifecycle state of an operation, in the order an operation passes them. Terminal: SUCCEEDED,
 * FAILED, ROLLED_BACK, INEFFECTIVE, UNVERIFIED.
 * - PENDING: journaled, nothing done yet
 * - SAVEPOINTING: stop-with-savepoint requested
 * - STARTING: savepoint taken, job stopped, start with the new settings requested
 * - VERIFYING: running again; waiting for the verification window
 * - ROLLING_BACK: starting again from the same savepoint with the previous settings
 * - SUCCEEDED: verified effective (or verification disabled by the policy, `verifyAfterMs: 0`)
 * - FAILED: nothing changed (savepoint failed/timed out, the job keeps running unchanged) — or the
 *   rollback itself failed (then `error` says so and the job needs a human)
 * - ROLLED_BACK: start failed, or verification found it ineffective with `onIneffective: 'rollback'`,
 *   or found the lag growing faster than before the change (`onWorse: 'rollback'`, the default)
 * - INEFFECTIVE: verification found no improvement; kept, and the action is blocked for the job
 * - UNVERIFIED: applied and running with the new settings, but verification could not judge it ("not
 *   enough data" after every attempt, or the metrics could not be read): kept, needs a look
 *   (`error` says why); not blocked, not counted as a success
 */
export const OPERATION_STATES = ['PENDING', 'SAVEPOINTING', 'STARTING', 'VERIFYING', 'ROLLING_BACK', 'SUCCEEDED', 'FAILED', 'ROLLED_BACK', 'INEFFECTIVE', 'UNVERIFIED'] as const;

/** One of {@link OPERATION_STATES}. */
export type OperationState = (typeof OPERATION_STATES)[number];

/** The states an operation ends in: nothing more happens to it. */
export const TERMINAL_OPERATION_STATES = ['SUCCEEDED', 'FAILED', 'ROLLED_BACK', 'INEFFECTIVE', 'UNVERIFIED'] as const satisfies readonly OperationState[];

/** Terminal states a person should look at: the change did not take, did not help, or could not be judged. */
export const ATTENTION_OPERATION_STATES = ['FAILED', 'ROLLED_BACK', 'INEFFECTIVE', 'UNVERIFIED'] as const satisfies readonly OperationState[];

const TERMINAL_OPERATION = new Set<string>(TERMINAL_OPERATION_STATES);

/** True when an operation in `state` has ended (one of {@link TERMINAL_OPERATION_STATES}). */
export function isTerminalOperationState(state: string): boolean {
  return TERMINAL_OPERATION.has(state);
}

/** One journaled step. Written before it is taken (`status: 'started'`) and again when it ends. */
export interface OperationStep {
  /** 'savepoint' | 'stop' | 'start' | 'wait-running' | 'verify' | 'rollback' | 'repair' ... */
  name: string;
  status: 'started' | 'succeeded' | 'failed' | 'skipped';
  /** ms since epoch */
  startedAt: number;
  /** ms since epoch */
  finishedAt?: number;
  /** one line: savepoint path, error message, verification numbers */
  message?: string;
}

/** What verification found, comparing the prediction with what happened after the restart. */
export interface Verification {
  /** ms since epoch: the window compared */
  from: number;
  to: number;
  /** records/s processed by the sources before the operation (mean over the pre window) */
  throughputBefore: number;
  /** records/s after */
  throughputAfter: number;
  /** records/s the recommendation predicted (its `expected.throughputRecordsPerSecond`), when given */
  throughputPredicted?: number;
  /** records/s, lag growth before (positive = falling behind) */
  lagTrendBefore?: number;
  /** records/s, lag growth after (negative = catching up) */
  lagTrendAfter?: number;
  /** records, lag at the end of the window */
  lagAfter?: number;
  /**
   * The forecast checked. `lagUnderOneMinuteForecastMs`: the recommendation's forecast (its
   * `expected.lagUnderOneMinuteMs`), ms from applying until the lag is back under one minute of input;
   * absent when it had none. `lagUnderOneMinuteMs`: what happened, ms from applying (the stop, or the
   * rescale request) until the lag was at or under one minute of input and stayed there to the end of
   * the window; null when it was not within the window (`lagUnderOneMinuteCheckedMs` long); absent when
   * it could not be measured (no lag or input rate).
   */
  lagUnderOneMinuteForecastMs?: number;
  lagUnderOneMinuteMs?: number | null;
  /** ms from applying to the end of verification: how long the lag was watched */
  lagUnderOneMinuteCheckedMs?: number;
  /** records/s arriving after the change (throughput after + lag trend after): one minute of input is 60 s of it */
  inputRecordsPerSecond?: number;
  effective: boolean;
  /** true when the lag grows after the change, and faster than before it (by more than the flat
   * band): the change made things worse (rolled back under `onWorse: 'rollback'`, the default) */
  worse?: boolean;
  /** true for a scale-up that raised throughput as the Flink autoscaler's effectiveness rule asks but
   * after which the lag still grows: effective (kept, not blocked), and not enough: the next
   * diagnosis sizes a further step */
  insufficient?: boolean;
  /** why, in one line with the numbers */
  reason: string;
}

/** A tuning operation: one recommendation (or the user's edited version) applied to one job. */
export interface Operation {
  id: string;
  job_id: string;
  job_name?: string;
  /** the diagnosis and recommendation it came from, when it came from one */
  diagnosisId?: string;
  recommendationId?: string;
  /** who started it */
  origin: 'user' | 'auto';
  /** the kind of executor the job ran on when the operation was applied (`ManagedJob.executor`):
   * recovery uses it, since after a restart of streamtune the catalog may not list a stopped job */
  executor?: 'bundled' | 'flink';
  actions: TuningAction[];
  /** parallelism per vertex before (vertex id/name → parallelism) and checkpoint settings before:
   * what a rollback restores */
  previous: { parallelism: Record<string, number>; checkpointing?: Record<string, number | boolean> };
  state: OperationState;
  steps: OperationStep[];
  /**
   * The job id the job runs under after the operation's (latest) start, when it is not `job_id`:
   * Flink without HA never accepts a JobID twice (its embedded JobResultStore keeps every finished
   * one), so a savepoint restart runs under a new JobID, which the runner picks and journals BEFORE
   * asking for the run (`StartRequest.runAs`), so that a crash at any point leaves it known.
   */
  restartedAs?: string;
  /** every job id the operation asked the executor to start under (`restartedAs` is the last), so
   * that a start that took the place of another (a rollback after a start that never ran) can cancel
   * what is left of the earlier ones, also after a crash */
  startedJobIds?: string[];
  /** savepoint taken by the stop */
  savepointPath?: string;
  /** ms: last record processed before the stop → first record processed after the start */
  downtimeMs?: number;
  /** the recommendation's expected effect, copied */
  expected?: Record<string, number>;
  verification?: Verification;
  /** set on FAILED / ROLLED_BACK */
  error?: string;
  /** ms since epoch */
  createdAt: number;
  updatedAt: number;
  finishedAt?: number;
}

/** Per-job tuning policy. Default: recommend-only. */
export interface TuningPolicy {
  /** 'recommend' (default, Ververica's MONITORING: nothing changes without a click) or 'auto' */
  mode: 'recommend' | 'auto';
  /** ms between two operations on the job (auto and manual). Default 600,000 (10 min). */
  cooldownMs: number;
  /** upper bound of any vertex's parallelism an operation may set (auto only). Default 32. */
  maxParallelism: number;
  /** auto operations per rolling hour. Default 2. */
  maxOperationsPerHour: number;
  /** auto operations only inside these windows (local time, 'HH:MM-HH:MM', may cross midnight);
   * empty = always */
  allowedWindows: string[];
  /** ms after the restart before verification compares. Default 60,000. */
  verifyAfterMs: number;
  /** what an ineffective operation does: keep it and mark INEFFECTIVE, or roll back. Default 'mark'. */
  onIneffective: 'mark' | 'rollback';
  /** what an operation after which the lag grows faster than before does (verification's `worse`):
   * roll back (default), or treat it as any ineffective operation (`onIneffective`). Default 'rollback'. */
  onWorse: 'rollback' | 'mark';
  /** ms an ineffective action stays blocked for the job (Dhalion-style blacklist). Default 3,600,000. */
  blockIneffectiveMs: number;
}

/** An action blocked on a job because an earlier operation with it was found ineffective. */
export interface BlockedAction {
  job_id: string;
  /** see `actionKey` (tuner/policy.ts) */
  actionKey: string;
  /** ms since epoch when the block ends */
  until: number;
  /** the ineffective operation that caused the block */
  operationId: string;
  /** one line: why, with the verification's reason when there is one */
  reason: string;
}

/**
 * An action as a user or a client may write it: a set-parallelism action may name its vertex by id or
 * by name alone. The tuner resolves it against the job's topology once, on apply (`resolveActions`);
 * from there on the operation carries the full {@link VertexRef}.
 */
export type TuningActionInput =
  | Exclude<TuningAction, { type: 'set-parallelism' }>
  | (Omit<Extract<TuningAction, { type: 'set-parallelism' }>, 'vertex'> & { vertex: VertexRef | string });

/** Request to apply a recommendation, or the user's edited version of its actions. */
export interface ApplyRequest {
  job_id: string;
  actions: TuningActionInput[];
  diagnosisId?: string;
  recommendationId?: string;
  /** copied into the operation for verification */
  expected?: Record<string, number>;
  origin: 'user' | 'auto';
}

/**
 * The tuner as the control plane and the server use it (`tuner/service.ts` implements it).
 * Errors (StreamtuneError): NOT_FOUND (unknown job / operation), CONFLICT (an operation already owns
 * the job, or the job is in cooldown for a manual apply: `details.retryAfterMs`), FORBIDDEN (auto
 * apply outside the policy's guardrails, or the action is blocked as ineffective:
 * `details.reason`), INVALID_ARGUMENT (action names an unknown vertex, parallelism out of range).
 */
export interface TunerService {
  /** Journals a new operation and starts running it in the background; resolves with it in PENDING
   * (or later) state as soon as it is durable. */
  apply(req: ApplyRequest): Promise<Operation>;
  /** Resolves when the operation reaches a terminal state (tests, CLI). */
  waitFor(operationId: string, timeoutMs: number): Promise<Operation>;
  operation(id: string): Operation | undefined;
  /** newest first */
  operations(filter?: { job_id?: string; limit?: number }): Operation[];
  /** Repairs or resumes every non-terminal operation in the journal (call at start). */
  recover(): Promise<Operation[]>;
  policy(jobId: string): TuningPolicy;
  setPolicy(jobId: string, policy: Partial<TuningPolicy>): TuningPolicy;
  /** Checkpoints and savepoints recorded for a job, newest first. */
  snapshots(jobId: string): SnapshotRecord[];
  /** The job's actions blocked now because an operation with them was ineffective (under its policy's
   * `blockIneffectiveMs`): the dashboard and API show a recommendation of such an action as not
   * recommended again until the block ends, and `apply` refuses it (FORBIDDEN). */
  blocked(jobId: string): BlockedAction[];
  /**
   * Whether `actions` can be applied to the job by its executor (a capability the executor states,
   * `JobExecutor.supports`), and for those it cannot: why, and the exact settings to change by hand
   * (tuner/applicability.ts). `apply` refuses what is not applicable (INVALID_ARGUMENT).
   */
  applicability(jobId: string, actions: readonly TuningAction[]): Applicability;
  /** Auto mode: considers a diagnosis' recommendations under the job's policy; returns the operation
   * started, or the reason none was. */
  onDiagnosis(d: Diagnosis): Promise<{ operation?: Operation; skipped?: string }>;
  close(): Promise<void>;
}

/** The bus topic the tuner publishes: every change of an operation. */
export interface TunerEvents {
  operations: Operation;
}
