/**
 * FlinkRestCollector against the fake Flink REST server: the points must carry exactly the
 * measurement names, tags and typed fields Flink's InfluxDB reporter writes, checked line by line
 * against test/fixtures/flink/influxdb-reporter-handmade.lp where they overlap.
 */
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { LogEvent, MetricPoint } from '../core/points.ts';
import { FlinkRestCollector, parseTaskName, reporterFields } from '../collector/flink/rest-collector.ts';
import { startFakeFlink, type FakeFlink } from './helpers/fake-flink.ts';
import { FLINK_REPORTER_SAMPLE } from './helpers/fixtures.ts';

const SAMPLE = FLINK_REPORTER_SAMPLE;
const JID = '4f1d6b0e2c9a47e8b3d5a6c7e8f90123';
const SRC = 'cbc357ccb763df2852fee8c4fc7d55f2';
const WIN = '90bea66de1c231edf33913ecd54406c1';
/** Tags the REST API cannot know (see the collector's module comment). */
const NOT_FROM_REST = new Set(['host', 'tm_id', 'task_attempt_id', 'task_attempt_num']);

interface LpLine {
  measurement: string;
  tags: Record<string, string>;
  fields: Record<string, string | number>;
  intFields: string[];
}

/** Splits on `sep` outside backslash escapes and double quotes. */
function splitEsc(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\' && i + 1 < s.length) {
      cur += c + s[i + 1];
      i++;
    } else if (c === '"') {
      quoted = !quoted;
      cur += c;
    } else if (c === sep && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}
const unesc = (s: string): string => s.replace(/\\(.)/g, '$1');

/** Minimal InfluxDB line-protocol parser for the sample file. */
function parseLine(line: string): LpLine {
  const [key, fieldSet] = splitEsc(line, ' ');
  const [measurement, ...tagParts] = splitEsc(key!, ',');
  const tags = Object.fromEntries(tagParts.map((t) => splitEsc(t, '=').map(unesc) as [string, string]));
  const fields: LpLine['fields'] = {};
  const intFields: string[] = [];
  for (const f of splitEsc(fieldSet!, ',')) {
    const [k, v] = splitEsc(f, '=') as [string, string];
    if (v.startsWith('"')) fields[k] = v.slice(1, -1);
    else if (v.endsWith('i')) {
      fields[k] = Number(v.slice(0, -1));
      intFields.push(k);
    } else fields[k] = Number(v);
  }
  return { measurement: unesc(measurement!), tags, fields, intFields: intFields.sort() };
}

let fake: FakeFlink;
before(async () => {
  fake = await startFakeFlink();
  fake.addJob({
    jid: JID,
    name: 'orders-enrichment',
    vertices: [
      {
        id: SRC,
        name: 'Source: orders -> Map',
        parallelism: 2,
        maxParallelism: 128,
        metrics: {
          numRecordsIn: ['1834221', '1790002'],
          numRecordsInPerSecond: ['5210.35', '5100.0'],
          busyTimeMsPerSecond: ['734.0', 'NaN'],
          backPressuredTimeMsPerSecond: ['212', '20'],
          idleTimeMsPerSecond: ['54', '300'],
          isBackPressured: ['true', 'false'],
          'Source__orders.pendingRecords': ['48210', '1200'],
        },
      },
      {
        id: WIN,
        name: 'Window(Tumbling 10s) -> Sink: enriched',
        parallelism: 4,
        maxParallelism: 128,
        inputs: [SRC],
        metrics: { busyTimeMsPerSecond: ['950.0', '940.0', '930.0', '120.5'], 'Window(Tumbling_10s).pendingRecords': ['1', '1', '1', '1'] },
      },
    ],
    jobMetrics: { numRestarts: '1' },
    checkpoints: { completed: 40, failed: 2, latest: { id: 42, endToEndDurationMs: 1843, checkpointedSizeBytes: 1_048_576, stateSizeBytes: 9_437_184, triggerTimestamp: 1767225590000 } },
    checkpointConfig: { interval: 60_000, timeout: 600_000, minPause: 5_000 },
    exceptions: [
      {
        exceptionName: 'com.example.PoisonRecordError',
        stacktrace: 'com.example.PoisonRecordError: bad record at offset 99187342\n\tat com.example.Enrich.map(Enrich.java:42)',
        timestamp: 1767225500000,
        taskName: 'Source: orders -> Map (2/2)#1',
        taskManagerId: 'orders-enrichment-taskmanager-1-1',
      },
    ],
  });
});
after(async () => {
  await fake.close();
});
afterEach(() => {
  assert.deepEqual(fake.violations, [], 'requests and responses must match Flink’s OpenAPI spec');
});

const NOW = 1767225600000;

async function collect(): Promise<{ points: MetricPoint[]; logs: LogEvent[] }> {
  const points: MetricPoint[] = [];
  const logs: LogEvent[] = [];
  const c = new FlinkRestCollector({
    rest: { baseUrl: fake.url },
    writePoints: async (p) => void points.push(...p),
    writeLogs: async (l) => void logs.push(...l),
  });
  const r = await c.collectOnce(NOW);
  assert.equal(r.jobs, 1);
  assert.equal(r.points, points.length);
  return { points, logs };
}

test('points match the InfluxDB reporter sample lines (names, tags, typed fields) where they overlap', async () => {
  const { points } = await collect();
  const sample = readFileSync(SAMPLE, 'utf8').split('\n').filter((l) => l.trim() !== '').map(parseLine);
  let compared = 0;
  for (const s of sample) {
    const expectedTags = Object.fromEntries(Object.entries(s.tags).filter(([k]) => !NOT_FROM_REST.has(k)));
    const p = points.find((x) => x.measurement === s.measurement && x.tags.task_id === s.tags.task_id && x.tags.subtask_index === s.tags.subtask_index);
    if (!p) continue;
    compared++;
    assert.deepEqual(p.tags, expectedTags, `tags of ${s.measurement}`);
    assert.deepEqual(p.fields, s.fields, `fields of ${s.measurement}`);
    assert.deepEqual([...(p.intFields ?? [])].sort(), s.intFields, `integer fields of ${s.measurement}`);
    assert.equal(p.timestamp, NOW);
  }
  // numRecordsIn, numRecordsInPerSecond, busy, backPressured, idle, pendingRecords, isBackPressured,
  // lastCheckpointDuration, numberOfFailedCheckpoints, numRestarts
  assert.equal(compared, 10, 'every overlapping sample line was compared');
});

test('NaN gauges are dropped and operator metrics are read only for source chain heads', async () => {
  const { points } = await collect();
  const busy = points.filter((p) => p.measurement === 'taskmanager_job_task_busyTimeMsPerSecond' && p.tags.task_id === SRC);
  assert.deepEqual(busy.map((p) => p.tags.subtask_index), ['0'], 'subtask 1 reported NaN');
  const pending = points.filter((p) => p.measurement === 'taskmanager_job_task_operator_pendingRecords');
  assert.deepEqual(pending.map((p) => [p.tags.task_id, p.tags.operator_id, p.tags.operator_name, p.fields.value]), [
    [SRC, SRC, 'Source: orders', 48210],
    [SRC, SRC, 'Source: orders', 1200],
  ]);
  const winBusy = points.filter((p) => p.measurement === 'taskmanager_job_task_busyTimeMsPerSecond' && p.tags.task_id === WIN);
  assert.deepEqual(winBusy.map((p) => p.fields.value), [950, 940, 930, 120.5]);
  assert.deepEqual(winBusy[0]!.intFields, [], 'a Double gauge stays a float field');
});

test('topology, checkpoint config and back pressure become streamtune measurements', async () => {
  const { points } = await collect();
  const vertices = points.filter((p) => p.measurement === 'streamtune_job_vertex');
  assert.deepEqual(vertices.map((p) => ({ tags: p.tags, fields: p.fields, intFields: p.intFields })), [
    { tags: { job_id: JID, job_name: 'orders-enrichment', task_id: SRC, task_name: 'Source: orders -> Map', inputs: '' }, fields: { parallelism: 2, maxParallelism: 128, inputs: '', keyed: 0 }, intFields: ['parallelism', 'maxParallelism', 'keyed'] },
    { tags: { job_id: JID, job_name: 'orders-enrichment', task_id: WIN, task_name: 'Window(Tumbling 10s) -> Sink: enriched', inputs: SRC }, fields: { parallelism: 4, maxParallelism: 128, inputs: SRC, keyed: 1 }, intFields: ['parallelism', 'maxParallelism', 'keyed'] },
  ]);
  const cfg = points.find((p) => p.measurement === 'jobmanager_job_streamtune_checkpointConfig')!;
  assert.deepEqual(cfg.tags, { job_id: JID, job_name: 'orders-enrichment' });
  assert.deepEqual(cfg.fields, { interval: 60_000, timeout: 600_000, minPause: 5_000, unaligned: 0 });
  const bp = points.filter((p) => p.measurement === 'taskmanager_job_task_streamtune_backPressure' && p.tags.task_id === SRC);
  assert.deepEqual(bp.map((p) => [p.tags.subtask_index, p.fields.ratio, p.fields.level]), [['0', 0.212, 'low'], ['1', 0.02, 'ok']]);
  const size = points.find((p) => p.measurement === 'jobmanager_job_lastCheckpointSize')!;
  assert.deepEqual([size.fields, size.intFields], [{ value: 1_048_576 }, ['value']]);
});

test('exceptions become error LogEvents with class, stack, vertex and subtask, written once', async () => {
  const logs: LogEvent[] = [];
  const c = new FlinkRestCollector({ rest: { baseUrl: fake.url }, writePoints: async () => {}, writeLogs: async (l) => void logs.push(...l), backpressure: false });
  await c.collectOnce(NOW);
  await c.collectOnce(NOW + 10_000);
  assert.equal(logs.length, 1, 'the same exception is not written twice');
  assert.deepEqual(logs[0], {
    timestamp: 1767225500000,
    level: 'error',
    job_id: JID,
    job_name: 'orders-enrichment',
    message: 'bad record at offset 99187342',
    exception_class: 'com.example.PoisonRecordError',
    stack: 'com.example.PoisonRecordError: bad record at offset 99187342\n\tat com.example.Enrich.map(Enrich.java:42)',
    vertex: 'Source: orders -> Map',
    subtask_index: 1,
    attempt: 1,
  });
});

test('reporterFields follows MetricMapper typing and parseTaskName splits Flink task names', () => {
  assert.deepEqual(reporterFields('counter', '12'), { fields: { count: 12 }, intFields: ['count'] });
  assert.deepEqual(reporterFields('meter', '37.5', '51877'), { fields: { count: 51877, rate: 37.5 }, intFields: ['count'] });
  assert.deepEqual(reporterFields('gauge', 'false'), { fields: { value: 'false' }, intFields: [] });
  assert.equal(reporterFields('gauge', 'Infinity'), undefined);
  assert.deepEqual(parseTaskName('Map'), { vertex: 'Map' });
  assert.deepEqual(parseTaskName('Sink: out (3/8)'), { vertex: 'Sink: out', subtask_index: 2 });
  assert.deepEqual(parseTaskName('Map (2/4)#1'), { vertex: 'Map', subtask_index: 1, attempt: 1 });
  // Flink 1.20.3's exception history
  assert.deepEqual(parseTaskName('enrich (1/1) - execution #0'), { vertex: 'enrich', subtask_index: 0, attempt: 0 });
});

test('requests per round: one vertex-metrics request per vertex (never one per subtask); with the catalog\'s graph no /jobs/:jid, /plan or /checkpoints/config; exceptions only when numRestarts moves', async () => {
  const c = new FlinkRestCollector({ rest: { baseUrl: fake.url }, writePoints: async () => {}, writeLogs: async () => {}, backpressure: false });
  const known = {
    name: 'orders-enrichment',
    vertices: [
      { id: SRC, name: 'Source: orders -> Map', parallelism: 2, maxParallelism: 128, inputs: [] },
      { id: WIN, name: 'Window(Tumbling 10s) -> Sink: enriched', parallelism: 4, maxParallelism: 128, inputs: [SRC], keyedInput: true },
    ],
    checkpointing: { interval: 60_000, timeout: 600_000, minPause: 5_000 },
  };
  const ops = () => fake.requests.map((r) => r.operationId);
  const before = fake.requests.length;
  const r1 = await c.collectJob(JID, NOW, known);
  const first = ops().slice(before);
  assert.deepEqual(first.filter((o) => o !== 'getJobVertexMetrics').sort(), ['getJobExceptions', 'getJobMetrics']);
  assert.equal(first.filter((o) => o === 'getJobVertexMetrics').length, 2, 'one request per vertex for 6 subtasks');
  assert.equal(c.requestCount, 4);
  // per-subtask points as the reporter writes them, from the vertex endpoint
  const busy = r1.points.filter((p) => p.measurement === 'taskmanager_job_task_busyTimeMsPerSecond' && p.tags.task_id === WIN);
  assert.deepEqual(busy.map((p) => [p.tags.subtask_index, p.fields.value]), [['0', 950], ['1', 940], ['2', 930], ['3', 120.5]]);
  const cfg = r1.points.find((p) => p.measurement === 'jobmanager_job_streamtune_checkpointConfig')!;
  assert.deepEqual(cfg.fields, { interval: 60_000, timeout: 600_000, minPause: 5_000 });
  assert.equal(r1.logs.length, 1);

  // numRestarts unchanged: no exception request in the next two rounds
  const mid = fake.requests.length;
  await c.collectJob(JID, NOW + 5000, known);
  await c.collectJob(JID, NOW + 10_000, known);
  assert.ok(!ops().slice(mid).includes('getJobExceptions'));
  // a restart: exceptions read in this round and the next, then no more
  fake.jobs.get(JID)!.jobMetrics.numRestarts = '2';
  const moved = fake.requests.length;
  await c.collectJob(JID, NOW + 15_000, known);
  await c.collectJob(JID, NOW + 20_000, known);
  await c.collectJob(JID, NOW + 25_000, known);
  assert.equal(ops().slice(moved).filter((o) => o === 'getJobExceptions').length, 2);
  fake.jobs.get(JID)!.jobMetrics.numRestarts = '1';
  c.forget(JID);
});

test('metrics: false (Flink\'s InfluxDB reporter writes the metrics): only the job graph, checkpoint settings and exceptions', async () => {
  const c = new FlinkRestCollector({ rest: { baseUrl: fake.url }, writePoints: async () => {}, writeLogs: async () => {}, metrics: false });
  const before = fake.requests.length;
  const r = await c.collectJob(JID, NOW);
  assert.deepEqual([...new Set(r.points.map((p) => p.measurement))].sort(), ['jobmanager_job_streamtune_checkpointConfig', 'streamtune_job_vertex']);
  assert.equal(r.logs.length, 1);
  const ops = fake.requests.slice(before).map((x) => x.operationId).sort();
  assert.deepEqual(ops, ['getCheckpointConfig', 'getJobDetails', 'getJobExceptions', 'getJobMetrics', 'getJobPlan']);
  assert.deepEqual(fake.requests.slice(before).find((x) => x.operationId === 'getJobMetrics')!.query, { get: 'numRestarts' });
});

test('subtask metric ids are cut into batches that keep the request line under Flink\'s 4 KiB limit', async () => {
  const { subtaskMetricIdBatches, MAX_METRIC_IDS_CHARS } = await import('../platform/flink/rest-client.ts');
  const names = ['numRecordsIn', 'numRecordsInPerSecond', 'busyTimeMsPerSecond', 'Source__flights.pendingRecords'];
  assert.deepEqual(subtaskMetricIdBatches(2, names), [['0', '1'].flatMap((i) => names.map((n) => `${i}.${n}`))]);
  const big = subtaskMetricIdBatches(128, names);
  assert.ok(big.length > 1 && big.length < 128, `${big.length} batches for 128 subtasks`);
  assert.equal(big.flat().length, 128 * names.length);
  for (const b of big) assert.ok(encodeURIComponent(b.join(',')).length <= MAX_METRIC_IDS_CHARS);
});

test('a limiter runs at most N functions at once, in arrival order', async () => {
  const { createLimiter } = await import('../core/limit.ts');
  const limit = createLimiter(2);
  let running = 0;
  let peak = 0;
  const order: number[] = [];
  const gates: Array<() => void> = [];
  const tasks = [0, 1, 2, 3, 4].map((i) =>
    limit(async () => {
      running++;
      peak = Math.max(peak, running);
      order.push(i);
      await new Promise<void>((r) => gates.push(r));
      running--;
      return i;
    }),
  );
  while (order.length < 5) {
    await new Promise((r) => setImmediate(r));
    assert.ok(limit.active <= 2);
    gates.shift()?.();
  }
  gates.forEach((g) => g());
  assert.deepEqual(await Promise.all(tasks), [0, 1, 2, 3, 4]);
  assert.equal(peak, 2);
  assert.deepEqual(order, [0, 1, 2, 3, 4]);
  assert.throws(() => createLimiter(0), /concurrency must be an integer/);
});
