/**
 * Verification and auto mode on the real bundled runtime with the collector writing into the
 * embedded store: a scale-up of a vertex that is not the bottleneck is INEFFECTIVE and the same
 * action is then refused (FORBIDDEN); auto mode applies a diagnosis' recommendation and respects the
 * cooldown, the operations-per-hour limit, stale recommendations, the per-vertex parallelism cap and
 * the allowed time windows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Diagnosis, TuningAction } from '../diagnoser/types.ts';
import { createTunerStack, datasetSpec, writeDataset } from './helpers/tuner-child.ts';
import { tempDir, waitFor } from './helpers/wait.ts';

const code = (c: string) => (e: Error & { code?: string }) => e.code === c;

function diagnosis(id: string, jobId: string, actions: TuningAction[]): Diagnosis {
  return {
    id, job_id: jobId, windowStart: 0, windowEnd: 1, createdAt: Date.now(), trigger: { type: 'sweep' }, lagStatus: 'WARN', findings: [],
    rootCause: { kind: 'under-provisioned', vertex: 'agg', confidence: 0.9, explanation: 'test' },
    recommendations: [{ id: `${id}-r`, ruleId: 'backpressure.bottleneck', title: 'scale', rationale: 'test', expected: {}, actions }],
    severity: 'moderate',
  };
}

test('a scale-up of a vertex that is not the bottleneck is INEFFECTIVE; the same action is then FORBIDDEN', { timeout: 180_000 }, async () => {
  const dataDir = tempDir();
  const s = await createTunerStack({ dataDir, collectorIntervalMs: 1000, batchSize: 32, policies: { '*': { cooldownMs: 0, verifyAfterMs: 25_000, blockIneffectiveMs: 3_600_000 } } });
  try {
    // 300 records/s arrive; agg (10 ms per record: at most 100 records/s, a third of the input) is the bottleneck and the lag grows (batches of 32 records, so its backlog shows within seconds); the user scales the sink
    const m = await s.catalog.submitSpec(datasetSpec('ineffective', writeDataset(dataDir, 100_000), { rate: 300, checkpointMs: 1000, aggLatencyMs: 10 }));
    const t0 = Date.now();
    // a before window past the job's first VERIFY_SETTLE_MS (buffers filling), with a few steps in it
    await waitFor(() => Date.now() - t0 > 30_000, { timeoutMs: 35_000, intervalMs: 500, what: 'a before window' });
    const op = await s.tuner.apply({ job_id: m.job_id, actions: [{ type: 'set-parallelism', vertex: { id: 'out', name: 'out' }, from: 1, to: 2 }], origin: 'user' });
    const done = await s.tuner.waitFor(op.id, 120_000);
    assert.equal(done.state, 'INEFFECTIVE', `${done.error ?? ''} ${JSON.stringify(done.verification)}`);
    assert.equal(done.verification?.effective, false);
    assert.match(done.verification?.reason ?? '', /ineffective scale-up/);
    assert.ok((done.verification?.lagTrendBefore ?? 0) > 0 && (done.verification?.lagTrendAfter ?? 0) > 0, `agg stays the bottleneck: lag grows before and after (${done.verification?.reason})`);
    assert.ok(done.downtimeMs !== undefined && done.downtimeMs >= 0);
    assert.deepEqual(done.steps.map((x) => x.name), ['savepoint', 'start', 'wait-running', 'verify']);
    assert.equal(s.catalog.get(m.job_id)!.topology.find((v) => v.name === 'out')!.parallelism, 2, 'kept (onIneffective: mark)');
    await assert.rejects(s.tuner.apply({ job_id: m.job_id, actions: [{ type: 'set-parallelism', vertex: { id: 'out', name: 'out' }, from: 2, to: 3 }], origin: 'user' }), code('FORBIDDEN'));
    // auto mode does not pick it either, and says why
    s.tuner.setPolicy(m.job_id, { mode: 'auto' });
    const r = await s.tuner.onDiagnosis(diagnosis('d-x', m.job_id, [{ type: 'set-parallelism', vertex: { id: 'out', name: 'out' }, from: 2, to: 3 }]));
    assert.equal(r.operation, undefined);
    assert.match(r.skipped ?? '', /blocked/);
  } finally {
    await s.close();
  }
});

test('auto mode applies a recommendation, then respects the cooldown, max operations per hour, stale recommendations, max parallelism and the allowed time windows', { timeout: 120_000 }, async () => {
  const dataDir = tempDir();
  const s = await createTunerStack({ dataDir, policies: { '*': { mode: 'auto', cooldownMs: 3_600_000, verifyAfterMs: 0, maxOperationsPerHour: 1 } } });
  try {
    const m = await s.catalog.submitSpec(datasetSpec('auto', writeDataset(dataDir, 100_000), { rate: 300 }));
    await s.bus.publish('diagnoses', diagnosis('d-1', m.job_id, [{ type: 'set-parallelism', vertex: { id: 'agg', name: 'agg' }, from: 1, to: 2 }]));
    const op = await waitFor(() => s.tuner.operations({ job_id: m.job_id }).find((o) => o.diagnosisId === 'd-1'), { what: 'an auto operation' });
    assert.equal(op.origin, 'auto');
    assert.equal((await s.tuner.waitFor(op.id, 60_000)).state, 'SUCCEEDED');
    assert.equal(s.diagnoses.get('d-1'), undefined, 'the diagnosis was only published, not stored');

    const r2 = await s.tuner.onDiagnosis(diagnosis('d-2', m.job_id, [{ type: 'set-parallelism', vertex: { id: 'agg', name: 'agg' }, from: 2, to: 3 }]));
    assert.equal(r2.operation, undefined);
    assert.match(r2.skipped ?? '', /cooldown/);
    assert.match(s.tuner.lastSkipped(m.job_id)?.reason ?? '', /cooldown/);
    // a user's apply is held by the cooldown too (CONFLICT with retryAfterMs)
    await assert.rejects(s.tuner.apply({ job_id: m.job_id, actions: [{ type: 'set-parallelism', vertex: { id: 'agg', name: 'agg' }, from: 2, to: 3 }], origin: 'user' }), (e: Error & { code?: string; details?: { retryAfterMs?: number } }) => e.code === 'CONFLICT' && (e.details?.retryAfterMs ?? 0) > 0);

    s.tuner.setPolicy(m.job_id, { cooldownMs: 0 });
    const r3 = await s.tuner.onDiagnosis(diagnosis('d-3', m.job_id, [{ type: 'set-parallelism', vertex: { id: 'agg', name: 'agg' }, from: 2, to: 3 }]));
    assert.equal(r3.operation, undefined);
    assert.match(r3.skipped ?? '', /automatic operations in the last hour/);

    s.tuner.setPolicy(m.job_id, { maxOperationsPerHour: 5 });
    const r4 = await s.tuner.onDiagnosis(diagnosis('d-4', m.job_id, [{ type: 'set-parallelism', vertex: { id: 'agg', name: 'agg' }, from: 1, to: 2 }]));
    assert.match(r4.skipped ?? '', /stale/);
    assert.throws(() => s.tuner.setPolicy(m.job_id, { maxOperationsPerHour: -1 }), code('INVALID_CONFIG'));

    // the per-vertex parallelism cap
    s.tuner.setPolicy(m.job_id, { maxParallelism: 2 });
    const r6 = await s.tuner.onDiagnosis(diagnosis('d-6', m.job_id, [{ type: 'set-parallelism', vertex: { id: 'agg', name: 'agg' }, from: 2, to: 3 }]));
    assert.equal(r6.operation, undefined);
    assert.match(r6.skipped ?? '', /exceeds the policy's maxParallelism 2/);
    // the allowed time windows (local time of the process): outside them nothing is applied, inside it is
    const nowMin = new Date().getHours() * 60 + new Date().getMinutes();
    const hhmm = (min: number) => `${String(Math.floor((min % 1440) / 60)).padStart(2, '0')}:${String(min % 60).padStart(2, '0')}`;
    s.tuner.setPolicy(m.job_id, { maxParallelism: 32, allowedWindows: [`${hhmm(nowMin + 60)}-${hhmm(nowMin + 120)}`] });
    const r7 = await s.tuner.onDiagnosis(diagnosis('d-7', m.job_id, [{ type: 'set-parallelism', vertex: { id: 'agg', name: 'agg' }, from: 2, to: 3 }]));
    assert.equal(r7.operation, undefined);
    assert.match(r7.skipped ?? '', /outside the allowed windows/);
    s.tuner.setPolicy(m.job_id, { allowedWindows: [`${hhmm(nowMin + 1440 - 60)}-${hhmm(nowMin + 60)}`] });
    const r8 = await s.tuner.onDiagnosis(diagnosis('d-8', m.job_id, [{ type: 'set-parallelism', vertex: { id: 'agg', name: 'agg' }, from: 2, to: 3 }]));
    assert.ok(r8.operation, r8.skipped);
    assert.equal((await s.tuner.waitFor(r8.operation.id, 60_000)).state, 'SUCCEEDED');
    assert.equal(s.catalog.get(m.job_id)!.topology.find((v) => v.name === 'agg')!.parallelism, 3);

    s.tuner.setPolicy(m.job_id, { mode: 'recommend' });
    const r5 = await s.tuner.onDiagnosis(diagnosis('d-5', m.job_id, [{ type: 'set-parallelism', vertex: { id: 'agg', name: 'agg' }, from: 3, to: 4 }]));
    assert.match(r5.skipped ?? '', /recommend/);
    assert.equal(s.tuner.operations({ job_id: m.job_id }).length, 2);
  } finally {
    await s.close();
  }
});
