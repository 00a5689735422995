import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferedWriter } from '../collector/buffer.ts';
import { createInfluxStore } from '../collector/store/influx.ts';
import type { MetricPoint } from '../core/points.ts';
import { MemoryLogger } from '../core/logger.ts';
import { startInfluxDB, type InfluxServer } from './helpers/influxdb.ts';
import { waitFor } from './helpers/wait.ts';

const T0 = 1_767_225_600_000;
const M = 'taskmanager_job_task_numRecordsIn';
const pt = (i: number): MetricPoint => ({ measurement: M, tags: { subtask_index: '0' }, fields: { count: i }, intFields: ['count'], timestamp: T0 + i });
const range = { start: T0, end: T0 + 1_000_000 };

let serverP: Promise<InfluxServer> | undefined;
const server = (): Promise<InfluxServer> => (serverP ??= startInfluxDB());
after(async () => {
  if (serverP) await (await serverP).close();
});

test('InfluxDB stopped during collection and started again: no point lost within the buffer', { timeout: 300_000 }, async () => {
  const srv = await server();
  const db = await srv.createDatabase();
  const logger = new MemoryLogger();
  const store = await createInfluxStore({ url: srv.url, bucket: db, writeApi: 'v1', retry: { retries: 1, initialMs: 20, maxMs: 50 }, timeoutMs: 5000 });
  const w = new BufferedWriter({ store, logger, flushIntervalMs: 100, batchSize: 100, maxBufferedPoints: 10_000, retry: { initialMs: 50, maxMs: 500 } });
  try {
    for (let i = 0; i < 300; i += 50) w.add(Array.from({ length: 50 }, (_, k) => pt(i + k)));
    await waitFor(() => w.health().pointsWritten === 300, { timeoutMs: 60_000, what: 'first 300 points written' });

    await srv.stop();
    for (let i = 300; i < 800; i += 50) w.add(Array.from({ length: 50 }, (_, k) => pt(i + k)));
    await waitFor(() => w.health().writeErrors >= 2, { timeoutMs: 60_000, what: 'failed writes while influxd is down' });
    assert.equal(w.health().pointsBuffered, 500, 'points written during the outage are kept');
    assert.equal(w.health().pointsDropped, 0);
    assert.ok(logger.lines.some((l) => l.msg.includes('keeping them and retrying')));

    await srv.start();
    await waitFor(() => w.health().pointsBuffered === 0, { timeoutMs: 120_000, what: 'buffer drained after restart' });
    const h = w.health();
    assert.equal(h.pointsWritten, 800);
    assert.equal(h.pointsDropped, 0);
    const s = await store.query({ measurement: M, field: 'count', ...range });
    assert.deepEqual(s[0]!.points.map((p) => p.v), Array.from({ length: 800 }, (_, i) => i), 'every point, in order, once');
  } finally {
    await w.close();
    await store.close();
    if (!srv.running) await srv.start();
  }
});

test('buffer bound exceeded while InfluxDB is down: the oldest points are dropped and counted', { timeout: 300_000 }, async () => {
  const srv = await server();
  const db = await srv.createDatabase();
  const store = await createInfluxStore({ url: srv.url, bucket: db, writeApi: 'v1', retry: { retries: 0 }, timeoutMs: 5000 });
  const w = new BufferedWriter({ store, flushIntervalMs: 100, batchSize: 40, maxBufferedPoints: 100, retry: { initialMs: 50, maxMs: 300 } });
  try {
    await srv.stop();
    for (let i = 0; i < 250; i += 50) {
      w.add(Array.from({ length: 50 }, (_, k) => pt(i + k)));
      const errors = w.health().writeErrors;
      await waitFor(() => w.health().writeErrors > errors, { timeoutMs: 60_000, what: 'a failed write attempt' });
      assert.ok(w.health().pointsBuffered <= 100, 'never more than maxBufferedPoints');
    }
    assert.equal(w.health().pointsDropped, 150);
    assert.equal(w.health().pointsBuffered, 100);
    assert.equal(w.healthPoints().find((p) => p.measurement === 'streamtune_collector_pointsDropped')!.fields.value, 150);

    await srv.start();
    await waitFor(() => w.health().pointsBuffered === 0, { timeoutMs: 120_000, what: 'buffer drained after restart' });
    const s = await store.query({ measurement: M, field: 'count', ...range });
    assert.deepEqual(s[0]!.points.map((p) => p.v), Array.from({ length: 100 }, (_, i) => 150 + i), 'the newest 100 survive');
    assert.equal(w.health().pointsWritten, 100);
  } finally {
    await w.close();
    await store.close();
    if (!srv.running) await srv.start();
  }
});
