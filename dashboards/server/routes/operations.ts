/** Operation routes of the API: the tuner's operations with their journaled steps. */
import type { Router } from 'express';
import { HttpError } from '../http-error.ts';
import type { RouteContext } from './context.ts';
import { oneParam, parseIntParam } from './params.ts';

/** Registers `GET /operations` and `GET /operations/:id` on `r`. */
export function operationRoutes(r: Router, { cp }: RouteContext): void {
  r.get('/operations', (req, res) => {
    const job = oneParam('job', req.query.job);
    const limit = parseIntParam('limit', req.query.limit, 100, 1, 1000);
    res.json({ operations: cp.tuner.operations({ ...(job ? { job_id: job } : {}), limit }) });
  });

  r.get('/operations/:id', (req, res) => {
    const op = cp.tuner.operation(req.params.id);
    if (!op) throw HttpError.notFound('operation', req.params.id);
    res.json(op);
  });
}
