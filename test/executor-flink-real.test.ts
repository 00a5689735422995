/**
 * The JobExecutor contract on FlinkExecutor against a REAL Apache Flink 1.20 session cluster
 * (JobManager and TaskManager JVMs, platform/local/flink.ts) running the real flight-delays job
 * (flink-jobs/flight-delays) over a real Kafka broker holding real flights (platform/kafka/
 * produce-flights.ts). Slow: the cluster starts once for the file (test/helpers/flink-cluster.ts).
 *
 * The start that fails: the same job with an airports table that does not exist and no restart
 * attempts. `enrich` loads the table when it opens, so its task fails while INITIALIZING, never
 * RUNNING, and the job ends FAILED — a job that fails at start, deterministically. (A poison record
 * fails only once the tasks run and a record reached `enrich`, so a wait could see it running first.)
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { FlinkExecutor, produceFlights } from '../platform/index.ts';
import { runExecutorContract } from './executor-contract.ts';
import { flightDelaysArgs, outputDir, runJar, startRealFlink, type RealFlink } from './helpers/flink-cluster.ts';
import { uniqueName } from './helpers/wait.ts';

/** Flights in the topic: enough for the job to hold state in its windows, few enough to read at once. */
const FLIGHTS = 5_000;

async function produce(env: RealFlink, topic: string): Promise<void> {
  const kafka = new Kafka({ clientId: 'executor-contract', brokers: env.kafka.bootstrap, logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  try {
    const r = await produceFlights({ producer, topic, limit: FLIGHTS });
    assert.equal(r.records, FLIGHTS);
  } finally {
    await producer.disconnect();
  }
}

runExecutorContract(
  'Flink REST (real Flink 1.20 session cluster, flight-delays job)',
  async () => {
    const env = await startRealFlink();
    try {
      const topic = uniqueName('flights');
      await env.kafka.createTopic(topic, 4);
      await produce(env, topic);
      const job = { brokers: env.kafka.bootstrap.join(','), topic, groupId: uniqueName('g'), output: outputDir(env.flink, 'contract'), parallelism: 1 };
      const args = flightDelaysArgs(job);
      const jobId = await runJar(env.flink, env.jarId, args);
      const rest = { baseUrl: env.flink.restUrl };
      const executor = new FlinkExecutor({ rest, jarId: env.jarId, programArgs: args, pollIntervalMs: 250 });
      // later arguments win (FlightDelaysJob.parse): no airports table, no restart
      const failingArgs = flightDelaysArgs({ ...job, extra: ['--airports', join(env.flink.dir, 'no-such-airports.csv'), '--restart-attempts', '0'] });
      const failing = new FlinkExecutor({ rest, jarId: env.jarId, programArgs: failingArgs, pollIntervalMs: 250 });
      return {
        executor,
        jobId,
        windowVertex: 'delay-by-origin',
        timeoutMs: 120_000,
        failNextStart: () => failing,
        cleanup: () => env.close(),
      };
    } catch (err) {
      await env.close();
      throw err;
    }
  },
  { timeoutMs: 900_000 },
);
