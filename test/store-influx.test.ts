import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { inspect } from 'node:util';
import { createInfluxStore } from '../collector/store/influx.ts';
import { createEmbeddedStore } from '../collector/store/embedded.ts';
import type { MetricStore, SeriesQuery, Series } from '../collector/store/types.ts';
import type { MetricPoint } from '../core/points.ts';
import { MemoryLogger } from '../core/logger.ts';
import { StreamtuneError } from '../core/errors.ts';
import { runStoreContract, contractPoints, contractLogs, T0 } from './store-contract.ts';
import { startInfluxDB, type InfluxServer } from './helpers/influxdb.ts';
import { freePort } from './helpers/wait.ts';
import { FLINK_REPORTER_SAMPLE } from './helpers/fixtures.ts';

let serverP: Promise<InfluxServer> | undefined;
const server = (): Promise<InfluxServer> => (serverP ??= startInfluxDB());
after(async () => {
  if (serverP) await (await serverP).close();
});

async function influxStore(extra: { logger?: MemoryLogger } = {}): Promise<MetricStore> {
  const srv = await server();
  const db = await srv.createDatabase();
  return createInfluxStore({ url: srv.url, bucket: db, writeApi: 'v1', ...extra });
}

runStoreContract('InfluxDB 1.6.7 (write /write, read InfluxQL)', async () => ({ store: await influxStore() }));

/** Rounds values so float summation order cannot make equal answers differ. */
const norm = (s: Series[]): Series[] => s.map((x) => ({ tags: x.tags, points: x.points.map((p) => ({ t: p.t, v: Number(p.v.toPrecision(12)) })) }));

test('the embedded store and the InfluxDB store give the same answers for the same data', { timeout: 180_000 }, async () => {
  // deterministic pseudo-random data: 3 jobs x 4 subtasks, gauges and a counter with resets
  let seed = 42;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const pts: MetricPoint[] = [];
  for (const job of ['j1', 'j2', 'j3']) {
    for (let sub = 0; sub < 4; sub++) {
      let counter = 0;
      for (let i = 0; i < 60; i++) {
        const t = T0 + i * 3_000 + sub * 7 + (job === 'j2' ? 100 : job === 'j3' ? 200 : 0);
        const tags = { job_id: job, task_id: 'v1', subtask_index: String(sub) };
        pts.push({ measurement: 'taskmanager_job_task_busyTimeMsPerSecond', tags, fields: { value: Math.round(rnd() * 100000) / 100 }, timestamp: t });
        counter = rnd() < 0.05 ? Math.floor(rnd() * 50) : counter + Math.floor(rnd() * 500);
        pts.push({ measurement: 'taskmanager_job_task_numRecordsIn', tags, fields: { count: counter }, intFields: ['count'], timestamp: t });
      }
    }
  }
  const embedded = await createEmbeddedStore({ path: ':memory:', retentionDays: 0 });
  const influx = await influxStore();
  try {
    await embedded.write(pts);
    await influx.write(pts);
    await embedded.writeLogs(contractLogs());
    await influx.writeLogs(contractLogs());
    const base = { start: T0 + 5_000, end: T0 + 150_000 };
    const queries: SeriesQuery[] = [];
    for (const aggregate of ['mean', 'max', 'min', 'last', 'sum'] as const) {
      queries.push({ measurement: 'taskmanager_job_task_busyTimeMsPerSecond', field: 'value', ...base, window: 15_000, aggregate });
      queries.push({ measurement: 'taskmanager_job_task_busyTimeMsPerSecond', field: 'value', ...base, window: 20_000, aggregate, groupBy: ['job_id', 'subtask_index'], where: { job_id: ['j1', 'j3'] } });
    }
    queries.push({ measurement: 'taskmanager_job_task_numRecordsIn', field: 'count', ...base, window: 30_000, aggregate: 'rate' });
    queries.push({ measurement: 'taskmanager_job_task_numRecordsIn', field: 'count', ...base, window: 30_000, aggregate: 'rate', groupBy: ['subtask_index'], where: { job_id: 'j2' } });
    queries.push({ measurement: 'taskmanager_job_task_busyTimeMsPerSecond', field: 'value', ...base, groupBy: ['subtask_index'], where: { job_id: 'j1' } });
    let compared = 0;
    for (const q of queries) {
      const a = norm(await embedded.query(q));
      const b = norm(await influx.query(q));
      assert.ok(a.length > 0, `query returns data: ${JSON.stringify(q)}`);
      assert.deepEqual(b, a, `same answer for ${JSON.stringify(q)}`);
      compared++;
    }
    assert.equal(compared, queries.length);
    assert.deepEqual(
      await influx.tagValues('taskmanager_job_task_numRecordsIn', 'job_id', base.start, base.end),
      await embedded.tagValues('taskmanager_job_task_numRecordsIn', 'job_id', base.start, base.end),
    );
    const lq = { start: T0, end: T0 + 10_000, keyword: 'e', level: 'warn' as const };
    assert.deepEqual(await influx.queryLogs(lq), await embedded.queryLogs(lq));
  } finally {
    await embedded.close();
    await influx.close();
  }
});

test('the Flink InfluxDB reporter sample, written into InfluxDB, reads back as the metrics the diagnoser asks for', { timeout: 180_000 }, async () => {
  const srv = await server();
  const db = await srv.createDatabase();
  await srv.writeLines(db, readFileSync(FLINK_REPORTER_SAMPLE, 'utf8'), 'ns');
  const store = await createInfluxStore({ url: srv.url, bucket: db, writeApi: 'v1' });
  const r = { start: T0 - 60_000, end: T0 + 60_000 };
  const job = '4f1d6b0e2c9a47e8b3d5a6c7e8f90123';
  try {
    const busy = await store.query({ measurement: 'taskmanager_job_task_busyTimeMsPerSecond', field: 'value', ...r, where: { job_id: job }, groupBy: ['task_id', 'subtask_index'], window: 60_000, aggregate: 'mean' });
    assert.deepEqual(busy, [{ tags: { task_id: 'cbc357ccb763df2852fee8c4fc7d55f2', subtask_index: '0' }, points: [{ t: T0, v: 734 }] }]);
    const pending = await store.query({ measurement: 'taskmanager_job_task_operator_pendingRecords', field: 'value', ...r, where: { job_id: job }, groupBy: ['operator_name'], window: 60_000, aggregate: 'last' });
    assert.deepEqual(pending, [{ tags: { operator_name: 'Source: orders' }, points: [{ t: T0, v: 48210 }] }]);
    const ckpt = await store.query({ measurement: 'jobmanager_job_lastCheckpointDuration', field: 'value', ...r, where: { job_id: job } });
    assert.deepEqual(ckpt, [{ tags: {}, points: [{ t: T0, v: 1843 }] }]);
    const restarts = await store.query({ measurement: 'jobmanager_job_numRestarts', field: 'value', ...r, where: { job_id: job }, window: 60_000, aggregate: 'max' });
    assert.deepEqual(restarts[0]!.points, [{ t: T0, v: 1 }]);
    const lagMax = await store.query({ measurement: 'taskmanager_job_task_operator_KafkaSourceReader_KafkaConsumer_records-lag-max', field: 'value', ...r, groupBy: ['subtask_index'] });
    assert.deepEqual(lagMax, [{ tags: { subtask_index: '0' }, points: [{ t: T0, v: 16071 }] }]);
    const offsets = await store.query({ measurement: 'taskmanager_job_task_operator_KafkaSourceReader_topic_partition_currentOffset', field: 'value', ...r, groupBy: ['topic', 'partition'] });
    assert.deepEqual(offsets, [{ tags: { topic: 'orders', partition: '2' }, points: [{ t: T0, v: 99187342 }] }]);
    const bp = await store.query({ measurement: 'taskmanager_job_task_isBackPressured', field: 'value', ...r, window: 60_000, aggregate: 'max' });
    assert.deepEqual(bp[0]!.points, [{ t: T0, v: 1 }]);
    assert.deepEqual(await store.tagValues('taskmanager_job_task_busyTimeMsPerSecond', 'task_name', r.start, r.end), ['Source: orders -> Map']);
  } finally {
    await store.close();
  }
});

test('the contract data round-trips through toLineProtocol into InfluxDB unchanged in count', async () => {
  const store = await influxStore();
  try {
    await store.write(contractPoints());
    const s = await store.query({ measurement: 'taskmanager_job_task_numRecordsIn', field: 'count', start: T0, end: T0 + 60_000 });
    assert.equal(s[0]!.points.length, 8);
  } finally {
    await store.close();
  }
});

test('the token never appears in log lines or errors (refused connection, and a server that echoes it)', { timeout: 120_000 }, async () => {
  const token = 'sEcReT-t0ken-DO-NOT-LEAK-1234567890';
  const echo = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      res.writeHead(503, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ code: 'unavailable', message: `auth was ${req.headers.authorization} for ${req.url}` }));
    });
  });
  const echoPort = await freePort();
  await new Promise<void>((r) => echo.listen(echoPort, '127.0.0.1', r));
  const downPort = await freePort();
  const logger = new MemoryLogger();
  const errors: unknown[] = [];
  let echoedRequests = 0;
  echo.on('request', () => echoedRequests++);
  try {
    for (const url of [`http://127.0.0.1:${echoPort}`, `http://127.0.0.1:${downPort}`]) {
      for (const writeApi of ['v1', 'v2'] as const) {
        const store = await createInfluxStore({ url, token, org: 'o', bucket: 'b', writeApi, logger, retry: { retries: 1, initialMs: 5, maxMs: 10 } });
        await assert.rejects(store.write([{ measurement: 'm', tags: {}, fields: { value: 1 }, timestamp: T0 }]), (e: unknown) => {
          errors.push(e);
          return e instanceof StreamtuneError && e.code === 'STORE_UNAVAILABLE' && e.retriable;
        });
        await assert.rejects(store.query({ measurement: 'm', field: 'value', start: T0, end: T0 }), (e: unknown) => (errors.push(e), e instanceof StreamtuneError));
        await store.close();
      }
    }
    assert.ok(echoedRequests >= 4, 'the echo server saw the requests (so it had the token to echo)');
    assert.ok(logger.lines.length > 0, 'the retries were logged');
    const everything = JSON.stringify(logger.lines) + errors.map((e) => inspect(e, { depth: 10 }) + String(e) + JSON.stringify(e)).join('\n');
    assert.match(everything, /HTTP 503/, 'the echoed body is part of the error message');
    assert.match(everything, /\*\*\*/, 'the token was redacted');
    assert.equal(everything.includes(token), false, 'token leaked');
  } finally {
    await new Promise((r) => echo.close(r));
  }
});
