/**
 * Plain-data vocabulary of a job as the control plane knows it, whatever runs it (the bundled
 * runtime or Apache Flink): its lifecycle state, checkpointing settings, the checkpoints and
 * savepoints it took, and the {@link ManagedJob} record every stage reads from the catalog.
 */
import type { TopologyVertex } from './topology.ts';

/** Every lifecycle state of a job, with Flink's `JobStatus` names (Flink 1.20 REST `JobStatus`). */
export const JOB_STATES = [
  'INITIALIZING',
  'CREATED',
  'RUNNING',
  'FAILING',
  'FAILED',
  'CANCELLING',
  'CANCELED',
  'FINISHED',
  'RESTARTING',
  'SUSPENDED',
  'RECONCILING',
] as const;

/** Lifecycle state of a job (one of {@link JOB_STATES}). */
export type JobState = (typeof JOB_STATES)[number];

/**
 * States after which this execution of the job does nothing more: Flink's `JobStatus.isTerminalState()`
 * (FAILED, CANCELED, FINISHED are globally terminal; SUSPENDED ends this execution on this
 * JobManager, as on a leadership loss, and is terminal for a client watching it).
 */
export const TERMINAL_JOB_STATES = ['FAILED', 'CANCELED', 'FINISHED', 'SUSPENDED'] as const satisfies readonly JobState[];

const TERMINAL_JOB = new Set<string>(TERMINAL_JOB_STATES);

/** True for a state in {@link TERMINAL_JOB_STATES}. Accepts any string (a state read from Flink's REST API). */
export function isTerminalJobState(state: string): boolean {
  return TERMINAL_JOB.has(state);
}

/** Checkpointing settings applied when starting a job. All durations in ms. */
export interface CheckpointingSettings {
  /** ms between checkpoint triggers (`execution.checkpointing.interval`) */
  interval?: number;
  /** ms before a checkpoint is declared failed (`execution.checkpointing.timeout`) */
  timeout?: number;
  /** ms minimum pause between checkpoints (`execution.checkpointing.min-pause`) */
  minPause?: number;
  /** unaligned checkpoints (`execution.checkpointing.unaligned.enabled`) */
  unaligned?: boolean;
}

/** A completed checkpoint or savepoint of a job, as the catalog and the tuner record it. */
export interface SnapshotRecord {
  job_id: string;
  kind: 'checkpoint' | 'savepoint';
  /** path / URI */
  path: string;
  /** ms since epoch when it completed */
  completedAt: number;
  /** bytes, when known */
  sizeBytes?: number;
  /** the operation that took it, for savepoints taken by the tuner */
  operationId?: string;
}

/** One job as the control plane knows it. */
export interface ManagedJob {
  /** JobID (32 hex). Stable across tuner restarts on the bundled runtime. */
  job_id: string;
  name: string;
  executor: 'bundled' | 'flink';
  state: JobState;
  /**
   * Consumer group whose lag the collector measures and the diagnoser evaluates. Kafka sources:
   * their `group`. Dataset-replay sources (bundled runtime): the job name; each dataset split is
   * reported as a partition of topic = source vertex name (see docs/METRICS.md).
   */
  consumerGroup?: string;
  /** Kafka topics read, for the lag collector */
  topics?: string[];
  /** the plan: vertices with edges and parallelism */
  topology: TopologyVertex[];
  checkpointing?: CheckpointingSettings;
  /** ms since epoch when the current execution started */
  startedAt?: number;
  /**
   * ms since epoch when the job's current execution last entered RUNNING (Flink: `timestamps.RUNNING`
   * of `GET /jobs/:jid`, moved by a failover or an in-place rescale, which restart every task and
   * with them the tasks' rate meters). Absent when unknown.
   */
  runningSince?: number;
  /**
   * ms a savepoint restart of this job is expected to take (the planner's restart time): measured
   * downtime of its last restart when there was one, else typical of the executor. Absent = the
   * rules' `planner.restartTime`.
   */
  restartTimeMs?: number;
}
