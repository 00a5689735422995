/**
 * The Flink catalog learns a job's Kafka sources (platform/flink/kafka-sources.ts): topics from the
 * source vertex's KafkaSourceReader metric ids (fake Flink, OpenAPI-checked), partition counts and
 * the consumer group from a broker (a stub {@link FlinkKafkaBroker} here; the real broker and a real
 * Flink job: test/flink-watch.test.ts). The mapping of `flink.jobs` overrides what was learnt.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlinkCatalog, FlinkExecutor, kafkaPartitionsFromMetricIds, type FlinkKafkaBroker, type KafkaGroupDiscovery, type KafkaTopicPartition } from '../platform/index.ts';
import { startFakeFlink, type FakeJobInit } from './helpers/fake-flink.ts';

const SRC = 'e6d2d3fa73bb1969bec8dbd493924e43';
const WIN = '6fb4b8b7e03bc0e9a518d383d55b2ec8';

function job(name: string, partitions: number[]): FakeJobInit {
  const reader = Object.fromEntries(partitions.map((p) => [`Source__flights.KafkaSourceReader.topic.flights.partition.${p}.currentOffset`, ['10', '12']]));
  return {
    name,
    vertices: [
      { id: SRC, name: 'Source: flights', parallelism: 2, maxParallelism: 128, metrics: { numRecordsOut: ['1', '1'], ...reader } },
      { id: WIN, name: 'delay-by-origin', parallelism: 2, maxParallelism: 128, inputs: [SRC] },
    ],
  };
}

function stubBroker(discovery: KafkaGroupDiscovery, counts: Record<string, number> = { flights: 8 }): FlinkKafkaBroker & { asked: KafkaTopicPartition[][] } {
  const asked: KafkaTopicPartition[][] = [];
  return {
    asked,
    partitionCounts: async (topics) => Object.fromEntries(topics.filter((t) => t in counts).map((t) => [t, counts[t]!])),
    discoverGroup: async (tps) => {
      asked.push([...tps]);
      return discovery;
    },
  };
}

test('topic-partitions from metric ids with and without the subtask prefix', () => {
  assert.deepEqual(kafkaPartitionsFromMetricIds([
    'Source__flights.KafkaSourceReader.topic.flights.partition.3.currentOffset',
    '1.Source__flights.KafkaSourceReader.topic.flights.partition.3.committedOffset',
    '0.Source__x.KafkaSourceReader.topic.eu.orders.partition.0.currentOffset',
    'Source__flights.KafkaSourceReader.KafkaConsumer.records-lag-max',
  ]), [{ topic: 'flights', partition: 3 }, { topic: 'eu.orders', partition: 0 }]);
});

test('a job without mapping: topics from its reader metrics, the source capped at the broker\'s partition count, the group discovered', async () => {
  const fake = await startFakeFlink();
  try {
    const j = fake.addJob(job('flight-delays', [0, 1, 2, 3, 4, 5, 6, 7]));
    const broker = stubBroker({ kind: 'group', group: 'fd-group' });
    const catalog = new FlinkCatalog({ executor: new FlinkExecutor({ rest: { baseUrl: fake.url } }), kafka: broker });
    const changes: string[] = [];
    catalog.onChange((m) => changes.push(`${m.consumerGroup ?? '-'} ${m.topology[0]!.partitions ?? '-'}`));
    await catalog.refresh();
    const m = catalog.get(j.jid)!;
    assert.equal(m.consumerGroup, 'fd-group');
    assert.deepEqual(m.topics, ['flights']);
    assert.equal(m.topology.find((v) => v.id === SRC)!.partitions, 8);
    assert.equal(m.topology.find((v) => v.id === WIN)!.partitions, undefined, 'only sources have partitions');
    assert.equal(broker.asked[0]!.length, 8);
    assert.deepEqual(changes, ['fd-group 8']);
    // learnt once: a second poll asks the broker for nothing
    await catalog.refresh();
    assert.equal(broker.asked.length, 1);
    await catalog.close();
    assert.deepEqual(fake.violations, []);
  } finally {
    await fake.close();
  }
});

test('the mapping overrides the discovered group; an ambiguous discovery leaves the group to the mapping', async () => {
  const fake = await startFakeFlink();
  try {
    const a = fake.addJob(job('mapped', [0, 1]));
    const b = fake.addJob(job('ambiguous', [0, 1]));
    const broker = stubBroker({ kind: 'ambiguous', candidates: ['g1', 'g2'] }, { flights: 2, orders: 4 });
    const catalog = new FlinkCatalog({ executor: new FlinkExecutor({ rest: { baseUrl: fake.url } }), kafka: broker, jobs: { mapped: { consumerGroup: 'my-group', topics: ['orders'] } } });
    await catalog.refresh();
    const ma = catalog.get(a.jid)!;
    assert.equal(ma.consumerGroup, 'my-group');
    assert.deepEqual(ma.topics, ['orders'], 'the mapping\'s topics win');
    assert.equal(ma.topology[0]!.partitions, 2, 'the source vertex reads what its metrics name: flights, 2 partitions');
    const mb = catalog.get(b.jid)!;
    assert.equal(mb.consumerGroup, undefined);
    assert.deepEqual(mb.topics, ['flights']);
    assert.equal(broker.asked.length, 1, 'discovery is not asked for a mapped group');
    await catalog.close();
  } finally {
    await fake.close();
  }
});
