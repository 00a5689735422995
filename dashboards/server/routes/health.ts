/** `GET /health` (each component's status; 503 when one is down) and `GET /session` (login state, CSRF token). */
import type { Router } from 'express';
import { healthReport, type HealthReport } from '../../../control-plane/index.ts';
import type { RouteContext } from './context.ts';

/** Registers `/health` and `/session` on `r`; `extra` adds the server's own components. */
export function healthRoutes(r: Router, { cp }: RouteContext, extra?: () => Promise<HealthReport>): void {
  r.get('/health', async (_req, res) => {
    const h = await healthReport(cp);
    if (extra) Object.assign(h.components, (await extra()).components);
    res.status(h.status === 'down' ? 503 : 200).json(h);
  });

  r.get('/session', (_req, res) => {
    res.json({ loggedIn: res.locals.loggedIn === true, csrfToken: res.locals.csrfToken ?? null });
  });
}
