/**
 * The OpenAPI document of `/api/v1` (dashboards/server/openapi.ts) against the real server:
 * - it is valid OpenAPI 3.0 (openapi-backend, strict) and served at `/api/v1/openapi.json`;
 * - express's route table (walked, so a route added without an entry fails) and the document list
 *   the same routes;
 * - every route's real answers, success and errors, are documented statuses whose bodies match the
 *   document's schemas (openapi-backend's response validation), and every route is seen succeeding,
 *   and failing where it can fail (400/401/403/404/409), at least once.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OpenAPIBackend, type Document } from 'openapi-backend';
import { createApp } from '../dashboards/server/app.ts';
import { API_ROUTES, expressPath, openApiDocument } from '../dashboards/server/openapi.ts';
import type { Diagnosis } from '../diagnoser/types.ts';
import { vertexId } from '../runtime/ids.ts';
import { smallJobSpec, startApiServer, type Answer, type ApiServer, type ReqInit } from './helpers/api-server.ts';
import { expressRoutes } from './helpers/routes.ts';
import { waitFor } from './helpers/wait.ts';

let s: ApiServer;
let api: OpenAPIBackend;
const seen = new Map<string, Set<number>>();

/** Calls a route and checks the answer against the document (status documented, body matches). */
async function call(operationId: string, method: string, path: string, init: ReqInit = {}): Promise<Answer> {
  const r = await s.req(method, path, init);
  const route = API_ROUTES.find((x) => x.operationId === operationId);
  assert.ok(route, operationId);
  const doc = openApiDocument() as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
  const documented = Object.keys(doc.paths[route.path]![route.method]!.responses).map(Number);
  assert.ok(documented.includes(r.status), `${method} ${path} answered ${r.status}, not documented for ${operationId} (${documented.join(', ')}): ${r.text.slice(0, 300)}`);
  assert.match(r.headers.get('content-type') ?? '', /application\/json/, `${method} ${path}: ${r.status} is not JSON`);
  const v = api.validateResponse(r.json, operationId, r.status);
  assert.ok(v.valid, `${method} ${path} → ${r.status} does not match the document: ${JSON.stringify(v.errors).slice(0, 1500)}\nbody: ${r.text.slice(0, 600)}`);
  (seen.get(operationId) ?? seen.set(operationId, new Set()).get(operationId)!).add(r.status);
  return r;
}

before(async () => {
  s = await startApiServer({ loginLimit: 1000, overrides: { tuner: { policies: { '*': { verifyAfterMs: 0 } } } } });
  api = new OpenAPIBackend({ definition: openApiDocument() as unknown as Document, strict: true, quick: false, validate: true });
  await api.init();
});

after(async () => {
  await s?.close();
});

describe('OpenAPI document of /api/v1', { timeout: 300_000 }, () => {
  test('is valid OpenAPI 3.0 and served at /api/v1/openapi.json', async () => {
    const r = await call('getOpenApi', 'GET', '/api/v1/openapi.json');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, openApiDocument());
    assert.equal(r.json.openapi, '3.0.3');
  });

  test("express's route table and the document list the same routes", () => {
    const app = createApp(s.cp, { auth: s.auth, baseUrl: 'http://127.0.0.1' });
    const routes = expressRoutes(app).filter((r) => r.path.startsWith('/api/v1/') || r.path === '/api/v1');
    const inExpress = new Set(routes.map((r) => `${r.method.toUpperCase()} ${r.path}`));
    const inDoc = new Set(API_ROUTES.map((r) => `${r.method.toUpperCase()} /api/v1${expressPath(r.path)}`));
    assert.ok(inExpress.size >= 20, `walked only ${inExpress.size} routes: ${[...inExpress].join(', ')}`);
    for (const r of inExpress) assert.ok(inDoc.has(r), `${r} is served but not in the OpenAPI document (add an entry to API_ROUTES in dashboards/server/openapi.ts)`);
    for (const r of inDoc) assert.ok(inExpress.has(r), `${r} is in the document but not served`);
    const ids = API_ROUTES.map((r) => r.operationId);
    assert.equal(new Set(ids).size, ids.length, 'operationIds are unique');
  });

  test('every route answers, in success and in error, as the document says', async () => {
    const { bearer } = s;
    const job = s.jobId;
    const yaml = { ...bearer, 'content-type': 'application/yaml' };
    // meta and reads
    await call('getHealth', 'GET', '/api/v1/health');
    await call('getSession', 'GET', '/api/v1/session');
    await call('listJobs', 'GET', '/api/v1/jobs');
    await call('getJob', 'GET', `/api/v1/jobs/${job}`);
    await call('getJob', 'GET', '/api/v1/jobs/nope');
    await waitFor(async () => (await s.req('GET', `/api/v1/jobs/${job}/lag?from=now-5m&step=1s`)).json.total.records.length >= 2, { timeoutMs: 60_000, what: 'lag samples' });
    await call('getJobLag', 'GET', `/api/v1/jobs/${job}/lag?from=now-5m&step=1s`);
    await call('getJobLag', 'GET', `/api/v1/jobs/${job}/lag?from=yesterday`);
    await call('getJobLag', 'GET', '/api/v1/jobs/nope/lag');
    await call('getJobMetrics', 'GET', `/api/v1/jobs/${job}/metrics?metric=busy&groupBy=subtask&from=now-5m`);
    await call('getJobMetrics', 'GET', `/api/v1/jobs/${job}/metrics?metric=recordsOutPerSecond&groupBy=job`);
    await call('getJobMetrics', 'GET', `/api/v1/jobs/${job}/metrics?metric=nope`);
    await call('getJobMetrics', 'GET', '/api/v1/jobs/nope/metrics');
    await waitFor(async () => (await s.req('GET', `/api/v1/jobs/${job}/checkpoints`, { headers: bearer })).json.snapshots.length > 0, { timeoutMs: 60_000, what: 'a checkpoint' });
    await call('getJobCheckpoints', 'GET', `/api/v1/jobs/${job}/checkpoints`, { headers: bearer });
    await call('getJobCheckpoints', 'GET', `/api/v1/jobs/${job}/checkpoints`);
    await call('getJobCheckpoints', 'GET', `/api/v1/jobs/${job}/checkpoints?from=x`, { headers: bearer });
    await call('getJobCheckpoints', 'GET', '/api/v1/jobs/nope/checkpoints', { headers: bearer });
    await call('getJobExceptions', 'GET', `/api/v1/jobs/${job}/exceptions?limit=5`, { headers: bearer });
    await call('getJobExceptions', 'GET', `/api/v1/jobs/${job}/exceptions`);
    await call('getJobExceptions', 'GET', `/api/v1/jobs/${job}/exceptions?limit=0`, { headers: bearer });
    await call('getJobExceptions', 'GET', '/api/v1/jobs/nope/exceptions', { headers: bearer });
    await call('getRules', 'GET', '/api/v1/rules', { headers: bearer });
    await call('getRules', 'GET', '/api/v1/rules');
    await call('listDiagnoses', 'GET', `/api/v1/diagnoses?job=${job}&limit=10`);
    await call('listDiagnoses', 'GET', '/api/v1/diagnoses?to=soon');

    // a second job to submit, apply to, savepoint and stop
    const second = await call('submitJob', 'POST', '/api/v1/jobs', { headers: yaml, body: smallJobSpec('openapi-second', join(s.dir, 'events.jsonl')) });
    assert.equal(second.status, 201);
    const job2 = second.json.job_id as string;
    await call('submitJob', 'POST', '/api/v1/jobs', { headers: yaml, body: smallJobSpec('openapi-second', join(s.dir, 'events.jsonl')) }); // 409
    await call('submitJob', 'POST', '/api/v1/jobs', { headers: bearer, json: {} }); // 400 spec
    await call('submitJob', 'POST', '/api/v1/jobs', { headers: yaml, body: 'name: bad\nvertices: [1]\n' }); // 400 INVALID_SPEC with line
    await call('submitJob', 'POST', '/api/v1/jobs', { json: { spec: 'name: x' } }); // 401
    const { cookie } = await s.loggedInSession();
    await call('submitJob', 'POST', '/api/v1/jobs', { cookie, json: { spec: 'name: x' } }); // 403

    const made = await call('diagnoseNow', 'POST', '/api/v1/diagnoses', { headers: bearer, json: { job_id: job } });
    assert.equal(made.status, 201);
    await call('diagnoseNow', 'POST', '/api/v1/diagnoses', { headers: bearer, json: { job_id: 'nope' } });
    await call('diagnoseNow', 'POST', '/api/v1/diagnoses', { headers: bearer, json: { job_id: job, extra: 1 } });
    await call('getDiagnosis', 'GET', `/api/v1/diagnoses/${made.json.id}`);
    await call('getDiagnosis', 'GET', '/api/v1/diagnoses/nope');

    const now = Date.now();
    const d: Diagnosis = {
      id: `openapi-${now}`, job_id: job2, job_name: 'openapi-second', windowStart: now - 60_000, windowEnd: now, createdAt: now,
      trigger: { type: 'manual' }, lagStatus: 'WARN', findings: [], severity: 'severe',
      rootCause: { kind: 'under-provisioned', vertex: 'work', confidence: 0.9, explanation: 'work is busy' },
      recommendations: [
        { id: `openapi-${now}-r1`, ruleId: 'capacity', title: 'work 1 → 2', rationale: 'busy', expected: {}, actions: [{ type: 'set-parallelism', vertex: { id: vertexId('openapi-second', 'work'), name: 'work' }, from: 1, to: 2 }] },
        { id: `openapi-${now}-r2`, ruleId: 'capacity', title: 'other', rationale: 'x', expected: {}, actions: [] },
      ],
    };
    await s.cp.diagnoses.put(d);
    const [r1, r2] = [`openapi-${now}-r1`, `openapi-${now}-r2`];
    // the incident book gathers the diagnosis (as the control plane does for published ones)
    s.cp.incidents.observe(d);
    const incidents = await call('listIncidents', 'GET', `/api/v1/incidents?job=${job2}&state=open`);
    assert.equal(incidents.json.incidents.length, 1, incidents.text);
    await call('listIncidents', 'GET', '/api/v1/incidents?state=closed');
    await call('getIncident', 'GET', `/api/v1/incidents/${incidents.json.incidents[0].id}`);
    await call('getIncident', 'GET', '/api/v1/incidents/nope');
    await call('getRecommendation', 'GET', `/api/v1/recommendations/${r1}`);
    await call('getRecommendation', 'GET', '/api/v1/recommendations/nope');
    await call('applyRecommendation', 'POST', `/api/v1/recommendations/${r1}/apply`, { headers: bearer, json: { actions: [{ type: 'set-parallelism', vertex: 'work', from: 1 }] } });
    await call('applyRecommendation', 'POST', `/api/v1/recommendations/${r1}/apply`, { headers: bearer, json: { acitons: [] } });
    await call('applyRecommendation', 'POST', '/api/v1/recommendations/nope/apply', { headers: bearer, json: {} });
    const applied = await call('applyRecommendation', 'POST', `/api/v1/recommendations/${r1}/apply`, { headers: bearer, json: {} });
    assert.equal(applied.status, 202, applied.text);
    await call('applyRecommendation', 'POST', `/api/v1/recommendations/${r1}/apply`, { headers: bearer, json: {} }); // 409
    await call('dismissRecommendation', 'POST', `/api/v1/recommendations/${r1}/dismiss`, { headers: bearer }); // 409
    await call('dismissRecommendation', 'POST', `/api/v1/recommendations/${r2}/dismiss`, { headers: bearer });
    await call('dismissRecommendation', 'POST', '/api/v1/recommendations/nope/dismiss', { headers: bearer });
    await call('getOperation', 'GET', `/api/v1/operations/${applied.json.id}`, { headers: bearer });
    await call('getOperation', 'GET', '/api/v1/operations/nope', { headers: bearer });
    await call('getOperation', 'GET', `/api/v1/operations/${applied.json.id}`);
    await call('listOperations', 'GET', `/api/v1/operations?job=${job2}`, { headers: bearer });
    await call('listOperations', 'GET', '/api/v1/operations?limit=x', { headers: bearer });
    await call('listOperations', 'GET', '/api/v1/operations');
    await s.cp.tuner.waitFor(applied.json.id, 120_000);
    await waitFor(async () => (await s.req('GET', `/api/v1/jobs/${job2}`)).json.state === 'RUNNING', { timeoutMs: 60_000, what: 'the second job running again' });
    await call('getOperation', 'GET', `/api/v1/operations/${applied.json.id}`, { headers: bearer });

    const sp = await call('triggerSavepoint', 'POST', `/api/v1/jobs/${job2}/savepoint`, { headers: bearer });
    assert.equal(sp.status, 201, sp.text);
    await call('triggerSavepoint', 'POST', '/api/v1/jobs/nope/savepoint', { headers: bearer });
    const stop = await call('stopJob', 'POST', `/api/v1/jobs/${job2}/stop`, { headers: bearer });
    assert.equal(stop.status, 200, stop.text);
    await call('stopJob', 'POST', `/api/v1/jobs/${job2}/stop`, { headers: bearer }); // 409
    await call('triggerSavepoint', 'POST', `/api/v1/jobs/${job2}/savepoint`, { headers: bearer }); // 409
    await call('stopJob', 'POST', '/api/v1/jobs/nope/stop', { headers: bearer });

    writeFileSync(join(s.rulesDir, 'broken.yaml'), 'alerts:\n  - id: broken\n    metric: x\n');
    await call('reloadRules', 'POST', '/api/v1/rules/reload', { headers: bearer });
    writeFileSync(join(s.rulesDir, 'broken.yaml'), 'alerts: []\n');
    await call('reloadRules', 'POST', '/api/v1/rules/reload', { headers: bearer });
    await call('reloadRules', 'POST', '/api/v1/rules/reload');

    await call('listAudit', 'GET', '/api/v1/audit?action=recommendation', { headers: bearer });
    await call('listAudit', 'GET', '/api/v1/audit');
    await call('listAudit', 'GET', '/api/v1/audit?limit=0', { headers: bearer });

    // every route seen succeeding, and failing where the document says it can
    const doc = openApiDocument() as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
    for (const r of API_ROUTES) {
      const statuses = seen.get(r.operationId) ?? new Set<number>();
      assert.ok([...statuses].some((x) => x < 300), `${r.operationId} never answered with success (saw ${[...statuses].join(', ')})`);
      const canFail = Object.keys(doc.paths[r.path]![r.method]!.responses).map(Number).filter((x) => x >= 400 && x < 500 && x !== 413 && x !== 415);
      if (canFail.length > 0) assert.ok([...statuses].some((x) => x >= 400), `${r.operationId} never answered with an error (documented: ${canFail.join(', ')})`);
    }
  });
});
