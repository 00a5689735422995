/**
 * The bundled runtime's Kafka source and sink against a real Kafka broker (test/helpers/kafka-broker.ts):
 * - flights read from a 4-partition topic, aggregated per origin in 1-hour event-time windows into
 *   exactly-once JSONL files, stopped with a savepoint, restored with other source and aggregation
 *   parallelism (1 → 2, 1 → 3) while more flights are produced: every window equals the same
 *   computation done here over the produced records (nothing lost, nothing counted twice), and the
 *   consumer group's committed offsets are always the offsets of a completed checkpoint, advance
 *   with completed checkpoints and end at the log-end offsets;
 * - the Kafka sink writes exactly N records without failures and at least every record with one,
 *   and a completed savepoint means everything before its barrier is in the topic.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { testKafkaBroker, produce, type TestKafka } from './helpers/kafka-broker.ts';
import { tempDir, uniqueName, waitFor } from './helpers/wait.ts';
import { committedRecords, duplicateWindows } from './helpers/flights.ts';
import { resolveDataPath } from '../runtime/paths.ts';
import { validateJobSpec, type JobSpec } from '../runtime/spec.ts';
import { LocalJob } from '../runtime/job.ts';
import { readCheckpoint } from '../runtime/checkpoint/storage.ts';
import { createKafkaSource, type KafkaPartitionOffset } from '../runtime/kafka.ts';

const HOUR = 3_600_000;

interface Flight {
  date: string;
  delay: number;
  distance: number;
  origin: string;
  destination: string;
}

/** flights-20k rows (sorted by date), with the date as ISO-8601 UTC. */
function flights(): Flight[] {
  const file = resolveDataPath('pkg:vega-datasets/data/flights-20k.json', process.cwd());
  const rows = JSON.parse(readFileSync(file, 'utf8')) as Flight[];
  return rows.map((r) => ({ ...r, date: `${r.date.replace(/\//g, '-').replace(' ', 'T')}:00Z` }));
}

/** Per (origin, window start ISO) count and sum of delay over `rows`: what the job must emit. */
function expectedWindows(rows: Flight[]): Map<string, { count: number; sumDelay: number }> {
  const m = new Map<string, { count: number; sumDelay: number }>();
  for (const r of rows) {
    const start = Math.floor(Date.parse(r.date) / HOUR) * HOUR;
    const k = `${r.origin}|${new Date(start).toISOString()}`;
    const e = m.get(k) ?? { count: 0, sumDelay: 0 };
    e.count++;
    e.sumDelay += r.delay;
    m.set(k, e);
  }
  return m;
}

function outputWindows(records: Array<Record<string, unknown>>): Map<string, { count: number; sumDelay: number }> {
  return new Map(records.map((r) => [`${String(r.origin)}|${String(r.windowStart)}`, { count: Number(r.count), sumDelay: Number(r.sumDelay) }]));
}

function flightsJob(topic: string, groupId: string, brokers: string[], out: string, chk: string): JobSpec {
  return validateJobSpec(
    {
      name: 'kafka-flights',
      checkpoints: { interval: 1000, retained: 1000, dir: chk },
      restartStrategy: { type: 'none' },
      vertices: [
        // 0.5 ms per record: the first run spans several checkpoints
        { name: 'flights', type: 'kafka-source', topic, groupId, brokers, eventTime: 'date', parallelism: 1, faults: { latencyMs: 0.5 } },
        { name: 'delay-by-origin', type: 'window-aggregate', key: 'origin', size: '1h', aggregations: { count: 'count', sumDelay: 'sum(delay)' }, parallelism: 1 },
        { name: 'results', type: 'jsonl-sink', path: out },
      ],
      edges: [
        { from: 'flights', to: 'delay-by-origin', partitioning: 'hash', key: 'origin' },
        { from: 'delay-by-origin', to: 'results' },
      ],
    },
    'test kafka-flights',
  );
}

type Offsets = Map<number, number>;

async function committedOffsets(admin: Admin, groupId: string, topic: string): Promise<Offsets> {
  const r = await admin.fetchOffsets({ groupId, topics: [topic] });
  return new Map((r[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
}

async function logEndOffsets(admin: Admin, topic: string): Promise<Offsets> {
  return new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, Number(o.high)]));
}

/** The source offsets stored in a checkpoint or savepoint. */
function checkpointOffsets(path: string): Offsets {
  const meta = readCheckpoint(path);
  const list = meta.vertices.flights!.subtasks.flatMap((s) => s.list) as KafkaPartitionOffset[];
  return new Map(list.map((o) => [o.partition, o.offset]));
}

/** Completed checkpoints (not savepoints) of `job`: id → source offsets. */
function completedCheckpoints(job: LocalJob): Map<number, Offsets> {
  const m = new Map<number, Offsets>();
  for (const h of job.stats.history) if ('path' in h && !h.savepoint) m.set(h.id, checkpointOffsets(h.path));
  return m;
}

const same = (a: Offsets, b: Offsets) => a.size === b.size && [...a].every(([p, o]) => b.get(p) === o);
const total = (a: Offsets) => [...a.values()].reduce((x, y) => x + Math.max(0, y), 0);
const show = (a: Offsets) => JSON.stringify(Object.fromEntries([...a].sort((x, y) => x[0] - y[0])));

/**
 * The group's committed offsets must be, partition by partition, the offset of that partition in a
 * completed checkpoint, and never beyond the newest completed checkpoint.
 */
function assertCommittedFromCheckpoints(committed: Offsets, job: LocalJob, what: string): void {
  const chks = [...completedCheckpoints(job).entries()].sort((a, b) => a[0] - b[0]);
  assert.ok(chks.length > 0, `${what}: no completed checkpoint`);
  const newest = chks[chks.length - 1]![1];
  for (const [p, off] of committed) {
    if (off < 0) continue;
    assert.ok(chks.some(([, o]) => o.get(p) === off), `${what}: committed offset ${off} of partition ${p} is the offset of no completed checkpoint (${chks.map(([id, o]) => `${id}:${show(o)}`).join(' ')})`);
    assert.ok(off <= newest.get(p)!, `${what}: committed offset ${off} of partition ${p} is ahead of the newest completed checkpoint (${newest.get(p)})`);
  }
}

const sourceIn = (job: LocalJob) => job.currentSubtasks().filter((s) => s.vertex === 'flights').reduce((a, s) => a + s.metrics.numRecordsIn, 0);

test('kafka-source: flights through 1h windows, stopped and restored with other parallelism (source 1 → 2, aggregation 1 → 3): exact windows, offsets committed from completed checkpoints', { timeout: 300_000 }, async () => {
  let mock: TestKafka | undefined;
  let admin: Admin | undefined;
  const jobs: LocalJob[] = [];
  try {
    mock = await testKafkaBroker();
    admin = new Kafka({ clientId: 'runtime-kafka-test', brokers: mock.bootstrap, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    const topic = uniqueName('flights');
    const groupId = uniqueName('flight-delays');
    const out = tempDir();
    const spec = flightsJob(topic, groupId, mock.bootstrap, out, join(tempDir(), 'chk'));
    const sp = tempDir();
    const rows = flights();
    const part1 = rows.slice(0, 12_000);
    const part2 = rows.slice(12_000);
    const toMessages = (rs: Flight[]) => rs.map((r) => ({ key: r.origin, value: JSON.stringify(r) }));
    await produce(mock.bootstrap, topic, toMessages(part1));
    const leo1 = await logEndOffsets(admin, topic);
    assert.equal(leo1.size, 4);
    assert.equal(total(leo1), part1.length);

    // ---- run 1: source 1, aggregation 1
    const first = new LocalJob(spec);
    jobs.push(first);
    await first.start();
    const c1 = await waitFor(async () => {
      const c = await committedOffsets(admin!, groupId, topic);
      return total(c) > 0 ? c : undefined;
    }, { timeoutMs: 120_000, what: 'a first commit of checkpointed offsets' });
    // one subtask commits all four partitions at once: the whole vector is one checkpoint's
    const chks1 = completedCheckpoints(first);
    const match1 = [...chks1.entries()].filter(([, o]) => same(o, c1)).map(([id]) => id);
    assert.ok(match1.length > 0, `committed ${show(c1)} equals no completed checkpoint`);
    assertCommittedFromCheckpoints(c1, first, 'run 1');
    assert.ok(total(c1) < part1.length, `run 1 read all of part 1 before the first commit (${show(c1)}); the test needs it midway`);
    // the committed offsets move on with later checkpoints
    const c2 = await waitFor(async () => {
      const c = await committedOffsets(admin!, groupId, topic);
      return total(c) > total(c1) ? c : undefined;
    }, { timeoutMs: 120_000, what: 'the committed offsets to advance' });
    const match2 = [...completedCheckpoints(first).entries()].filter(([, o]) => same(o, c2)).map(([id]) => id);
    assert.ok(match2.length > 0 && Math.min(...match2) > Math.max(...match1), `committed ${show(c2)} is not the offsets of a checkpoint after ${match1.join(',')}`);
    for (const [p, o] of c2) assert.ok(o >= c1.get(p)!, `partition ${p} went back from ${c1.get(p)} to ${o}`);
    assertCommittedFromCheckpoints(c2, first, 'run 1');
    const sp1 = await first.stopWithSavepoint(sp);
    assert.equal((await first.done()).state, 'FINISHED');
    const sp1Offsets = checkpointOffsets(sp1.path);
    assert.equal(sp1Offsets.size, 4);
    assert.ok(same(await committedOffsets(admin, groupId, topic), sp1Offsets), 'after stop-with-savepoint the group holds the savepoint offsets');

    // ---- run 2: restored with source 2, aggregation 3; the rest of the flights arrive while it runs
    const second = new LocalJob(spec, { fromSavepoint: sp1.path, parallelism: { flights: 2, 'delay-by-origin': 3 } });
    jobs.push(second);
    await second.start();
    assert.equal(second.currentSubtasks().filter((s) => s.vertex === 'flights').length, 2);
    assert.equal(second.currentSubtasks().filter((s) => s.vertex === 'delay-by-origin').length, 3);
    await waitFor(async () => same(await committedOffsets(admin!, groupId, topic), leo1), { timeoutMs: 120_000, what: 'run 2 to read and checkpoint the rest of part 1' });
    assertCommittedFromCheckpoints(await committedOffsets(admin, groupId, topic), second, 'run 2');
    // the rest, then one record per partition far in the future: its watermark closes every window of the data
    const sentinelDate = '2001-06-01T00:00:00.000Z';
    await produce(mock.bootstrap, topic, [
      ...toMessages(part2),
      ...[0, 1, 2, 3].map((partition) => ({ partition, value: JSON.stringify({ date: sentinelDate, delay: 0, distance: 0, origin: '~end', destination: '~end' }) })),
    ]);
    const leo2 = await logEndOffsets(admin, topic);
    assert.equal(total(leo2), rows.length + 4);
    await waitFor(async () => {
      const c = await committedOffsets(admin!, groupId, topic);
      assertCommittedFromCheckpoints(c, second, 'run 2');
      return same(c, leo2);
    }, { timeoutMs: 120_000, what: 'run 2 to read and checkpoint everything' });
    const lastWindowEnd = Math.floor(Date.parse(rows[rows.length - 1]!.date) / HOUR) * HOUR + HOUR;
    const aggs = second.currentSubtasks().filter((s) => s.vertex === 'delay-by-origin');
    await waitFor(() => aggs.every((s) => s.metrics.currentInputWatermark >= lastWindowEnd - 1), { what: 'the watermark to pass the last window' }).catch((e: Error) => {
      const wms = second.currentSubtasks().map((s) => `${s.vertex}#${s.index} in=${s.metrics.currentInputWatermark} out=${s.metrics.currentOutputWatermark}`);
      throw new Error(`${e.message} (${lastWindowEnd - 1}): ${wms.join(', ')}`);
    });
    assert.equal(aggs.reduce((a, s) => a + s.metrics.lateRecordsDropped, 0), 0, 'no record was late');
    assert.equal(sourceIn(second), rows.length + 4 - total(sp1Offsets), 'run 2 read exactly what run 1 left');
    const pending = second.currentSubtasks().filter((s) => s.vertex === 'flights').map((s) => s.metrics.pendingRecords);
    assert.deepEqual(pending, [0, 0]);
    const sp2 = await second.stopWithSavepoint(sp);
    assert.equal((await second.done()).state, 'FINISHED');
    assert.ok(same(checkpointOffsets(sp2.path), leo2), 'the final savepoint holds the log-end offsets');
    assert.ok(same(await committedOffsets(admin, groupId, topic), leo2), 'the group committed the log-end offsets');

    // ---- every window of every flight, exactly once
    const records = committedRecords(out);
    assert.deepEqual(duplicateWindows(records), []);
    const got = outputWindows(records.filter((r) => r.origin !== '~end'));
    const want = expectedWindows(rows);
    assert.equal(got.size, want.size, 'number of (origin, window) results');
    assert.deepEqual(got, want);
    assert.equal(records.filter((r) => r.origin === '~end').length, 0, 'the sentinel window is still open');
  } finally {
    for (const j of jobs) await j.cancel().catch(() => {});
    await admin?.disconnect().catch(() => {});
    await mock?.stop();
  }
});

test('kafka-source: parallelism above the partition count fails, naming the source', { timeout: 120_000 }, async () => {
  const mock = await testKafkaBroker();
  const topic = uniqueName('narrow');
  const reader = createKafkaSource({ name: 'too-wide', type: 'kafka-source', topic, groupId: uniqueName('g'), brokers: mock.bootstrap });
  try {
    await produce(mock.bootstrap, topic, [{ value: '{}' }]);
    const { TaskMetrics } = await import('../runtime/metrics/task-metrics.ts');
    const { silentLogger } = await import('../core/logger.ts');
    const ctx = {
      jobId: 'j', jobName: 'j', vertex: 'too-wide', subtask: 0, parallelism: 5, maxParallelism: 128, attempt: 0,
      keyGroupRange: { start: 0, end: 127 }, baseDir: process.cwd(), logger: silentLogger, metrics: new TaskMetrics(5000), collected: [],
    };
    await assert.rejects(reader.open(ctx, undefined), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'INVALID_ARGUMENT');
      assert.match(err.message, /source 'too-wide'.*4 partitions.*parallelism 5/);
      return true;
    });
  } finally {
    await reader.close();
    await mock.stop();
  }
});

/** Every message of `topic` as parsed JSON (reads each partition from offset 0 to its log-end offset). */
async function readTopic(brokers: string[], topic: string): Promise<Array<{ key: string | null; value: Record<string, unknown> }>> {
  const kafka = new Kafka({ clientId: 'runtime-kafka-read', brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const leo = await logEndOffsets(admin, topic);
  await admin.disconnect();
  const want = total(leo);
  const out: Array<{ key: string | null; value: Record<string, unknown> }> = [];
  const consumer = kafka.consumer({ groupId: uniqueName('reader'), sessionTimeout: 10_000, heartbeatInterval: 1_000, maxWaitTimeInMs: 250 });
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        out.push({ key: message.key?.toString() ?? null, value: JSON.parse(message.value!.toString()) as Record<string, unknown> });
      },
    });
    await waitFor(() => out.length >= want, { timeoutMs: 120_000, what: `reading ${want} messages of ${topic}` });
  } finally {
    await consumer.disconnect().catch(() => {});
  }
  return out;
}

/** `rate`: records/s per generator subtask (default 4000). */
function generatorToKafka(topic: string, brokers: string[], count: number, chk: string, faults?: { failAfterRecords: number }, rate = 4000): JobSpec {
  return validateJobSpec(
    {
      name: 'gen-to-kafka',
      checkpoints: { interval: 300, dir: chk },
      restartStrategy: { type: 'fixed-delay', attempts: 2, delay: 100 },
      vertices: [
        { name: 'gen', type: 'generator-source', count, rate, keys: 50, parallelism: 2 },
        { name: 'out', type: 'kafka-sink', topic, brokers, key: 'key', parallelism: 2, ...(faults ? { faults } : {}) },
      ],
      edges: [{ from: 'gen', to: 'out', partitioning: 'rebalance' }],
    },
    'test gen-to-kafka',
  );
}

test('kafka-sink: a bounded job writes exactly N keyed JSON records; a completed savepoint means everything before its barrier is in Kafka', { timeout: 300_000 }, async () => {
  const mock = await testKafkaBroker();
  const admin = new Kafka({ clientId: 'runtime-kafka-sink-test', brokers: mock.bootstrap, logLevel: logLevel.NOTHING }).admin();
  let job: LocalJob | undefined;
  try {
    await admin.connect();
    const topic = uniqueName('gen-out');
    const N = 6000;
    // 1,000 records/s in all: the job is still running (4.5 s of records left) when the savepoint is taken
    job = new LocalJob(generatorToKafka(topic, mock.bootstrap, N, join(tempDir(), 'chk'), undefined, 500));
    await job.start();
    await waitFor(() => sourceInOf(job!, 'gen') >= 1500, { timeoutMs: 120_000, what: 'the generator to emit 1500 records' });
    const sp = await job.triggerSavepoint(tempDir());
    const read = readCheckpoint(sp.path).vertices.gen!.subtasks.flatMap((s) => s.list as Array<{ read: number }>).reduce((a, s) => a + s.read, 0);
    assert.ok(read > 0);
    // the savepoint completed, so the sink flushed everything that was before its barrier
    assert.ok(total(await logEndOffsets(admin, topic)) >= read, `records before the savepoint barrier (${read}) are all in the topic`);
    const r = await job.done();
    assert.equal(r.state, 'FINISHED');
    assert.equal(job.numRestarts, 0);
    assert.equal(job.stats.numberOfFailedCheckpoints, 0);
    assert.equal(total(await logEndOffsets(admin, topic)), N, 'exactly N messages without failures');
    const msgs = await readTopic(mock.bootstrap, topic);
    assert.equal(msgs.length, N);
    assert.deepEqual([...new Set(msgs.map((m) => Number(m.value.seq)))].sort((a, b) => a - b), Array.from({ length: N }, (_, i) => i));
    for (const m of msgs) assert.equal(m.key, m.value.key, 'the message key is the record field `key`');
  } finally {
    await job?.cancel().catch(() => {});
    await admin.disconnect().catch(() => {});
    await mock.stop();
  }
});

test('kafka-sink: after a failure and a restart from the last checkpoint every record is in the topic at least once', { timeout: 300_000 }, async () => {
  const mock = await testKafkaBroker();
  let job: LocalJob | undefined;
  try {
    const topic = uniqueName('gen-out-fail');
    const N = 6000;
    job = new LocalJob(generatorToKafka(topic, mock.bootstrap, N, join(tempDir(), 'chk'), { failAfterRecords: 1500 }));
    await job.start();
    const r = await job.done();
    assert.equal(r.state, 'FINISHED');
    assert.ok(job.numRestarts >= 1, 'the injected failure restarted the job');
    const msgs = await readTopic(mock.bootstrap, topic);
    assert.ok(msgs.length >= N, `at least N messages (${msgs.length})`);
    assert.deepEqual([...new Set(msgs.map((m) => Number(m.value.seq)))].sort((a, b) => a - b), Array.from({ length: N }, (_, i) => i));
  } finally {
    await job?.cancel().catch(() => {});
    await mock.stop();
  }
});

function sourceInOf(job: LocalJob, vertex: string): number {
  return job.currentSubtasks().filter((s) => s.vertex === vertex).reduce((a, s) => a + s.metrics.numRecordsIn, 0);
}
