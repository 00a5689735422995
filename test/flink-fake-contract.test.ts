/**
 * The fake Flink server's contract check must fail on drift from Flink's OpenAPI spec: a request
 * body in the wrong spelling, a bad parameter, an unknown endpoint, and a response missing a required
 * field are all caught and recorded. (Other flink-* tests assert that nothing was recorded.)
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { FlinkContract } from './helpers/flink/spec.ts';
import { startFakeFlink, hexId, type FakeFlink } from './helpers/fake-flink.ts';

let fake: FakeFlink;
let contract: FlinkContract;
before(async () => {
  fake = await startFakeFlink();
  contract = await FlinkContract.load();
});
after(async () => {
  await fake.close();
});

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(fake.url + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

test('a stop body using the savepoint body spelling (target-directory) is rejected with 400 and recorded', async () => {
  const job = fake.addJob({ name: 'j', vertices: [{ id: hexId(), name: 'Source: s', parallelism: 1, maxParallelism: 128 }] });
  const before = fake.violations.length;
  const r = await call('POST', `/jobs/${job.jid}/stop`, { 'target-directory': 'file:/sp', drain: false });
  assert.equal(r.status, 400);
  assert.ok(Array.isArray((r.json as { errors: unknown }).errors), 'Flink-style {errors:[...]} body');
  const v = fake.violations.slice(before);
  assert.equal(v.length, 1);
  assert.equal(v[0]!.kind, 'request');
  assert.equal(v[0]!.operationId, 'triggerStopWithSavepoint');
  assert.match(v[0]!.errors.join(' '), /target-directory/);
  assert.equal(fake.jobs.get(job.jid)!.state, 'RUNNING', 'the rejected request changed nothing');

  const ok = await call('POST', `/jobs/${job.jid}/stop`, { targetDirectory: 'file:/sp', drain: false, triggerId: hexId() });
  assert.equal(ok.status, 202);
  assert.equal(fake.violations.length, before + 1, 'the camelCase body is valid');
});

test('bad parameters and unknown endpoints are recorded', async () => {
  const before = fake.violations.length;
  const job = fake.addJob({ name: 'j', vertices: [{ id: hexId(), name: 'Map', parallelism: 1, maxParallelism: 128 }] });
  const vid = job.vertices[0]!.id;
  assert.equal((await call('GET', `/jobs/${job.jid}/vertices/${vid}/subtasks/metrics?get=x&agg=median`)).status, 400);
  assert.equal((await call('GET', `/jobs/not-a-job-id`)).status, 400);
  assert.equal((await call('GET', `/jobs/${job.jid}/vertices/${vid}/bogus`)).status, 404);
  assert.equal((await call('PUT', `/jobs/${job.jid}/resource-requirements`, { [vid]: { parallelism: { upperBound: 'four' } } })).status, 400);
  const kinds = fake.violations.slice(before).map((v) => v.kind);
  assert.deepEqual(kinds, ['request', 'request', 'unknown-operation', 'request']);
});

test('the response check catches a missing required field and a wrong shape', () => {
  // QueueStatus.id is required.
  assert.notDeepEqual(contract.checkResponse('getSavepointStatus', 200, { status: {}, operation: { location: 'file:/sp' } }), []);
  assert.deepEqual(contract.checkResponse('getSavepointStatus', 200, { status: { id: 'COMPLETED' }, operation: { location: 'file:/sp' } }), []);
  // CheckpointStatistics is polymorphic on the required className.
  const completed = { id: 1, status: 'COMPLETED', end_to_end_duration: 5 };
  assert.notDeepEqual(contract.checkResponse('getCheckpointingStatistics', 200, { latest: { completed } }), []);
  assert.deepEqual(contract.checkResponse('getCheckpointingStatistics', 200, { latest: { completed: { ...completed, className: 'completed' } } }), []);
  // Metrics answers are bare arrays (docs/FLINK-CONTRACT.md §3), not the spec's {metrics: [...]}.
  assert.notDeepEqual(contract.checkResponse('getAggregatedSubtaskMetrics', 200, { metrics: [] }), []);
  assert.deepEqual(contract.checkResponse('getAggregatedSubtaskMetrics', 200, [{ id: 'busyTimeMsPerSecond', max: 950, skew: 38.1 }]), []);
  assert.deepEqual(contract.checkResponse('getSubtaskMetrics', 200, [{ id: 'busyTimeMsPerSecond', value: '734.0' }]), []);
  assert.notDeepEqual(contract.checkResponse('getSubtaskMetrics', 200, [{ id: 'busyTimeMsPerSecond', value: 734 }]), [], 'values are strings');
  // A misspelled response field (closed objects).
  assert.notDeepEqual(contract.checkResponse('getJobVertexBackPressure', 200, { status: 'ok', backpressureLevel: 'ok', endTimestamp: 1 }), []);
});
