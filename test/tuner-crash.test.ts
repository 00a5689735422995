/**
 * streamtune killed (SIGKILL) at every journaled step of an operation (PENDING, SAVEPOINTING, the
 * moment the savepoint completed before it was journaled, STARTING, VERIFYING, ROLLING_BACK, SUCCEEDED) and started again on the same data dir:
 * the operation ends (finished or repaired, never stuck) and the job runs. The stand-in for
 * streamtune is test/helpers/tuner-child.ts, a separate process, killed just after the journal
 * record of the step is durable.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Operation } from '../tuner/types.ts';
import { writeDataset } from './helpers/tuner-child.ts';
import { journalOps } from './helpers/journal.ts';
import { tempDir } from './helpers/wait.ts';

const CHILD = join(import.meta.dirname, 'helpers', 'tuner-child.ts');

function runChild(args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; lines: Array<Record<string, unknown>>; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), 120_000);
    p.on('error', reject);
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      const lines = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
      resolve({ code, signal, lines, stderr: err });
    });
  });
}


/** Where the child is killed, and how the operation must end after the next start: applied (agg 2), or rolled back (agg 1). */
const CASES = [
  // before the operation began: nothing was changed, the operation says so
  { killAt: 'PENDING', state: 'FAILED', agg: 1, savepoint: false, journaled: 'PENDING' },
  { killAt: 'SAVEPOINTING', state: 'SUCCEEDED', agg: 2 },
  // the stop with savepoint completed (job stopped, savepoint on disk) but the journal still says
  // SAVEPOINTING: the catalog starts the job again from that savepoint, the repair takes another
  { killAt: 'SAVEPOINT_DONE', state: 'SUCCEEDED', agg: 2, savepoint: true, journaled: 'SAVEPOINTING' },
  { killAt: 'STARTING', state: 'SUCCEEDED', agg: 2 },
  { killAt: 'VERIFYING', state: 'SUCCEEDED', agg: 2 },
  { killAt: 'ROLLING_BACK', state: 'ROLLED_BACK', agg: 1 },
  // after the terminal record: nothing left to repair
  { killAt: 'SUCCEEDED', state: 'SUCCEEDED', agg: 2, repair: false },
] as Array<{ killAt: string; state: string; agg: number; savepoint?: boolean; journaled?: string; repair?: boolean }>;

for (const { killAt, state, agg, savepoint = true, journaled = killAt, repair = true } of CASES) {
  test(`killed at ${killAt}: after the next start the operation is ${state} (the only one) and the job runs with parallelism ${agg}`, { timeout: 240_000 }, async () => {
    const dataDir = tempDir();
    const dataset = writeDataset(dataDir, 60_000);
    const first = await runChild([dataDir, 'apply', dataset, killAt]);
    assert.equal(first.signal, 'SIGKILL', `the child should have been killed: ${first.stderr}`);
    const before = [...journalOps(dataDir).values()];
    assert.equal(before.length, 1);
    assert.equal(before[0]!.state, journaled, 'the journal shows the step under way');
    const spDone = first.lines.find((l) => l.event === 'savepoint-done') as { savepointPath: string } | undefined;
    if (killAt === 'SAVEPOINT_DONE') {
      assert.ok(spDone && existsSync(join(spDone.savepointPath, '_metadata')), 'the savepoint completed before the kill');
      assert.equal(before[0]!.savepointPath, undefined, 'and was not journaled');
    }

    const second = await runChild([dataDir, 'recover']);
    assert.equal(second.code, 0, second.stderr);
    const rec = second.lines.find((l) => l.event === 'recovered') as { operations: Operation[]; jobs: Array<{ job_id: string; state: string; parallelism: Record<string, number> }> };
    assert.ok(rec, 'the recovering child reported');
    // a terminal operation is not recovered: read it from the journal
    const op = rec.operations.find((o) => o.id === before[0]!.id) ?? journalOps(dataDir).get(before[0]!.id)!;
    assert.equal(op.state, state, `${op.state}: ${op.error ?? ''} ${JSON.stringify(op.steps)}`);
    if (repair) assert.ok(op.steps.some((s) => s.name === 'repair'), 'a repair step is recorded');
    if (savepoint) assert.ok(op.savepointPath, 'the savepoint used is recorded');
    else assert.equal(op.savepointPath, undefined, 'no savepoint was taken');
    // one operation owns what happened: the only one in the journal, ended, and no other started
    const after = [...journalOps(dataDir).values()];
    assert.deepEqual(after.map((o) => [o.id, o.state]), [[op.id, state]]);
    const job = rec.jobs.find((j) => j.job_id === op.job_id)!;
    assert.equal(job.state, 'RUNNING');
    assert.equal(job.parallelism.agg, agg);
  });
}
