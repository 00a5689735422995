/**
 * Incidents in the real control plane (`createControlPlane` over a temp data dir, notifications to a
 * real SMTP server, the HTTP app on a loopback port): diagnoses published on the bus topic
 * 'diagnoses' (as the diagnoser service publishes them) open one incident per job problem that
 * gathers every later diagnosis of it; tuner operations on 'operations' go on its timeline; a
 * diagnosis that finds the job healthy (made when the alert resolved) resolves it and the resolved
 * notice is mailed; `GET /api/v1/incidents` (filters) and `GET /api/v1/incidents/:id` (timeline)
 * answer from the same book. The tests share one control plane and run in order.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createControlPlane, type AssembledControlPlane } from '../control-plane/assemble.ts';
import { loadConfig } from '../control-plane/config.ts';
import { silentLogger } from '../core/logger.ts';
import { createApp, listen, type Listening } from '../dashboards/server/app.ts';
import { createAuth } from '../dashboards/server/auth.ts';
import type { Diagnosis } from '../diagnoser/types.ts';
import type { IncidentDetail } from '../notify/types.ts';
import type { Operation } from '../tuner/types.ts';
import { healthyDiagnosis, laggingDiagnosis } from './helpers/diagnosis-fixtures.ts';
import { startSmtp, type SmtpTestServer } from './helpers/smtp.ts';
import { tempDir, waitFor } from './helpers/wait.ts';

const BASE = 'http://127.0.0.1:8080';
const JOB = 'a1b2c3d4e5f6';

let cp: AssembledControlPlane;
let smtp: SmtpTestServer;
let http: Listening;
let incidentId = '';
const t0 = Date.now();

const lagging = (n: number): Diagnosis => laggingDiagnosis({ id: `lag-${n}`, createdAt: t0 + n * 1000 });
const api = async (path: string): Promise<{ status: number; json: any }> => {
  const res = await fetch(`${http.url}${path}`);
  return { status: res.status, json: await res.json() };
};

before(async () => {
  smtp = await startSmtp();
  const dir = tempDir('incidents-cp-');
  const config = loadConfig({
    env: {},
    defaults: {
      diagnoser: { sweepCron: 'off' },
      notify: {
        baseUrl: BASE,
        email: { smtpUrl: smtp.url, from: 'streamtune@example.test', recipients: { default: ['oncall@example.test'] } },
        incidents: { minSeverity: 'moderate', reminderIntervalMs: '1h' },
        retry: { retries: 5, initialMs: 100, maxMs: 500 },
      },
    },
    overrides: { dataDir: dir, server: { port: 0, host: '127.0.0.1' } },
  });
  cp = await createControlPlane(config, { startJobs: false, logger: silentLogger });
  http = await listen(createApp(cp, { auth: createAuth({ token: 'incidents-test-token-0123456789abcdef' }), baseUrl: BASE, cacheTtlMs: 0, logger: silentLogger }), 0, '127.0.0.1');
});

after(async () => {
  await http?.close(1000);
  await cp?.close();
  await smtp?.close();
});

test('eleven diagnoses of one lag problem make one open incident and one report mail', { timeout: 60_000 }, async () => {
  for (let n = 0; n < 11; n++) await cp.bus.publish('diagnoses', lagging(n));
  const open = await waitFor(() => {
    const l = cp.incidents.openIncidents(JOB);
    return l.length === 1 && l[0]!.diagnosisIds.length === 11 ? l : undefined;
  }, { what: 'one incident gathering the 11 diagnoses' });
  incidentId = open[0]!.id;
  assert.equal(open[0]!.kind, 'under-provisioned');
  assert.equal(open[0]!.vertex, 'enrich');
  await waitFor(() => smtp.messages.length >= 1, { what: 'the report mail' });
  await cp.notifications!.drain();
  assert.equal(smtp.messages.length, 1, smtp.messages.map((m) => m.subject).join(' | '));
  assert.match(smtp.messages[0]!.subject, /SEVERE orders-enrichment <prod>: under-provisioned/);
  assert.ok(smtp.messages[0]!.text.includes(incidentId));

  const list = await api(`/api/v1/incidents?job=${JOB}&state=open`);
  assert.equal(list.status, 200);
  assert.deepEqual(list.json.incidents.map((i: { id: string }) => i.id), [incidentId]);
  assert.equal(list.json.incidents[0].diagnosisIds.length, 11);
  assert.equal(list.json.incidents[0].notifications, 1);
});

test('a tuner operation on the job goes on the incident timeline: applied, then ended', { timeout: 30_000 }, async () => {
  const op: Operation = {
    id: 'op-incident-1', job_id: JOB, job_name: 'orders-enrichment <prod>', diagnosisId: 'lag-0', recommendationId: 'rec-1', origin: 'user',
    actions: [{ type: 'set-parallelism', vertex: { id: 'enrich', name: 'enrich' }, from: 2, to: 4 }], previous: { parallelism: { enrich: 2 } },
    state: 'PENDING', steps: [], createdAt: Date.now(), updatedAt: Date.now(),
  };
  await cp.bus.publish('operations', op);
  await cp.bus.publish('operations', { ...op, state: 'SAVEPOINTING' });
  await cp.bus.publish('operations', { ...op, state: 'SUCCEEDED', verification: { from: 0, to: 1, throughputBefore: 2600, throughputAfter: 4100, effective: true, reason: 'effective scale-up: throughput 2,600 → 4,100 records/s' } });
  const detail = await waitFor(() => {
    const d = cp.incidents.get(incidentId)!;
    return d.timeline.filter((e) => e.type === 'operation').length === 2 ? d : undefined;
  }, { what: 'the operation applied and ended on the timeline' });
  const ops = detail.timeline.filter((e) => e.type === 'operation');
  assert.match(ops[0]!.type === 'operation' ? ops[0]!.summary : '', /^applied \(user\): set parallelism of vertex "enrich" from 2 to 4/);
  assert.match(ops[1]!.type === 'operation' ? ops[1]!.summary : '', /^ended SUCCEEDED: effective scale-up/);
});

test('a healthy diagnosis made when the alert resolved resolves the incident, with the resolved mail; the API shows the whole timeline', { timeout: 60_000 }, async () => {
  const ok = healthyDiagnosis({ id: 'ok-resolved', createdAt: t0 + 60_000, trigger: { type: 'alert', alertId: 'lag|group=orders', ruleId: 'lag.consumer-group', resolved: true } });
  await cp.bus.publish('diagnoses', ok);
  await waitFor(() => cp.incidents.get(incidentId)?.state === 'resolved', { what: 'the incident resolved' });
  const mail = await waitFor(() => smtp.messages[1], { what: 'the resolved mail' });
  assert.match(mail.subject, /Resolved: orders-enrichment <prod>/);
  assert.ok(mail.text.includes(incidentId));
  assert.ok(mail.text.includes('cleared: the alert lag.consumer-group resolved diagnosis finds the job healthy, lag OK'), mail.text);
  await cp.notifications!.drain();
  assert.equal(smtp.messages.length, 2);

  const one = await api(`/api/v1/incidents/${incidentId}`);
  assert.equal(one.status, 200);
  const d = one.json as IncidentDetail;
  assert.equal(d.state, 'resolved');
  assert.equal(d.resolvedBy, 'ok-resolved');
  const kinds = d.timeline.map((e) => (e.type === 'notification' ? `${e.notification} ${e.status}` : e.type));
  assert.deepEqual(kinds.filter((k) => k === 'diagnosis').length, 10);
  assert.deepEqual(kinds.filter((k) => k !== 'diagnosis'), ['opened', 'report queued', 'report sent', 'operation', 'operation', 'resolved', 'resolved queued', 'resolved sent']);

  assert.deepEqual((await api(`/api/v1/incidents?state=open&job=${JOB}`)).json.incidents, []);
  assert.equal((await api(`/api/v1/incidents?state=resolved&from=now-1h`)).json.incidents.length, 1);
  assert.equal((await api(`/api/v1/incidents?to=${t0 - 3_600_000}`)).json.incidents.length, 0, 'opened after `to`');
  const bad = await api('/api/v1/incidents?state=closed');
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error.field, 'state');
  assert.equal((await api('/api/v1/incidents/inc-nope')).status, 404);

  // metrics: no incident open
  const metrics = await (await fetch(`${http.url}/metrics`)).text();
  assert.match(metrics, /streamtune_open_incidents\{kind="all"\} 0/);
  assert.match(metrics, /streamtune_operations\{state="UNVERIFIED"\} 0/, 'the state that needs a look is a series of its own');
});

test('the incidents survive a restart of the control plane', { timeout: 60_000 }, async () => {
  const dataDir = cp.config.dataDir;
  const before = cp.incidents.get(incidentId);
  await http.close(1000);
  await cp.close();
  cp = await createControlPlane(cp.config, { startJobs: false, logger: silentLogger });
  http = await listen(createApp(cp, { auth: createAuth({ token: 'incidents-test-token-0123456789abcdef' }), baseUrl: BASE, cacheTtlMs: 0, logger: silentLogger }), 0, '127.0.0.1');
  assert.equal(cp.config.dataDir, dataDir);
  assert.deepEqual(cp.incidents.get(incidentId), before);
  // a diagnosis seen before the restart, redelivered, changes nothing and sends nothing
  await cp.bus.publish('diagnoses', lagging(3));
  await cp.notifications!.drain();
  assert.equal(smtp.messages.length, 2);
  assert.equal(cp.incidents.openIncidents(JOB).length, 0);
});
