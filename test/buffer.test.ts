import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferedWriter } from '../collector/buffer.ts';
import { createEmbeddedStore } from '../collector/store/embedded.ts';
import type { MetricPoint } from '../core/points.ts';
import { MemoryLogger } from '../core/logger.ts';
import { waitFor } from './helpers/wait.ts';

const T0 = 1_767_225_600_000;
const pt = (i: number, extra: Partial<MetricPoint> = {}): MetricPoint => ({
  measurement: 'taskmanager_job_task_numRecordsIn', tags: { subtask_index: String(i % 4) }, fields: { count: i }, intFields: ['count'], timestamp: T0 + i, ...extra,
});

test('malformed points are rejected and counted; the valid ones are written', async () => {
  const store = await createEmbeddedStore({ path: ':memory:', retentionDays: 0 });
  const logger = new MemoryLogger();
  const w = new BufferedWriter({ store, logger, flushIntervalMs: 60_000 });
  try {
    const bad = [
      { measurement: '', tags: {}, fields: { value: 1 }, timestamp: T0 },
      { measurement: 'm', tags: {}, fields: {}, timestamp: T0 },
      { measurement: 'm', tags: {}, fields: { value: Number.POSITIVE_INFINITY, ok: 1 }, timestamp: T0 },
      { measurement: 'm', tags: {}, fields: { value: 1 }, timestamp: Number.NaN },
      { measurement: 'm', tags: {}, fields: { value: 1 }, timestamp: -5 },
      { measurement: 'm', tags: { k: 5 as unknown as string }, fields: { value: 1 }, timestamp: T0 },
    ] as MetricPoint[];
    const r = w.add([pt(1), ...bad, pt(2)]);
    assert.deepEqual(r, { accepted: 2, rejected: bad.length });
    await w.flush();
    const h = w.health();
    assert.equal(h.pointsRejected, bad.length);
    assert.equal(h.pointsWritten, 2);
    assert.ok(logger.lines.some((l) => l.msg === 'malformed points rejected'));
    // the half-valid point (ok=1 beside an infinite value) must not have been written in part
    assert.deepEqual(await store.query({ measurement: 'm', field: 'ok', start: 0, end: T0 * 2 }), []);
    const s = await store.query({ measurement: 'taskmanager_job_task_numRecordsIn', field: 'count', start: 0, end: T0 * 2 });
    assert.deepEqual(s[0]!.points.map((p) => p.v), [1, 2]);
  } finally {
    await w.close();
    await store.close();
  }
});

test('flushes by itself every interval and at batch size, in order', async () => {
  const store = await createEmbeddedStore({ path: ':memory:', retentionDays: 0 });
  const w = new BufferedWriter({ store, flushIntervalMs: 50, batchSize: 100 });
  try {
    const pts = Array.from({ length: 1050 }, (_, i) => pt(i));
    for (let i = 0; i < pts.length; i += 70) w.add(pts.slice(i, i + 70));
    await waitFor(() => w.health().pointsWritten === 1050, { timeoutMs: 60_000, what: 'all points written without flush()' });
    assert.equal(w.health().pointsBuffered, 0);
    assert.ok(w.health().lastSuccessfulWrite !== null);
    const s = await store.query({ measurement: 'taskmanager_job_task_numRecordsIn', field: 'count', start: 0, end: T0 * 2 });
    assert.deepEqual(s[0]!.points.map((p) => p.v), pts.map((_, i) => i));
  } finally {
    await w.close();
    await store.close();
  }
});

test('log events are buffered and written the same way', async () => {
  const store = await createEmbeddedStore({ path: ':memory:', retentionDays: 0 });
  const w = new BufferedWriter({ store, flushIntervalMs: 60_000 });
  try {
    const r = w.addLogs([
      { timestamp: T0, level: 'error', job_id: 'j', message: 'PoisonRecordError at offset 7', exception_class: 'PoisonRecordError' },
      { timestamp: T0, level: 'fatal' as 'error', job_id: 'j', message: 'bad level' },
    ]);
    assert.deepEqual(r, { accepted: 1, rejected: 1 });
    await w.flush();
    assert.equal(w.health().logsWritten, 1);
    assert.equal(w.health().logsRejected, 1);
    const logs = await store.queryLogs({ start: T0, end: T0, keyword: 'poison' });
    assert.equal(logs.length, 1);
  } finally {
    await w.close();
    await store.close();
  }
});

test('health as Flink-style points streamtune_collector_* with field value, writable to the store', async () => {
  const store = await createEmbeddedStore({ path: ':memory:', retentionDays: 0 });
  let now = T0;
  const w = new BufferedWriter({ store, flushIntervalMs: 60_000, now: () => now });
  try {
    w.add([pt(1), pt(2), { measurement: '', tags: {}, fields: { v: 1 }, timestamp: T0 }]);
    const before = w.healthPoints({ host: 'h1' });
    assert.equal(before.find((p) => p.measurement === 'streamtune_collector_lastSuccessfulWrite'), undefined, 'no last write yet');
    await w.flush();
    now = T0 + 1000;
    const pts = w.healthPoints({ host: 'h1' });
    const byName = Object.fromEntries(pts.map((p) => [p.measurement, p]));
    assert.equal(byName.streamtune_collector_pointsWritten!.fields.value, 2);
    assert.equal(byName.streamtune_collector_pointsRejected!.fields.value, 1);
    assert.equal(byName.streamtune_collector_pointsBuffered!.fields.value, 0);
    assert.equal(byName.streamtune_collector_pointsDropped!.fields.value, 0);
    assert.equal(byName.streamtune_collector_writeErrors!.fields.value, 0);
    assert.equal(byName.streamtune_collector_lastSuccessfulWrite!.fields.value, T0);
    assert.deepEqual(byName.streamtune_collector_pointsWritten!.tags, { host: 'h1' });
    assert.equal(byName.streamtune_collector_pointsWritten!.timestamp, T0 + 1000);
    w.add(pts);
    await w.flush();
    const s = await store.query({ measurement: 'streamtune_collector_pointsWritten', field: 'value', start: T0, end: T0 + 1000 });
    assert.deepEqual(s[0]!.points, [{ t: T0 + 1000, v: 2 }]);
  } finally {
    await w.close();
    await store.close();
  }
});

test('close() writes what is buffered; add after close is rejected', async () => {
  const store = await createEmbeddedStore({ path: ':memory:', retentionDays: 0 });
  const w = new BufferedWriter({ store, flushIntervalMs: 60_000 });
  w.add([pt(1), pt(2), pt(3)]);
  await w.close();
  assert.equal(w.health().pointsWritten, 3);
  assert.deepEqual(w.add([pt(4)]), { accepted: 0, rejected: 1 });
  const s = await store.query({ measurement: 'taskmanager_job_task_numRecordsIn', field: 'count', start: 0, end: T0 * 2 });
  assert.equal(s[0]!.points.length, 3);
  await store.close();
});

test('core/retry: retries only retriable StreamtuneErrors, with capped exponential backoff, and bail stops', async () => {
  const { retry, backoffDelay } = await import('../core/retry.ts');
  const { StreamtuneError } = await import('../core/errors.ts');
  assert.deepEqual([1, 2, 3, 4, 5].map((a) => backoffDelay(a, { initialMs: 100, factor: 2, maxMs: 500, jitter: 0 })), [100, 200, 400, 500, 500]);
  assert.equal(backoffDelay(1, { initialMs: 100, jitter: 0.5 }, () => 1), 150);
  let calls = 0;
  const value = await retry(async () => {
    if (++calls < 3) throw new StreamtuneError('STORE_UNAVAILABLE', 'down', { retriable: true });
    return 'ok';
  }, { initialMs: 1, maxMs: 2 });
  assert.equal(value, 'ok');
  assert.equal(calls, 3);
  calls = 0;
  await assert.rejects(retry(async () => { calls++; throw new StreamtuneError('STORE_REJECTED', 'bad'); }, { initialMs: 1 }), /bad/);
  assert.equal(calls, 1, 'non-retriable errors are not retried');
  calls = 0;
  await assert.rejects(retry(async () => { calls++; throw new StreamtuneError('STORE_UNAVAILABLE', 'down', { retriable: true }); }, { retries: 2, initialMs: 1 }), /down/);
  assert.equal(calls, 3, 'retries + 1 calls');
  calls = 0;
  await assert.rejects(retry(async (_a, bail) => { calls++; bail(new Error('stop')); throw new StreamtuneError('STORE_UNAVAILABLE', 'down', { retriable: true }); }, { initialMs: 1 }), /stop/);
  assert.equal(calls, 1, 'bail stops retrying');
});
