/**
 * Issue 18, security, on the real app over a real control plane (test/helpers/api-server.ts):
 * - every mutating route, found by walking express's route table (so a new route cannot be missed),
 *   and every path under PUT/PATCH/DELETE, refuses a request without the API token, with a wrong one,
 *   with an anonymous session, and with a logged-in session without, with a wrong or with another
 *   session's CSRF token; `POST /login` itself refuses without the pre-session's CSRF token;
 * - every read the document marks sensitive (stack traces, savepoint paths, configuration) and the
 *   audit log refuse anyone without the token or a logged-in session; `server.publicReads: true`
 *   opens the sensitive ones but not the audit log; the pages hide savepoint and checkpoint paths
 *   from anyone not logged in;
 * - a session from before a restart is refused cleanly (401 "log in again", a new pre-session on the
 *   next page view, and logging in again works);
 * - the audit log records logins (and failed ones), applies, dismissals, submits, stops, rule reloads
 *   (by request and on a file change) and config changes, is append-only with a hash chain that shows
 *   an edit, continues across a restart, and is readable through `GET /api/v1/audit` with the token.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createApp } from '../dashboards/server/app.ts';
import { API_ROUTES, expressPath } from '../dashboards/server/openapi.ts';
import { HIDDEN_PATH } from '../dashboards/server/pages/views.ts';
import { AUDIT_FILE, openAuditLog } from '../control-plane/audit.ts';
import type { Diagnosis } from '../diagnoser/types.ts';
import { vertexId } from '../runtime/ids.ts';
import { expressRoutes } from './helpers/routes.ts';
import { API_TOKEN, startApiServer, type ApiServer } from './helpers/api-server.ts';
import { waitFor } from './helpers/wait.ts';

let s: ApiServer;

before(async () => {
  s = await startApiServer({ loginLimit: 10_000 });
});

after(async () => {
  await s?.close();
});

/** A concrete path for an express route path: parameters filled in (the running job for job ids). */
function concrete(path: string): string {
  return path.replace(/:id\b/g, s.jobId).replace(/:nonce\b/g, 'not-a-nonce').replace(/\*path/g, 'x').replace(/:[A-Za-z]+/g, 'x');
}

describe('security', { timeout: 300_000 }, () => {
  test('every mutating route (walked from the route table) refuses without the token or without the CSRF token', async () => {
    const app = createApp(s.cp, { auth: s.auth, baseUrl: 'http://127.0.0.1' });
    const all = expressRoutes(app);
    const mutating = all.filter((r) => r.method !== 'get' && r.method !== 'head' && r.method !== 'options' && r.method !== '_all');
    const walked = new Set(mutating.map((r) => `${r.method.toUpperCase()} ${r.path}`));
    // the walk finds the routes (the document's mutations and the app's own), so a new one is walked too
    for (const r of API_ROUTES.filter((x) => x.access === 'mutation')) assert.ok(walked.has(`POST /api/v1${expressPath(r.path)}`), `the walk missed ${r.path}: ${[...walked].join(', ')}`);
    for (const r of ['POST /login', 'POST /logout']) assert.ok(walked.has(r), `the walk missed ${r}`);
    // every path, also under the methods no route has: the guard stands before routing
    const paths = [...new Set(all.map((r) => r.path))];
    const cases = [
      ...mutating.filter((r) => r.path !== '/login').map((r) => [r.method.toUpperCase(), concrete(r.path)] as const),
      ...paths.flatMap((p) => ['PUT', 'PATCH', 'DELETE'].map((m) => [m, concrete(p)] as const)),
    ];
    const { cookie, csrf } = await s.loggedInSession();
    const other = await s.loggedInSession();
    const page = await s.req('GET', '/login');
    const anonCookie = s.sessionCookie(page.headers)!;
    const anonCsrf = (await s.req('GET', '/api/v1/session', { cookie: anonCookie })).json.csrfToken as string;
    const jobsBefore = JSON.stringify((await s.req('GET', '/api/v1/jobs')).json.jobs.map((j: { job_id: string; state: string; startedAt?: number }) => [j.job_id, j.state, j.startedAt]));
    for (const [method, path] of cases) {
      const body = { json: { job_id: s.jobId, spec: 'name: x', actions: [] } };
      const none = await s.req(method, path, body);
      assert.equal(none.status, 401, `${method} ${path} without credentials: ${none.text}`);
      assert.equal(none.json?.error?.code, 'UNAUTHORIZED', `${method} ${path}`);
      assert.equal((await s.req(method, path, { ...body, headers: { authorization: 'Bearer wrong-token-0123456789' } })).status, 401, `${method} ${path} with a wrong token`);
      assert.equal((await s.req(method, path, { ...body, headers: { authorization: 'Basic eDp5' } })).status, 401, `${method} ${path} with Basic credentials`);
      assert.equal((await s.req(method, path, { ...body, cookie: anonCookie, headers: { 'x-csrf-token': anonCsrf } })).status, 401, `${method} ${path} with an anonymous session`);
      const noCsrf = await s.req(method, path, { ...body, cookie });
      assert.equal(noCsrf.status, 403, `${method} ${path} logged in, no CSRF token: ${noCsrf.text}`);
      assert.equal(noCsrf.json.error.field, '_csrf');
      assert.equal((await s.req(method, path, { ...body, cookie, headers: { 'x-csrf-token': 'x'.repeat(43) } })).status, 403, `${method} ${path} with a wrong CSRF token`);
      assert.equal((await s.req(method, path, { ...body, cookie, headers: { 'x-csrf-token': other.csrf } })).status, 403, `${method} ${path} with another session's CSRF token`);
      assert.equal((await s.req(method, path, { cookie, form: { _csrf: 'y'.repeat(43), job_id: s.jobId } })).status, 403, `${method} ${path} with a wrong _csrf form field`);
    }
    // login: its own CSRF rule (a pre-session's token), no API token needed
    assert.equal((await s.req('POST', '/login', { form: { token: API_TOKEN } })).status, 403, 'login without a session');
    assert.equal((await s.req('POST', '/login', { cookie: anonCookie, form: { token: API_TOKEN } })).status, 403, 'login without the CSRF token');
    // nothing was changed by any of them
    assert.equal(JSON.stringify((await s.req('GET', '/api/v1/jobs')).json.jobs.map((j: { job_id: string; state: string; startedAt?: number }) => [j.job_id, j.state, j.startedAt])), jobsBefore);
    // and with the CSRF token a session gets through the guard (to validation)
    const ok = await s.req('POST', '/api/v1/diagnoses', { cookie, headers: { 'x-csrf-token': csrf }, json: {} });
    assert.equal(ok.status, 400, ok.text);
  });

  test('sensitive reads and the audit log need the token or a logged-in session; the pages hide paths', async () => {
    const guarded = API_ROUTES.filter((r) => r.method === 'get' && (r.access === 'sensitive' || r.access === 'token'));
    assert.deepEqual(guarded.map((r) => r.operationId).sort(), ['getJobCheckpoints', 'getJobExceptions', 'getOperation', 'getRules', 'listAudit', 'listOperations']);
    const { cookie } = await s.loggedInSession();
    const anon = s.sessionCookie((await s.req('GET', '/login')).headers)!;
    for (const r of guarded) {
      const path = `/api/v1${expressPath(r.path).replace(':id', s.jobId)}`;
      const none = await s.req('GET', path);
      assert.equal(none.status, 401, `${path} without credentials: ${none.text}`);
      assert.match(none.json.error.message, /needs Authorization: Bearer/);
      assert.equal((await s.req('GET', path, { cookie: anon })).status, 401, `${path} with an anonymous session`);
      assert.equal((await s.req('GET', path, { headers: { authorization: 'Bearer nope-nope-nope-nope' } })).status, 401, `${path} with a wrong token`);
      assert.notEqual((await s.req('GET', path, { headers: s.bearer })).status, 401, `${path} with the token`);
      assert.notEqual((await s.req('GET', path, { cookie })).status, 401, `${path} with a logged-in session`);
    }
    // open reads stay open
    for (const r of API_ROUTES.filter((x) => x.method === 'get' && x.access === 'open')) {
      const path = `/api/v1${expressPath(r.path).replace(':id', s.jobId)}`;
      assert.notEqual((await s.req('GET', path)).status, 401, path);
    }
    // the job page: checkpoint paths only for a logged-in session
    const snaps = await waitFor(async () => {
      const r = await s.req('GET', `/api/v1/jobs/${s.jobId}/checkpoints`, { headers: s.bearer });
      return r.json.snapshots.length > 0 ? r.json.snapshots as Array<{ path: string }> : undefined;
    }, { timeoutMs: 60_000, what: 'a checkpoint' });
    const html = { accept: 'text/html' };
    const anonPage = await s.req('GET', `/jobs/${s.jobId}`, { headers: html });
    assert.equal(anonPage.status, 200);
    assert.ok(!anonPage.text.includes(snaps[0]!.path), 'an anonymous page view shows no checkpoint path');
    assert.ok(anonPage.text.includes(HIDDEN_PATH));
    assert.ok(!anonPage.text.includes(s.dir), 'nor any path of the data dir');
    const mine = await s.req('GET', `/jobs/${s.jobId}`, { headers: html, cookie });
    assert.ok(mine.text.includes(snaps[0]!.path), 'a logged-in session sees the paths');
  });

  test('server.publicReads: true opens the sensitive reads and shows paths, but not the audit log', async () => {
    const p = await startApiServer({ publicReads: true, loginLimit: 10_000 });
    try {
      for (const r of API_ROUTES.filter((x) => x.method === 'get' && x.access !== 'open')) {
        const path = `/api/v1${expressPath(r.path).replace(':id', p.jobId)}`;
        const a = await p.req('GET', path);
        if (r.access === 'sensitive') assert.notEqual(a.status, 401, `${path} with publicReads: ${a.text}`);
        else assert.equal(a.status, 401, `${path} needs the token even with publicReads`);
      }
      const snaps = await waitFor(async () => {
        const r = await p.req('GET', `/api/v1/jobs/${p.jobId}/checkpoints`);
        return r.json.snapshots.length > 0 ? r.json.snapshots as Array<{ path: string }> : undefined;
      }, { timeoutMs: 60_000, what: 'a checkpoint' });
      assert.ok((await p.req('GET', `/jobs/${p.jobId}`, { headers: { accept: 'text/html' } })).text.includes(snaps[0]!.path));
    } finally {
      await p.close();
    }
  });

  test('the audit log: logins, failed logins, applies, dismissals, submits, stops, reloads, config changes; append-only and hash-chained', async () => {
    // a failed and a successful form login, a used link, a logout
    const pre = await s.req('GET', '/login');
    const preCookie = s.sessionCookie(pre.headers)!;
    const preCsrf = (await s.req('GET', '/api/v1/session', { cookie: preCookie })).json.csrfToken as string;
    assert.equal((await s.req('POST', '/login', { cookie: preCookie, json: { token: 'wrong', _csrf: preCsrf } })).status, 401);
    const ok = await s.req('POST', '/login', { cookie: preCookie, json: { token: API_TOKEN, _csrf: preCsrf } });
    assert.equal(ok.status, 200, ok.text);
    const link = s.auth.createLoginLink();
    assert.equal((await s.req('GET', link)).status, 303);
    assert.equal((await s.req('GET', link)).status, 401);
    const sess = await s.loggedInSession();
    assert.equal((await s.req('POST', '/logout', { cookie: sess.cookie, headers: { 'x-csrf-token': sess.csrf } })).status, 200);

    // an apply (session; a real tuner operation on the job) and a dismissal (token) of a stored diagnosis' recommendations
    const now = Date.now();
    const d: Diagnosis = {
      id: `audit-${now}`, job_id: s.jobId, job_name: 'api-job', windowStart: now - 60_000, windowEnd: now, createdAt: now,
      trigger: { type: 'manual' }, lagStatus: 'WARN', findings: [], severity: 'severe',
      rootCause: { kind: 'under-provisioned', vertex: 'work', confidence: 0.9, explanation: 'work is busy' },
      recommendations: [
        { id: `audit-${now}-r1`, ruleId: 'capacity', title: 'work 1 → 2', rationale: 'busy', expected: {}, actions: [{ type: 'set-parallelism', vertex: { id: vertexId('api-job', 'work'), name: 'work' }, from: 1, to: 2 }] },
        { id: `audit-${now}-r2`, ruleId: 'capacity', title: 'other', rationale: 'x', expected: {}, actions: [] },
      ],
    };
    await s.cp.diagnoses.put(d);
    const me = await s.loggedInSession();
    const applied = await s.req('POST', `/api/v1/recommendations/audit-${now}-r1/apply`, { cookie: me.cookie, headers: { 'x-csrf-token': me.csrf }, json: {} });
    assert.equal(applied.status, 202, applied.text);
    assert.equal((await s.req('POST', `/api/v1/recommendations/audit-${now}-r2/dismiss`, { headers: s.bearer })).status, 200);
    assert.equal((await s.req('POST', `/api/v1/recommendations/audit-${now}-r2/apply`, { headers: s.bearer, json: { acitons: [] } })).status, 400);
    writeFileSync(join(s.rulesDir, 'zz.yaml'), 'alerts: []\n');
    assert.equal((await s.req('POST', '/api/v1/rules/reload', { headers: s.bearer })).status, 200);
    writeFileSync(join(s.rulesDir, 'zz.yaml'), 'alerts: [1]\n');
    assert.equal((await s.req('POST', '/api/v1/rules/reload', { headers: s.bearer })).status, 400);
    writeFileSync(join(s.rulesDir, 'zz.yaml'), 'alerts: []\n');
    await s.cp.tuner.waitFor(applied.json.id, 120_000);
    await waitFor(async () => (await s.req('GET', `/api/v1/jobs/${s.jobId}`)).json.state === 'RUNNING', { timeoutMs: 60_000, what: 'the job running after the operation' });
    assert.equal((await s.req('POST', `/api/v1/jobs/${s.jobId}/stop`, { headers: s.bearer })).status, 200);

    const audit = await s.req('GET', '/api/v1/audit', { headers: s.bearer });
    assert.equal(audit.status, 200, audit.text);
    assert.equal(audit.json.verified, true);
    const entries = audit.json.entries as Array<{ seq: number; action: string; outcome: string; actor: { via: string; session?: string }; target?: Record<string, string>; details?: Record<string, unknown> }>;
    const find = (action: string, pred: (e: (typeof entries)[number]) => boolean = () => true) => entries.find((e) => e.action === action && pred(e));
    assert.ok(find('config.change', (e) => e.details?.firstStart === true), 'the first start is recorded');
    assert.ok(find('job.submit', (e) => e.target?.job_id === s.jobId && e.actor.via === 'token'), 'the submit at start');
    assert.ok(find('login.failed', (e) => e.details?.reason === 'wrong API token' && e.actor.via === 'anonymous'));
    assert.ok(find('login.failed', (e) => e.details?.reason === 'unknown or used login link'));
    assert.ok(find('login', (e) => e.actor.via === 'token' && typeof e.actor.session === 'string'));
    assert.ok(find('login', (e) => e.actor.via === 'login-link'));
    assert.ok(find('logout', (e) => e.actor.via === 'session'));
    const ap = find('recommendation.apply', (e) => e.outcome === 'ok');
    assert.ok(ap, 'the apply');
    assert.equal(ap.actor.via, 'session');
    assert.deepEqual(ap.target, { job_id: s.jobId, recommendation: `audit-${now}-r1`, operation: applied.json.id });
    assert.ok(find('recommendation.dismiss', (e) => e.outcome === 'ok' && e.actor.via === 'token' && e.target?.recommendation === `audit-${now}-r2`));
    assert.ok(find('recommendation.apply', (e) => e.outcome === 'refused' && e.details?.error === 'INVALID_ARGUMENT'));
    assert.ok(find('job.stop', (e) => e.outcome === 'ok' && e.target?.job_id === s.jobId));
    assert.ok(find('rules.reload', (e) => e.outcome === 'ok' && e.actor.via === 'token'));
    assert.ok(find('rules.reload', (e) => e.outcome === 'refused' && e.details?.error === 'INVALID_RULES'));
    assert.ok(entries.every((e, i) => i === 0 || e.seq === entries[i - 1]!.seq + 1), 'seq without gaps');
    // no secret in it
    assert.ok(!audit.text.includes(API_TOKEN));
    // the filter
    const logins = (await s.req('GET', '/api/v1/audit?action=login', { headers: s.bearer })).json.entries as typeof entries;
    assert.ok(logins.length >= 4 && logins.every((e) => e.action === 'login' || e.action.startsWith('login.')));

    // append-only: what was there stays byte for byte; an edit breaks the chain
    const file = join(s.dir, AUDIT_FILE);
    const text = readFileSync(file, 'utf8');
    assert.equal((await s.req('POST', '/api/v1/rules/reload', { headers: s.bearer })).status, 200);
    const after = readFileSync(file, 'utf8');
    assert.ok(after.startsWith(text) && after.length > text.length, 'entries are only appended');
    const copy = join(s.dir, 'audit-copy');
    mkdirSync(copy, { recursive: true });
    writeFileSync(join(copy, AUDIT_FILE), after.replace('"login.failed"', '"login"'));
    const t = openAuditLog(copy);
    assert.equal(t.verify(), false, 'an edited entry breaks the chain');
    t.close();
    // a line cut by a crash: skipped, and the next entry starts on its own line
    writeFileSync(join(copy, AUDIT_FILE), `${after}{"seq": 99, "act`);
    const c = openAuditLog(copy);
    c.record({ action: 'test', outcome: 'ok', actor: { via: 'system' } });
    assert.equal(c.list().at(-1)!.action, 'test');
    assert.equal(c.verify(), true, 'a cut last line is skipped; the chain goes on from the last whole entry');
    c.close();

    // without the token: refused
    assert.equal((await s.req('GET', '/api/v1/audit')).status, 401);
  });

  test('a session from before a restart is refused cleanly; the audit log goes on; a changed config is recorded', async () => {
    const r = await startApiServer({ loginLimit: 10_000, submitJob: false });
    const dir = r.dir;
    const { cookie, csrf } = await r.loggedInSession();
    assert.equal((await r.req('POST', '/api/v1/rules/reload', { cookie, headers: { 'x-csrf-token': csrf } })).status, 200);
    const before = (await r.req('GET', '/api/v1/audit', { headers: r.bearer })).json.entries as Array<{ seq: number; hash: string }>;
    await r.close();

    // the same data dir, another process (a new signing key), and one config field changed
    const again = await startApiServer({ loginLimit: 10_000, submitJob: false, dir, overrides: { collector: { intervalMs: '2s' }, rules: { watch: true } } });
    try {
      // a rule file changed on disk: reloaded by streamtune itself, and audited as such
      writeFileSync(join(again.rulesDir, 'watched.yaml'), 'alerts: [broken]\n');
      await waitFor(() => again.cp.audit.list({ action: 'rules.reload' }).find((e) => e.actor.via === 'system' && e.outcome === 'refused' && e.details?.trigger === 'file-change'), { timeoutMs: 30_000, what: 'a file-change reload in the audit log' });
      writeFileSync(join(again.rulesDir, 'watched.yaml'), 'alerts: []\n');
      await waitFor(() => again.cp.audit.list({ action: 'rules.reload' }).find((e) => e.actor.via === 'system' && e.outcome === 'ok'), { timeoutMs: 30_000, what: 'the fixed file reloaded' });
      const s1 = await again.req('GET', '/api/v1/session', { cookie });
      assert.equal(s1.json.loggedIn, false, 'the old session is not logged in');
      const m = await again.req('POST', '/api/v1/rules/reload', { cookie, headers: { 'x-csrf-token': csrf } });
      assert.equal(m.status, 401, m.text);
      assert.match(m.json.error.message, /no longer valid.*log in again/);
      const l = await again.req('POST', '/login', { cookie, json: { token: API_TOKEN, _csrf: csrf } });
      assert.equal(l.status, 403, 'login with the old pre-session: load the login page again');
      assert.match(l.json.error.message, /before a restart/);
      const page = await again.req('GET', '/login', { headers: { accept: 'text/html', cookie } });
      assert.equal(page.status, 200);
      const fresh = again.sessionCookie(page.headers);
      assert.ok(fresh && fresh !== cookie, 'a new pre-session replaces the stale cookie');
      const csrf2 = (await again.req('GET', '/api/v1/session', { cookie: fresh })).json.csrfToken as string;
      const relog = await again.req('POST', '/login', { cookie: fresh, json: { token: API_TOKEN, _csrf: csrf2 } });
      assert.equal(relog.status, 200, relog.text);

      const after = (await again.req('GET', '/api/v1/audit', { headers: again.bearer })).json as { entries: Array<{ seq: number; hash: string; prev: string; action: string; details?: Record<string, unknown> }>; verified: boolean };
      assert.equal(after.verified, true, 'the chain holds across the restart');
      assert.deepEqual(after.entries.slice(0, before.length).map((e) => e.hash), before.map((e) => e.hash));
      const change = after.entries.find((e) => e.seq > before.at(-1)!.seq && e.action === 'config.change');
      assert.ok(change, 'the changed config is recorded');
      assert.deepEqual(change.details?.changed, ['collector.intervalMs', 'rules.watch']);
      assert.ok(after.entries.some((e) => e.seq > before.at(-1)!.seq && e.action === 'login'));
    } finally {
      await again.close();
    }
  });
});
