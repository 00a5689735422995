/**
 * The daily digest's data, from the read model: the jobs lagging now (Burrow group status WARN or
 * ERR, with the same lag numbers the overview shows), the diagnoses of the last 24 h and the
 * operations that changed in that time.
 */
import type { DigestData, Incident, OperationStatus, OperationSummary } from '../notify/index.ts';
import type { Operation } from '../tuner/index.ts';
import type { ControlPlane } from './control-plane.ts';
import { jobsOverview } from './read-model.ts';

/** ms the digest looks back. */
export const DIGEST_PERIOD_MS = 86_400_000;

/** An operation as reports show it. */
export function operationSummary(op: Operation): OperationSummary {
  const status: Record<Operation['state'], OperationStatus> = {
    PENDING: 'pending', SAVEPOINTING: 'running', STARTING: 'running', VERIFYING: 'running', ROLLING_BACK: 'running',
    SUCCEEDED: 'succeeded', FAILED: 'failed', INEFFECTIVE: 'failed', ROLLED_BACK: 'rolled-back', UNVERIFIED: 'unverified',
  };
  const out: OperationSummary = {
    id: op.id, job_id: op.job_id, status: status[op.state],
    steps: op.steps.map((s) => ({
      name: s.name, status: s.status === 'started' ? 'running' : s.status, startedAt: s.startedAt,
      ...(s.finishedAt !== undefined ? { finishedAt: s.finishedAt } : {}), ...(s.message ? { message: s.message } : {}),
    })),
  };
  if (op.job_name) out.job_name = op.job_name;
  if (op.downtimeMs !== undefined) out.downtimeMs = op.downtimeMs;
  if (op.verification) out.result = op.verification.reason;
  else if (op.error) out.result = op.error;
  return out;
}

/**
 * The digest of the {@link DIGEST_PERIOD_MS} ending at `now` (ms since epoch). `openIncidents` gives
 * each lagging job's `since` (when its incident opened). maxLag is the largest partition lag now.
 */
export async function digestData(cp: ControlPlane, openIncidents: readonly Incident[], now: number): Promise<DigestData> {
  const start = now - DIGEST_PERIOD_MS;
  const overview = await jobsOverview(cp, now);
  const open = new Map(openIncidents.map((i) => [i.job_id, i.startedAt]));
  const lagging = overview.filter((j) => j.lag.status === 'WARN' || j.lag.status === 'ERR');
  return {
    periodStart: start,
    periodEnd: now,
    laggingJobs: lagging.map((j) => {
      const partLags = j.lag.partitions.map((p) => p.lag).filter((v): v is number => v !== null);
      return {
        job_id: j.job_id, job_name: j.name, lagStatus: j.lag.status,
        ...(j.consumerGroup ? { consumerGroup: j.consumerGroup } : {}),
        ...(j.lag.records !== null ? { totalLag: j.lag.records } : {}),
        ...(partLags.length ? { maxLag: Math.max(...partLags) } : {}),
        ...(open.has(j.job_id) ? { since: open.get(j.job_id)! } : {}),
      };
    }),
    diagnoses: cp.diagnoses.list({ from: start, to: now }),
    operations: cp.tuner.operations({ limit: 1000 }).filter((o) => o.updatedAt >= start).map(operationSummary),
  };
}
