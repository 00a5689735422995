/**
 * The JobExecutor contract on FlinkExecutor against the fake Flink REST server, which checks every
 * request and response against Flink's OpenAPI spec: every test ends with no violation recorded.
 */
import assert from 'node:assert/strict';
import { FlinkExecutor } from '../platform/index.ts';
import { runExecutorContract } from './executor-contract.ts';
import { startFakeFlink } from './helpers/fake-flink.ts';
import { fakeFlightDelays } from './helpers/catalogs.ts';

const JAR = '5b1f3c2e_flight-delays.jar';

runExecutorContract('Flink REST (fake Flink, OpenAPI-checked)', async () => {
  const fake = await startFakeFlink();
  fake.addJar(JAR, 'streamtune.jobs.FlightDelaysJob', fakeFlightDelays());
  const job = fake.addJob(fakeFlightDelays());
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
