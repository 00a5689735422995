/**
 * One {@link JobCatalog} over several (the bundled runtime's and a Flink cluster's), so that the API,
 * pages, collector, alerter, diagnoser and tuner see every job together. Each job belongs to the
 * first catalog that knows its id; calls on a job go to that catalog. Job specs submitted through
 * the composite go to the first catalog (the bundled runtime: Flink jobs are submitted to Flink).
 */
import { StreamtuneError } from '../core/index.ts';
import type { JobCatalog } from './catalog.ts';
import type { ManagedJob, SnapshotRecord } from './job.ts';

/** The composite catalog. `catalogs[0]` takes submitted specs. */
export class CompositeCatalog implements JobCatalog {
  /** @throws StreamtuneError INVALID_ARGUMENT without any catalog */
  constructor(private readonly catalogs: readonly JobCatalog[]) {
    if (catalogs.length === 0) throw new StreamtuneError('INVALID_ARGUMENT', 'a composite catalog needs at least one catalog');
  }

  /** Jobs of every catalog, in catalog order; a job id known to two catalogs is listed once (the first). */
  list(): ManagedJob[] {
    const seen = new Set<string>();
    const out: ManagedJob[] = [];
    for (const c of this.catalogs) {
      for (const j of c.list()) {
        if (seen.has(j.job_id)) continue;
        seen.add(j.job_id);
        out.push(j);
      }
    }
    return out;
  }

  get(jobId: string): ManagedJob | undefined {
    for (const c of this.catalogs) {
      const j = c.get(jobId);
      if (j) return j;
    }
    return undefined;
  }

  submit(yamlText: string, opts?: { source?: string; parallelism?: Record<string, number>; savepointPath?: string }): Promise<ManagedJob> {
    return this.catalogs[0]!.submit(yamlText, opts);
  }

  /** Savepoint through the catalog that knows the job; rejects with NOT_FOUND when none does. */
  async triggerSavepoint(jobId: string): Promise<{ savepointPath: string }> {
    return this.owner(jobId).triggerSavepoint(jobId);
  }

  /** Stop with savepoint through the catalog that knows the job; rejects with NOT_FOUND when none does. */
  async stop(jobId: string): Promise<{ savepointPath: string }> {
    return this.owner(jobId).stop(jobId);
  }

  onChange(listener: (job: ManagedJob) => void): () => void {
    const offs = this.catalogs.map((c) => c.onChange(listener));
    return () => offs.forEach((off) => off());
  }

  onSnapshot(listener: (s: SnapshotRecord) => void): () => void {
    const offs = this.catalogs.map((c) => c.onSnapshot?.(listener)).filter((off): off is () => void => off !== undefined);
    return () => offs.forEach((off) => off());
  }

  /** The catalog that knows `jobId`; NOT_FOUND otherwise. */
  private owner(jobId: string): JobCatalog {
    const c = this.catalogs.find((x) => x.get(jobId) !== undefined);
    if (!c) throw new StreamtuneError('NOT_FOUND', `no job ${jobId}`);
    return c;
  }
}
