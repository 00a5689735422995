import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KafkaLagCollector, KAFKA_LAG_MEASUREMENTS as M, type LagAdmin } from '../collector/kafka/index.ts';
import { resolveKafkaBrokers } from '../core/index.ts';
import type { MetricPoint } from '../core/points.ts';
import { MemoryLogger } from '../core/logger.ts';

/** A small fake of the kafkajs admin calls, with state the test sets between polls. */
class FakeAdmin implements LagAdmin {
  high: Record<string, number[]> = {};
  low: Record<string, number[]> = {};
  committed: Record<string, Record<string, number[]>> = {};
  down = false;
  connects = 0;
  async connect(): Promise<void> {
    this.connects++;
    if (this.down) throw new Error('Connection error: connect ECONNREFUSED 127.0.0.1:9');
  }
  async disconnect(): Promise<void> {}
  async fetchTopicOffsets(topic: string) {
    if (this.down) throw new Error('broker down');
    const high = this.high[topic];
    if (!high) throw new Error(`This server does not host this topic-partition: ${topic}`);
    return high.map((h, partition) => ({ partition, offset: String(h), high: String(h), low: String(this.low[topic]?.[partition] ?? 0) }));
  }
  async fetchOffsets({ groupId, topics }: { groupId: string; topics: string[] }) {
    if (this.down) throw new Error('broker down');
    return topics.map((topic) => ({
      topic,
      partitions: (this.high[topic] ?? []).map((_, partition) => ({ partition, offset: String(this.committed[groupId]?.[topic]?.[partition] ?? -1) })),
    }));
  }
}

function find(points: MetricPoint[], measurement: string, tags: Record<string, string>): MetricPoint | undefined {
  return points.find((p) => p.measurement === measurement && Object.entries(tags).every(([k, v]) => p.tags[k] === v));
}

test('emits per-partition and per-group points with the documented names, tags and integer fields', async () => {
  const admin = new FakeAdmin();
  admin.high = { orders: [100, 50] };
  admin.committed = { g1: { orders: [40, -1] } };
  const batches: MetricPoint[][] = [];
  const c = new KafkaLagCollector({ admin, sink: (p) => batches.push(p), groups: [{ groupId: 'g1', topics: ['orders'] }] });
  const r = await c.pollOnce(10_000);
  assert.equal(batches.length, 1);
  const pts = batches[0]!;
  assert.deepEqual(r.points, pts);
  const p0 = { group: 'g1', topic: 'orders', partition: '0' };
  assert.deepEqual(find(pts, M.logEndOffset, p0), { measurement: 'streamtune_kafka_partition_logEndOffset', tags: p0, fields: { value: 100 }, timestamp: 10_000, intFields: ['value'] });
  assert.equal(find(pts, M.committedOffset, p0)?.fields.value, 40);
  assert.equal(find(pts, M.lag, p0)?.fields.value, 60);
  assert.deepEqual(find(pts, M.lag, p0)?.intFields, ['value']);
  // seconds are floats; the lower-bound flag beside them an int (one sample: a lower bound)
  assert.deepEqual(find(pts, M.lagSeconds, p0)?.intFields, ['lowerBound']);
  assert.equal(find(pts, M.lagSeconds, p0)?.fields.lowerBound, 1);
  // partition 1 never committed: no committedOffset point, lag from the earliest offset (0)
  const p1 = { group: 'g1', topic: 'orders', partition: '1' };
  assert.equal(find(pts, M.committedOffset, p1), undefined);
  assert.equal(find(pts, M.lag, p1)?.fields.value, 50);
  assert.equal(r.groups[0]!.partitions[1]!.lagFromEarliest, true);
  assert.deepEqual(find(pts, M.groupTotalLag, { group: 'g1' })?.fields, { value: 110 });
  assert.deepEqual(find(pts, M.groupMaxLag, { group: 'g1' })?.tags, { group: 'g1' });
  assert.equal(find(pts, M.groupMaxLag, { group: 'g1' })?.fields.value, 60);
  assert.ok(find(pts, M.groupMaxLagSeconds, { group: 'g1' }));
  for (const p of pts) assert.ok(Number.isFinite(p.fields.value as number), `${p.measurement} is finite`);
  assert.equal(new Set(pts.map((p) => p.measurement)).size, 7);
});

test('lag seconds: lower bound with one sample, then interpolated once the table brackets the committed offset', async () => {
  const admin = new FakeAdmin();
  admin.high = { t: [1000] };
  admin.committed = { g: { t: [500] } };
  const c = new KafkaLagCollector({ admin, sink: () => {}, groups: [{ groupId: 'g', topics: ['t'] }] });
  let r = await c.pollOnce(10_000);
  assert.equal(r.groups[0]!.partitions[0]!.lagSecondsKind, 'too-few-points');
  assert.equal(r.groups[0]!.partitions[0]!.lagSeconds, 0);
  assert.equal(r.groups[0]!.partitions[0]!.lagSecondsLowerBound, true);
  admin.high = { t: [2000] };
  r = await c.pollOnce(20_000);
  // 1000 at 10 s, 2000 at 20 s; committed 500 is older than the table → at least 10 s
  assert.equal(r.groups[0]!.partitions[0]!.lagSecondsKind, 'older-than-table');
  assert.equal(r.groups[0]!.partitions[0]!.lagSeconds, 10);
  admin.committed = { g: { t: [1500] } };
  admin.high = { t: [3000] };
  r = await c.pollOnce(30_000);
  assert.equal(r.groups[0]!.partitions[0]!.lagSecondsKind, 'interpolated');
  assert.equal(r.groups[0]!.partitions[0]!.lagSeconds, 15); // produced at 15 s
  assert.equal(r.groups[0]!.maxLagSeconds, 15);
  assert.equal(r.groups[0]!.partitions[0]!.lag, 1500);
});

test('a caught-up partition and an empty never-committed partition are 0 lag and 0 s', async () => {
  const admin = new FakeAdmin();
  admin.high = { t: [70, 0] };
  admin.committed = { g: { t: [70, -1] } };
  const c = new KafkaLagCollector({ admin, sink: () => {}, groups: [{ groupId: 'g', topics: ['t'] }] });
  await c.pollOnce(1000);
  const r = await c.pollOnce(2000);
  for (const p of r.groups[0]!.partitions) {
    assert.equal(p.lag, 0);
    assert.equal(p.lagSeconds, 0);
    assert.equal(p.lagSecondsKind, 'caught-up');
  }
});

test('broker unreachable: logged, counted, no throw, and the next poll recovers', async () => {
  const admin = new FakeAdmin();
  admin.high = { t: [10] };
  admin.down = true;
  const logger = new MemoryLogger();
  const sunk: MetricPoint[][] = [];
  const c = new KafkaLagCollector({ admin, sink: (p) => sunk.push(p), logger, groups: [{ groupId: 'g', topics: ['t'] }] });
  const r1 = await c.pollOnce(1000);
  assert.equal(r1.errors.length, 1);
  assert.match(r1.errors[0]!.message, /ECONNREFUSED/);
  assert.equal(sunk.length, 0);
  await c.pollOnce(2000);
  assert.equal(c.stats().failedPolls, 2);
  assert.equal(c.stats().consecutiveFailures, 2);
  assert.ok(logger.lines.some((l) => l.level === 'warn' && /retrying next interval/.test(l.msg)));
  admin.down = false;
  const r3 = await c.pollOnce(3000);
  assert.deepEqual(r3.errors, []);
  assert.equal(r3.groups[0]!.totalLag, 10);
  assert.equal(c.stats().consecutiveFailures, 0);
  assert.equal(c.stats().lastSuccessAt, 3000);
  assert.equal(sunk.length, 1);
});

test('a topic that cannot be read is an error for that topic only; the other groups are reported', async () => {
  const admin = new FakeAdmin();
  admin.high = { good: [5] };
  const c = new KafkaLagCollector({ admin, sink: () => {}, groups: [{ groupId: 'a', topics: ['good'] }, { groupId: 'b', topics: ['missing'] }] });
  const r = await c.pollOnce(1000);
  assert.deepEqual(r.groups.map((g) => g.group), ['a']);
  assert.equal(r.errors.length, 1);
  assert.equal(r.errors[0]!.topic, 'missing');
});

test('watch and unwatch at runtime change what the next poll reports', async () => {
  const admin = new FakeAdmin();
  admin.high = { t: [5], u: [9] };
  const c = new KafkaLagCollector({ admin, sink: () => {} });
  assert.deepEqual((await c.pollOnce(1000)).groups, []);
  c.watch({ groupId: 'g', topics: ['t'] });
  c.watch({ groupId: 'h', topics: ['t', 'u'] });
  let r = await c.pollOnce(2000);
  assert.deepEqual(r.groups.map((g) => [g.group, g.totalLag]), [['g', 5], ['h', 14]]);
  assert.equal(c.unwatch('g'), true);
  assert.equal(c.unwatch('nope'), false);
  r = await c.pollOnce(3000);
  assert.deepEqual(r.groups.map((g) => g.group), ['h']);
  assert.deepEqual(c.watched(), [{ groupId: 'h', topics: ['t', 'u'] }]);
  assert.throws(() => c.watch({ groupId: 'x', topics: [] }), { code: 'INVALID_ARGUMENT' });
});

test('start polls on the interval and stop ends the loop', async () => {
  const admin = new FakeAdmin();
  admin.high = { t: [5] };
  let now = 0;
  const batches: MetricPoint[][] = [];
  const c = new KafkaLagCollector({ admin, sink: (p) => batches.push(p), intervalMs: 20, clock: () => (now += 1000), groups: [{ groupId: 'g', topics: ['t'] }] });
  c.start();
  const { waitFor } = await import('./helpers/wait.ts');
  await waitFor(() => batches.length >= 3, { what: '3 polls' });
  await c.stop();
  const n = batches.length;
  assert.ok(batches[0]![0]!.timestamp < batches[2]![0]!.timestamp, 'each poll takes its timestamp from the injected clock');
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(batches.length, n, 'no poll after stop');
});

test('brokers come from options or STREAMTUNE_KAFKA_BROKERS; none is a config error', () => {
  assert.deepEqual(resolveKafkaBrokers(['127.0.0.1:9092']), ['127.0.0.1:9092']);
  assert.deepEqual(resolveKafkaBrokers(undefined, { STREAMTUNE_KAFKA_BROKERS: ' 127.0.0.1:1, 127.0.0.1:2 ,' }), ['127.0.0.1:1', '127.0.0.1:2']);
  assert.throws(() => resolveKafkaBrokers(undefined, {}), { code: 'INVALID_CONFIG' });
  assert.throws(() => resolveKafkaBrokers(['nohost']), { code: 'INVALID_CONFIG' });
});

test('a log-end offset that goes down (topic recreated) resets the table instead of freezing it', async () => {
  const admin = new FakeAdmin();
  admin.committed = { g: { t: [0] } };
  admin.high = { t: [1000] };
  const c = new KafkaLagCollector({ admin, sink: () => {}, groups: [{ groupId: 'g', topics: ['t'] }] });
  await c.pollOnce(1000);
  admin.high = { t: [10] };
  await c.pollOnce(2000);
  admin.high = { t: [20] };
  admin.committed = { g: { t: [15] } };
  const r = await c.pollOnce(3000);
  // table is now (10, 2 s), (20, 3 s): committed 15 was produced at 2.5 s
  assert.equal(r.groups[0]!.partitions[0]!.lagSecondsKind, 'interpolated');
  assert.equal(r.groups[0]!.partitions[0]!.lagSeconds, 0.5);
});
