/** `GET /`: the overview of every job, with the same rows as `GET /api/v1/jobs` (the read model's `jobsOverview`). */
import type { Router } from 'express';
import { jobsOverview } from '../../../control-plane/index.ts';
import { formatTime } from '../../../notify/index.ts';
import type { PageContext } from './render.ts';
import { num, statusClass } from './views.ts';

/** Registers the overview page on `router`. */
export function overviewPage(router: Router, { cp, cached, page }: PageContext): void {
  router.get('/', async (_req, res) => {
    const rows = await cached('overview', () => jobsOverview(cp, cp.now()));
    const jobs = rows.map((j) => ({
      id: j.job_id,
      name: j.name,
      state: j.state,
      lagStatus: j.lag.status,
      lagClass: statusClass(j.lag.status),
      lagRecords: num(j.lag.records),
      lagSeconds: num(j.lag.seconds, 1),
      lagSecondsLowerBound: j.lag.secondsLowerBound,
      throughput: num(j.throughput),
      openDiagnoses: j.openDiagnoses,
      latestDiagnosis: j.latestDiagnosis,
      openIncidents: j.openIncidents,
      latestIncident: j.latestIncident && { ...j.latestIncident, single: j.latestIncident.diagnoses === 1 },
      lastOp: j.lastOperation && { id: j.lastOperation.id, state: j.lastOperation.state, stateClass: statusClass(j.lastOperation.state), created: formatTime(j.lastOperation.createdAt) },
    }));
    page(res, 'overview', 'Jobs', { jobs });
  });
}
