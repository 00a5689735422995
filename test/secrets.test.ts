/**
 * Issue 18: secrets never appear in logs, pages, API responses, diagnoses or anything streamtune
 * writes. One control plane configured with all of them — the API token, the Flink authorization (a
 * fake Flink JobManager that requires it), the SMTP password and a webhook URL's password (both
 * servers unreachable: every delivery fails and is logged), the InfluxDB token (a real influxd as the
 * metric store) — is exercised: collection from both runtimes, diagnoses (API and bus), notifications
 * failing, Flink going away and InfluxDB stopped and started (failures that quote URLs), bad
 * requests, every API route with and without the token, every page. Then every log line, every
 * answer (body and headers), and every file under the data dir are searched for each secret, also
 * URL-encoded and in the base64 of HTTP Basic credentials.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { API_ROUTES, expressPath } from '../dashboards/server/openapi.ts';
import type { Diagnosis } from '../diagnoser/types.ts';
import { startApiServer, type Answer, type ApiServer } from './helpers/api-server.ts';
import { startFakeFlink, type FakeFlink } from './helpers/fake-flink.ts';
import { startInfluxDB, type InfluxServer } from './helpers/influxdb.ts';
import { freePort, waitFor } from './helpers/wait.ts';

const SECRETS = {
  apiToken: 'api-SECRET-token-7f3a9c1e5b2d4860',
  flinkAuthorization: 'Bearer flink-SECRET-4b8e2f6a9d1c',
  smtpPassword: 'smtp-SECRET-pass-c3d9e7a1',
  influxToken: 'influx-SECRET-token-a1b2c3d4e5',
  webhookPassword: 'hook-SECRET-pass-9e8d7c6b',
};
const JID = '5b1c8e1f2b3d4c5e6f708192a3b4c5d7';
const SRC = 'abc357ccb763df2852fee8c4fc7d55f2';

let influx: InfluxServer;
let fake: FakeFlink;
let s: ApiServer;
const answers: Array<{ what: string; a: Answer }> = [];

before(async () => {
  influx = await startInfluxDB();
  const db = await influx.createDatabase();
  fake = await startFakeFlink({ requireAuthorization: SECRETS.flinkAuthorization });
  fake.addJob({
    jid: JID, name: 'orders-secret',
    vertices: [{ id: SRC, name: 'Source: orders -> Sink', parallelism: 1, maxParallelism: 128, metrics: { numRecordsOut: ['1000'], numRecordsOutPerSecond: ['100.0'], busyTimeMsPerSecond: ['900.0'], backPressuredTimeMsPerSecond: ['0'], idleTimeMsPerSecond: ['100'] } }],
    checkpoints: { completed: 1, failed: 0 }, checkpointConfig: { interval: 30_000, timeout: 600_000, minPause: 0 },
    exceptions: [{ exceptionName: 'java.lang.RuntimeException', stacktrace: 'java.lang.RuntimeException: boom\n\tat Job.run(Job.java:1)', timestamp: Date.now() }],
  });
  const smtpPort = await freePort();
  const hookPort = await freePort();
  s = await startApiServer({
    token: SECRETS.apiToken,
    loginLimit: 10_000,
    env: { STREAMTUNE_INFLUXDB_TOKEN: SECRETS.influxToken, STREAMTUNE_FLINK_AUTHORIZATION: SECRETS.flinkAuthorization },
    overrides: {
      store: { influxUrl: influx.url, influxBucket: db, influxWriteApi: 'v1' },
      flink: { url: fake.url, pollIntervalMs: '1s', jobs: { 'orders-secret': { consumerGroup: 'orders', topics: ['orders'] } } },
      notify: {
        email: { smtpUrl: `smtp://alice:${encodeURIComponent(SECRETS.smtpPassword)}@127.0.0.1:${smtpPort}`, recipients: { default: ['oncall@example.com'] }, timeoutMs: '2s' },
        webhooks: [{ url: `http://bob:${encodeURIComponent(SECRETS.webhookPassword)}@127.0.0.1:${hookPort}/hook?x=1`, timeoutMs: '2s' }],
        incidents: { minSeverity: 'low' },
        retry: { retries: 1, initialMs: 50, maxMs: 100 },
      },
    },
  });
});

after(async () => {
  await s?.close();
  await fake?.close();
  await influx?.close();
});

async function get(what: string, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  const a = await s.req('GET', path, { headers });
  answers.push({ what, a });
  return a;
}

/** Every form a secret could leak in. */
function forms(): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(SECRETS)) {
    out.push([k, v], [`${k} (URL-encoded)`, encodeURIComponent(v)]);
    const bare = v.replace(/^Bearer /, '');
    if (bare !== v) out.push([`${k} (without Bearer)`, bare]);
  }
  out.push(['webhook Basic credentials', Buffer.from(`bob:${SECRETS.webhookPassword}`).toString('base64')]);
  out.push(['SMTP Basic credentials', Buffer.from(`alice:${SECRETS.smtpPassword}`).toString('base64')]);
  out.push(['SMTP AUTH PLAIN', Buffer.from(`\u0000alice\u0000${SECRETS.smtpPassword}`).toString('base64')]);
  return out;
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

test('no secret in logs, pages, API answers, diagnoses or files, also when things fail', { timeout: 300_000 }, async () => {
  const bearer = s.bearer;
  // both runtimes collected: the bundled job's metrics and the Flink job listed
  await waitFor(async () => (await s.req('GET', '/api/v1/jobs')).json.jobs.some((j: { job_id: string }) => j.job_id === JID), { timeoutMs: 60_000, what: 'the Flink job listed' });
  await waitFor(async () => (await s.req('GET', `/api/v1/jobs/${s.jobId}/lag?from=now-5m&step=1s`)).json.total.records.length >= 2, { timeoutMs: 90_000, what: 'lag of the bundled job in InfluxDB' });

  // diagnoses: by the API (stored) and a severe one on the bus (incident → email and webhook, both failing)
  for (const id of [s.jobId, JID]) answers.push({ what: `diagnose ${id}`, a: await s.req('POST', '/api/v1/diagnoses', { headers: bearer, json: { job_id: id } }) });
  const now = Date.now();
  const severe: Diagnosis = {
    id: `secrets-${now}`, job_id: JID, job_name: 'orders-secret', windowStart: now - 60_000, windowEnd: now, createdAt: now, trigger: { type: 'manual' },
    lagStatus: 'ERR', findings: [], severity: 'critical', rootCause: { kind: 'under-provisioned', confidence: 0.9, explanation: 'busy' },
    recommendations: [{ id: `secrets-${now}-r1`, ruleId: 'capacity', title: 'Source 1 → 2', rationale: 'busy', expected: {}, actions: [{ type: 'set-parallelism', vertex: { id: SRC, name: 'Source: orders -> Sink' }, from: 1, to: 2 }] }],
  };
  await s.cp.diagnoses.put(severe);
  await s.cp.bus.publish('diagnoses', severe);
  await waitFor(() => s.logger.lines.filter((l) => /notification not sent; giving up/.test(l.msg)).length >= 2, { timeoutMs: 60_000, what: 'both deliveries given up (SMTP and webhook unreachable)' });

  // bad requests that echo what they were given
  answers.push({ what: 'bad spec', a: await s.req('POST', '/api/v1/jobs', { headers: { ...bearer, 'content-type': 'application/yaml' }, body: `name: x\nvertices: [{ name: a, type: kafka-source, topic: t, groupId: g, brokers: ["${SECRETS.influxToken}"] }]\n` }) });
  answers.push({ what: 'wrong token', a: await s.req('POST', '/api/v1/rules/reload', { headers: { authorization: 'Bearer not-it-0123456789abcdef' } }) });

  // Flink goes away while an apply runs on it; InfluxDB stops and starts
  const apply = await s.req('POST', `/api/v1/recommendations/secrets-${now}-r1/apply`, { headers: bearer, json: {} });
  answers.push({ what: 'apply on Flink', a: apply });
  await fake.close();
  if (apply.status === 202) await s.cp.tuner.waitFor(apply.json.id, 120_000).catch(() => undefined);
  await waitFor(() => s.logger.lines.some((l) => /flink/i.test(l.ns) && (l.level === 'warn' || l.level === 'error')), { timeoutMs: 30_000, what: 'Flink polling failures logged' });
  await influx.stop();
  await waitFor(async () => (await s.req('GET', '/api/v1/health')).json.components.store.status !== 'ok', { timeoutMs: 60_000, what: 'the store down in health' });
  await get('health with the store down', '/api/v1/health');
  await get('/health with the store down', '/health');
  await get('metrics with the store down', '/metrics');
  await get('lag with the store down', `/api/v1/jobs/${s.jobId}/lag`);
  await influx.start();
  await waitFor(async () => (await s.req('GET', '/api/v1/health')).json.components.store.status === 'ok', { timeoutMs: 60_000, what: 'the store back' });

  // every API route (GET), with and without the token, and every page
  for (const r of API_ROUTES.filter((x) => x.method === 'get')) {
    for (const id of [s.jobId, JID]) {
      const path = `/api/v1${expressPath(r.path).replace(':id', r.path.startsWith('/jobs/') ? id : r.path.startsWith('/operations/') ? (apply.json?.id ?? 'x') : r.path.startsWith('/recommendations/') ? `secrets-${now}-r1` : `secrets-${now}`)}`;
      await get(`${r.operationId} anonymous`, path);
      await get(`${r.operationId} with token`, path, bearer);
    }
  }
  const { cookie } = await s.loggedInSession();
  for (const p of ['/', `/jobs/${s.jobId}`, `/jobs/${JID}`, `/jobs/${JID}/charts.json`, '/operations', `/operations/${apply.json?.id ?? 'x'}`, `/operations/${apply.json?.id ?? 'x'}.json`, `/diagnoses/secrets-${now}`, '/login', '/grafana/streamtune-lag.json', '/metrics', '/health', '/no-such-page']) {
    await get(`page ${p}`, p, { accept: 'text/html' });
    await get(`page ${p} logged in`, p, { accept: 'text/html', cookie });
  }

  // search everything
  const leaks: string[] = [];
  for (const [name, secret] of forms()) {
    for (const l of s.logger.lines) if (JSON.stringify(l).includes(secret)) leaks.push(`log line ${l.ns} "${l.msg}" holds the ${name}`);
    for (const { what, a } of answers) {
      if (a.text.includes(secret)) leaks.push(`the answer to ${what} (${a.status}) holds the ${name}`);
      for (const [h, v] of a.headers) if (v.includes(secret)) leaks.push(`header ${h} of ${what} holds the ${name}`);
    }
    for (const f of filesUnder(s.dir)) if (readFileSync(f).includes(Buffer.from(secret))) leaks.push(`${f} holds the ${name}`);
  }
  assert.deepEqual(leaks, []);
  // and the exercise did reach the failures it is about
  assert.ok(s.logger.lines.length > 50, `${s.logger.lines.length} log lines`);
  assert.ok(s.logger.lines.some((l) => /mail via smtp:\/\/alice:\*\*\*@/.test(JSON.stringify(l))), 'the failed mail is logged with its URL, password masked');
  assert.ok(s.logger.lines.some((l) => /giving up/.test(l.msg) && JSON.stringify(l).includes(`127.0.0.1`) && JSON.stringify(l).includes('/hook')), 'the failed webhook is logged with its URL, without the password');
  assert.ok(answers.some(({ a }) => a.status === 503 || /down/.test(a.text)), 'the store outage was seen in an answer');
  assert.ok(filesUnder(s.dir).some((f) => f.includes('diagnoses')), 'diagnoses were stored');
  assert.deepEqual(fake.violations, []);
});
