/**
 * The tuner service on the real bundled runtime: savepoint failure (job untouched), a real stop
 * with savepoint that outlasts its timeout (the job comes back unchanged), start failure and
 * a start that ends FAILED instead of RUNNING (both rolled back, output exact), validation and
 * conflicts, recommendation marked applied, checkpoint settings applied by a restart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryLogger } from '../core/logger.ts';
import type { Diagnosis } from '../diagnoser/types.ts';
import type { LocalJob } from '../runtime/job.ts';
import type { Operation } from '../tuner/types.ts';
import { createTunerService } from '../tuner/service.ts';
import { createTunerStack, datasetSpec, writeDataset } from './helpers/tuner-child.ts';
import { tempDir, waitFor } from './helpers/wait.ts';

const scaleAgg = (from: number, to: number) => [{ type: 'set-parallelism' as const, vertex: { id: 'agg', name: 'agg' }, from, to }];
const code = (c: string) => (e: Error & { code?: string }) => e.code === c;

test('savepoint failure: FAILED, the job keeps running with its old parallelism; bad actions are refused', { timeout: 90_000 }, async () => {
  const dataDir = tempDir();
  const faults: { failNextSavepoint?: boolean | 'timeout' } = {};
  const s = await createTunerStack({ dataDir, faults, savepointTimeoutMs: 2000, policies: { '*': { cooldownMs: 0, verifyAfterMs: 0 } } });
  try {
    const m = await s.catalog.submitSpec(datasetSpec('sp-fail', writeDataset(dataDir, 50_000), { rate: 300 }));
    const published: Operation[] = [];
    await s.bus.subscribe('operations', (op) => void published.push(op));

    await assert.rejects(s.tuner.apply({ job_id: m.job_id, actions: [{ type: 'set-parallelism', vertex: { id: 'nope', name: 'nope' }, from: 1, to: 2 }], origin: 'user' }), code('INVALID_ARGUMENT'));
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

test('a real stop with savepoint that outlasts its timeout: FAILED; when the stop completes later the job is started again from that savepoint with its old parallelism', { timeout: 90_000 }, async () => {
  const dataDir = tempDir();
  const logger = new MemoryLogger();
  // agg takes 10 ms per record (at most 100 records/s) while 300 records/s arrive: the channels in
  // front of it fill (batches of 32), and the savepoint barrier waits behind seconds of records
  const s = await createTunerStack({ dataDir, logger, batchSize: 32, savepointTimeoutMs: 300, policies: { '*': { cooldownMs: 0, verifyAfterMs: 0 } } });
  try {
    const m = await s.catalog.submitSpec(datasetSpec('sp-late', writeDataset(dataDir, 50_000), { rate: 300, aggLatencyMs: 10 }));
    const job0 = s.catalog.localJob(m.job_id)!;
    await waitFor(() => job0.currentSubtasks().some((t) => t.vertex === 'agg' && t.inputUsage() >= 0.9), { what: 'the channels in front of agg full' });
    const op = await s.tuner.apply({ job_id: m.job_id, actions: scaleAgg(1, 2), origin: 'user' });
    const done = await s.tuner.waitFor(op.id, 30_000);
    assert.equal(done.state, 'FAILED', JSON.stringify(done.steps));
    assert.deepEqual(done.steps.map((x) => [x.name, x.status]), [['savepoint', 'failed']]);
    assert.match(done.error ?? '', /not completed within 300 ms/);
    // the stop goes on and completes; the executor starts the job again from it, unchanged
    const late = await waitFor(() => logger.lines.find((l) => /completed after its timeout; starting it again unchanged/.test(l.msg)), { timeoutMs: 60_000, what: 'the late stop' });
    const savepoint = late.meta.savepoint as string;
    const job1 = await waitFor(() => {
      const j = s.catalog.localJob(m.job_id);
      return j && j !== job0 && j.state === 'RUNNING' ? j : undefined;
    }, { timeoutMs: 30_000, what: 'a new execution running' });
    assert.equal((await job0.done()).state, 'FINISHED');
    assert.equal(job1.vertices.find((v) => v.name === 'agg')!.parallelism, 1, 'its old parallelism');
    const restoredFrom = logger.lines.filter((l) => l.msg === 'job sp-late running').map((l) => l.meta.restored_from);
    assert.equal(restoredFrom.at(-1), savepoint, 'restored from the late savepoint');
    assert.equal(s.catalog.get(m.job_id)!.state, 'RUNNING');
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
    assertEveryRecordOnce(outDir, rows);
  } finally {
    await s.close();
  }
});

test('wait-running failure: the job starts with the new parallelism and ends FAILED; ROLLED_BACK from the same savepoint with the previous parallelism; the output stays exact', { timeout: 120_000 }, async () => {
  const dataDir = tempDir();
  const outDir = join(dataDir, 'out');
  const rows = 3000;
  const faults: { failNextRun?: boolean } = {};
  const logger = new MemoryLogger();
  const s = await createTunerStack({ dataDir, faults, logger, policies: { '*': { cooldownMs: 0, verifyAfterMs: 0 } } });
  try {
    const m = await s.catalog.submitSpec(datasetSpec('run-fail', writeDataset(dataDir, rows), { rate: 400, sink: { jsonl: outDir } }));
    const job0 = s.catalog.localJob(m.job_id)!;
    await waitFor(() => job0.stats.numberOfCompletedCheckpoints > 0, { what: 'a checkpoint' });
    const executions: Array<{ job: LocalJob; parallelism: number }> = [];
    s.catalog.onJobStarted((j) => executions.push({ job: j, parallelism: j.vertices.find((v) => v.name === 'agg')!.parallelism }));
    faults.failNextRun = true;
    const op = await s.tuner.apply({ job_id: m.job_id, actions: scaleAgg(1, 2), origin: 'user' });
    const done = await s.tuner.waitFor(op.id, 60_000);
    assert.equal(done.state, 'ROLLED_BACK', JSON.stringify(done.steps));
    assert.deepEqual(done.steps.map((x) => [x.name, x.status]), [['savepoint', 'succeeded'], ['start', 'succeeded'], ['wait-running', 'failed'], ['rollback', 'succeeded']]);
    assert.match(done.steps.find((x) => x.name === 'wait-running')!.message ?? '', /is FAILED, not RUNNING/);
    assert.match(done.error ?? '', /the job did not run with the new settings/);
    assert.ok(done.savepointPath);
    assert.ok(s.tuner.snapshots(m.job_id).some((x) => x.kind === 'savepoint' && x.path === done.savepointPath && x.operationId === op.id));

    // two executions after the stop: the one with the new parallelism, which failed, and the rollback
    assert.equal(executions.length, 2);
    assert.equal(executions[0]!.parallelism, 2);
    assert.equal((await executions[0]!.job.done()).state, 'FAILED');
    assert.equal(executions[1]!.parallelism, 1, 'the rollback runs with the previous parallelism');
    assert.equal(executions[1]!.job, s.catalog.localJob(m.job_id));
    assert.equal(s.catalog.get(m.job_id)!.topology.find((v) => v.name === 'agg')!.parallelism, 1);
    // both were restored from the operation's savepoint (the runtime logs where each one restored from)
    const restoredFrom = logger.lines.filter((l) => l.msg === 'job run-fail running').map((l) => l.meta.restored_from);
    assert.deepEqual(restoredFrom.slice(-2), [done.savepointPath, done.savepointPath]);

    // the bounded job runs to its end: every record exactly once
    assert.equal((await executions[1]!.job.done()).state, 'FINISHED');
    assertEveryRecordOnce(outDir, rows);
  } finally {
    await s.close();
  }
});

test('checkpoint settings: set-checkpointing restarts the job from a savepoint with the new interval and unaligned checkpoints, kept in job.json', { timeout: 90_000 }, async () => {
  const dataDir = tempDir();
  const s = await createTunerStack({ dataDir, policies: { '*': { cooldownMs: 0, verifyAfterMs: 0 } } });
  try {
    const m = await s.catalog.submitSpec(datasetSpec('ckpt-set', writeDataset(dataDir, 50_000), { rate: 300 }));
    assert.equal(m.checkpointing?.interval, 300);
    const job0 = s.catalog.localJob(m.job_id)!;
    const op = await s.tuner.apply({ job_id: m.job_id, actions: [{ type: 'set-checkpointing', interval: 1234, unaligned: true }], origin: 'user' });
    const done = await s.tuner.waitFor(op.id, 60_000);
    assert.equal(done.state, 'SUCCEEDED', `${done.error ?? ''} ${JSON.stringify(done.steps)}`);
    assert.deepEqual(done.steps.map((x) => [x.name, x.status]), [['savepoint', 'succeeded'], ['start', 'succeeded'], ['wait-running', 'succeeded'], ['verify', 'skipped']]);
    assert.ok(done.savepointPath);
    const job = s.catalog.localJob(m.job_id)!;
    assert.notEqual(job, job0, 'a new execution');
    assert.equal(job.checkpointSettings().interval, 1234);
    assert.equal(job.checkpointSettings().unaligned, true);
    assert.equal(s.catalog.get(m.job_id)!.checkpointing?.interval, 1234);
    const record = JSON.parse(readFileSync(join(s.catalog.jobDir(m.job_id), 'job.json'), 'utf8')) as { checkpointing: Record<string, unknown> };
    assert.deepEqual(record.checkpointing, { interval: 1234, unaligned: true }, 'the next start of the job keeps them');
  } finally {
    await s.close();
  }
});

test('policies per job: job id over job name over \'*\' over the defaults; setPolicy overrides survive a restart of the tuner', { timeout: 60_000 }, async () => {
  const dataDir = tempDir();
  const dataset = writeDataset(dataDir, 50_000);
  const policies = { '*': { cooldownMs: 0, maxParallelism: 16 }, 'pol-a': { mode: 'auto' as const, maxParallelism: 8 } };
  const s = await createTunerStack({ dataDir, policies });
  try {
    const a = await s.catalog.submitSpec(datasetSpec('pol-a', dataset, { rate: 100 }));
    const b = await s.catalog.submitSpec(datasetSpec('pol-b', dataset, { rate: 100 }));
    assert.deepEqual([s.tuner.policy(a.job_id).mode, s.tuner.policy(a.job_id).maxParallelism, s.tuner.policy(a.job_id).cooldownMs], ['auto', 8, 0], 'by name, then \'*\'');
    assert.deepEqual([s.tuner.policy(b.job_id).mode, s.tuner.policy(b.job_id).maxParallelism, s.tuner.policy(b.job_id).cooldownMs], ['recommend', 16, 0], '\'*\', then the defaults');
    assert.equal(s.tuner.policy(b.job_id).maxOperationsPerHour, 2, 'a default');
    assert.equal(s.tuner.setPolicy(a.job_id, { maxParallelism: 4 }).maxParallelism, 4);
    assert.equal(s.tuner.policy(b.job_id).maxParallelism, 16, 'set for that job only');
    // a new tuner over the same data dir keeps the override; the job id wins over the name
    await s.tuner.close();
    const t2 = await createTunerService({ executor: s.catalog.executor, jobs: s.catalog, store: s.store, diagnoses: s.diagnoses, bus: s.bus, dataDir, policies: { ...policies, [b.job_id]: { mode: 'auto' } }, subscribeDiagnoses: false });
    try {
      assert.equal(t2.policy(a.job_id).maxParallelism, 4, 'setPolicy kept in policies.json');
      assert.equal(t2.policy(a.job_id).mode, 'auto');
      assert.equal(t2.policy(b.job_id).mode, 'auto', 'by id over \'*\'');
    } finally {
      await t2.close();
    }
  } finally {
    await s.close();
  }
});

/** The committed JSONL output under `outDir` holds each of the dataset's `rows` records (`v` = 0..rows-1) exactly once. */
function assertEveryRecordOnce(outDir: string, rows: number): void {
  const seen = readdirSync(outDir)
    .filter((f) => !f.startsWith('.'))
    .flatMap((f) => readFileSync(join(outDir, f), 'utf8').split('\n').filter(Boolean))
    .map((l) => (JSON.parse(l) as { v: number }).v);
  assert.equal(seen.length, rows, 'records in the output');
  assert.equal(new Set(seen).size, rows, 'distinct records in the output');
}
