/**
 * `GET /incidents` (every incident, or one job's, open or resolved) and `GET /incidents/:id` with its
 * timeline: opened, each diagnosis gathered, notifications decided and delivered, tuner operations
 * applied and ended, resolved (with the diagnosis that resolved it and why). Read from the incident
 * book (notify/incident-book.ts).
 */
import type { Request, Router } from 'express';
import { incidentDetail, incidentsList } from '../../../control-plane/index.ts';
import type { PageContext } from './render.ts';
import { incidentView, timelineView } from './views.ts';

/** Registers the incident pages on `router`. */
export function incidentPages(router: Router, { cp, page, notFound }: PageContext): void {
  router.get('/incidents', (req, res) => {
    const job = typeof req.query.job === 'string' && req.query.job !== '' ? req.query.job : undefined;
    const state = req.query.state === 'open' || req.query.state === 'resolved' ? req.query.state : undefined;
    const now = cp.now();
    const list = incidentsList(cp, { ...(job ? { job_id: job } : {}), ...(state ? { state } : {}), limit: 500 }).map((i) => incidentView(i, now));
    page(res, 'incidents', 'Incidents', { incidents: list, job, state, all: state === undefined, open: state === 'open', resolved: state === 'resolved', jobQuery: job ? `&job=${encodeURIComponent(job)}` : '' });
  });

  router.get('/incidents/:id', (req: Request<{ id: string }>, res) => {
    const i = incidentDetail(cp, req.params.id);
    if (!i) return notFound(res, `incident ${req.params.id}`);
    page(res, 'incident', `Incident ${i.id}`, { i: incidentView(i, cp.now()), timeline: timelineView(i.timeline) });
  });
}
