/**
 * The real Kafka broker (platform/local/kafka.ts, Kafka 4.1.1 in KRaft combined mode) and the kafkajs
 * 2.2.4 operations streamtune uses against it: produce with topic auto-creation, createTopics,
 * consumer groups with rebalance, pause/resume/seek, commitOffsets with metadata, fetchOffsets,
 * fetchTopicOffsets, fetchTopicOffsetsByTimestamp, listGroups, describeGroups, setOffsets,
 * transactions read with read_committed, and a broker restart (clean and after SIGKILL) on the same
 * directory and ports. One broker for the whole file (test/helpers/kafka-broker.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import { isErrorCode } from '../core/errors.ts';
import { DEFAULT_KAFKA_VERSION, ensureKafkaArtifacts, startKafkaBroker } from '../platform/local/kafka.ts';
import { pomXml, resolveMavenJars } from '../platform/local/maven.ts';
import { produce, testKafkaBroker } from './helpers/kafka-broker.ts';
import { uniqueName, waitFor } from './helpers/wait.ts';

function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function client(bootstrap: string[]): Kafka {
  return new Kafka({ clientId: 'kafka-broker-test', brokers: bootstrap, logLevel: logLevel.NOTHING });
}

/** A consumer that short-polls (kafkajs waits out a long fetch on disconnect and rejoin). */
function consumer(kafka: Kafka, groupId: string): Consumer {
  return kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 500, maxWaitTimeInMs: 200 });
}

test('the broker: 127.0.0.1, the default version, auto-created topics get 4 partitions, createTopics sets its own', { timeout: 180_000 }, async () => {
  const kafka = await testKafkaBroker();
  assert.equal(kafka.version, DEFAULT_KAFKA_VERSION);
  assert.match(kafka.bootstrap[0]!, /^127\.0\.0\.1:\d+$/);
  assert.ok(alive(kafka.pid), 'broker JVM alive');
  const admin = client(kafka.bootstrap).admin();
  await admin.connect();
  try {
    const auto = uniqueName('auto');
    const meta = await produce(kafka.bootstrap, auto, [{ value: 'a', partition: 3 }, { value: 'b', partition: 3 }, { value: 'c', partition: 0 }]);
    assert.ok(meta.length > 0);
    const offs = await admin.fetchTopicOffsets(auto);
    assert.equal(offs.length, 4);
    assert.deepEqual(offs.sort((a, b) => a.partition - b.partition).map((o) => [o.partition, o.high, o.low]), [[0, '1', '0'], [1, '0', '0'], [2, '0', '0'], [3, '2', '0']]);

    const six = uniqueName('six');
    await kafka.createTopic(six, 6);
    await kafka.createTopic(six, 6); // exists: left as it is
    const md = await admin.fetchTopicMetadata({ topics: [six] });
    assert.equal(md.topics[0]!.partitions.length, 6);
    assert.ok(md.topics[0]!.partitions.every((p) => p.leader === 1));
    assert.ok((await admin.listTopics()).includes(six));
    const cluster = await admin.describeCluster();
    assert.equal(cluster.brokers.length, 1);
  } finally {
    await admin.disconnect();
  }
});

test('consumer groups: two members split 4 partitions 2 + 2, the survivor takes all 4; commits with metadata are read back by admin.fetchOffsets', { timeout: 180_000 }, async () => {
  const kafka = await testKafkaBroker();
  const k = client(kafka.bootstrap);
  const topic = uniqueName('grp');
  const group = uniqueName('grp-group');
  await kafka.createTopic(topic, 4);
  await produce(kafka.bootstrap, topic, Array.from({ length: 40 }, (_, i) => ({ value: `v${i}`, partition: i % 4 })));
  const admin = k.admin();
  await admin.connect();
  const c1 = consumer(k, group);
  const c2 = consumer(k, group);
  const assigned = new Map<Consumer, number[]>();
  for (const c of [c1, c2]) c.on(c.events.GROUP_JOIN, (e) => assigned.set(c, [...(e.payload.memberAssignment[topic] ?? [])].sort()));
  let c2Connected = false;
  try {
    const seen = new Set<string>();
    await c1.connect();
    await c1.subscribe({ topics: [topic], fromBeginning: true });
    await c1.run({ autoCommit: false, eachMessage: async ({ partition, message }) => { seen.add(`${partition}:${message.offset}`); } });
    await waitFor(() => seen.size === 40, { timeoutMs: 60_000, what: 'c1 to read all 40 records' });
    assert.deepEqual(assigned.get(c1), [0, 1, 2, 3]);
    await c1.commitOffsets([
      { topic, partition: 0, offset: '3', metadata: 'chk-7' },
      { topic, partition: 1, offset: '10', metadata: 'chk-7' },
    ] as Parameters<Consumer['commitOffsets']>[0]);
    const committed = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    const parts = committed[0]!.partitions.sort((a, b) => a.partition - b.partition);
    assert.deepEqual(parts.map((p) => [p.partition, p.offset]), [[0, '3'], [1, '10'], [2, '-1'], [3, '-1']]);
    assert.equal((parts[0] as { metadata?: string | null }).metadata, 'chk-7');

    await c2.connect();
    c2Connected = true;
    await c2.subscribe({ topics: [topic], fromBeginning: true });
    await c2.run({ autoCommit: false, eachMessage: async () => {} });
    await waitFor(() => assigned.get(c1)?.length === 2 && assigned.get(c2)?.length === 2, { timeoutMs: 60_000, what: 'a 2 + 2 split' });
    assert.deepEqual([...assigned.get(c1)!, ...assigned.get(c2)!].sort(), [0, 1, 2, 3]);

    const listed = await admin.listGroups();
    assert.ok(listed.groups.some((g) => g.groupId === group && g.protocolType === 'consumer'));
    const described = await admin.describeGroups([group]);
    assert.equal(described.groups[0]!.state, 'Stable');
    assert.equal(described.groups[0]!.members.length, 2);

    await c2.disconnect();
    c2Connected = false;
    await waitFor(() => assigned.get(c1)?.length === 4, { timeoutMs: 60_000, what: 'the survivor to take all 4 partitions' });
    await c1.disconnect();
    // no member left: the committed offsets (and metadata) are still answered
    const after = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    assert.equal(after[0]!.partitions.find((p) => p.partition === 0)!.offset, '3');
    assert.equal((await admin.describeGroups([group])).groups[0]!.state, 'Empty');
    // setOffsets on an empty group (not possible on the mock)
    await admin.setOffsets({ groupId: group, topic, partitions: [{ partition: 2, offset: '5' }] });
    const set = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    assert.equal(set[0]!.partitions.find((p) => p.partition === 2)!.offset, '5');
  } finally {
    if (c2Connected) await c2.disconnect().catch(() => {});
    await c1.disconnect().catch(() => {});
    await admin.disconnect();
  }
});

test('pause, resume and seek; fetchTopicOffsetsByTimestamp finds the first record at or after a time', { timeout: 120_000 }, async () => {
  const kafka = await testKafkaBroker();
  const k = client(kafka.bootstrap);
  const topic = uniqueName('seek');
  await kafka.createTopic(topic, 1);
  await produce(kafka.bootstrap, topic, Array.from({ length: 5 }, (_, i) => ({ value: `early${i}`, partition: 0 })));
  const mid = Date.now() + 1;
  await waitFor(() => Date.now() > mid, { intervalMs: 5, what: 'the clock to pass the mark' });
  await produce(kafka.bootstrap, topic, Array.from({ length: 5 }, (_, i) => ({ value: `late${i}`, partition: 0 })));
  const admin = k.admin();
  await admin.connect();
  const c = consumer(k, uniqueName('seek-group'));
  try {
    const byTime = await admin.fetchTopicOffsetsByTimestamp(topic, mid);
    assert.deepEqual(byTime, [{ partition: 0, offset: '5' }]);
    const got: string[] = [];
    await c.connect();
    await c.subscribe({ topics: [topic], fromBeginning: true });
    await c.run({ autoCommit: false, eachMessage: async ({ message }) => { got.push(String(message.value)); } });
    await waitFor(() => got.length === 10, { timeoutMs: 60_000, what: 'all 10 records' });
    c.pause([{ topic }]);
    assert.deepEqual(c.paused(), [{ topic, partitions: [0] }]);
    await produce(kafka.bootstrap, topic, [{ value: 'while-paused', partition: 0 }]);
    c.seek({ topic, partition: 0, offset: '5' });
    c.resume([{ topic }]);
    await waitFor(() => got.length === 16, { timeoutMs: 60_000, what: 'records 5..10 again after seek + resume' });
    assert.deepEqual(got.slice(10), ['late0', 'late1', 'late2', 'late3', 'late4', 'while-paused']);
  } finally {
    await c.disconnect().catch(() => {});
    await admin.disconnect();
  }
});

test('transactions: a read_committed consumer sees committed records, not aborted ones', { timeout: 120_000 }, async () => {
  const kafka = await testKafkaBroker();
  const k = client(kafka.bootstrap);
  const topic = uniqueName('tx');
  await kafka.createTopic(topic, 1);
  const producer: Producer = k.producer({ transactionalId: uniqueName('tx-id'), idempotent: true, maxInFlightRequests: 1 });
  const c = k.consumer({ groupId: uniqueName('tx-group'), readUncommitted: false, maxWaitTimeInMs: 200 });
  try {
    await producer.connect();
    const t1 = await producer.transaction();
    await t1.send({ topic, messages: [{ value: 'committed-1' }, { value: 'committed-2' }] });
    await t1.commit();
    const t2 = await producer.transaction();
    await t2.send({ topic, messages: [{ value: 'aborted' }] });
    await t2.abort();
    await produce(kafka.bootstrap, topic, [{ value: 'plain', partition: 0 }]);
    const got: string[] = [];
    await c.connect();
    await c.subscribe({ topics: [topic], fromBeginning: true });
    await c.run({ eachMessage: async ({ message }) => { got.push(String(message.value)); } });
    await waitFor(() => got.includes('plain'), { timeoutMs: 60_000, what: 'the plain record after the transactions' });
    assert.deepEqual(got, ['committed-1', 'committed-2', 'plain']);
  } finally {
    await c.disconnect().catch(() => {});
    await producer.disconnect().catch(() => {});
  }
});

test('restart on the same directory and ports: records and committed offsets survive a stop and a SIGKILL', { timeout: 240_000 }, async () => {
  const kafka = await testKafkaBroker();
  const { broker } = kafka;
  const topic = uniqueName('restart');
  const group = uniqueName('restart-group');
  await kafka.createTopic(topic, 2);
  await produce(kafka.bootstrap, topic, Array.from({ length: 6 }, (_, i) => ({ value: `r${i}`, partition: i % 2 })));
  const k = client(kafka.bootstrap);
  const c = consumer(k, group);
  await c.connect();
  await c.subscribe({ topics: [topic], fromBeginning: true });
  let n = 0;
  await c.run({ autoCommit: false, eachMessage: async () => { n++; } });
  await waitFor(() => n === 6, { timeoutMs: 60_000, what: '6 records' });
  await c.commitOffsets([{ topic, partition: 0, offset: '2' }, { topic, partition: 1, offset: '3' }]);
  await c.disconnect();

  const read = async (): Promise<{ high: string[]; committed: string[] }> => {
    const admin = client(kafka.bootstrap).admin();
    await admin.connect();
    try {
      const high = (await admin.fetchTopicOffsets(topic)).sort((a, b) => a.partition - b.partition).map((o) => o.high);
      const committed = (await admin.fetchOffsets({ groupId: group, topics: [topic] }))[0]!.partitions.sort((a, b) => a.partition - b.partition).map((p) => p.offset);
      return { high, committed };
    } finally {
      await admin.disconnect();
    }
  };
  const before = await read();
  assert.deepEqual(before, { high: ['3', '3'], committed: ['2', '3'] });

  const pid1 = broker.pid;
  await broker.stop();
  assert.equal(broker.running, false);
  assert.equal(alive(pid1), false);
  await broker.start();
  assert.notEqual(broker.pid, pid1);
  assert.deepEqual(await read(), before);

  const pid2 = broker.pid;
  await broker.kill();
  assert.equal(alive(pid2), false);
  // the next test of this file would restart it too; here explicitly
  const again = await testKafkaBroker();
  assert.equal(again.bootstrap[0], kafka.bootstrap[0]);
  assert.ok(broker.running);
  assert.deepEqual(await read(), before);
});

test('artifacts: the second resolution reads the cache (no Maven needed); a missing Maven or Java fails with ARTIFACT_UNAVAILABLE naming what is missing', { timeout: 120_000 }, async () => {
  const jars = await ensureKafkaArtifacts();
  const cached = await ensureKafkaArtifacts(DEFAULT_KAFKA_VERSION, { mvn: '/nonexistent/mvn' });
  assert.deepEqual(cached.jars, jars.jars);
  assert.ok(jars.jars.some((j) => j.endsWith(`kafka_2.13-${DEFAULT_KAFKA_VERSION}.jar`)));
  assert.ok(jars.jars.some((j) => /log4j-slf4j-impl-/.test(j)));
  assert.match(pomXml({ name: 'x', version: '1', artifacts: ['a.b:c:1.0'] }), /<groupId>a\.b<\/groupId><artifactId>c<\/artifactId><version>1\.0<\/version>/);

  const emptyCache = mkdtempSync(join(tmpdir(), 'streamtune-empty-cache-'));
  try {
    await assert.rejects(
      resolveMavenJars({ name: 'kafka', version: '4.1.1', artifacts: ['org.apache.kafka:kafka_2.13:4.1.1'], mvn: '/nonexistent/mvn', env: { ...process.env, STREAMTUNE_CACHE_DIR: emptyCache } }),
      (err: Error) => isErrorCode(err, 'ARTIFACT_UNAVAILABLE') && /Maven .*not installed/.test(err.message) && err.message.includes('org.apache.kafka:kafka_2.13:4.1.1'),
    );
    // a Maven that fails (a stand-in script, so no registry is asked for a name that does not exist)
    const fakeMvn = join(emptyCache, 'mvn');
    writeFileSync(fakeMvn, '#!/bin/sh\necho "[ERROR] Failed to collect dependencies"\nexit 1\n', { mode: 0o755 });
    await assert.rejects(
      resolveMavenJars({ name: 'kafka', version: '4.1.1', artifacts: ['org.apache.kafka:kafka_2.13:4.1.1'], mvn: fakeMvn, env: { ...process.env, STREAMTUNE_CACHE_DIR: emptyCache } }),
      (err: Error) => isErrorCode(err, 'ARTIFACT_UNAVAILABLE') && err.message.includes('org.apache.kafka:kafka_2.13:4.1.1') && err.message.includes('Failed to collect dependencies'),
    );
  } finally {
    rmSync(emptyCache, { recursive: true, force: true });
  }
  await assert.rejects(startKafkaBroker({ java: '/nonexistent/java' }), (err: Error) => isErrorCode(err, 'ARTIFACT_UNAVAILABLE') && /Java/.test(err.message));
});
