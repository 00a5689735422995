/**
 * The job catalog contract: every job the control plane knows, whatever runs it (bundled runtime or
 * Flink). Implementations: `platform/bundled/catalog.ts` (runs jobs itself), `platform/flink/catalog.ts`
 * (lists a Flink cluster's jobs), `platform/composite-catalog.ts` (several as one),
 * `platform/mirror-catalog.ts` (a read-only copy in another process). One shared contract suite
 * (`test/catalog-contract.ts`) runs against each.
 */
import type { ManagedJob, SnapshotRecord } from './job.ts';

/**
 * Registry of jobs. Errors: NOT_FOUND for an unknown job id; INVALID_SPEC for a bad job spec (names file:line/field);
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
