/** `GET /audit`: the audit log (the read guard asks for the API token or a logged-in session, always). */
import type { Router } from 'express';
import type { AuditLog } from '../../../control-plane/index.ts';
import type { RouteContext } from './context.ts';
import { oneParam, parseIntParam, parseTime } from './params.ts';

/** Registers `GET /audit` on `r`, reading `audit`. */
export function auditRoutes(r: Router, { cp }: RouteContext, audit: AuditLog): void {
  r.get('/audit', (req, res) => {
    const now = cp.now();
    const action = oneParam('action', req.query.action);
    const entries = audit.list({
      ...(req.query.from !== undefined ? { from: parseTime('from', req.query.from, 0, now) } : {}),
      ...(req.query.to !== undefined ? { to: parseTime('to', req.query.to, now, now) } : {}),
      ...(action ? { action } : {}),
      limit: parseIntParam('limit', req.query.limit, 1000, 1, 10_000),
    });
    res.json({ entries, verified: audit.verify() });
  });
}
