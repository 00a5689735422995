import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { consumeAndCommit, testKafkaBroker, produce } from './helpers/kafka-broker.ts';
import { uniqueName, waitFor } from './helpers/wait.ts';
import { KafkaLagCollector, KAFKA_LAG_MEASUREMENTS as M } from '../collector/kafka/index.ts';
import type { MetricPoint } from '../core/points.ts';

test('collector reports N − M lag per partition and in total against a real Kafka broker, also after the consumer left', { timeout: 240_000 }, async () => {
  const mock = await testKafkaBroker();
  const kafka = new Kafka({ clientId: 'lag-it', brokers: mock.bootstrap, logLevel: logLevel.NOTHING });
  let consumer: ReturnType<Kafka['consumer']> | undefined;
  let collector: KafkaLagCollector | undefined;
  let consumerConnected = false;
  try {
    const topic = uniqueName('lag');
    // N = 40: 10 records per partition
    const N = 40;
    await produce(mock.bootstrap, topic, Array.from({ length: N }, (_, i) => ({ key: `k${i}`, value: `v${i}`, partition: i % 4 })));

    // consume `consumed` (M) records: the first `take[p]` of each partition, and commit exactly those
    const take = [3, 10, 0, 7];
    const consumed = take.reduce((a, b) => a + b, 0);
    const group = uniqueName('group');
    const c = await consumeAndCommit(kafka, topic, group, take);
    consumer = c;
    consumerConnected = true;

    const batches: MetricPoint[][] = [];
    collector = new KafkaLagCollector({ brokers: mock.bootstrap, sink: (p) => batches.push(p), groups: [{ groupId: group, topics: [topic] }] });
    await collector.pollOnce(Date.now());
    const r = await waitFor(async () => {
      const res = await collector!.pollOnce(Date.now());
      return res.errors.length === 0 && res.groups.length === 1 ? res : undefined;
    }, { timeoutMs: 60_000, what: 'a clean poll' });
    const g = r.groups[0]!;
    assert.equal(g.totalLag, N - consumed);
    assert.deepEqual(g.partitions.map((p) => p.lag), take.map((n) => 10 - n));
    assert.deepEqual(g.partitions.map((p) => p.logEndOffset), [10, 10, 10, 10]);
    // partition 2 never committed: no committed offset, lag measured from the earliest offset
    assert.deepEqual(g.partitions.map((p) => p.committedOffset), [3, 10, null, 7]);
    assert.equal(g.maxLag, 10);
    for (const p of g.partitions) {
      assert.ok(Number.isFinite(p.lagSeconds) && p.lagSeconds >= 0, `lag seconds of partition ${p.partition} defined`);
    }
    assert.equal(g.partitions[1]!.lagSecondsKind, 'caught-up');
    const last = batches[batches.length - 1]!;
    const lagPoint = last.find((p) => p.measurement === M.lag && p.tags.partition === '0' && p.tags.topic === topic && p.tags.group === group);
    assert.equal(lagPoint?.fields.value, 7);
    assert.equal(last.find((p) => p.measurement === M.groupTotalLag)?.fields.value, N - consumed);
    assert.ok(last.filter((p) => p.measurement === M.lagSeconds).every((p) => !Number.isNaN(p.fields.value)));

    // The consumer leaves: the group has no active members and is still reported, with the lag
    // computed from the current log-end offsets (more records arrive meanwhile).
    await c.disconnect();
    consumerConnected = false;
    await produce(mock.bootstrap, topic, [{ value: 'late', partition: 1 }]);
    const after = await waitFor(async () => {
      const res = await collector!.pollOnce(Date.now());
      return res.errors.length === 0 && res.groups[0]?.partitions[1]?.logEndOffset === 11 ? res : undefined;
    }, { timeoutMs: 60_000, what: 'a poll after the consumer left' });
    assert.equal(after.groups[0]!.group, group);
    assert.equal(after.groups[0]!.totalLag, N - consumed + 1);
    assert.equal(after.groups[0]!.partitions[1]!.lag, 1);
    assert.ok(after.groups[0]!.partitions.every((p) => Number.isFinite(p.lagSeconds)));

    // The broker goes away: the poll reports an error, counts it, and does not throw.
    await mock.broker.stop();
    const failed = await collector.pollOnce(Date.now());
    assert.ok(failed.errors.length > 0);
    assert.ok(collector.stats().failedPolls >= 1);
  } finally {
    await collector?.stop();
    if (consumerConnected) await consumer?.disconnect().catch(() => {});
    await mock.stop();
  }
});
