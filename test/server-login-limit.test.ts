/**
 * Failed-login rate limit (dashboards/server/login-limit.ts) on the real app over a real control
 * plane with no jobs (embedded store, temp data dir): after `limit` failed logins from one address — wrong API token by form or JSON,
 * used one-time links — the next attempt gets 429 RATE_LIMITED with retryAfterMs and Retry-After,
 * even with the right token; successful logins do not count.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../core/logger.ts';
import { createApp, listen, type Listening } from '../dashboards/server/app.ts';
import { createAuth, SESSION_COOKIE } from '../dashboards/server/auth.ts';
import { createControlPlane, type AssembledControlPlane } from '../control-plane/assemble.ts';
import { loadConfig } from '../control-plane/config.ts';
import { tempDir } from './helpers/wait.ts';

const TOKEN = 'login-limit-token-0123456789abcdef';
const open: Array<{ http: Listening; cp: AssembledControlPlane }> = [];
after(async () => {
  for (const o of open) {
    await o.http.close(1000);
    await o.cp.close();
  }
});

async function server(limit: number) {
  const config = loadConfig({ env: {}, defaults: { diagnoser: { sweepCron: 'off' } }, overrides: { dataDir: tempDir('login-limit-'), server: { port: 0, apiToken: TOKEN } } });
  const cp = await createControlPlane(config, { logger: silentLogger });
  const auth = createAuth({ token: TOKEN });
  const http = await listen(createApp(cp, { auth, baseUrl: 'http://127.0.0.1', logger: silentLogger, loginRateLimit: { limit, windowMs: 60_000 } }), 0, '127.0.0.1');
  open.push({ http, cp });
  const base = http.url;
  /** A pre-session from the login page: its cookie and CSRF token. */
  const preSession = async () => {
    const r = await fetch(`${base}/login`);
    const cookie = r.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`))!.split(';')[0]!;
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await r.text())![1]!;
    return { cookie, csrf };
  };
  const login = async (token: string, as: 'form' | 'json' = 'form') => {
    const { cookie, csrf } = await preSession();
    const body = as === 'form' ? new URLSearchParams({ token, _csrf: csrf }).toString() : JSON.stringify({ token, _csrf: csrf });
    const r = await fetch(`${base}/login`, { method: 'POST', redirect: 'manual', headers: { cookie, 'content-type': as === 'form' ? 'application/x-www-form-urlencoded' : 'application/json', accept: as === 'form' ? 'text/html' : 'application/json' }, body });
    return { status: r.status, location: r.headers.get('location'), retryAfter: r.headers.get('retry-after'), text: await r.text() };
  };
  return { base, auth, login };
}

test('after the limit of failed logins the next one is refused with 429, even with the right token', async () => {
  const s = await server(3);
  const wrongForm = await s.login('wrong');
  assert.equal(wrongForm.status, 303, 'a wrong token by form redirects back to the login page');
  assert.match(wrongForm.location ?? '', /^\/login\?error=1/);
  assert.equal((await s.login('wrong', 'json')).status, 401);
  // a one-time link used twice: the second use fails and counts
  const link = s.auth.createLoginLink();
  assert.equal((await fetch(`${s.base}${link}`, { redirect: 'manual' })).status, 303);
  assert.equal((await fetch(`${s.base}${link}`, { redirect: 'manual' })).status, 401);

  const limited = await s.login(TOKEN, 'json');
  assert.equal(limited.status, 429, limited.text);
  const body = JSON.parse(limited.text) as { error: { code: string; message: string; retryAfterMs: number } };
  assert.equal(body.error.code, 'RATE_LIMITED');
  assert.ok(body.error.retryAfterMs > 0 && body.error.retryAfterMs <= 60_000, `retryAfterMs ${body.error.retryAfterMs}`);
  assert.match(body.error.message, /too many failed logins/);
  assert.ok(Number(limited.retryAfter) > 0, `Retry-After ${limited.retryAfter}`);
  assert.equal((await fetch(`${s.base}${s.auth.createLoginLink()}`, { redirect: 'manual' })).status, 429, 'one-time links are limited too');
});

test('successful logins do not count toward the limit', async () => {
  const s = await server(2);
  for (let i = 0; i < 5; i++) assert.equal((await s.login(TOKEN)).location, '/', `login ${i + 1}`);
  assert.equal((await s.login('wrong')).status, 303, 'first failure: still answered');
  assert.equal((await s.login(TOKEN)).status, 303, 'a success between failures');
  assert.equal((await s.login('wrong', 'json')).status, 401, 'second failure: still answered');
  assert.equal((await s.login(TOKEN)).status, 429, 'limit of 2 failures reached');
});

test('a wrong bearer token counts as a failed login, on any route; the right token and its own errors do not', async () => {
  const s = await server(3);
  const withToken = (token: string, method = 'GET', path = '/api/v1/jobs', body?: string) =>
    fetch(`${s.base}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body } : {}) });
  // the right token, also when the request itself is refused (400, 404), never counts
  for (let i = 0; i < 5; i++) {
    assert.equal((await withToken(TOKEN, 'POST', '/api/v1/diagnoses', '{}')).status, 400);
    assert.equal((await withToken(TOKEN, 'GET', '/api/v1/jobs/nope')).status, 404);
  }
  assert.equal((await withToken('wrong-1', 'POST', '/api/v1/rules/reload')).status, 401);
  assert.equal((await withToken('wrong-2', 'GET', '/api/v1/audit')).status, 401);
  assert.equal((await withToken('wrong-3', 'GET', '/api/v1/jobs')).status, 200, 'an open read answers, but the guess counted');
  const limited = await withToken(TOKEN, 'GET', '/api/v1/audit');
  assert.equal(limited.status, 429, 'after 3 wrong tokens even the right one is refused until the window ends');
  assert.equal(((await limited.json()) as { error: { code: string } }).error.code, 'RATE_LIMITED');
  assert.equal((await s.login(TOKEN)).status, 429, 'the form login shares the count');
  assert.equal((await fetch(`${s.base}/api/v1/jobs`)).status, 200, 'requests without a token are not limited');
});
