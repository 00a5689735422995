/**
 * The running collector (collector/collector.ts) on small bundled jobs into a real embedded DuckDB
 * store: operator metrics, dataset-replay lag, topology edges, log events, job replacement after a
 * savepoint restore, health counters.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCollector, type Collector } from '../collector/index.ts';
import { createEmbeddedStore, type EmbeddedStore } from '../collector/store/embedded.ts';
import { createInfluxStore } from '../collector/store/influx.ts';
import { LocalJob } from '../runtime/job.ts';
import type { JobSpec } from '../runtime/spec.ts';
import { vertexId } from '../runtime/ids.ts';
import { StreamtuneError } from '../core/errors.ts';
import type { MetricPoint } from '../core/points.ts';
import type { Series } from '../collector/store/types.ts';
import { freePort, tempDir, uniqueName, waitFor } from './helpers/wait.ts';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A JSONL dataset of `n` rows {ts, key, v}, event times 1 s apart. */
function dataset(n: number): string {
  const dir = tempDir('streamtune-collector-');
  dirs.push(dir);
  const file = join(dir, 'events.jsonl');
  const t0 = Date.UTC(2026, 0, 1);
  writeFileSync(file, Array.from({ length: n }, (_, i) => JSON.stringify({ ts: t0 + i * 1000, key: `k${i % 7}`, v: i })).join('\n') + '\n');
  return file;
}

/** dataset source (2 splits, `rate` records/s) → map `work` (latency knob) → discard sink. */
function spec(name: string, file: string, rate: number, latencyMs: number): JobSpec {
  const dir = tempDir('streamtune-collector-chk-');
  dirs.push(dir);
  return {
    name,
    maxParallelism: 128,
    checkpoints: { interval: 200, dir },
    restartStrategy: { type: 'none' },
    vertices: [
      { name: 'src', type: 'dataset-source', path: file, eventTime: 'ts', rate, splits: 2, parallelism: 2 },
      { name: 'work', type: 'map', set: { double: 'v * 2' }, parallelism: 2, faults: { latencyMs } },
      { name: 'out', type: 'discard-sink' },
    ],
    edges: [
      { from: 'src', to: 'work', partitioning: 'forward' },
      { from: 'work', to: 'out', partitioning: 'rebalance' },
    ],
  } as JobSpec;
}

/** Small buffers so that a slow operator backpressures the source within a few records. */
const SMALL = { batchSize: 16, channelCapacity: 2, metricsWindowMs: 1000 };

const FAR = { start: 0, end: Date.now() + 3_600_000 };

async function lastPerSeries(store: EmbeddedStore, measurement: string, field: string, where: Record<string, string>, groupBy: string[]): Promise<Series[]> {
  return store.query({ measurement, field, ...FAR, where, groupBy });
}

test('bundled job: busy time per subtask, records in per second, pending records, dataset lag and topology edges read back from the store', { timeout: 120_000 }, async () => {
  const store = await createEmbeddedStore({ path: ':memory:', retentionDays: 0 });
  const name = uniqueName('ct-main');
  // 400 records/s arrive; `work` manages ~2 × 1000/20 = 100 records/s: lag grows
  const job = new LocalJob(spec(name, dataset(4000), 400, 20), SMALL);
  const collector = createCollector({ store, intervalMs: 200, flushIntervalMs: 100 });
  try {
    await job.start();
    collector.watchJob(job);
    collector.start();
    const jobWhere = { job_id: job.id };

    const busy = await waitFor(async () => {
      const s = await lastPerSeries(store, 'taskmanager_job_task_busyTimeMsPerSecond', 'value', { ...jobWhere, task_name: 'work' }, ['subtask_index']);
      return s.length === 2 && s.every((x) => x.points.some((p) => p.v > 0)) ? s : undefined;
    }, { what: 'busy time of both work subtasks' });
    assert.deepEqual(busy.map((s) => s.tags), [{ subtask_index: '0' }, { subtask_index: '1' }]);
    for (const s of busy) assert.ok(s.points.every((p) => p.v >= 0 && p.v <= 1000), 'busy time is ms/s');

    await waitFor(async () => {
      const s = await lastPerSeries(store, 'taskmanager_job_task_numRecordsInPerSecond', 'rate', { ...jobWhere, task_name: 'work' }, ['subtask_index']);
      return s.length === 2 && s.every((x) => x.points.some((p) => p.v > 0));
    }, { what: 'numRecordsInPerSecond of work' });

    const pending = await waitFor(async () => {
      const s = await lastPerSeries(store, 'taskmanager_job_task_operator_pendingRecords', 'value', { ...jobWhere, operator_name: 'src' }, ['subtask_index', 'operator_id']);
      return s.length === 2 && s.some((x) => x.points.some((p) => p.v > 0)) ? s : undefined;
    }, { what: 'pendingRecords of the source subtasks' });
    assert.deepEqual(pending.map((s) => s.tags.operator_id), [vertexId(name, 'src'), vertexId(name, 'src')]);

    // dataset lag: group = job name, topic = source vertex, partition = split, tag source=dataset
    const lagWhere = { group: name, topic: 'src', source: 'dataset' };
    const lag = await waitFor(async () => {
      const s = await lastPerSeries(store, 'streamtune_kafka_partition_lag', 'value', lagWhere, ['partition']);
      const grown = s.length === 2 && s.every((x) => x.points.length >= 3 && x.points.at(-1)!.v > 100);
      return grown ? s : undefined;
    }, { what: 'dataset lag to grow past 100 records per split' });
    assert.deepEqual(lag.map((s) => s.tags.partition), ['0', '1']);
    for (const s of lag) assert.ok(s.points.at(-1)!.v > s.points[0]!.v, `lag of split ${s.tags.partition} grows`);

    // every lag point = log-end offset − committed offset at the same time
    const logEnd = await lastPerSeries(store, 'streamtune_kafka_partition_logEndOffset', 'value', lagWhere, ['partition']);
    const committed = await lastPerSeries(store, 'streamtune_kafka_partition_committedOffset', 'value', lagWhere, ['partition']);
    for (const [i, s] of lag.entries()) {
      const le = new Map(logEnd[i]!.points.map((p) => [p.t, p.v]));
      const co = new Map(committed[i]!.points.map((p) => [p.t, p.v]));
      for (const p of s.points) {
        assert.equal(p.v, le.get(p.t)! - co.get(p.t)!, `lag = logEnd − committed at ${p.t}`);
        assert.ok(le.get(p.t)! <= 2000, 'log-end offset within the split (2000 records)');
      }
    }
    const secs = await lastPerSeries(store, 'streamtune_kafka_partition_lagSeconds', 'value', lagWhere, ['partition']);
    assert.ok(secs.every((s) => s.points.every((p) => Number.isFinite(p.v) && p.v >= 0)) && secs.some((s) => s.points.at(-1)!.v > 0), 'lag seconds defined and positive');
    const total = await store.query({ measurement: 'streamtune_kafka_group_totalLag', field: 'value', ...FAR, where: { group: name, source: 'dataset' } });
    assert.ok(total[0]!.points.at(-1)!.v > 200);

    // topology edges as a tag, and the string field kept by the embedded store
    assert.deepEqual(await store.tagValues('streamtune_job_vertex', 'inputs', FAR.start, FAR.end, { ...jobWhere, task_name: 'work' }), [vertexId(name, 'src')]);
    assert.deepEqual(await store.tagValues('streamtune_job_vertex', 'inputs', FAR.start, FAR.end, { ...jobWhere, task_name: 'src' }), []);
    const text = await store.queryText('streamtune_job_vertex', 'inputs', FAR.start, FAR.end, { ...jobWhere, task_name: 'out' });
    assert.equal(text.at(-1)?.value, vertexId(name, 'work'));

    // the collector's own health, in the store too
    await collector.flush();
    const h = collector.health();
    assert.ok(h.pointsWritten > 0 && h.pointsRejected === 0 && h.pointsDropped === 0);
    const written = await store.query({ measurement: 'streamtune_collector_pointsWritten', field: 'value', ...FAR });
    assert.ok(written[0]!.points.at(-1)!.v > 0);
  } finally {
    await collector.stop();
    await job.cancel();
    await store.close();
  }
});

test('an exception in the job becomes a log event searchable by keyword; malformed points are rejected and counted', { timeout: 120_000 }, async () => {
  const store = await createEmbeddedStore({ path: ':memory:', retentionDays: 0 });
  const dir = tempDir('streamtune-collector-chk-');
  dirs.push(dir);
  const job = new LocalJob({
    name: uniqueName('ct-poison'),
    checkpoints: { interval: 1000, dir },
    restartStrategy: { type: 'none' },
    vertices: [
      { name: 'gen', type: 'generator-source', count: 3000, rate: 0 },
      { name: 'parse', type: 'map', faults: { failOnRecord: 'seq == 1234' } },
      { name: 'out', type: 'discard-sink' },
    ],
    edges: [
      { from: 'gen', to: 'parse' },
      { from: 'parse', to: 'out' },
    ],
  } as JobSpec);
  const collector = createCollector({ store, intervalMs: 60_000, flushIntervalMs: 50 });
  try {
    collector.watchJob(job);
    await job.start();
    const r = await job.done();
    assert.equal(r.state, 'FAILED');
    await collector.flush();
    const logs = await waitFor(async () => {
      const l = await store.queryLogs({ job_id: job.id, ...FAR, keyword: 'poisonrecord' });
      return l.length > 0 ? l : undefined;
    }, { what: 'the exception as a log event' });
    const task = logs.find((l) => l.vertex !== undefined);
    assert.equal(task?.exception_class, 'PoisonRecordError');
    assert.equal(task?.vertex, 'parse');
    assert.equal(task?.level, 'error');
    assert.match(task?.stack ?? '', /PoisonRecordError/);
    assert.deepEqual(await store.queryLogs({ job_id: job.id, ...FAR, keyword: 'no-such-words' }), []);

    // a job reporting a malformed point: rejected and counted, the rest written
    const now = Date.now();
    const bad: MetricPoint = { measurement: 'taskmanager_job_task_busyTimeMsPerSecond', tags: { job_id: 'fake' }, fields: { value: Number.NaN }, timestamp: now };
    const good: MetricPoint = { measurement: 'taskmanager_job_task_busyTimeMsPerSecond', tags: { job_id: 'fake' }, fields: { value: 5 }, timestamp: now };
    collector.watchJob({ id: 'fake', name: 'fake', metricPoints: () => [bad, good], onLog: () => () => {} });
    await collector.collectOnce(now);
    await collector.flush();
    assert.equal(collector.health().pointsRejected, 1);
    const s = await store.query({ measurement: good.measurement, field: 'value', ...FAR, where: { job_id: 'fake' } });
    assert.deepEqual(s[0]!.points, [{ t: now, v: 5 }]);
  } finally {
    await collector.stop();
    await store.close();
  }
});

test('watchJob after a savepoint restore replaces the job: the dataset offsets continue in one series', { timeout: 120_000 }, async () => {
  const store = await createEmbeddedStore({ path: ':memory:', retentionDays: 0 });
  const name = uniqueName('ct-restore');
  const file = dataset(3000);
  const s = spec(name, file, 300, 5);
  const job1 = new LocalJob(s, SMALL);
  const collector = createCollector({ store, intervalMs: 60_000, flushIntervalMs: 50 });
  let job2: LocalJob | undefined;
  const lagWhere = { group: name, topic: 'src', source: 'dataset' };
  const committedSeries = async () => store.query({ measurement: 'streamtune_kafka_partition_committedOffset', field: 'value', ...FAR, where: lagWhere, groupBy: ['partition'] });
  try {
    await job1.start();
    collector.watchJob(job1);
    await waitFor(async () => {
      await collector.collectOnce();
      await collector.flush();
      const c = await committedSeries();
      return c.length === 2 && c.every((x) => x.points.at(-1)!.v > 50);
    }, { intervalMs: 100, what: 'job 1 read 50 records per split' });
    const sp = await job1.stopWithSavepoint();
    await job1.done();
    const before = (await committedSeries()).map((x) => x.points.at(-1)!.v);

    job2 = new LocalJob(s, { ...SMALL, fromSavepoint: sp.path, jobId: job1.id });
    await job2.start();
    collector.watchJob(job2);
    const c = await waitFor(async () => {
      await collector.collectOnce();
      await collector.flush();
      const series = await committedSeries();
      return series.every((x, i) => x.points.at(-1)!.v > before[i]! + 20) ? series : undefined;
    }, { intervalMs: 100, what: 'job 2 to read on from the savepoint' });
    for (const x of c) {
      const v = x.points.map((p) => p.v);
      for (let i = 1; i < v.length; i++) assert.ok(v[i]! >= v[i - 1]!, `committed offset of split ${x.tags.partition} never goes back: ${v.join(',')}`);
    }
    // one job id, one series per subtask of the metrics too
    const subtasks = await store.tagValues('taskmanager_job_task_numRecordsIn', 'subtask_index', FAR.start, FAR.end, { job_id: job1.id, task_name: 'work' });
    assert.deepEqual(subtasks, ['0', '1']);
  } finally {
    await collector.stop();
    await job1.cancel();
    await job2?.cancel();
    await store.close();
  }
});

test('store down: points are buffered up to maxBufferedPoints, the oldest dropped, and the health says so', { timeout: 60_000 }, async () => {
  // an InfluxDB URL with nothing listening: every write fails as unreachable (retried)
  const store = await createInfluxStore({ url: `http://127.0.0.1:${await freePort()}`, bucket: 'nowhere', writeApi: 'v1', retry: { retries: 0 }, timeoutMs: 2000 });
  const collector = createCollector({ store, intervalMs: 60_000, flushIntervalMs: 20, maxBufferedPoints: 50, retry: { initialMs: 5, maxMs: 20 } });
  const t0 = Date.now();
  const points = (now: number): MetricPoint[] => Array.from({ length: 30 }, (_, i) => ({ measurement: 'm', tags: { i: String(i) }, fields: { value: i }, timestamp: now }));
  collector.watchJob({ id: 'j', name: 'j', metricPoints: points, onLog: () => () => {} });
  try {
    for (let r = 0; r < 4; r++) await collector.collectOnce(t0 + r);
    await waitFor(() => collector.health().writeErrors >= 2, { what: 'failed writes' });
    const h = collector.health();
    assert.ok(h.pointsBuffered <= 50, `buffered ${h.pointsBuffered} <= 50`);
    assert.equal(h.pointsWritten, 0);
    assert.equal(h.lastSuccessfulWrite, null);
    // 4 rounds × (30 job points + health points) went in; what is not buffered was dropped
    assert.ok(h.pointsDropped >= 4 * 30 - 50, `dropped ${h.pointsDropped}`);
  } finally {
    await collector.stop();
  }
  assert.equal(collector.health().pointsBuffered, 0, 'close counts what is left as dropped');
});

test('options are validated with clear errors; watchGroup needs brokers', async () => {
  const store = await createEmbeddedStore({ path: ':memory:', retentionDays: 0 });
  try {
    const bad = (o: object, field: RegExp) => assert.throws(() => createCollector({ store, ...o }), (e: unknown) => e instanceof StreamtuneError && e.code === 'INVALID_CONFIG' && field.test(e.message));
    bad({ intervalMs: 0 }, /intervalMs/);
    bad({ maxBufferedPoints: -1 }, /maxBufferedPoints/);
    bad({ kafka: { brokers: [] } }, /kafka\.brokers/);
    bad({ minLogLevel: 'loud' }, /minLogLevel/);
    assert.throws(() => createCollector({} as never), /store/);
    const c: Collector = createCollector({ store });
    assert.throws(() => c.watchGroup('g', ['t']), (e: unknown) => e instanceof StreamtuneError && e.code === 'INVALID_CONFIG' && /brokers/.test(e.message));
    await c.stop();
  } finally {
    await store.close();
  }
});
