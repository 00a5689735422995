/**
 * The tuner service on the real bundled runtime: savepoint failure (job untouched), start failure
 * (rolled back, output exact), validation and conflicts, recommendation marked applied.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Diagnosis } from '../diagnoser/types.ts';
import type { Operation } from '../tuner/types.ts';
import { createTunerStack, datasetSpec, writeDataset } from './helpers/tuner-child.ts';
import { tempDir, waitFor } from './helpers/wait.ts';

const scaleAgg = (from: number, to: number) => [{ type: 'set-parallelism' as const, vertex: 'agg', from, to }];
const code = (c: string) => (e: Error & { code?: string }) => e.code === c;

test('savepoint failure: FAILED, the job keeps running with its old parallelism; bad actions are refused', { timeout: 90_000 }, async () => {
  const dataDir = tempDir();
  const faults: { failNextSavepoint?: boolean | 'timeout' } = {};
  const s = await createTunerStack({ dataDir, faults, savepointTimeoutMs: 2000, policies: { '*': { cooldownMs: 0, verifyAfterMs: 0 } } });
  try {
    const m = await s.catalog.submitSpec(datasetSpec('sp-fail', writeDataset(dataDir, 50_000), { rate: 300 }));
    const published: Operation[] = [];
    await s.bus.subscribe('operations', (op) => void published.push(op));

    await assert.rejects(s.tuner.apply({ job_id: m.job_id, actions: [{ type: 'set-parallelism', vertex: 'nope', from: 1, to: 2 }], origin: 'user' }), code('INVALID_ARGUMENT'));
    await assert.rejects(s.tuner.apply({ job_id: m.job_id, actions: scaleAgg(1, 129), origin: 'user' }), code('INVALID_ARGUMENT'));
    await assert.rejects(s.tuner.apply({ job_id: m.job_id, actions: scaleAgg(1, 0), origin: 'user' }), code('INVALID_ARGUMENT'));
    await assert.rejects(s.tuner.apply({ job_id: 'unknown', actions: scaleAgg(1, 2), origin: 'user' }), code('NOT_FOUND'));

    faults.failNextSavepoint = 'timeout';
    const op = await s.tuner.apply({ job_id: m.job_id, actions: scaleAgg(1, 2), origin: 'user' });
    // one operation per job at a time
    await assert.rejects(s.tuner.apply({ job_id: m.job_id, actions: scaleAgg(1, 3), origin: 'user' }), code('CONFLICT'));
    const done = await s.tuner.waitFor(op.id, 60_000);
    assert.equal(done.state, 'FAILED');
    assert.match(done.error ?? '', /savepoint/);
    assert.deepEqual(done.steps.map((x) => [x.name, x.status]), [['savepoint', 'failed']]);
    const job = s.catalog.get(m.job_id)!;
    assert.equal(job.state, 'RUNNING');
    assert.equal(job.topology.find((v) => v.name === 'agg')!.parallelism, 1);
    await waitFor(() => published.some((o) => o.id === op.id && o.state === 'FAILED'), { what: 'FAILED published' });
    assert.deepEqual([...new Set(published.filter((o) => o.id === op.id).map((o) => o.state))], ['PENDING', 'SAVEPOINTING', 'FAILED']);
  } finally {
    await s.close();
  }
});

test('start failure: ROLLED_BACK from the same savepoint with the previous parallelism; the output stays exact', { timeout: 120_000 }, async () => {
  const dataDir = tempDir();
  const outDir = join(dataDir, 'out');
  const rows = 3000;
  const faults: { failNextStart?: boolean } = {};
  const s = await createTunerStack({ dataDir, faults, policies: { '*': { cooldownMs: 0, verifyAfterMs: 0 } } });
  try {
    // a diagnosis whose recommendation the user applies
    const m = await s.catalog.submitSpec(datasetSpec('start-fail', writeDataset(dataDir, rows), { rate: 400, sink: { jsonl: outDir } }));
    const d: Diagnosis = {
      id: 'd-1', job_id: m.job_id, job_name: m.name, windowStart: 0, windowEnd: 1, createdAt: Date.now(), trigger: { type: 'manual' }, lagStatus: 'WARN', findings: [],
      rootCause: { kind: 'under-provisioned', vertex: 'agg', confidence: 0.9, explanation: 'test' },
      recommendations: [{ id: 'r-1', ruleId: 'backpressure.bottleneck', title: 'scale agg', rationale: 'test', expected: { throughputRecordsPerSecond: 400 }, actions: scaleAgg(1, 2) }],
      severity: 'moderate',
    };
    await s.diagnoses.put(d);
    const job0 = s.catalog.localJob(m.job_id)!;
    await waitFor(() => job0.stats.numberOfCompletedCheckpoints > 0, { what: 'a checkpoint' });
    faults.failNextStart = true;
    const op = await s.tuner.apply({ job_id: m.job_id, actions: scaleAgg(1, 2), origin: 'user', diagnosisId: 'd-1', recommendationId: 'r-1', expected: { throughputRecordsPerSecond: 400 } });
    assert.equal(s.diagnoses.recommendation('r-1')!.state.status, 'applied');
    assert.equal(s.diagnoses.recommendation('r-1')!.state.operationId, op.id);
    const done = await s.tuner.waitFor(op.id, 60_000);
    assert.equal(done.state, 'ROLLED_BACK', JSON.stringify(done.steps));
    assert.match(done.error ?? '', /start/);
    assert.ok(done.savepointPath);
    assert.deepEqual(done.steps.map((x) => x.name), ['savepoint', 'start', 'rollback']);
    assert.equal(s.catalog.get(m.job_id)!.topology.find((v) => v.name === 'agg')!.parallelism, 1);
    assert.ok(s.tuner.snapshots(m.job_id).some((x) => x.kind === 'savepoint' && x.path === done.savepointPath && x.operationId === op.id));
    // the bounded job runs to its end: every record exactly once
    const job = s.catalog.localJob(m.job_id)!;
    assert.notEqual(job, job0, 'a new execution');
    const r = await job.done();
    assert.equal(r.state, 'FINISHED');
    const seen = readdirSync(outDir)
      .filter((f) => !f.startsWith('.'))
      .flatMap((f) => readFileSync(join(outDir, f), 'utf8').split('\n').filter(Boolean))
      .map((l) => (JSON.parse(l) as { v: number }).v);
    assert.equal(seen.length, rows);
    assert.equal(new Set(seen).size, rows);
  } finally {
    await s.close();
  }
});
