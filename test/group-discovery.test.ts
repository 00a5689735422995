/**
 * Consumer-group discovery (collector/kafka/group-discovery.ts): the pure rule on hand-made broker
 * states, then the kafkajs reader against a real Kafka broker where a Flink-like source (assigns
 * partitions itself, never joins the group, commits its checkpointed offsets) and other groups
 * commit offsets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import {
  discoverConsumerGroup,
  discoverConsumerGroupOnBroker,
  jobPartitionsFromMetricIds,
  readBrokerGroups,
  type BrokerGroupOffsets,
  type JobTopicPartition,
} from '../collector/kafka/group-discovery.ts';
import { commitAsAssigned, consumeAndCommit, produce, testKafkaBroker } from './helpers/kafka-broker.ts';
import { uniqueName } from './helpers/wait.ts';

const job: JobTopicPartition[] = [0, 1, 2, 3].map((partition) => ({ topic: 'orders', partition }));
const commits = (topic: string, offsets: number[]) => offsets.map((offset, partition) => ({ topic, partition, offset }));
const group = (groupId: string, ...offsets: Array<Array<{ topic: string; partition: number; offset: number }>>): BrokerGroupOffsets => ({ groupId, state: 'Empty', members: 0, offsets: offsets.flat() });

test('one group covers every topic-partition of the job → that group', () => {
  const r = discoverConsumerGroup(job, [
    group('flink-orders', commits('orders', [5, 6, 7, 8])),
    group('partial', commits('orders', [5, 6, -1, 8])), // partition 2 never committed
    group('other-topic', commits('payments', [1, 1, 1, 1])),
  ]);
  assert.equal(r.kind, 'group');
  assert.equal(r.kind === 'group' && r.group, 'flink-orders');
  assert.equal(r.kind === 'group' && r.reason, 'only-candidate');
});

test('several cover the job: the only one with exactly the job\'s topics wins; two exact ones are ambiguous, exact first', () => {
  const wider = group('orders-and-payments', commits('orders', [1, 1, 1, 1]), commits('payments', [2, 2]));
  const exactOne = group('flink-orders', commits('orders', [5, 6, 7, 8]));
  const r = discoverConsumerGroup(job, [wider, exactOne]);
  assert.deepEqual(r.kind === 'group' ? [r.group, r.reason] : r, ['flink-orders', 'only-exact-candidate']);

  const r2 = discoverConsumerGroup(job, [wider, exactOne, group('a-replay', commits('orders', [0, 0, 0, 0]))]);
  assert.equal(r2.kind, 'ambiguous');
  assert.deepEqual(r2.kind === 'ambiguous' && r2.candidates.map((c) => [c.groupId, c.exact, c.extraTopics]), [
    ['a-replay', true, []],
    ['flink-orders', true, []],
    ['orders-and-payments', false, ['payments']],
  ]);
});

test('several jobs read one topic with their own groups: the group whose offsets equal the job\'s committed offsets wins', () => {
  const groups = [group('job-a', commits('orders', [5, 6, 7, 8])), group('job-b', commits('orders', [50, 60, 70, 80])), group('job-c', commits('orders', [5, 6, 7, 9]))];
  assert.equal(discoverConsumerGroup(job, groups).kind, 'ambiguous', 'without the job\'s offsets all three cover it');
  const withOffsets = job.map((tp, i) => ({ ...tp, offset: [50, 60, 70, 80][i]! }));
  const r = discoverConsumerGroup(withOffsets, groups);
  assert.deepEqual(r.kind === 'group' ? [r.group, r.reason] : r, ['job-b', 'offsets-match']);
  // a commit between the two reads: no group matches on every partition → ambiguous, tried again later
  assert.equal(discoverConsumerGroup(job.map((tp) => ({ ...tp, offset: 99 })), groups).kind, 'ambiguous');
});

test('no group covers the job, or the job names no partition → none', () => {
  assert.deepEqual(discoverConsumerGroup(job, [group('partial', commits('orders', [5, 6, 7]))]), { kind: 'none', reason: 'no-group-covers' });
  assert.deepEqual(discoverConsumerGroup(job, []), { kind: 'none', reason: 'no-group-covers' });
  assert.deepEqual(discoverConsumerGroup([], [group('g', commits('orders', [1]))]), { kind: 'none', reason: 'no-partitions' });
  // a job reading one partition of a topic is covered by a group that committed more of it
  assert.equal(discoverConsumerGroup([{ topic: 'orders', partition: 2 }], [group('g', commits('orders', [1, 1, 1, 1]))]).kind, 'group');
});

test('topic-partitions from Flink REST metric identifiers, topic names with dots included', () => {
  assert.deepEqual(jobPartitionsFromMetricIds([
    '0.Source__orders.KafkaSourceReader.topic.orders.partition.3.currentOffset',
    '1.Source__orders.KafkaSourceReader.topic.orders.partition.3.committedOffset',
    '0.Source__orders.KafkaSourceReader.topic.eu.orders.v2.partition.0.currentOffset',
    '0.Source__orders.KafkaSourceReader.KafkaConsumer.records-lag-max',
    '0.Source__orders.numRecordsOut',
  ]), [{ topic: 'orders', partition: 3 }, { topic: 'eu.orders.v2', partition: 0 }]);
});

test('against a real broker: the group of a Flink-like source (assigned partitions, offsets committed, never a member) is found; a second exact group makes it ambiguous', { timeout: 180_000 }, async () => {
  const kafka = await testKafkaBroker();
  const k = new Kafka({ clientId: 'group-discovery-test', brokers: kafka.bootstrap, logLevel: logLevel.NOTHING });
  const admin = k.admin();
  await admin.connect();
  try {
    const topic = uniqueName('orders');
    const other = uniqueName('payments');
    await kafka.createTopic(topic, 4);
    await kafka.createTopic(other, 2);
    await produce(kafka.bootstrap, topic, Array.from({ length: 20 }, (_, i) => ({ value: `o${i}`, partition: i % 4 })));
    await produce(kafka.bootstrap, other, [{ value: 'p', partition: 0 }, { value: 'p', partition: 1 }]);

    // Flink's KafkaSource: no group membership, offsets committed for the partitions it assigned itself
    const flinkGroup = uniqueName('flink-job');
    await commitAsAssigned(kafka.bootstrap, flinkGroup, topic, { 0: 1, 1: 2, 2: 3, 3: { offset: 4, metadata: 'chk-3' } });
    // a consumer group reading both topics (covers the job too, not exactly)
    const wide = uniqueName('wide');
    await (await consumeAndCommit(k, topic, wide, [2, 2, 2, 2])).disconnect();
    await (await consumeAndCommit(k, other, wide, [1, 1])).disconnect();
    // a group that committed only part of the job's partitions
    const partial = uniqueName('partial');
    await (await consumeAndCommit(k, topic, partial, [1, 0, 0, 0])).disconnect();

    const jobPartitions = [0, 1, 2, 3].map((partition) => ({ topic, partition }));
    const groups = await readBrokerGroups(admin);
    const flink = groups.find((g) => g.groupId === flinkGroup);
    assert.ok(flink, 'the Flink-like group is listed');
    assert.equal(flink.members, 0);
    assert.equal(flink.state, 'Empty');
    assert.deepEqual(flink.offsets.filter((o) => o.topic === topic && o.offset >= 0).map((o) => [o.partition, o.offset]).sort(), [[0, 1], [1, 2], [2, 3], [3, 4]]);

    const found = await discoverConsumerGroupOnBroker(admin, jobPartitions);
    assert.equal(found.kind, 'group', JSON.stringify(found));
    assert.equal(found.kind === 'group' && found.group, flinkGroup);
    assert.equal(found.kind === 'group' && found.reason, 'only-exact-candidate');

    // a second job's group over the same topic: now ambiguous, the configured mapping decides
    const twin = uniqueName('flink-twin');
    await commitAsAssigned(kafka.bootstrap, twin, topic, { 0: 0, 1: 0, 2: 0, 3: 0 });
    const again = await discoverConsumerGroupOnBroker(admin, jobPartitions);
    assert.equal(again.kind, 'ambiguous');
    const names = again.kind === 'ambiguous' ? again.candidates.map((c) => c.groupId) : [];
    assert.ok(names.includes(flinkGroup) && names.includes(twin) && names.includes(wide) && !names.includes(partial), names.join(','));
    assert.ok(again.kind === 'ambiguous' && !again.candidates.at(-1)!.exact, 'the wider group comes last');
  } finally {
    await admin.disconnect();
  }
});
