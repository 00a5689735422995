/**
 * The kcat librdkafka mock helper itself (test/helpers/kafka.ts). Every test that measures consumer
 * lag or talks Kafka now runs on the real broker (test/helpers/kafka-broker.ts); the mock stays for
 * what only it offers: a cluster of several brokers in one light process, started in milliseconds
 * (the real launcher runs one broker). Remove this file together with the mock.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { startKafkaMock, produce } from './helpers/kafka.ts';
import { uniqueName, waitFor } from './helpers/wait.ts';

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

for (const brokers of [1, 3]) {
  test(`startKafkaMock with ${brokers} broker(s): produce lands in 4 auto-created partitions, stop kills kcat`, { timeout: 120_000 }, async () => {
    const mock = await startKafkaMock({ brokers });
    try {
      assert.equal(mock.bootstrap.length, brokers);
      for (const b of mock.bootstrap) assert.match(b, /^127\.0\.0\.1:\d+$/);
      const topic = uniqueName('mock');
      await produce(mock.bootstrap, topic, [
        { value: 'a', partition: 0 },
        { value: 'b', partition: 0 },
        { key: 'k', value: 'c', partition: 3 },
      ]);
      const admin = new Kafka({ clientId: 't', brokers: mock.bootstrap, logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      try {
        const offsets = await admin.fetchTopicOffsets(topic);
        const high = Object.fromEntries(offsets.map((o) => [o.partition, Number(o.high)]));
        assert.deepEqual(high, { 0: 2, 1: 0, 2: 0, 3: 1 });
      } finally {
        await admin.disconnect();
      }
    } finally {
      await mock.stop();
    }
    assert.equal(alive(mock.pid), false);
    await mock.stop(); // idempotent
  });
}

test('startKafkaMock fails (not skips) when kcat cannot be started', { timeout: 30_000 }, async () => {
  await assert.rejects(startKafkaMock({ kcatPath: '/nonexistent/kcat' }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'KAFKA_ERROR');
    assert.match(err.message, /kcat is not installed/);
    return true;
  });
});

test('produce fails with KAFKA_ERROR once the cluster is stopped', { timeout: 120_000 }, async () => {
  const mock = await startKafkaMock();
  await mock.stop();
  await waitFor(() => !alive(mock.pid), { what: 'kcat exit' });
  await assert.rejects(produce(mock.bootstrap, uniqueName('gone'), [{ value: 'x' }]), { code: 'KAFKA_ERROR' });
});
