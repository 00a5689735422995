/**
 * streamtune killed (SIGKILL) in the middle of an operation and started again on the same data dir:
 * the operation ends (finished or repaired, never stuck) and the job runs. The stand-in for
 * streamtune is test/helpers/tuner-child.ts, a separate process, killed just after the journal
 * record of the step is durable.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Operation } from '../tuner/types.ts';
import { writeDataset } from './helpers/tuner-child.ts';
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

function journalOps(dataDir: string): Map<string, Operation> {
  const ops = new Map<string, Operation>();
  for (const l of readFileSync(join(dataDir, 'operations', 'journal.jsonl'), 'utf8').split('\n')) {
    try {
      const r = JSON.parse(l) as { t: string; v: Operation };
      if (r.t === 'op') ops.set(r.v.id, r.v);
    } catch {
      // torn line
    }
  }
  return ops;
}

/** Where the child is killed, and how the operation must end after the next start: applied (agg 2), or rolled back (agg 1). */
const CASES = [
  { killAt: 'SAVEPOINTING', state: 'SUCCEEDED', agg: 2 },
  { killAt: 'STARTING', state: 'SUCCEEDED', agg: 2 },
  { killAt: 'VERIFYING', state: 'SUCCEEDED', agg: 2 },
  { killAt: 'ROLLING_BACK', state: 'ROLLED_BACK', agg: 1 },
] as const;

for (const { killAt, state, agg } of CASES) {
  test(`killed while ${killAt}: the next start repairs the operation (${state}) and the job runs with parallelism ${agg}`, { timeout: 240_000 }, async () => {
    const dataDir = tempDir();
    const dataset = writeDataset(dataDir, 60_000);
    const first = await runChild([dataDir, 'apply', dataset, killAt]);
    assert.equal(first.signal, 'SIGKILL', `the child should have been killed: ${first.stderr}`);
    const before = [...journalOps(dataDir).values()];
    assert.equal(before.length, 1);
    assert.equal(before[0]!.state, killAt, 'the journal shows the step under way');

    const second = await runChild([dataDir, 'recover']);
    assert.equal(second.code, 0, second.stderr);
    const rec = second.lines.find((l) => l.event === 'recovered') as { operations: Operation[]; jobs: Array<{ job_id: string; state: string; parallelism: Record<string, number> }> };
    assert.ok(rec, 'the recovering child reported');
    const op = rec.operations.find((o) => o.id === before[0]!.id)!;
    assert.equal(op.state, state, `${op.state}: ${op.error ?? ''} ${JSON.stringify(op.steps)}`);
    assert.ok(op.steps.some((s) => s.name === 'repair'), 'a repair step is recorded');
    assert.ok(op.savepointPath, 'the savepoint used is recorded');
    const job = rec.jobs.find((j) => j.job_id === op.job_id)!;
    assert.equal(job.state, 'RUNNING');
    assert.equal(job.parallelism.agg, agg);
  });
}
