/**
 * The job catalog: every job the control plane knows, whatever runs it (bundled runtime or Flink),
 * with what the collector, diagnoser, tuner and dashboards need to know about it. Plain data.
 */
import type { TopologyVertex } from '../diagnoser/load.ts';
import type { CheckpointingSettings, JobState } from './executor.ts';
import type { SnapshotRecord } from './types.ts';

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
   * ms a savepoint restart of this job is expected to take (the planner's restart time): measured
   * downtime of its last restart when there was one, else typical of the executor. Absent = the
   * rules' `planner.restartTime`.
   */
  restartTimeMs?: number;
}

/**
 * Registry of jobs. The bundled implementation (`tuner/bundled/catalog.ts`) runs jobs itself.
 * Errors: NOT_FOUND for an unknown job id; INVALID_SPEC for a bad job spec (names file:line/field);
 * JOB_STATE when the job is not running for savepoint/stop.
 */
export interface JobCatalog {
  list(): ManagedJob[];
  get(jobId: string): ManagedJob | undefined;
  /** Submits a job spec (YAML text, `source` names it in errors); resolves once it is RUNNING. */
  submit(yamlText: string, opts?: { source?: string; parallelism?: Record<string, number>; savepointPath?: string }): Promise<ManagedJob>;
  /** Savepoint, job keeps running. */
  triggerSavepoint(jobId: string): Promise<{ savepointPath: string }>;
  /** Stop with savepoint. */
  stop(jobId: string): Promise<{ savepointPath: string }>;
  /** Called on every job start/stop/state change. Returns an unsubscribe function. */
  onChange(listener: (job: ManagedJob) => void): () => void;
  /** Called with every completed checkpoint and savepoint of every job, where the catalog sees them
   * (the bundled catalog does). Returns an unsubscribe function. */
  onSnapshot?(listener: (s: SnapshotRecord) => void): () => void;
}
