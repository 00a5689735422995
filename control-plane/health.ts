/**
 * Health of every component of one control-plane process (`GET /health`, `GET /api/v1/health`): the
 * store answers a read within 2 s, the collector writes, the rule set loaded, jobs not failed, the
 * tuner's running operations. `status` is the worst component's.
 */
import { runningOperations } from './read-model.ts';
import type { ControlPlane } from './control-plane.ts';

/** Status of one component, worst first: down > degraded > ok. */
export type HealthStatus = 'ok' | 'degraded' | 'down';

/** Each component's status and numbers; `status` is the worst of them. */
export interface HealthReport {
  status: HealthStatus;
  components: Record<string, { status: HealthStatus; [k: string]: unknown }>;
}

/** ms after points were last dropped during which the collector stays 'degraded'. */
export const DROPPED_DEGRADED_MS = 15 * 60_000;

/** Health of every component of the control plane. Never throws. */
export async function healthReport(cp: Pick<ControlPlane, 'store' | 'collector' | 'bus' | 'rules' | 'jobs' | 'tuner' | 'now'>): Promise<HealthReport> {
  const now = cp.now();
  const components: HealthReport['components'] = {};
  try {
    await Promise.race([
      cp.store.tagValues('streamtune_kafka_group_totalLag', 'group', now - 60_000, now),
      new Promise((_, rej) => setTimeout(() => rej(new Error('store did not answer within 2 s')), 2000).unref()),
    ]);
    components.store = { status: 'ok' };
  } catch (err) {
    components.store = { status: 'down', error: err instanceof Error ? err.message : String(err) };
  }
  const h = cp.collector.health();
  // degraded: writes failing for over a minute, or points lost (beyond the buffer's bound) in the last 15 minutes
  const failing = h.writeErrors > 0 && (h.lastSuccessfulWrite === null || now - h.lastSuccessfulWrite > 60_000);
  const lost = h.lastPointsDropped !== null && now - h.lastPointsDropped < DROPPED_DEGRADED_MS;
  components.collector = {
    status: failing || lost ? 'degraded' : 'ok',
    pointsWritten: h.pointsWritten, pointsBuffered: h.pointsBuffered, maxBufferedPoints: h.maxBufferedPoints, pointsDropped: h.pointsDropped,
    lastPointsDropped: h.lastPointsDropped, writeErrors: h.writeErrors, lastSuccessfulWrite: h.lastSuccessfulWrite,
  };
  components.bus = { status: 'ok', kind: cp.bus.kind };
  const ruleErrors = cp.rules.lastErrors();
  components.rules = { status: ruleErrors.length ? 'degraded' : 'ok', generation: cp.rules.generation(), errors: ruleErrors.length };
  const jobs = cp.jobs.list();
  const failed = jobs.filter((j) => j.state === 'FAILED').length;
  components.jobs = { status: failed ? 'degraded' : 'ok', total: jobs.length, running: jobs.filter((j) => j.state === 'RUNNING').length, failed };
  components.tuner = { status: 'ok', running: runningOperations(cp, 50).length };
  const rank = { ok: 0, degraded: 1, down: 2 } as const;
  const worst = Object.values(components).reduce<HealthStatus>((w, c) => (rank[c.status] > rank[w] ? c.status : w), 'ok');
  return { status: worst, components };
}
