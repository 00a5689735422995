/**
 * Job routes of the API: `GET /jobs` (overview), `GET /jobs/:id`, `POST /jobs` (submit a spec),
 * `POST /jobs/:id/savepoint`, `POST /jobs/:id/stop`, and the job's lag and metric series, checkpoints
 * and exceptions. Every number comes from the read model (`control-plane/read-model.ts`).
 */
import type { Router } from 'express';
import { stringify as yamlStringify } from 'yaml';
import { JOB_METRICS, jobExceptions, jobSummary, jobsOverview, lagSeries, lastPoint, metricSeries } from '../../../control-plane/index.ts';
import { validateJobSpec } from '../../../runtime/index.ts';
import { HttpError } from '../http-error.ts';
import type { RouteContext } from './context.ts';
import { jsonBody, oneParam, parseIntParam, parseRange, parseTime } from './params.ts';

/** Registers the job routes on `r`. */
export function jobRoutes(r: Router, ctx: RouteContext): void {
  const { cp, jobOr404, tick, sendCached, sendRange } = ctx;

  // The overview and the default ranges of the series ("the last N minutes", no from/to) are cached
  // under keys without the time, so that a stale entry is served while it is refreshed; the load
  // reads the clock itself. Explicit ranges are keyed by them.
  r.get('/jobs', async (req, res) => {
    await sendCached(req, res, 'jobs', async () => ({ jobs: await jobsOverview(cp, tick()) }));
  });

  r.get('/jobs/:id', async (req, res) => {
    const job = jobOr404(req.params.id);
    const summary = await jobSummary(cp, job, tick());
    res.json({ ...job, summary, policy: cp.tuner.policy(job.job_id) });
  });

  r.post('/jobs', async (req, res) => {
    let text: string;
    let parallelism: Record<string, number> | undefined;
    if (typeof req.body === 'string') text = req.body;
    else {
      const b = jsonBody(req);
      if (typeof b.spec === 'string') text = b.spec;
      else if (b.spec && typeof b.spec === 'object') {
        // an object is checked as the object it is: errors name its fields, not lines of a YAML text the client never wrote
        validateJobSpec(structuredClone(b.spec), 'request body: spec');
        text = yamlStringify(b.spec);
      }
      else throw HttpError.badRequest('spec', 'spec is required: a YAML job spec as text (Content-Type: application/yaml) or JSON {"spec": "<yaml>" | {...}}');
      if (b.parallelism !== undefined) {
        if (!b.parallelism || typeof b.parallelism !== 'object' || Array.isArray(b.parallelism)) throw HttpError.badRequest('parallelism', 'parallelism must be an object of vertex name → integer');
        for (const [k, v] of Object.entries(b.parallelism)) {
          if (!Number.isInteger(v) || (v as number) < 1) throw HttpError.badRequest(`parallelism.${k}`, `parallelism.${k} must be an integer >= 1`);
        }
        parallelism = b.parallelism as Record<string, number>;
      }
    }
    if (text.trim() === '') throw HttpError.badRequest('spec', 'spec is empty');
    const job = await cp.jobs.submit(text, { source: 'request body', ...(parallelism ? { parallelism } : {}) });
    res.locals.auditTarget = { job_id: job.job_id, name: job.name };
    res.status(201).location(`/api/v1/jobs/${job.job_id}`).json(job);
  });

  r.post('/jobs/:id/savepoint', async (req, res) => {
    const job = jobOr404(req.params.id);
    res.status(201).json(await cp.jobs.triggerSavepoint(job.job_id));
  });

  r.post('/jobs/:id/stop', async (req, res) => {
    const job = jobOr404(req.params.id);
    res.json(await cp.jobs.stop(job.job_id));
  });

  r.get('/jobs/:id/lag', async (req, res) => {
    const job = jobOr404(req.params.id);
    await sendRange(req, res, `lag:${job.job_id}`, (now) => parseRange(req.query, now, 15 * 60_000, 1000), (rg) => lagSeries(cp, job, rg.from, rg.to, rg.step));
  });

  r.get('/jobs/:id/metrics', async (req, res) => {
    const job = jobOr404(req.params.id);
    const metric = oneParam('metric', req.query.metric) ?? 'busy';
    if (!Object.hasOwn(JOB_METRICS, metric)) throw HttpError.badRequest('metric', `metric must be one of ${Object.keys(JOB_METRICS).join(', ')}, got "${metric}"`);
    const groupBy = oneParam('groupBy', req.query.groupBy) ?? 'vertex';
    if (groupBy !== 'vertex' && groupBy !== 'subtask' && groupBy !== 'job') throw HttpError.badRequest('groupBy', `groupBy must be vertex, subtask or job, got "${groupBy}"`);
    await sendRange(req, res, `m:${job.job_id}:${metric}:${groupBy}`, (now) => parseRange(req.query, now), (rg) => metricSeries(cp, job, metric, groupBy, rg.from, rg.to, rg.step));
  });

  r.get('/jobs/:id/checkpoints', async (req, res) => {
    const job = jobOr404(req.params.id);
    const now = cp.now();
    const to = parseTime('to', req.query.to, now, now);
    const from = parseTime('from', req.query.from, to - 3_600_000, now);
    if (from >= to) throw HttpError.badRequest('from', `from (${from}) must be before to (${to})`);
    const where = { job_id: job.job_id };
    const q = (measurement: string) => cp.store.query({ measurement, field: 'value', start: from, end: to, where });
    const [dur, size, completed, failed] = await Promise.all([
      q('jobmanager_job_lastCheckpointDuration'), q('jobmanager_job_lastCheckpointSize'),
      q('jobmanager_job_numberOfCompletedCheckpoints'), q('jobmanager_job_numberOfFailedCheckpoints'),
    ]);
    // one history row per change of the last checkpoint (duration or size changed)
    const sizes = new Map((size[0]?.points ?? []).map((p) => [p.t, p.v]));
    const history: Array<{ t: number; durationMs: number; sizeBytes?: number }> = [];
    for (const p of dur[0]?.points ?? []) {
      const s = sizes.get(p.t);
      const prev = history[history.length - 1];
      if (prev && prev.durationMs === p.v && prev.sizeBytes === s) continue;
      history.push(s === undefined ? { t: p.t, durationMs: p.v } : { t: p.t, durationMs: p.v, sizeBytes: s });
    }
    res.json({
      job_id: job.job_id, from, to,
      checkpointing: job.checkpointing ?? null,
      completed: lastPoint(completed)?.v ?? null,
      failed: lastPoint(failed)?.v ?? null,
      history,
      snapshots: cp.tuner.snapshots(job.job_id),
    });
  });

  r.get('/jobs/:id/exceptions', async (req, res) => {
    const job = jobOr404(req.params.id);
    const now = cp.now();
    const to = parseTime('to', req.query.to, now, now);
    const from = parseTime('from', req.query.from, to - 86_400_000, now);
    if (from >= to) throw HttpError.badRequest('from', `from (${from}) must be before to (${to})`);
    const limit = parseIntParam('limit', req.query.limit, 100, 1, 1000);
    const keyword = oneParam('keyword', req.query.keyword);
    res.json({ job_id: job.job_id, from, to, exceptions: await jobExceptions(cp, job, from, to, limit, keyword) });
  });
}
