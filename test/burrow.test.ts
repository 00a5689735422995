/**
 * Burrow 1.2.1 (Debian) with its own ZooKeeper (Debian jars) as a lag-status peer against a real
 * Kafka broker: it reports a status and the per-partition lag (log-end − committed offset) of a real
 * consumer group. Burrow 1.2.1 cannot read Kafka 4.x (test/helpers/burrow.ts), so this file's broker
 * is Kafka 3.9.1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { isErrorCode } from '../core/errors.ts';
import { KAFKA_3_VERSION } from '../platform/local/kafka.ts';
import { startBurrow, type BurrowGroupStatus } from './helpers/burrow.ts';
import { consumeAndCommit, produce, testKafkaBroker } from './helpers/kafka-broker.ts';
import { uniqueName, waitFor } from './helpers/wait.ts';

test('Burrow reports the status and the lag of a real consumer group on Kafka 3.9', { timeout: 240_000 }, async () => {
  const kafka = await testKafkaBroker({ version: KAFKA_3_VERSION });
  const burrow = await startBurrow({ bootstrap: kafka.bootstrap, kafkaVersion: kafka.version });
  const k = new Kafka({ clientId: 'burrow-test', brokers: kafka.bootstrap, logLevel: logLevel.NOTHING });
  try {
    const topic = uniqueName('burrow');
    await kafka.createTopic(topic, 2);
    await produce(kafka.bootstrap, topic, Array.from({ length: 20 }, (_, i) => ({ value: `v${i}`, partition: i % 2 })));
    // Burrow drops commits for topics it does not know yet
    await waitFor(async () => (await burrow.topics()).includes(topic), { timeoutMs: 60_000, intervalMs: 250, what: `Burrow to list ${topic}` });

    // lagging: 4 of 10 and 7 of 10 consumed and committed once, then the consumer leaves
    const lagging = uniqueName('burrow-lagging');
    const c1 = await consumeAndCommit(k, topic, lagging, [4, 7]);
    await c1.disconnect();
    // caught up: everything consumed and committed
    const caughtUp = uniqueName('burrow-caught-up');
    const c2 = await consumeAndCommit(k, topic, caughtUp, [10, 10]);
    await c2.disconnect();

    const lag = await waitFor(async () => {
      const s = await burrow.lag(lagging);
      return s.partitions.length === 2 && s.totallag === 9 ? s : undefined;
    }, { timeoutMs: 60_000, intervalMs: 250, what: `Burrow's lag of ${lagging}` });
    const byPartition = (s: BurrowGroupStatus): Array<[number, number, number | undefined]> =>
      s.partitions.map((p) => [p.partition, p.current_lag, p.end?.offset] as [number, number, number | undefined]).sort((a, b) => a[0] - b[0]);
    assert.deepEqual(byPartition(lag), [[0, 6, 4], [1, 3, 7]]);
    assert.equal(lag.group, lagging);
    assert.equal(lag.cluster, burrow.cluster);
    // one commit with lag, no progress since: Burrow's rule 'stopped' (partition STOP, group ERR)
    assert.ok(lag.partitions.every((p) => p.status === 'STOP'), JSON.stringify(lag));
    assert.equal(lag.status, 'ERR');
    assert.equal((await burrow.status(lagging)).status, 'ERR');

    const ok = await waitFor(async () => {
      const s = await burrow.lag(caughtUp);
      return s.partitions.length === 2 ? s : undefined;
    }, { timeoutMs: 60_000, intervalMs: 250, what: `Burrow's lag of ${caughtUp}` });
    assert.deepEqual(byPartition(ok), [[0, 0, 10], [1, 0, 10]]);
    assert.equal(ok.status, 'OK');
    assert.ok((await burrow.consumers()).includes(caughtUp));
    assert.equal((await burrow.status(uniqueName('no-such-group'))).status, 'NOTFOUND');
  } finally {
    await burrow.stop();
  }
});

test('startBurrow refuses a Kafka 4.x broker (Burrow 1.2.1 cannot read it)', async () => {
  await assert.rejects(startBurrow({ bootstrap: ['127.0.0.1:1'], kafkaVersion: '4.1.1' }), (err: Error) => isErrorCode(err, 'INVALID_ARGUMENT') && /3\.9/.test(err.message));
});
