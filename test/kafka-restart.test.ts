// test-runner: serial
/**
 * The Kafka broker (real Apache Kafka, platform/local/kafka.ts) stopped and started again under a
 * running job (the bundled runtime's kafka-source, committing offsets on checkpoints) and a running
 * collector (consumer-group lag every second): lag collection resumes after the restart, the job's
 * committed offsets move again, and the lag status the incidents and pages use (control-plane
 * read model `lagNowOfJobs`, Burrow's evaluation with the default parameters) never turns ERR
 * (STOP/STALL/REWIND) from the gap.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { createCollector } from '../collector/collector.ts';
import { createEmbeddedStore } from '../collector/store/embedded.ts';
import { lagNowOfJobs } from '../control-plane/read-model.ts';
import type { ManagedJob } from '../platform/index.ts';
import { LocalJob } from '../runtime/job.ts';
import { validateJobSpec } from '../runtime/spec.ts';
import '../runtime/index.ts';
import { produce, testKafkaBroker } from './helpers/kafka-broker.ts';
import { tempDir, uniqueName, waitFor } from './helpers/wait.ts';

test('Kafka broker restarted under a running job and collector: lag collection resumes, no STOP/STALL from the gap', { timeout: 400_000 }, async (t) => {
  const kafka0 = await testKafkaBroker();
  const brokers = kafka0.bootstrap;
  const topic = uniqueName('restart');
  const group = uniqueName('restart-group');
  await produce(brokers, topic, Array.from({ length: 400 }, (_, i) => ({ key: `k${i}`, value: JSON.stringify({ i, ts: Date.now() }), partition: i % 4 })));
  const spec = validateJobSpec({
    name: 'kafka-restart',
    checkpoints: { interval: 1000, dir: tempDir() },
    restartStrategy: { type: 'fixed-delay', attempts: 1000, delay: 1000 },
    vertices: [
      { name: 'events', type: 'kafka-source', topic, groupId: group, brokers, parallelism: 1 },
      { name: 'out', type: 'discard-sink' },
    ],
    edges: [{ from: 'events', to: 'out' }],
  }, 'test kafka-restart');
  const job = new LocalJob(spec, {});
  const store = await createEmbeddedStore({ path: ':memory:' });
  const collector = createCollector({ store, intervalMs: 1000, flushIntervalMs: 200, kafka: { brokers } });
  const client = new Kafka({ clientId: 'restart-producer', brokers, logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  let producer: Producer | undefined = client.producer();
  let producing = true;
  let produced = 0;
  const managed = { job_id: 'kafka-restart', name: 'kafka-restart', consumerGroup: group } as unknown as ManagedJob;
  const statuses: Array<{ at: number; status: string; partitions: string }> = [];
  let watching = true;
  const watch = (async () => {
    while (watching) {
      const l = (await lagNowOfJobs(store, [managed], Date.now()).catch(() => undefined))?.get(managed.job_id);
      if (l) statuses.push({ at: Date.now(), status: l.status, partitions: l.partitions.map((p) => `${p.partition}:${p.status}:${p.lag}`).join(' ') });
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  // records keep arriving (a producer every 100 ms, errors during the outage ignored)
  const produceLoop = (async () => {
    await producer!.connect();
    while (producing) {
      await producer!.send({ topic, messages: Array.from({ length: 8 }, (_, k) => ({ value: JSON.stringify({ i: produced + k, ts: Date.now() }), partition: k % 4 })) }).then(() => (produced += 8), () => undefined);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  try {
    await job.start();
    collector.watchGroup(group, [topic]);
    collector.start();
    const lagPoints = async (from: number) => (await store.query({ measurement: 'streamtune_kafka_partition_committedOffset', field: 'value', start: from, end: Date.now() + 1000, where: { group }, groupBy: ['partition'] }));
    await waitFor(async () => (await lagPoints(0)).length === 4 && statuses.some((s) => s.status === 'OK'), { timeoutMs: 120_000, intervalMs: 500, what: 'lag collected for 4 partitions, status OK' });
    const committedBefore = job.stats.numberOfCompletedCheckpoints;

    const stopAt = Date.now();
    await kafka0.broker.stop();
    t.diagnostic('broker stopped');
    await kafka0.broker.start();
    const restartedAt = Date.now();
    t.diagnostic(`broker down for ${restartedAt - stopAt} ms`);

    // collection resumes: committed offsets of every partition after the restart, and they move
    const resumed = await waitFor(async () => {
      const s = await lagPoints(restartedAt);
      return s.length === 4 && s.every((x) => x.points.length >= 3) ? s : undefined;
    }, { timeoutMs: 180_000, intervalMs: 1000, what: 'lag collection after the restart' });
    await waitFor(() => job.stats.numberOfCompletedCheckpoints > committedBefore + 3, { timeoutMs: 120_000, intervalMs: 500, what: 'checkpoints (and offset commits) after the restart' });
    const moved = await waitFor(async () => {
      const s = await lagPoints(restartedAt);
      return s.every((x) => x.points.at(-1)!.v > x.points[0]!.v) ? s : undefined;
    }, { timeoutMs: 120_000, intervalMs: 1000, what: 'committed offsets moving after the restart' });
    // a minute of evaluations after the restart (the window the STOP rule looks back over)
    await waitFor(() => statuses.filter((s) => s.at > restartedAt + 60_000).length > 0, { timeoutMs: 180_000, intervalMs: 1000, what: 'a minute of lag evaluations after the restart' });
    t.diagnostic(`produced ${produced}; points per partition after restart: ${resumed.map((s) => s.points.length).join(',')} → ${moved.map((s) => s.points.length).join(',')}; job ${job.state}, restarts ${job.numRestarts}`);
    const bad = statuses.filter((s) => s.status === 'ERR');
    const firstOk = statuses.findIndex((s) => s.status === 'OK');
    t.diagnostic(`${statuses.length} evaluations from before the stop to a minute after the restart; statuses from the first OK on: ${[...new Set(statuses.slice(firstOk).map((s) => s.status))].join(',')}`);
    assert.deepEqual(bad.slice(0, 5), [], 'no ERR (STOP/STALL/REWIND) from the gap');
    assert.equal(job.state, 'RUNNING');
  } finally {
    watching = false;
    producing = false;
    await watch;
    await produceLoop;
    await producer?.disconnect().catch(() => undefined);
    producer = undefined;
    await collector.stop();
    await job.cancel();
    await store.close();
    await kafka0.stop();
  }
});
