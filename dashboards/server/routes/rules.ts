/** Rule routes of the API: the rule set in force, and a reload (400 with file and line; the previous set stays). */
import type { Router } from 'express';
import { StreamtuneError } from '../../../core/index.ts';
import type { RouteContext } from './context.ts';

/** Registers `GET /rules` and `POST /rules/reload` on `r`. */
export function ruleRoutes(r: Router, { cp }: RouteContext): void {
  r.get('/rules', (_req, res) => {
    const rs = cp.rules.current();
    res.json({ generation: cp.rules.generation(), dir: cp.rules.dir, files: rs.files, alerts: rs.alerts, detectors: rs.detectors, planner: rs.planner, lastErrors: cp.rules.lastErrors() });
  });

  r.post('/rules/reload', (_req, res) => {
    const result = cp.rules.reload();
    if (!result.ok) {
      const first = result.errors[0];
      res.locals.auditDetails = { errors: result.errors.length, generation: cp.rules.generation() };
      throw new StreamtuneError('INVALID_RULES', `invalid rules; the previous set stays in force:\n${result.errors.map((e) => `${e.file}:${e.line}: ${e.reason}`).join('\n')}`, {
        details: { errors: result.errors, ...(first ? { file: first.file, line: first.line } : {}) },
      });
    }
    res.locals.auditDetails = { generation: cp.rules.generation(), files: result.rules.files.length, alerts: result.rules.alerts.length };
    res.json({ ok: true, generation: cp.rules.generation(), files: result.rules.files, alerts: result.rules.alerts.length });
  });
}
