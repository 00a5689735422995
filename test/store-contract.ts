/**
 * The one contract suite every MetricStore passes (run from store-*.test.ts with a factory).
 * Not itself a test file. Each run gets a fresh, empty store from the factory.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LogEvent, MetricPoint } from '../core/points.ts';
import type { MetricStore } from '../collector/store/types.ts';
import { StreamtuneError } from '../core/errors.ts';

/** A fresh, empty store and how to dispose of what the factory started. */
export interface StoreUnderTest {
  store: MetricStore;
  cleanup?: () => Promise<void>;
}

/** Start of the data, aligned to a minute (ms). */
export const T0 = 1_767_225_600_000;
const JOB = '4f1d6b0e2c9a47e8b3d5a6c7e8f90123';
const TASK = 'cbc357ccb763df2852fee8c4fc7d55f2';
const BUSY = 'taskmanager_job_task_busyTimeMsPerSecond';
const RECORDS_IN = 'taskmanager_job_task_numRecordsIn';
const LAG_MAX = 'taskmanager_job_task_operator_KafkaSourceReader_KafkaConsumer_records-lag-max';
const BP = 'taskmanager_job_task_isBackPressured';

const taskTags = (subtask: number, job = JOB): Record<string, string> => ({
  host: '10.42.0.17',
  job_id: job,
  job_name: 'orders-enrichment',
  task_id: TASK,
  task_name: 'Source: orders -> Map',
  subtask_index: String(subtask),
});

/** The data written once per suite. */
export function contractPoints(): MetricPoint[] {
  const pts: MetricPoint[] = [];
  // busy time: subtask 0 = 100,200,300,400 and subtask 1 = 10,20,30,40 at T0+0/5/10/15 s (+ subtask ms offset)
  for (let i = 0; i < 4; i++) {
    pts.push({ measurement: BUSY, tags: taskTags(0), fields: { value: 100 * (i + 1) }, timestamp: T0 + i * 5000 });
    pts.push({ measurement: BUSY, tags: taskTags(1), fields: { value: 10 * (i + 1) }, timestamp: T0 + i * 5000 + 1 });
  }
  // another job, same metric: filtered out by where job_id
  pts.push({ measurement: BUSY, tags: taskTags(0, 'otherjob'), fields: { value: 999 }, timestamp: T0 + 2000 });
  // counter with a reset (restart) on subtask 0: 0,100,300,50,250 at 0/2/4/6/8 s, then 450 at 12 s
  const c0 = [
    [0, 0],
    [2000, 100],
    [4000, 300],
    [6000, 50],
    [8000, 250],
    [12000, 450],
  ] as const;
  for (const [dt, v] of c0) pts.push({ measurement: RECORDS_IN, tags: taskTags(0), fields: { count: v }, intFields: ['count'], timestamp: T0 + dt });
  pts.push({ measurement: RECORDS_IN, tags: taskTags(1), fields: { count: 1000 }, intFields: ['count'], timestamp: T0 });
  pts.push({ measurement: RECORDS_IN, tags: taskTags(1), fields: { count: 1400 }, intFields: ['count'], timestamp: T0 + 4000 });
  // hyphenated Kafka metric name
  pts.push({ measurement: LAG_MAX, tags: { ...taskTags(0), operator_name: 'Source: orders' }, fields: { value: 16071 }, timestamp: T0 + 1000 });
  // Flink Boolean gauge: a string field
  pts.push({ measurement: BP, tags: taskTags(0), fields: { value: 'true' }, timestamp: T0 + 1000 });
  pts.push({ measurement: BP, tags: taskTags(0), fields: { value: 'false' }, timestamp: T0 + 3000 });
  return pts;
}

/** The log events written once per suite. */
export function contractLogs(): LogEvent[] {
  return [
    { timestamp: T0 + 1000, level: 'info', job_id: JOB, message: 'Checkpoint 7 completed' },
    {
      timestamp: T0 + 2000,
      level: 'warn',
      job_id: JOB,
      job_name: 'orders-enrichment',
      vertex: 'Source: orders -> Map',
      message: 'Checkpoint 8 declined, back-pressure',
      subtask_index: 1,
    },
    {
      timestamp: T0 + 3000,
      level: 'error',
      job_id: JOB,
      job_name: 'orders-enrichment',
      vertex: 'Source: orders -> Map',
      subtask_index: 0,
      attempt: 2,
      message: 'Task failed: bad record at offset 99187342',
      exception_class: 'PoisonRecordError',
      stack: 'PoisonRecordError: bad record\n    at com.acme.Parse.parse(Parse.java:42)',
    },
    { timestamp: T0 + 4000, level: 'error', job_id: 'otherjob', message: 'Other job crashed' },
  ];
}

/**
 * Runs the MetricStore contract against stores made by `factory` (one store for the suite).
 * @param name shown in the test names
 */
export function runStoreContract(name: string, factory: () => Promise<StoreUnderTest>): void {
  describe(`MetricStore contract: ${name}`, { timeout: 180_000 }, () => {
    let sut: StoreUnderTest;
    let store: MetricStore;
    const range = { start: T0 - 60_000, end: T0 + 60_000 };

    before(async () => {
      sut = await factory();
      store = sut.store;
      await store.write(contractPoints());
      await store.writeLogs(contractLogs());
    });
    after(async () => {
      await store?.close();
      await sut?.cleanup?.();
    });

    test('raw read: one series without groupBy, points sorted by time, where filters', async () => {
      const s = await store.query({ measurement: BUSY, field: 'value', ...range, where: { job_id: JOB } });
      assert.equal(s.length, 1);
      assert.deepEqual(s[0]!.tags, {});
      assert.deepEqual(s[0]!.points.map((p) => p.v), [100, 10, 200, 20, 300, 30, 400, 40]);
      assert.deepEqual(s[0]!.points.slice(0, 2).map((p) => p.t), [T0, T0 + 1]);
    });

    test('raw read honours the time range (both ends inclusive)', async () => {
      const s = await store.query({ measurement: BUSY, field: 'value', start: T0 + 5000, end: T0 + 10000, where: { job_id: JOB, subtask_index: '0' } });
      assert.deepEqual(s[0]!.points, [
        { t: T0 + 5000, v: 200 },
        { t: T0 + 10000, v: 300 },
      ]);
    });

    test('groupBy splits series and their tags hold exactly the groupBy keys', async () => {
      const s = await store.query({ measurement: BUSY, field: 'value', ...range, where: { job_id: JOB }, groupBy: ['subtask_index'] });
      assert.deepEqual(s.map((x) => x.tags), [{ subtask_index: '0' }, { subtask_index: '1' }]);
      assert.deepEqual(s[1]!.points.map((p) => p.v), [10, 20, 30, 40]);
    });

    test('where with a list of values matches any of them; an empty list matches nothing', async () => {
      const s = await store.query({ measurement: BUSY, field: 'value', ...range, where: { job_id: [JOB, 'otherjob'] }, groupBy: ['job_id'] });
      assert.deepEqual(s.map((x) => x.tags.job_id), [JOB, 'otherjob'].sort());
      assert.deepEqual(await store.query({ measurement: BUSY, field: 'value', ...range, where: { job_id: [] } }), []);
    });

    const windowed = async (aggregate: 'mean' | 'max' | 'min' | 'last' | 'sum'): Promise<Array<[number, number]>> => {
      const s = await store.query({ measurement: BUSY, field: 'value', ...range, where: { job_id: JOB }, window: 10_000, aggregate });
      assert.equal(s.length, 1);
      return s[0]!.points.map((p) => [p.t - T0, p.v]);
    };
    test('mean per window (windows aligned to the epoch, empty windows left out)', async () => {
      assert.deepEqual(await windowed('mean'), [
        [0, (100 + 10 + 200 + 20) / 4],
        [10_000, (300 + 30 + 400 + 40) / 4],
      ]);
    });
    test('max per window', async () => {
      assert.deepEqual(await windowed('max'), [
        [0, 200],
        [10_000, 400],
      ]);
    });
    test('min per window', async () => {
      assert.deepEqual(await windowed('min'), [
        [0, 10],
        [10_000, 30],
      ]);
    });
    test('last per window is the value at the latest time', async () => {
      assert.deepEqual(await windowed('last'), [
        [0, 20],
        [10_000, 40],
      ]);
    });
    test('sum per window', async () => {
      assert.deepEqual(await windowed('sum'), [
        [0, 330],
        [10_000, 770],
      ]);
    });

    test('windowed aggregate with groupBy', async () => {
      const s = await store.query({
        measurement: BUSY, field: 'value', ...range, where: { job_id: JOB }, groupBy: ['job_id', 'subtask_index'], window: 20_000, aggregate: 'max',
      });
      assert.deepEqual(s, [
        { tags: { job_id: JOB, subtask_index: '0' }, points: [{ t: T0, v: 400 }] },
        { tags: { job_id: JOB, subtask_index: '1' }, points: [{ t: T0, v: 40 }] },
      ]);
    });

    test('counter rate per second counts a decrease as a reset (the increase is the new value)', async () => {
      const s = await store.query({
        measurement: RECORDS_IN, field: 'count', ...range, where: { subtask_index: '0' }, window: 10_000, aggregate: 'rate',
      });
      assert.equal(s.length, 1);
      // window 0: +100 +200 +50(reset) +200 over 8 s; window 10 s: +200 over 4 s
      assert.deepEqual(s[0]!.points, [
        { t: T0, v: 550 / 8 },
        { t: T0 + 10_000, v: 50 },
      ]);
    });

    test('counter rate: per series first, summed across the series of a group', async () => {
      const all = await store.query({ measurement: RECORDS_IN, field: 'count', ...range, window: 10_000, aggregate: 'rate' });
      assert.deepEqual(all[0]!.points, [
        { t: T0, v: 550 / 8 + 100 },
        { t: T0 + 10_000, v: 50 },
      ]);
      const by = await store.query({ measurement: RECORDS_IN, field: 'count', ...range, groupBy: ['subtask_index'], window: 10_000, aggregate: 'rate' });
      assert.deepEqual(by.map((x) => [x.tags.subtask_index, x.points[0]!.v]), [
        ['0', 550 / 8],
        ['1', 100],
      ]);
    });

    test('hyphenated measurement names (Kafka consumer metrics) can be read', async () => {
      const s = await store.query({ measurement: LAG_MAX, field: 'value', ...range, window: 60_000, aggregate: 'max', groupBy: ['operator_name'] });
      assert.deepEqual(s, [{ tags: { operator_name: 'Source: orders' }, points: [{ t: T0, v: 16071 }] }]);
    });

    test('Boolean gauges (string "true"/"false") read as 1/0, raw and aggregated', async () => {
      const raw = await store.query({ measurement: BP, field: 'value', ...range });
      assert.deepEqual(raw[0]!.points.map((p) => p.v), [1, 0]);
      const mean = await store.query({ measurement: BP, field: 'value', ...range, window: 60_000, aggregate: 'mean' });
      assert.deepEqual(mean[0]!.points, [{ t: T0, v: 0.5 }]);
    });

    test('unknown measurement or field gives no series', async () => {
      assert.deepEqual(await store.query({ measurement: 'nope_nothing', field: 'value', ...range }), []);
      assert.deepEqual(await store.query({ measurement: BUSY, field: 'nofield', ...range, window: 10_000, aggregate: 'mean' }), []);
    });

    test('a window without an aggregate is rejected', async () => {
      await assert.rejects(store.query({ measurement: BUSY, field: 'value', ...range, window: 10_000 }), (e: unknown) => e instanceof StreamtuneError && e.code === 'STORE_REJECTED');
    });

    test('tagValues lists distinct values in the range, with where', async () => {
      assert.deepEqual(await store.tagValues(BUSY, 'job_id', range.start, range.end), [JOB, 'otherjob'].sort());
      assert.deepEqual(await store.tagValues(BUSY, 'subtask_index', range.start, range.end, { job_id: JOB }), ['0', '1']);
      assert.deepEqual(await store.tagValues(BUSY, 'subtask_index', T0 + 30_000, range.end), []);
    });

    test('logs: newest first, job and time filters, all fields kept', async () => {
      const logs = await store.queryLogs({ job_id: JOB, ...range });
      assert.deepEqual(logs.map((l) => l.timestamp - T0), [3000, 2000, 1000]);
      assert.deepEqual(logs[0], contractLogs()[2]);
      assert.deepEqual(logs[1], contractLogs()[1]);
      const inRange = await store.queryLogs({ start: T0 + 1500, end: T0 + 3500 });
      assert.deepEqual(inRange.map((l) => l.timestamp - T0), [3000, 2000]);
    });

    test('logs: keyword search (case-insensitive) in message, exception class and stack', async () => {
      assert.deepEqual((await store.queryLogs({ ...range, keyword: 'poisonrecord' })).map((l) => l.exception_class), ['PoisonRecordError']);
      assert.deepEqual((await store.queryLogs({ ...range, keyword: 'COM.ACME.PARSE' })).map((l) => l.timestamp - T0), [3000]);
      assert.deepEqual((await store.queryLogs({ ...range, keyword: 'checkpoint' })).map((l) => l.timestamp - T0), [2000, 1000]);
    });

    test('logs: minimum level and limit', async () => {
      assert.deepEqual((await store.queryLogs({ ...range, level: 'warn' })).map((l) => l.level), ['error', 'error', 'warn']);
      assert.deepEqual((await store.queryLogs({ ...range, level: 'error', limit: 1 })).map((l) => l.job_id), ['otherjob']);
    });

    test('a batch with a malformed point is rejected whole: nothing of it is written', async () => {
      const m = 'streamtune_contract_rejected';
      await assert.rejects(
        store.write([
          { measurement: m, tags: {}, fields: { value: 1 }, timestamp: T0 },
          { measurement: m, tags: {}, fields: { value: Number.NaN }, timestamp: T0 + 1 },
        ]),
        (e: unknown) => e instanceof StreamtuneError && e.code === 'STORE_REJECTED',
      );
      assert.deepEqual(await store.query({ measurement: m, field: 'value', ...range }), []);
    });
  });
}
