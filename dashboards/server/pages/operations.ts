/**
 * `GET /operations` (every tuner operation, or one job's), `GET /operations/:id` and its live JSON
 * `GET /operations/:id.json`. Savepoint paths show only when `res.locals.sensitiveReads` (logged in,
 * or the server's publicReads).
 */
import type { Request, Router } from 'express';
import type { PageContext } from './render.ts';
import { opView } from './views.ts';

/** Registers the operations pages on `router`. */
export function operationPages(router: Router, { cp, page, notFound }: PageContext): void {
  router.get('/operations', (req, res) => {
    const job = typeof req.query.job === 'string' ? req.query.job : undefined;
    const hide = res.locals.sensitiveReads !== true;
    page(res, 'operations', 'Operations', { operations: cp.tuner.operations({ job_id: job, limit: 200 }).map((o) => opView(o, hide)), job });
  });

  router.get('/operations/:id.json', (req: Request<{ id: string }>, res) => {
    const op = cp.tuner.operation(req.params.id);
    if (!op) {
      res.status(404).json({ error: { code: 'NOT_FOUND', message: `unknown operation ${req.params.id}` } });
      return;
    }
    res.json(opView(op, res.locals.sensitiveReads !== true));
  });

  router.get('/operations/:id', (req: Request<{ id: string }>, res) => {
    const op = cp.tuner.operation(req.params.id);
    if (!op) return notFound(res, `operation ${req.params.id}`);
    page(res, 'operation', `Operation ${op.id}`, { op: opView(op, res.locals.sensitiveReads !== true) });
  });
}
