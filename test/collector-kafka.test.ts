/**
 * The running collector against a real Kafka broker: produce N records, consume M with a
 * consumer group and commit, `watchGroup` → the store holds N − M per partition and in total.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { createCollector } from '../collector/index.ts';
import { createEmbeddedStore } from '../collector/store/embedded.ts';
import { consumeAndCommit, produce, testKafkaBroker } from './helpers/kafka-broker.ts';
import { uniqueName, waitFor } from './helpers/wait.ts';

const FAR = { start: 0, end: Date.now() + 3_600_000 };

test('watchGroup: the collector writes N − M lag per partition and per group into the store', { timeout: 240_000 }, async () => {
  const mock = await testKafkaBroker();
  const store = await createEmbeddedStore({ path: ':memory:', retentionDays: 0 });
  const collector = createCollector({ store, intervalMs: 60_000, flushIntervalMs: 50, kafka: { brokers: mock.bootstrap, clientId: 'collector-test' } });
  const kafka = new Kafka({ clientId: 'collector-kafka-test', brokers: mock.bootstrap, logLevel: logLevel.NOTHING });
  let consumer: ReturnType<Kafka['consumer']> | undefined;
  let connected = false;
  try {
    const topic = uniqueName('orders');
    const group = uniqueName('orders-group');
    const perPartition = 5;
    const N = 4 * perPartition;
    await produce(mock.bootstrap, topic, Array.from({ length: N }, (_, i) => ({ value: `v${i}`, partition: i % 4 })));
    const take = [2, 5, 0, 3];
    const M = take.reduce((a, b) => a + b, 0);

    const c = await consumeAndCommit(kafka, topic, group, take);
    consumer = c;
    connected = true;
    await c.disconnect();
    connected = false;

    collector.watchGroup(group, [topic]);
    const lag = await waitFor(async () => {
      await collector.collectOnce();
      await collector.flush();
      const s = await store.query({ measurement: 'streamtune_kafka_partition_lag', field: 'value', ...FAR, where: { group, topic }, groupBy: ['partition'] });
      return s.length === 4 ? s : undefined;
    }, { timeoutMs: 60_000, intervalMs: 200, what: 'lag points of 4 partitions in the store' });
    assert.deepEqual(lag.map((s) => [s.tags.partition, s.points.at(-1)!.v]), take.map((n, p) => [String(p), perPartition - n]));
    const total = await store.query({ measurement: 'streamtune_kafka_group_totalLag', field: 'value', ...FAR, where: { group } });
    assert.equal(total[0]!.points.at(-1)!.v, N - M);
    // broker lag carries no source=dataset tag
    assert.deepEqual(await store.tagValues('streamtune_kafka_group_totalLag', 'source', FAR.start, FAR.end, { group }), []);
    assert.equal(collector.health().pointsRejected, 0);
  } finally {
    if (connected) await consumer?.disconnect().catch(() => {});
    await collector.stop();
    await store.close();
    await mock.stop();
  }
});
