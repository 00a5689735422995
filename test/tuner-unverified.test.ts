/**
 * An operation whose verification cannot judge it ends UNVERIFIED, never SUCCEEDED: a bundled job
 * whose metrics never reach the store (no collector here), so every look finds "not enough data";
 * after VERIFY_ATTEMPTS looks the operation keeps the change, ends UNVERIFIED with the reason, frees
 * the job for the next operation, and shows as needing attention.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ATTENTION_OPERATION_STATES, isTerminalOperationState, OPERATION_STATES } from '../tuner/types.ts';
import { VERIFY_ATTEMPTS } from '../tuner/operation.ts';
import { createTunerStack, datasetSpec, writeDataset } from './helpers/tuner-child.ts';
import { tempDir } from './helpers/wait.ts';

test('verification without data: UNVERIFIED (terminal, needs attention), the change kept, the reason given', { timeout: 120_000 }, async () => {
  assert.ok(OPERATION_STATES.includes('UNVERIFIED') && isTerminalOperationState('UNVERIFIED'));
  assert.ok((ATTENTION_OPERATION_STATES as readonly string[]).includes('UNVERIFIED'));
  const dataDir = tempDir();
  // no collector: nothing reaches the store
  const s = await createTunerStack({ dataDir, policies: { '*': { cooldownMs: 0, verifyAfterMs: 1000 } } });
  try {
    const m = await s.catalog.submitSpec(datasetSpec('unverified', writeDataset(dataDir, 50_000), { rate: 300 }));
    const vertex = m.topology.find((v) => v.inputs.length > 0)!;
    const op = await s.tuner.apply({ job_id: m.job_id, actions: [{ type: 'set-parallelism', vertex: vertex.name, from: vertex.parallelism, to: vertex.parallelism + 1 }], origin: 'user', expected: { lagUnderOneMinuteMs: 0 } });
    const done = await s.tuner.waitFor(op.id, 90_000);
    assert.equal(done.state, 'UNVERIFIED', `${done.error ?? ''} ${JSON.stringify(done.steps)}`);
    assert.match(done.error ?? '', new RegExp(`^applied, but not verified after ${VERIFY_ATTEMPTS} attempts: not enough data`));
    const verify = done.steps.find((x) => x.name === 'verify')!;
    assert.equal(verify.status, 'failed');
    assert.match(verify.message ?? '', /^could not verify: not enough data/);
    assert.equal(done.verification?.effective, false);
    assert.equal(done.verification?.lagUnderOneMinuteForecastMs, 0, 'the forecast is kept beside what could not be measured');
    assert.equal(done.verification?.lagUnderOneMinuteMs, undefined);
    // the change stays: the job runs with the new parallelism
    assert.equal(s.catalog.localJob(m.job_id)!.vertices.find((v) => v.name === vertex.name)!.parallelism, vertex.parallelism + 1);
    // and the job is free for the next operation
    const next = await s.tuner.apply({ job_id: m.job_id, actions: [{ type: 'set-parallelism', vertex: vertex.name, from: vertex.parallelism + 1, to: vertex.parallelism }], origin: 'user' });
    assert.ok(next.id);
    await s.tuner.waitFor(next.id, 90_000);
  } finally {
    await s.close();
  }
});
