/**
 * Incident routes of the API: the incident book (notify/incident-book.ts) — one incident per job
 * problem (job + root-cause kind), opened by the first diagnosis that finds it, gathering the later
 * ones, resolved by the diagnosis that no longer finds it.
 *
 * `GET /incidents?job=&state=open|resolved&from=&to=&limit=`: newest first, without timelines;
 * `from`/`to` select the incidents active at some time in [from, to] (opened at or before `to`,
 * and open or resolved at or after `from`). `GET /incidents/:id`: one incident with its timeline
 * (opened, each diagnosis, notifications, operations, resolved).
 */
import type { Router } from 'express';
import { incidentDetail, incidentsList } from '../../../control-plane/index.ts';
import { HttpError } from '../http-error.ts';
import type { RouteContext } from './context.ts';
import { oneParam, parseIntParam, parseTime } from './params.ts';

/** Registers `GET /incidents` and `GET /incidents/:id` on `r`. 400 names a bad parameter; 404 an unknown id. */
export function incidentRoutes(r: Router, { cp }: RouteContext): void {
  r.get('/incidents', (req, res) => {
    const now = cp.now();
    const job = oneParam('job', req.query.job);
    const state = oneParam('state', req.query.state);
    if (state !== undefined && state !== 'open' && state !== 'resolved') throw HttpError.badRequest('state', `state must be open or resolved, got "${state}"`);
    const filter: Parameters<typeof incidentsList>[1] = { limit: parseIntParam('limit', req.query.limit, 100, 1, 1000) };
    if (job !== undefined) filter.job_id = job;
    if (state !== undefined) filter.state = state;
    if (req.query.from !== undefined) filter.from = parseTime('from', req.query.from, 0, now);
    if (req.query.to !== undefined) filter.to = parseTime('to', req.query.to, now, now);
    if (filter.from !== undefined && filter.to !== undefined && filter.from > filter.to) throw HttpError.badRequest('from', `from (${filter.from}) must not be after to (${filter.to})`);
    res.json({ incidents: incidentsList(cp, filter) });
  });

  r.get('/incidents/:id', (req, res) => {
    const i = incidentDetail(cp, req.params.id);
    if (!i) throw HttpError.notFound('incident', req.params.id);
    res.json(i);
  });
}
