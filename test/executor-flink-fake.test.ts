/**
 * The JobExecutor contract on FlinkExecutor against the fake Flink REST server, which checks every
 * request and response against Flink's OpenAPI spec: every test ends with no violation recorded.
 */
import assert from 'node:assert/strict';
import { FlinkExecutor } from '../platform/index.ts';
import { runExecutorContract } from './executor-contract.ts';
import { startFakeFlink, type FakeJobInit } from './helpers/fake-flink.ts';

const JAR = '5b1f3c2e_flight-delays.jar';

/** Source → keyed window → sink, at parallelism 2 (max 128), with Flink's JobVertexIDs. */
function flightDelays(): FakeJobInit {
  return {
    name: 'flight-delays',
    vertices: [
      { id: 'bc764cd8ddf7a0cff126f51c16239658', name: 'Source: flights -> enrich', parallelism: 2, maxParallelism: 128 },
      { id: '20ba6b65f97481d5570070de90e4e791', name: 'delay-by-origin', parallelism: 2, maxParallelism: 128, inputs: ['bc764cd8ddf7a0cff126f51c16239658'] },
      { id: 'ea632d67b7d595e5b851708ae9ad79d6', name: 'results: Writer -> results: Committer', parallelism: 2, maxParallelism: 128, inputs: ['20ba6b65f97481d5570070de90e4e791'] },
    ],
  };
}

runExecutorContract('Flink REST (fake Flink, OpenAPI-checked)', async () => {
  const fake = await startFakeFlink();
  fake.addJar(JAR, 'streamtune.jobs.FlightDelaysJob', flightDelays());
  const job = fake.addJob(flightDelays());
  const executor = new FlinkExecutor({ rest: { baseUrl: fake.url, retryBackoffMs: 10 }, jarId: JAR, pollIntervalMs: 20 });
  return {
    executor,
    jobId: job.jid,
    windowVertex: 'delay-by-origin',
    timeoutMs: 10_000,
    failNextStart: () => {
      fake.runStates.push('FAILED');
      return executor;
    },
    check: () => assert.deepEqual(fake.violations, [], 'requests and responses must match Flink’s OpenAPI spec'),
    cleanup: () => fake.close(),
  };
});
