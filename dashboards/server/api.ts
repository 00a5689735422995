/**
 * The JSON REST API under `/api/v1` (express 5 router), described by the OpenAPI document of
 * `openapi.ts` (served at `/api/v1/openapi.json`). Every request is first checked against it
 * (`validate.ts`: parameters and bodies, a bad one is a 400 naming the field) and reads that expose
 * stack traces, paths or configuration, and the audit log, need the API token or a logged-in session
 * (unless `publicReads`); handlers then read through the read model (`control-plane/read-model.ts`)
 * or call the control plane, and answer JSON; every error goes through the one error handler
 * (`http-error.ts`). The app puts the mutation guard (`auth.ts`) in front of this router, so every
 * POST here needs the API token or a session + CSRF.
 *
 * Routes, one file each under `routes/`: jobs (overview, job, submit, savepoint, stop, lag and metric
 * series, checkpoints, exceptions), diagnoses and recommendations (apply, dismiss), incidents, operations, rules
 * (list, reload), health and session, the audit log, the OpenAPI document. Times are ms since epoch in and out; query times also accept ISO
 * 8601 dates and `now-15m`-style relative times. Lag is in records and seconds; throughput in
 * records/s; busy and backpressured time in ms/s (Flink's units, docs/METRICS.md).
 */
import express, { type Router } from 'express';
import { memoryAuditLog, type AuditLog, type ControlPlane, type HealthReport } from '../../control-plane/index.ts';
import type { FastReads } from './fast-reads.ts';
import { openApiDocument } from './openapi.ts';
import { auditRoutes } from './routes/audit.ts';
import { readGuard, requestValidator } from './validate.ts';
import { routeContext } from './routes/context.ts';
import { diagnosisRoutes } from './routes/diagnoses.ts';
import { healthRoutes } from './routes/health.ts';
import { incidentRoutes } from './routes/incidents.ts';
import { jobRoutes } from './routes/jobs.ts';
import { operationRoutes } from './routes/operations.ts';
import { ruleRoutes } from './routes/rules.ts';

/** Options of {@link createApiRouter}. */
export interface ApiOptions {
  /** ms results of the overview and series reads are reused. Default 1,000 (the collector writes every 5 s). */
  cacheTtlMs?: number;
  /** Health of the server itself, merged into `/health`. */
  health?: () => Promise<HealthReport>;
  /** Where the overview's and lag series' answers are kept for repeat reads ahead of the middleware (app.ts). */
  fastReads?: FastReads;
  /** `server.publicReads`: reads of stack traces, paths and configuration are open. Default false. */
  publicReads?: boolean;
  /** The audit log `GET /audit` reads. Default the control plane's, else one in memory. */
  audit?: AuditLog;
}

/**
 * The `/api/v1` router. Errors: 400 (field named), 401 (a sensitive read or the audit log without
 * credentials), 404 (unknown id), 409 (CONFLICT, wrong job state), 403 (FORBIDDEN: guardrails, a
 * blocked action).
 */
export function createApiRouter(cp: ControlPlane, opts: ApiOptions = {}): Router {
  const r = express.Router();
  r.use(requestValidator());
  r.use(readGuard({ publicReads: opts.publicReads ?? false }));
  const ctx = routeContext(cp, opts.cacheTtlMs ?? 1000, opts.fastReads);
  const doc = JSON.stringify(openApiDocument());
  r.get('/openapi.json', (_req, res) => {
    res.type('application/json').send(doc);
  });
  healthRoutes(r, ctx, opts.health);
  jobRoutes(r, ctx);
  diagnosisRoutes(r, ctx);
  incidentRoutes(r, ctx);
  operationRoutes(r, ctx);
  ruleRoutes(r, ctx);
  auditRoutes(r, ctx, opts.audit ?? cp.audit ?? memoryAuditLog());
  return r;
}
