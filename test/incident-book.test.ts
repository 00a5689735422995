/**
 * The incident book (notify/incident-book.ts): one incident per job problem (job + root-cause kind)
 * that opens, gathers the diagnoses of the same problem, and resolves with the evidence when a
 * diagnosis no longer finds it; its timeline (diagnoses, notifications, operations) and its journal
 * across a restart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IncidentBook } from '../notify/incident-book.ts';
import type { Diagnosis } from '../diagnoser/types.ts';
import { healthyDiagnosis, laggingDiagnosis } from './helpers/diagnosis-fixtures.ts';
import { tempDir } from './helpers/wait.ts';

const T0 = Date.UTC(2024, 4, 1, 9, 15, 0);
const JOB = 'a1b2c3d4e5f6';

/** The n-th diagnosis of the lagging job, one minute apart. */
const lagging = (n: number, over: Partial<Diagnosis> = {}): Diagnosis => laggingDiagnosis({ id: `lag-${n}`, createdAt: T0 + n * 60_000, ...over });

function book(dir?: string) {
  let now = T0;
  let ids = 0;
  const b = new IncidentBook({ now: () => now, newId: () => `inc-${++ids}`, ...(dir ? { dir } : {}) });
  return { b, tick: (ms: number) => (now += ms) };
}

test('eleven diagnoses of one lag problem make one open incident that gathers them all', () => {
  const { b, tick } = book();
  const changes = [];
  for (let n = 0; n < 11; n++) {
    changes.push(...b.observe(lagging(n, n === 5 ? { severity: 'critical' } : {})));
    tick(60_000);
  }
  assert.deepEqual(changes.map((c) => c.type), ['opened', ...Array(10).fill('updated')]);
  const open = b.openIncidents(JOB);
  assert.equal(open.length, 1);
  const i = open[0]!;
  assert.equal(i.kind, 'under-provisioned');
  assert.equal(i.vertex, 'enrich');
  assert.equal(i.state, 'open');
  assert.equal(i.diagnosisIds.length, 11);
  assert.equal(i.maxSeverity, 'critical');
  assert.equal(i.severity, 'severe', 'the latest diagnosis');
  assert.equal(i.startedAt, T0);
  const detail = b.get(i.id)!;
  assert.deepEqual(detail.timeline.map((e) => e.type), ['opened', ...Array(10).fill('diagnosis')]);
});

test('a diagnosis that finds the job healthy resolves the incident with it as the evidence; the next trouble is a new incident', () => {
  const { b, tick } = book();
  b.observe(lagging(0));
  tick(60_000);
  b.observe(lagging(1));
  tick(60_000);
  const clean = healthyDiagnosis({ id: 'sweep-ok', createdAt: T0 + 2 * 60_000, trigger: { type: 'sweep' } });
  const [c] = b.observe(clean);
  assert.equal(c?.type, 'resolved');
  assert.equal(c.incident.state, 'resolved');
  assert.equal(c.incident.resolvedBy, 'sweep-ok');
  assert.equal(c.incident.resolvedAt, T0 + 120_000);
  assert.match(c.incident.resolution!, /cleared: the sweep diagnosis finds the job healthy, lag OK/);
  assert.equal(b.openIncidents(JOB).length, 0);
  assert.deepEqual(b.get(c.incident.id)!.timeline.map((e) => e.type), ['opened', 'diagnosis', 'resolved']);

  tick(60_000);
  const [again] = b.observe(lagging(3));
  assert.equal(again?.type, 'opened');
  assert.notEqual(again.incident.id, c.incident.id);
  assert.equal(b.list().length, 2);
  assert.deepEqual(b.list({ state: 'resolved' }).map((x) => x.id), [c.incident.id]);
});

test('a different root cause resolves the old incident ("no longer the problem") and opens one of its own kind', () => {
  const { b } = book();
  b.observe(lagging(0));
  const skew = lagging(1, { id: 'skew-1', rootCause: { kind: 'data-skew', vertex: 'count', confidence: 0.8, explanation: 'skewed' } });
  const changes = b.observe(skew);
  assert.deepEqual(changes.map((c) => [c.type, c.incident.kind]), [['resolved', 'under-provisioned'], ['opened', 'data-skew']]);
  assert.match(changes[0]!.incident.resolution!, /no longer the problem: .* finds data-skew at count instead/);
  assert.deepEqual(b.openIncidents(JOB).map((i) => i.kind), ['data-skew']);
});

test('insufficient data, a redelivered diagnosis and a late one neither open nor resolve; over-provisioning is no incident', () => {
  const { b } = book();
  b.observe(lagging(1));
  const noData = healthyDiagnosis({ id: 'nodata', createdAt: T0 + 120_000, lagStatus: 'UNKNOWN', rootCause: { kind: 'insufficient-data', confidence: 1, explanation: 'no metrics' } });
  assert.deepEqual(b.observe(noData), []);
  assert.deepEqual(b.observe(lagging(1)), [], 'the same diagnosis again (a bus redelivery)');
  // older than the newest seen: not evidence that the problem cleared now
  assert.deepEqual(b.observe(healthyDiagnosis({ id: 'old-ok', createdAt: T0 })), []);
  assert.equal(b.openIncidents(JOB).length, 1);
  assert.equal(b.openIncidents(JOB)[0]!.diagnosisIds.length, 1);

  const { b: b2 } = book();
  const over = healthyDiagnosis({ id: 'over', severity: 'low', rootCause: { kind: 'over-provisioned', vertex: 'enrich', confidence: 0.8, explanation: 'idle' } });
  assert.deepEqual(b2.observe(over), []);
  assert.equal(b2.list().length, 0);
});

test('notifications and operations go on the timeline; list filters by job, state and time', () => {
  const { b, tick } = book();
  const [opened] = b.observe(lagging(0));
  const id = opened!.incident.id;
  tick(1000);
  b.recordNotification(id, { notification: 'report', status: 'queued' });
  tick(1000);
  b.recordNotification(id, { notification: 'report', status: 'sent', channel: 'email' });
  const op = { id: 'op-1', job_id: JOB, diagnosisId: 'lag-0', origin: 'user' as const, state: 'PENDING' as const, actions: [{ type: 'set-parallelism' as const, vertex: { id: 'enrich', name: 'enrich' }, from: 2, to: 4 }] };
  b.recordOperation(op, false);
  b.recordOperation({ ...op, state: 'SAVEPOINTING' }, false);
  tick(60_000);
  b.recordOperation({ ...op, state: 'SUCCEEDED', verification: { reason: 'effective scale-up' } }, true);
  b.recordOperation({ ...op, state: 'SUCCEEDED' }, true);
  const i = b.get(id)!;
  assert.equal(i.notifications, 1, 'the report decided');
  assert.equal(i.lastNotifiedAt, T0 + 1000);
  assert.deepEqual(i.timeline.map((e) => (e.type === 'notification' ? `${e.notification} ${e.status}` : e.type === 'operation' ? e.summary : e.type)), [
    'opened', 'report queued', 'report sent', 'applied (user): set parallelism of vertex "enrich" from 2 to 4', 'ended SUCCEEDED: effective scale-up',
  ]);

  b.observe(laggingDiagnosis({ id: 'other-job', job_id: 'job-2', createdAt: T0 + 300_000 }));
  assert.deepEqual(b.list({ job_id: 'job-2' }).map((x) => x.job_id), ['job-2']);
  assert.equal(b.list({ state: 'open' }).length, 2);
  assert.equal(b.list({ to: T0 + 30_000 }).length, 1, 'opened at or before `to`');
  b.observe(healthyDiagnosis({ id: 'ok', createdAt: T0 + 400_000 }));
  tick(3_600_000);
  assert.equal(b.list({ from: T0 + 10 * 3_600_000 }).length, 1, 'resolved before `from` left out, open kept');
});

test('the journal brings incidents back after a restart, the same as live; a torn last line is cut off', () => {
  const dir = tempDir('incident-book-');
  const first = book(dir);
  first.b.observe(lagging(0));
  first.b.observe(lagging(1));
  const id = first.b.openIncidents(JOB)[0]!.id;
  first.b.recordNotification(id, { notification: 'report', status: 'queued' });
  const before = first.b.get(id);
  first.b.close();
  appendFileSync(join(dir, 'incidents.jsonl'), '{"t":"ev","id":"inc-1","v":{"type":"diagn');

  const second = new IncidentBook({ dir, now: () => T0 + 600_000 });
  assert.deepEqual(second.get(id), before);
  assert.deepEqual(second.observe(lagging(1)), [], 'a diagnosis seen before the restart is still known');
  const [r] = second.observe(healthyDiagnosis({ id: 'ok', createdAt: T0 + 600_000 }));
  assert.equal(r?.type, 'resolved');
  second.close();
  assert.ok(readFileSync(join(dir, 'incidents.jsonl'), 'utf8').endsWith('\n'), 'appends start on a clean line');
  const third = new IncidentBook({ dir });
  assert.equal(third.get(id)?.state, 'resolved');
  assert.equal(third.get(id)?.resolvedAt, T0 + 600_000);
  third.close();
});
