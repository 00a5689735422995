/**
 * Diagnosis and recommendation routes of the API: list and read diagnoses, diagnose a job now, read a
 * recommendation, apply it (202 with the tuner operation; optionally with edited actions) or dismiss it.
 * Each recommendation carries its `applicability` (tuner/applicability.ts): whether Apply carries it
 * out on the job's executor, and if not why and the exact settings to change by hand; applying one
 * that is not applicable is a 400 naming them.
 * Bodies were checked against the OpenAPI document (`validate.ts`) before these handlers run.
 */
import type { Router } from 'express';
import { isOpenDiagnosis, type ControlPlane } from '../../../control-plane/index.ts';
import { blockOf, type TuningActionInput } from '../../../tuner/index.ts';
import { HttpError } from '../http-error.ts';
import type { RouteContext } from './context.ts';
import { jsonBody, oneParam, parseIntParam, parseTime } from './params.ts';

/** Registers the diagnosis and recommendation routes on `r`. */
export function diagnosisRoutes(r: Router, ctx: RouteContext): void {
  const { cp, jobOr404 } = ctx;

  r.get('/diagnoses', (req, res) => {
    const now = cp.now();
    const job = oneParam('job', req.query.job);
    const filter: Parameters<ControlPlane['diagnoses']['list']>[0] = { limit: parseIntParam('limit', req.query.limit, 100, 1, 1000) };
    if (job !== undefined) filter.job_id = job;
    if (req.query.from !== undefined) filter.from = parseTime('from', req.query.from, 0, now);
    if (req.query.to !== undefined) filter.to = parseTime('to', req.query.to, now, now);
    const list = cp.diagnoses.list(filter);
    res.json({ diagnoses: list.map((d) => ({ ...d, open: isOpenDiagnosis(cp, d) })) });
  });

  r.get('/diagnoses/:id', (req, res) => {
    const d = cp.diagnoses.get(req.params.id);
    if (!d) throw HttpError.notFound('diagnosis', req.params.id);
    const blocked = cp.tuner.blocked(d.job_id);
    res.json({
      ...d,
      open: isOpenDiagnosis(cp, d),
      // per recommendation: can Apply carry it out on this job's executor; if not, why and the settings to change by hand
      applicability: Object.fromEntries(d.recommendations.map((rec) => [rec.id, cp.tuner.applicability(d.job_id, rec.actions)])),
      recommendationStates: Object.fromEntries(d.recommendations.map((rec) => [rec.id, cp.diagnoses.recommendation(rec.id)?.state ?? { status: 'open', at: d.createdAt }])),
      // recommendations whose action was ineffective on this job lately: not recommended again until the block ends
      blockedRecommendations: Object.fromEntries(d.recommendations.flatMap((rec) => {
        const b = blockOf(rec.actions, blocked);
        return b ? [[rec.id, b]] : [];
      })),
    });
  });

  r.post('/diagnoses', async (req, res) => {
    const b = jsonBody(req);
    const id = b.job_id ?? b.job;
    if (typeof id !== 'string' || id === '') throw HttpError.badRequest('job_id', 'job_id is required (the job to diagnose)');
    jobOr404(id);
    res.locals.auditTarget = { job_id: id };
    const d = await cp.diagnoser.diagnoseNow(id, { type: 'manual' });
    res.locals.auditTarget = { job_id: id, diagnosis: d.id };
    res.status(201).location(`/api/v1/diagnoses/${d.id}`).json(d);
  });

  r.get('/recommendations/:id', (req, res) => {
    const rec = cp.diagnoses.recommendation(req.params.id);
    if (!rec) throw HttpError.notFound('recommendation', req.params.id);
    const b = blockOf(rec.recommendation.actions, cp.tuner.blocked(rec.job_id));
    const applicability = cp.tuner.applicability(rec.job_id, rec.recommendation.actions);
    res.json(b ? { ...rec, applicability, blocked: b } : { ...rec, applicability });
  });

  r.post('/recommendations/:id/apply', async (req, res) => {
    const rec = cp.diagnoses.recommendation(req.params.id);
    if (!rec) throw HttpError.notFound('recommendation', req.params.id);
    res.locals.auditTarget = { job_id: rec.job_id, recommendation: rec.recommendation.id };
    const b = jsonBody(req);
    // edited actions were checked against the document's schema (openapi.ts TUNING_ACTIONS_INPUT) by the request validator
    const actions: TuningActionInput[] = b.actions === undefined ? rec.recommendation.actions : (b.actions as TuningActionInput[]);
    if (actions.length === 0) throw HttpError.badRequest('actions', 'this recommendation has no machine-applicable actions; send edited actions or change the job by hand');
    if (b.actions === undefined) {
      // Apply is offered only for what the job's executor carries out; the rest is advice
      const can = cp.tuner.applicability(rec.job_id, rec.recommendation.actions);
      if (!can.applicable) {
        const how = can.settings.length ? `; change by hand: ${can.settings.map((x) => `${x.key} = ${x.value}`).join(', ')}` : '';
        throw new HttpError(400, 'INVALID_ARGUMENT', `this recommendation is advice, not applicable by streamtune: ${can.reason ?? ''}${how}`, { field: 'actions', reason: can.reason, settings: can.settings });
      }
    }
    if (rec.state.status === 'applied') {
      throw new HttpError(409, 'CONFLICT', `recommendation already applied${rec.state.operationId ? ` by operation ${rec.state.operationId}` : ''}`, { ...(rec.state.operationId ? { operationId: rec.state.operationId } : {}) });
    }
    const op = await cp.tuner.apply({
      job_id: rec.job_id, actions, diagnosisId: rec.diagnosisId, recommendationId: rec.recommendation.id,
      expected: rec.recommendation.expected, origin: 'user',
    });
    res.locals.auditTarget = { job_id: rec.job_id, recommendation: rec.recommendation.id, operation: op.id };
    if (b.actions !== undefined) res.locals.auditDetails = { editedActions: actions.length };
    await cp.diagnoses.setRecommendationState(rec.recommendation.id, { status: 'applied', at: cp.now(), operationId: op.id });
    res.status(202).location(`/api/v1/operations/${op.id}`).json(op);
  });

  r.post('/recommendations/:id/dismiss', async (req, res) => {
    const rec = cp.diagnoses.recommendation(req.params.id);
    if (!rec) throw HttpError.notFound('recommendation', req.params.id);
    res.locals.auditTarget = { job_id: rec.job_id, recommendation: rec.recommendation.id };
    if (rec.state.status === 'applied') throw new HttpError(409, 'CONFLICT', 'recommendation already applied; it cannot be dismissed');
    await cp.diagnoses.setRecommendationState(rec.recommendation.id, { status: 'dismissed', at: cp.now() });
    res.json(cp.diagnoses.recommendation(rec.recommendation.id));
  });
}
