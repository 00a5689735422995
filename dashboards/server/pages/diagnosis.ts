/** `GET /diagnoses/:id`: root cause, findings with their evidence, recommendations with Apply or Dismiss. */
import type { Request, Router } from 'express';
import { formatTime } from '../../../notify/index.ts';
import type { PageContext } from './render.ts';
import { diagnosisSummary, evidenceView, recView } from './views.ts';

/** Registers the diagnosis page on `router`. */
export function diagnosisPage(router: Router, { cp, page, notFound }: PageContext): void {
  router.get('/diagnoses/:id', (req: Request<{ id: string }>, res) => {
    const d = cp.diagnoses.get(req.params.id);
    if (!d) return notFound(res, `diagnosis ${req.params.id}`);
    const blocked = cp.tuner.blocked(d.job_id);
    page(res, 'diagnosis', `Diagnosis of ${d.job_name ?? d.job_id}`, {
      d: {
        ...diagnosisSummary(d),
        job_id: d.job_id,
        job_name: d.job_name ?? d.job_id,
        window: `${formatTime(d.windowStart)} – ${formatTime(d.windowEnd)}`,
        trigger: d.trigger.type === 'alert' ? `alert ${d.trigger.ruleId}` : d.trigger.type,
        explanation: d.rootCause.explanation,
      },
      findings: d.findings.map((f) => ({ ...f, vertex: f.vertex ?? '', ...evidenceView(f) })),
      recommendations: d.recommendations.map((r) => recView(cp, d.job_id, r, blocked)),
    });
  });
}
