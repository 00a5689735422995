/**
 * Scenario: a stalled consumer, on a real Kafka broker. A job reads a Kafka topic and commits
 * its offsets to its consumer group at every completed checkpoint; then the job is cancelled while
 * records keep arriving. The lag collector (KafkaLagCollector) keeps measuring the group: its
 * committed offsets stop moving while the log-end offsets and the lag grow.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testKafkaBroker, produce } from '../helpers/kafka-broker.ts';
import { startScenario, setParallelism, explain } from '../helpers/scenario.ts';
import { tempDir, uniqueName, waitFor } from '../helpers/wait.ts';
import { KafkaLagCollector } from '../../collector/kafka/index.ts';
import type { MetricPoint } from '../../core/points.ts';
import '../../runtime/kafka-register.ts';
import { setTimeout as sleep } from 'node:timers/promises';

test('Kafka job stopped while records keep arriving → consumer-stalled, the source, no tuning action', { timeout: 120_000 }, async () => {
  const mock = await testKafkaBroker();
  const topic = uniqueName('orders');
  const group = uniqueName('sc-stalled');
  const lagPoints: MetricPoint[] = [];
  let committed = 0;
  const collector = new KafkaLagCollector({
    brokers: mock.bootstrap, intervalMs: 500, groups: [{ groupId: group, topics: [topic] }],
    sink: (p) => {
      lagPoints.push(...p);
      committed = Math.max(committed, ...p.filter((x) => x.measurement === 'streamtune_kafka_partition_committedOffset').map((x) => Number(x.fields.value)));
    },
  });
  let producing = true;
  let seq = 0;
  const producer = (async () => {
    while (producing) {
      await produce(mock.bootstrap, topic, Array.from({ length: 40 }, () => ({ key: `k${seq % 7}`, value: JSON.stringify({ seq: seq++ }) })));
      await sleep(100); // pacing the producer at ~400 records/s, not waiting for a condition
    }
  })();
  const sc = await startScenario({
    name: 'sc-stalled',
    checkpoints: { interval: 300, dir: tempDir() },
    vertices: [
      { name: 'orders', type: 'kafka-source', topic, groupId: group, brokers: mock.bootstrap, startFrom: 'earliest' },
      { name: 'out', type: 'discard-sink' },
    ],
    edges: [{ from: 'orders', to: 'out' }],
  }, { consumerGroup: group, extraPoints: () => lagPoints.splice(0) });
  try {
    collector.start();
    // the job consumes and commits
    await waitFor(() => committed > 0, { timeoutMs: 60_000, what: 'the job to commit offsets to its group' });
    await sc.job.cancel();
    sc.stopJobMetrics();
    const stoppedAt = Date.now();
    await waitFor(() => Date.now() - stoppedAt >= 5000, { intervalMs: 100, timeoutMs: 30_000, what: 'lag observations after the stop' });
    const { diagnosis: d } = await sc.diagnose(stoppedAt);
    assert.equal(d.rootCause.kind, 'consumer-stalled', explain(d));
    assert.equal(d.rootCause.vertex, 'orders', explain(d));
    assert.equal(d.lagStatus, 'ERR', explain(d));
    assert.ok(d.findings.some((f) => f.ruleId === 'lag.burrow'), explain(d));
    assert.deepEqual(setParallelism(d), [], explain(d));
    assert.deepEqual(d.recommendations.flatMap((r) => r.actions), [], explain(d));
  } finally {
    producing = false;
    await producer;
    await collector.stop();
    await sc.stop();
    await mock.stop();
  }
});
