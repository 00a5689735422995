/**
 * `onIneffective: 'rollback'` on the real bundled runtime with the collector writing into the
 * embedded store: a scale-up of a vertex that is not the bottleneck is found ineffective, rolled back
 * to the previous parallelism from a fresh savepoint (not the one taken before the change), ends
 * ROLLED_BACK, and the same action is refused for the blacklist period. The savepoint timeout is
 * 60 s: the rollback's stop-with-savepoint runs under back-pressure (aligned barriers wait behind the
 * slow agg), and took longer than 20 s in a run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTunerStack, datasetSpec, writeDataset } from './helpers/tuner-child.ts';
import { tempDir, waitFor } from './helpers/wait.ts';

test('an ineffective scale-up with onIneffective rollback is rolled back from a fresh savepoint and then FORBIDDEN', { timeout: 180_000 }, async () => {
  const dataDir = tempDir();
  const s = await createTunerStack({ dataDir, collectorIntervalMs: 1000, batchSize: 32, savepointTimeoutMs: 60_000, policies: { '*': { cooldownMs: 0, verifyAfterMs: 25_000, blockIneffectiveMs: 3_600_000, onIneffective: 'rollback' } } });
  try {
    // 300 records/s arrive; agg (10 ms per record: at most 100 records/s, a third of the input) is the bottleneck (batches of 32 records, so its backlog shows as lag within seconds); the user scales the sink instead
    const m = await s.catalog.submitSpec(datasetSpec('ineffective-rb', writeDataset(dataDir, 100_000), { rate: 300, checkpointMs: 1000, aggLatencyMs: 10 }));
    const t0 = Date.now();
    // a before window past the job's first VERIFY_SETTLE_MS (buffers filling), with a few steps in it
    await waitFor(() => Date.now() - t0 > 30_000, { timeoutMs: 35_000, intervalMs: 500, what: 'a before window' });
    const op = await s.tuner.apply({ job_id: m.job_id, actions: [{ type: 'set-parallelism', vertex: 'out', from: 1, to: 2 }], origin: 'user' });
    const done = await s.tuner.waitFor(op.id, 120_000);
    assert.equal(done.state, 'ROLLED_BACK', `${done.error ?? ''} ${JSON.stringify(done.verification)}`);
    assert.equal(done.verification?.effective, false);
    assert.match(done.error ?? '', /^ineffective: .*ineffective scale-up/);
    assert.deepEqual(done.steps.map((x) => [x.name, x.status]), [['savepoint', 'succeeded'], ['start', 'succeeded'], ['wait-running', 'succeeded'], ['verify', 'succeeded'], ['rollback', 'succeeded'], ['rollback', 'succeeded']]);

    // two savepoints recorded for the operation: before the change, and the fresh one the rollback started from
    const sps = s.tuner.snapshots(m.job_id).filter((x) => x.kind === 'savepoint' && x.operationId === op.id);
    assert.equal(sps.length, 2);
    const fresh = sps.find((x) => x.path !== done.savepointPath);
    assert.ok(fresh, 'the rollback took a new savepoint');
    assert.equal(done.steps[4]!.message, `savepoint ${fresh.path}`, 'the first rollback step stopped the job with the fresh savepoint');
    assert.equal(done.steps[5]!.message, 'running with the previous settings');

    const job = s.catalog.get(m.job_id)!;
    assert.equal(job.state, 'RUNNING');
    assert.equal(job.topology.find((v) => v.name === 'out')!.parallelism, 1, 'back to the previous parallelism');
    // blacklisted: neither the user nor auto mode may apply it again within blockIneffectiveMs
    await assert.rejects(
      s.tuner.apply({ job_id: m.job_id, actions: [{ type: 'set-parallelism', vertex: 'out', from: 1, to: 2 }], origin: 'user' }),
      (e: Error & { code?: string }) => e.code === 'FORBIDDEN' && /ineffective/.test(e.message),
    );
  } finally {
    await s.close();
  }
});
