/**
 * The control-plane HTTP API in process: a real ControlPlane (embedded store, bundled runtime,
 * collector, diagnoser, tuner) over a temp data dir, a small dataset-replay job submitted through
 * the API, and the app on a free loopback port. Checks the guard on every mutating route (401
 * without the token, 403 with a session but without the CSRF token), 400s naming the field, 404s
 * for unknown ids, the read paths, an apply that runs a real tuner operation, /metrics and health.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdirSync, statSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../core/logger.ts';
import type { Diagnosis } from '../diagnoser/types.ts';
import { createApp, listen, type Listening } from '../dashboards/server/app.ts';
import { createControlPlane, type AssembledControlPlane } from '../control-plane/assemble.ts';
import { createAuth, ensureApiToken, SESSION_COOKIE, type Auth } from '../dashboards/server/auth.ts';
import { loadConfig } from '../control-plane/config.ts';
import { vertexId } from '../runtime/ids.ts';
import { tempDir, waitFor } from './helpers/wait.ts';

const TOKEN = 'test-token-0123456789abcdef0123456789';

let dir: string;
let rulesDir: string;
let cp: AssembledControlPlane;
let auth: Auth;
let http: Listening;
let base: string;
let jobId: string;

const SPEC = (dataFile: string) => `
name: api-test
checkpoints: { interval: 2s, timeout: 30s, retained: 2 }
vertices:
  - { name: events, type: dataset-source, path: ${dataFile}, eventTime: ts, rate: 400, splits: 2, parallelism: 1 }
  - { name: work, type: map, set: { doubled: "v * 2" }, parallelism: 1 }
  - { name: out, type: discard-sink, parallelism: 1 }
edges:
  - { from: events, to: work, partitioning: rebalance }
  - { from: work, to: out }
`;

async function req(method: string, path: string, init: { headers?: Record<string, string>; body?: string; cookie?: string; json?: unknown; form?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...(init.headers ?? {}) };
  let body = init.body;
  if (init.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(init.json);
  }
  if (init.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(init.form).toString();
  }
  if (init.cookie) headers.cookie = init.cookie;
  const res = await fetch(`${base}${path}`, { method, headers, redirect: 'manual', ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}
const bearer = { authorization: `Bearer ${TOKEN}` };

/** The session cookie (name=value) from a response. */
function sessionCookie(headers: Headers): string | undefined {
  for (const c of headers.getSetCookie()) if (c.startsWith(`${SESSION_COOKIE}=`)) return c.split(';')[0];
  return undefined;
}

/** A logged-in session through the one-time link: cookie and its CSRF token. */
async function loggedInSession(): Promise<{ cookie: string; csrf: string }> {
  const r = await req('GET', auth.createLoginLink());
  assert.equal(r.status, 303);
  const cookie = sessionCookie(r.headers);
  assert.ok(cookie, 'the one-time link sets a session cookie');
  const s = await req('GET', '/api/v1/session', { cookie });
  assert.equal(s.json.loggedIn, true);
  return { cookie, csrf: s.json.csrfToken };
}

before(async () => {
  dir = tempDir('streamtune-api-');
  rulesDir = join(dir, 'rules');
  mkdirSync(rulesDir);
  writeFileSync(
    join(rulesDir, 'alerts.yaml'),
    readFileSync(new URL('../jobs/demo-rules/alerts.yaml', import.meta.url), 'utf8').replace('for: 15s', 'for: 5s'),
  );
  const dataFile = join(dir, 'events.jsonl');
  const t0 = Date.UTC(2024, 0, 1);
  writeFileSync(dataFile, Array.from({ length: 40_000 }, (_, i) => JSON.stringify({ ts: t0 + i * 10, key: `k${i % 10}`, v: i })).join('\n') + '\n');
  writeFileSync(join(dir, 'api-test.yaml'), SPEC(dataFile));
  const config = loadConfig({
    env: {},
    defaults: { collector: { intervalMs: '1s' }, diagnoser: { alertIntervalMs: '1s', sweepCron: 'off', windowMs: '2m', stepMs: '1s' }, rules: { dir: rulesDir, watch: false } },
    overrides: { dataDir: dir, server: { port: 0, apiToken: TOKEN } },
  });
  cp = await createControlPlane(config, { logger: silentLogger });
  auth = createAuth({ token: ensureApiToken(config.server.apiToken, dir).token });
  // wrong tokens count as failed logins (10 per 15 min): this file sends more on purpose
  http = await listen(createApp(cp, { auth, baseUrl: 'http://127.0.0.1', cacheTtlMs: 0, logger: silentLogger, loginRateLimit: { limit: 1000 } }), 0, '127.0.0.1');
  base = http.url;
});

after(async () => {
  await http?.close(1000);
  await cp?.close();
});

describe('control-plane API', { timeout: 240_000 }, () => {
  test('POST /api/v1/jobs submits a YAML spec (bearer token); a second submit of the same name is 409', async () => {
    const text = readFileSync(join(dir, 'api-test.yaml'), 'utf8');
    const r = await req('POST', '/api/v1/jobs', { headers: { ...bearer, 'content-type': 'application/yaml' }, body: text });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.name, 'api-test');
    assert.equal(r.json.state, 'RUNNING');
    jobId = r.json.job_id;
    const again = await req('POST', '/api/v1/jobs', { headers: bearer, json: { spec: text } });
    assert.equal(again.status, 409, again.text);
    assert.equal(again.json.error.code, 'CONFLICT');
  });

  test('every mutating route is refused without the API token (401), also with a wrong one', async () => {
    const routes: Array<[string, string]> = [
      ['POST', '/api/v1/jobs'],
      ['POST', `/api/v1/jobs/${jobId}/savepoint`],
      ['POST', `/api/v1/jobs/${jobId}/stop`],
      ['POST', '/api/v1/diagnoses'],
      ['POST', '/api/v1/recommendations/r1/apply'],
      ['POST', '/api/v1/recommendations/r1/dismiss'],
      ['POST', '/api/v1/rules/reload'],
      ['POST', '/logout'],
      ['PUT', `/api/v1/jobs/${jobId}`],
      ['DELETE', `/api/v1/jobs/${jobId}`],
    ];
    for (const [method, path] of routes) {
      const none = await req(method, path, { json: { job_id: jobId, spec: 'name: x' } });
      assert.equal(none.status, 401, `${method} ${path} without token: ${none.text}`);
      assert.equal(none.json.error.code, 'UNAUTHORIZED');
      const wrong = await req(method, path, { headers: { authorization: 'Bearer not-the-token' }, json: {} });
      assert.equal(wrong.status, 401, `${method} ${path} with a wrong token`);
      // an anonymous browser session (cookie, CSRF token) is not logged in: still 401
      const page = await req('GET', '/login');
      const cookie = sessionCookie(page.headers)!;
      const csrf = (await req('GET', '/api/v1/session', { cookie })).json.csrfToken as string;
      const anon = await req(method, path, { cookie, headers: { 'x-csrf-token': csrf }, json: {} });
      assert.equal(anon.status, 401, `${method} ${path} with an anonymous session`);
    }
    const jobs = await req('GET', '/api/v1/jobs');
    assert.equal(jobs.json.jobs.length, 1, 'nothing was submitted');
    assert.equal(jobs.json.jobs[0].state, 'RUNNING', 'nothing was stopped');
  });

  test('with a logged-in session but no (or a wrong, or another session\'s) CSRF token: 403 on every mutating route', async () => {
    const { cookie, csrf } = await loggedInSession();
    const other = await loggedInSession();
    const routes: Array<[string, string]> = [
      ['POST', '/api/v1/jobs'],
      ['POST', `/api/v1/jobs/${jobId}/savepoint`],
      ['POST', `/api/v1/jobs/${jobId}/stop`],
      ['POST', '/api/v1/diagnoses'],
      ['POST', '/api/v1/recommendations/r1/apply'],
      ['POST', '/api/v1/recommendations/r1/dismiss'],
      ['POST', '/api/v1/rules/reload'],
      ['POST', '/logout'],
    ];
    for (const [method, path] of routes) {
      const r = await req(method, path, { cookie, json: { job_id: jobId } });
      assert.equal(r.status, 403, `${method} ${path} without CSRF: ${r.text}`);
      assert.equal(r.json.error.field, '_csrf');
      const w = await req(method, path, { cookie, headers: { 'x-csrf-token': 'x'.repeat(43) }, json: {} });
      assert.equal(w.status, 403, `${method} ${path} with a wrong CSRF token`);
      const o = await req(method, path, { cookie, headers: { 'x-csrf-token': other.csrf }, json: {} });
      assert.equal(o.status, 403, `${method} ${path} with another session's CSRF token`);
    }
    // with the token (header, or form field) the guard lets the request through to validation
    const ok = await req('POST', '/api/v1/diagnoses', { cookie, headers: { 'x-csrf-token': csrf }, json: {} });
    assert.equal(ok.status, 400, ok.text);
    assert.equal(ok.json.error.field, 'job_id');
    const form = await req('POST', '/api/v1/diagnoses', { cookie, form: { _csrf: csrf } });
    assert.equal(form.status, 400, form.text);
    assert.equal((await req('GET', '/api/v1/jobs')).json.jobs[0].state, 'RUNNING');
  });

  test('login: pre-session CSRF, the API token, HttpOnly SameSite=Strict cookie rotated; logout ends it; one-time links work once', async () => {
    const page = await req('GET', '/login');
    const pre = sessionCookie(page.headers)!;
    assert.ok(page.headers.getSetCookie().some((c) => /HttpOnly/.test(c) && /SameSite=Strict/.test(c)));
    const csrf = (await req('GET', '/api/v1/session', { cookie: pre })).json.csrfToken as string;
    assert.equal((await req('POST', '/login', { cookie: pre, form: { token: TOKEN } })).status, 403, 'login without CSRF');
    const bad = await req('POST', '/login', { cookie: pre, form: { token: 'wrong', _csrf: csrf } });
    assert.equal(bad.status, 303);
    assert.match(bad.headers.get('location') ?? '', /^\/login\?error=1/);
    assert.equal((await req('POST', '/login', { cookie: pre, json: { token: 'wrong', _csrf: csrf } })).status, 401);
    const ok = await req('POST', '/login', { cookie: pre, form: { token: TOKEN, _csrf: csrf, next: '//evil.example/' } });
    assert.equal(ok.status, 303);
    assert.equal(ok.headers.get('location'), '/', 'no open redirect');
    const cookie = sessionCookie(ok.headers)!;
    assert.notEqual(cookie, pre, 'session id rotated at login');
    const s = (await req('GET', '/api/v1/session', { cookie })).json;
    assert.equal(s.loggedIn, true);
    assert.equal((await req('GET', '/api/v1/session', { cookie: pre })).json.loggedIn, false, 'the pre-session is not logged in');
    const out = await req('POST', '/logout', { cookie, headers: { 'x-csrf-token': s.csrfToken } });
    assert.ok(out.status === 200 || out.status === 303, out.text);
    assert.equal((await req('POST', '/api/v1/diagnoses', { cookie, headers: { 'x-csrf-token': s.csrfToken }, json: {} })).status, 401, 'logged out');

    const link = auth.createLoginLink();
    assert.equal((await req('GET', link)).status, 303);
    const again = await req('GET', link);
    assert.equal(again.status, 401, 'a one-time link works once');
    assert.equal((await req('GET', '/login/once/made-up')).status, 401);
  });

  test('bad payloads and parameters get 400 naming the field', async () => {
    const cases: Array<[string, string, unknown, string]> = [
      ['POST', '/api/v1/jobs', {}, 'spec'],
      ['POST', '/api/v1/jobs', { spec: 'name: x', parallelism: { a: 0 } }, 'parallelism.a'],
      ['POST', '/api/v1/diagnoses', { job: 42 }, 'job'], // the alias of job_id, named as sent
      ['POST', '/api/v1/diagnoses', [1, 2], 'body'],
    ];
    for (const [method, path, json, field] of cases) {
      const r = await req(method, path, { headers: bearer, json });
      assert.equal(r.status, 400, `${method} ${path} ${JSON.stringify(json)}: ${r.text}`);
      assert.equal(r.json.error.field, field, r.text);
    }
    const malformed = await req('POST', '/api/v1/diagnoses', { headers: { ...bearer, 'content-type': 'application/json' }, body: '{"job_id":' });
    assert.equal(malformed.status, 400);
    assert.equal(malformed.json.error.field, 'body');
    // an invalid job spec names the field and line
    const spec = await req('POST', '/api/v1/jobs', { headers: { ...bearer, 'content-type': 'application/yaml' }, body: 'name: bad\nvertices:\n  - name: a\n    type: nonsense\n' });
    assert.equal(spec.status, 400, spec.text);
    assert.equal(spec.json.error.code, 'INVALID_SPEC');
    assert.match(spec.json.error.message, /line|:\d+/);
    const gets: Array<[string, string]> = [
      [`/api/v1/jobs/${jobId}/lag?from=yesterday`, 'from'],
      [`/api/v1/jobs/${jobId}/lag?from=now-1m&to=now-2m`, 'from'],
      [`/api/v1/jobs/${jobId}/lag?step=10`, 'step'],
      [`/api/v1/jobs/${jobId}/lag?from=0&step=1s`, 'step'],
      [`/api/v1/jobs/${jobId}/metrics?metric=nope`, 'metric'],
      [`/api/v1/jobs/${jobId}/metrics?groupBy=host`, 'groupBy'],
      [`/api/v1/jobs/${jobId}/exceptions?limit=0`, 'limit'],
      ['/api/v1/diagnoses?to=soon', 'to'],
      ['/api/v1/operations?limit=x', 'limit'],
    ];
    for (const [path, field] of gets) {
      const r = await req('GET', path);
      assert.equal(r.status, 400, `${path}: ${r.text}`);
      assert.equal(r.json.error.field, field, `${path}: ${r.text}`);
    }
  });

  test('unknown ids get 404', async () => {
    for (const path of ['/api/v1/jobs/nope', '/api/v1/jobs/nope/lag', '/api/v1/jobs/nope/metrics', '/api/v1/jobs/nope/checkpoints', '/api/v1/jobs/nope/exceptions', '/api/v1/diagnoses/nope', '/api/v1/recommendations/nope', '/api/v1/operations/nope', '/api/v1/no-such-route']) {
      // with the token: the sensitive reads (checkpoints, exceptions, operations) refuse anyone else first
      const r = await req('GET', path, { headers: bearer });
      assert.equal(r.status, 404, `${path}: ${r.text}`);
      assert.equal(r.json.error.code, 'NOT_FOUND');
    }
    for (const path of ['/api/v1/jobs/nope/savepoint', '/api/v1/jobs/nope/stop', '/api/v1/recommendations/nope/apply', '/api/v1/recommendations/nope/dismiss']) {
      assert.equal((await req('POST', path, { headers: bearer, json: {} })).status, 404, path);
    }
    assert.equal((await req('POST', '/api/v1/diagnoses', { headers: bearer, json: { job_id: 'nope' } })).status, 404);
  });

  test('an unknown page gets the HTML 404 page in a browser; JSON clients and API paths get the JSON 404', async () => {
    const html = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
    const page = await req('GET', '/no-such-page', { headers: html });
    assert.equal(page.status, 404);
    assert.match(page.text, /id="not-found"[^<]*no-such-page/);
    for (const [path, headers] of [['/no-such-page', { accept: 'application/json' }], ['/api/v1/no-such-route', html]] as const) {
      const r = await req('GET', path, { headers });
      assert.equal(r.status, 404, path);
      assert.equal(r.json?.error?.code, 'NOT_FOUND', `${path}: ${r.text.slice(0, 200)}`);
    }
  });

  test('reads: overview with lag and throughput, job, lag and metric series, checkpoints, exceptions, rules', async () => {
    const overview = await waitFor(
      async () => {
        const r = await req('GET', '/api/v1/jobs');
        const j = r.json.jobs[0];
        return j.lag.records !== null && j.throughput > 0 ? j : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: 'lag and throughput in the overview' },
    );
    assert.equal(overview.job_id, jobId);
    assert.equal(overview.consumerGroup, 'api-test');
    assert.ok(overview.throughput > 0, `throughput ${overview.throughput}`);
    assert.equal(typeof overview.lag.seconds, 'number');
    assert.deepEqual(overview.parallelism, { events: 1, work: 1, out: 1 });

    const job = await req('GET', `/api/v1/jobs/${jobId}`);
    assert.equal(job.status, 200);
    assert.equal(job.json.summary.job_id, jobId);
    assert.equal(job.json.policy.mode, 'recommend');

    const lag = await waitFor(
      async () => {
        const r = await req('GET', `/api/v1/jobs/${jobId}/lag?from=now-5m&step=1s`);
        return r.json.total.records.length >= 2 && r.json.partitions.length === 2 ? r.json : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: 'lag series' },
    );
    assert.equal(lag.group, 'api-test');
    assert.equal(lag.step, 1000);
    assert.deepEqual(lag.partitions.map((p: { topic: string; partition: number }) => `${p.topic}/${p.partition}`), ['events/0', 'events/1']);
    assert.ok(lag.partitions[0].seconds.length > 0);

    const busy = await req('GET', `/api/v1/jobs/${jobId}/metrics?metric=busy&groupBy=vertex&from=now-5m`);
    assert.equal(busy.status, 200);
    assert.deepEqual(busy.json.series.map((s: { vertex: string }) => s.vertex).sort(), ['events', 'out', 'work']);
    const out = await req('GET', `/api/v1/jobs/${jobId}/metrics?metric=recordsOutPerSecond&groupBy=subtask&from=now-5m`);
    assert.ok(out.json.series.every((s: { subtask: number }) => s.subtask === 0));
    assert.equal(out.json.unit, 'records/s');

    const cps = await waitFor(async () => {
      const r = await req('GET', `/api/v1/jobs/${jobId}/checkpoints`, { headers: bearer });
      return r.json.snapshots.length > 0 ? r.json : undefined;
    }, { timeoutMs: 60_000, what: 'a recorded checkpoint' });
    assert.equal(cps.snapshots[0].kind, 'checkpoint');
    const ex = await req('GET', `/api/v1/jobs/${jobId}/exceptions`, { headers: bearer });
    assert.equal(ex.status, 200);
    assert.ok(Array.isArray(ex.json.exceptions));

    const rules = await req('GET', '/api/v1/rules', { headers: bearer });
    assert.equal(rules.status, 200);
    assert.equal(rules.json.alerts.find((a: { id: string }) => a.id === 'lag.consumer-group').forMs, 5000);
    assert.equal((await req('GET', '/api/v1/diagnoses')).status, 200);
    assert.equal((await req('GET', '/api/v1/operations', { headers: bearer })).status, 200);
  });

  test('rules reload: 400 with file and line while the previous set stays; 200 once fixed', async () => {
    const gen = (await req('GET', '/api/v1/rules', { headers: bearer })).json.generation;
    writeFileSync(join(rulesDir, 'broken.yaml'), 'alerts:\n  - id: broken\n    metric: x\n    condition: "is big"\n');
    const r = await req('POST', '/api/v1/rules/reload', { headers: bearer });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error.code, 'INVALID_RULES');
    assert.match(r.json.error.file, /broken\.yaml$/);
    assert.equal(typeof r.json.error.line, 'number');
    assert.equal((await req('GET', '/api/v1/rules', { headers: bearer })).json.generation, gen, 'previous set in force');
    writeFileSync(join(rulesDir, 'broken.yaml'), 'alerts: []\n');
    const ok = await req('POST', '/api/v1/rules/reload', { headers: bearer });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.generation, gen + 1);
  });

  test('diagnose now, apply an edited recommendation (202 + a real tuner operation), dismiss, 409 on applied', async () => {
    const made = await req('POST', '/api/v1/diagnoses', { headers: bearer, json: { job_id: jobId } });
    assert.equal(made.status, 201, made.text);
    assert.equal((await req('GET', `/api/v1/diagnoses/${made.json.id}`)).json.id, made.json.id);
    assert.ok((await req('GET', `/api/v1/diagnoses?job=${jobId}`)).json.diagnoses.some((d: { id: string }) => d.id === made.json.id));

    // a stored diagnosis with two recommendations for the job (what the diagnoser would have made)
    const now = Date.now();
    const d: Diagnosis = {
      id: `api-test-${now}`, job_id: jobId, job_name: 'api-test', windowStart: now - 60_000, windowEnd: now, createdAt: now,
      trigger: { type: 'manual' }, lagStatus: 'WARN', findings: [], severity: 'severe',
      rootCause: { kind: 'under-provisioned', vertex: 'work', confidence: 0.9, explanation: 'work is busy' },
      recommendations: [
        { id: `api-test-${now}-r1`, ruleId: 'capacity', title: 'Set parallelism: work 1 → 3', rationale: 'busy', expected: { throughputRecordsPerSecond: 400 }, actions: [{ type: 'set-parallelism', vertex: { id: vertexId('api-test', 'work'), name: 'work' }, from: 1, to: 3 }] },
        { id: `api-test-${now}-r2`, ruleId: 'capacity', title: 'Other', rationale: 'x', expected: {}, actions: [] },
      ],
    };
    await cp.diagnoses.put(d);
    const r1 = `api-test-${now}-r1`;
    const r2 = `api-test-${now}-r2`;
    assert.equal((await req('GET', `/api/v1/recommendations/${r1}`)).json.state.status, 'open');
    const bad = await req('POST', `/api/v1/recommendations/${r1}/apply`, { headers: bearer, json: { actions: [{ type: 'set-parallelism', vertex: 'work', from: 1 }] } });
    assert.equal(bad.status, 400, bad.text);
    assert.equal(bad.json.error.field, 'actions[0].to');
    const bad2 = await req('POST', `/api/v1/recommendations/${r1}/apply`, { headers: bearer, json: { actions: [{ type: 'set-parallelism', vertex: 'work', from: 1, to: 0 }] } });
    assert.equal(bad2.json.error.field, 'actions[0].to', bad2.text);
    assert.equal((await req('POST', `/api/v1/recommendations/${r2}/apply`, { headers: bearer, json: {} })).json.error.field, 'actions');

    const applied = await req('POST', `/api/v1/recommendations/${r1}/apply`, { headers: bearer, json: { actions: [{ type: 'set-parallelism', vertex: 'work', from: 1, to: 2 }] } });
    assert.equal(applied.status, 202, applied.text);
    assert.equal(applied.json.recommendationId, r1);
    // the vertex named in the request is resolved against the job's topology: its JobVertexID and name
    assert.deepEqual(applied.json.actions, [{ type: 'set-parallelism', vertex: { id: vertexId('api-test', 'work'), name: 'work' }, from: 1, to: 2 }], 'the edited actions');
    const opId = applied.json.id as string;
    assert.equal((await req('GET', `/api/v1/recommendations/${r1}`)).json.state.operationId, opId);
    const again = await req('POST', `/api/v1/recommendations/${r1}/apply`, { headers: bearer, json: {} });
    assert.equal(again.status, 409);
    assert.equal((await req('POST', `/api/v1/recommendations/${r1}/dismiss`, { headers: bearer })).status, 409);
    const dismissed = await req('POST', `/api/v1/recommendations/${r2}/dismiss`, { headers: bearer });
    assert.equal(dismissed.status, 200);
    assert.equal(dismissed.json.state.status, 'dismissed');

    const op = await waitFor(
      async () => {
        const r = await req('GET', `/api/v1/operations/${opId}`, { headers: bearer });
        return ['VERIFYING', 'SUCCEEDED', 'INEFFECTIVE', 'FAILED', 'ROLLED_BACK'].includes(r.json.state) ? r.json : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 500, what: 'the operation restarted the job' },
    );
    assert.ok(['VERIFYING', 'SUCCEEDED', 'INEFFECTIVE'].includes(op.state), JSON.stringify(op));
    assert.ok((await req('GET', `/api/v1/operations?job=${jobId}`, { headers: bearer })).json.operations.some((o: { id: string }) => o.id === opId));
    const job = await waitFor(async () => {
      const j = (await req('GET', `/api/v1/jobs/${jobId}`)).json;
      return j.state === 'RUNNING' && j.summary.parallelism.work === 2 ? j : undefined;
    }, { what: 'the job running with work at parallelism 2' });
    assert.equal(job.summary.lastOperation.id, opId);
  });

  test('/metrics is Prometheus text with requests, jobs, diagnoses and operations; health lists every component', async () => {
    const m = await req('GET', '/metrics');
    assert.equal(m.status, 200);
    assert.match(m.headers.get('content-type') ?? '', /^text\/plain/);
    const samples = new Map<string, number>();
    for (const line of m.text.split('\n')) {
      if (line === '' || line.startsWith('#')) {
        if (line.startsWith('#')) assert.match(line, /^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$/);
        continue;
      }
      const mm = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})?) (-?[0-9.e+-]+|NaN|[+-]Inf)$/.exec(line);
      assert.ok(mm, `not Prometheus text: ${line}`);
      samples.set(mm[1]!, Number(mm[2]));
    }
    assert.equal(samples.get('streamtune_jobs{state="RUNNING"}'), 1);
    assert.ok((samples.get('streamtune_http_requests_total{method="GET",route="/api/v1/jobs",status="200"}') ?? 0) > 0);
    assert.ok([...samples.keys()].some((k) => k.startsWith('streamtune_http_request_duration_seconds_bucket')));
    assert.ok(samples.has('streamtune_open_diagnoses'));
    assert.ok([...samples.keys()].some((k) => k.startsWith('streamtune_operations{')));
    assert.ok((samples.get('streamtune_collector_points_written') ?? 0) > 0);

    for (const path of ['/health', '/api/v1/health']) {
      const h = await req('GET', path);
      assert.equal(h.status, 200, h.text);
      assert.deepEqual(Object.keys(h.json.components).sort(), ['bus', 'collector', 'jobs', 'rules', 'store', 'tuner']);
      assert.equal(h.json.components.store.status, 'ok');
    }
    const page = await req('GET', '/api/v1/jobs');
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /style-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    assert.equal(page.headers.get('x-powered-by'), null);
    assert.ok(!m.text.includes(TOKEN) && !page.text.includes(TOKEN), 'the token is never served');
  });

  test('savepoint and stop (token), then 409 for a stopped job', async () => {
    const sp = await req('POST', `/api/v1/jobs/${jobId}/savepoint`, { headers: bearer });
    assert.equal(sp.status, 201, sp.text);
    assert.equal(typeof sp.json.savepointPath, 'string');
    const stop = await req('POST', `/api/v1/jobs/${jobId}/stop`, { headers: bearer });
    assert.equal(stop.status, 200, stop.text);
    assert.notEqual((await req('GET', `/api/v1/jobs/${jobId}`)).json.state, 'RUNNING');
    const again = await req('POST', `/api/v1/jobs/${jobId}/stop`, { headers: bearer });
    assert.equal(again.status, 409, again.text);
  });
});

test('a generated API token is kept in a 0600 file and reused', () => {
  const d = tempDir('streamtune-token-');
  const a = ensureApiToken(undefined, d);
  assert.equal(a.source, 'generated');
  assert.equal(statSync(a.file!).mode & 0o777, 0o600);
  const b = ensureApiToken(undefined, d);
  assert.equal(b.source, 'file');
  assert.equal(b.token, a.token);
  assert.equal(ensureApiToken('configured-token-0123456789', d).source, 'config');
});
