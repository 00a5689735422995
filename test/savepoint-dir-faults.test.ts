// test-runner: serial
/**
 * A savepoint directory that cannot be written, or is full, when the tuner applies a change: the
 * operation FAILS with a message naming the cause, and the job keeps running on its old settings
 * (reading records). Once the directory is usable again the same change succeeds.
 *
 * Real faults, no injection:
 * - unwritable: as root (which ignores permission bits) the directory is made immutable with
 *   `chattr +i` (EPERM even for root; needs CAP_LINUX_IMMUTABLE and ext4/xfs/btrfs); otherwise
 *   `chmod 0555` (EACCES).
 * - full: a 1 MiB tmpfs mounted on the job's savepoint directory and filled until ENOSPC, in a mount
 *   namespace of the tuner process' own (`unshare -rm`: an unprivileged user namespace, so no root
 *   and nothing mounted on the machine). A machine without user namespaces fails this test.
 * A job that fails at its start is covered by test/tuner-service.test.ts ('start failure', 'wait-running
 * failure': ROLLED_BACK, the job running on the previous parallelism, output exact).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Operation } from '../tuner/types.ts';
import { createTunerStack, datasetSpec, writeDataset } from './helpers/tuner-child.ts';
import { tempDir, waitFor } from './helpers/wait.ts';

const CHILD = join(import.meta.dirname, 'helpers', 'tuner-child.ts');
const scaleAgg = (from: number, to: number) => [{ type: 'set-parallelism' as const, vertex: { id: 'agg', name: 'agg' }, from, to }];

test('savepoint directory unwritable: the operation FAILS naming it, the job keeps running with its old parallelism; writable again, the change succeeds', { timeout: 120_000 }, async (t) => {
  const dataDir = tempDir();
  const s = await createTunerStack({ dataDir, policies: { '*': { cooldownMs: 0, verifyAfterMs: 0 } } });
  const spDir = () => join(dataDir, 'jobs', m.job_id, 'savepoints');
  const root = process.getuid?.() === 0;
  let locked = false;
  const unlock = () => {
    if (!locked) return;
    if (root) execFileSync('chattr', ['-i', spDir()]);
    else chmodSync(spDir(), 0o755);
    locked = false;
  };
  const m = await s.catalog.submitSpec(datasetSpec('sp-unwritable', writeDataset(dataDir, 60_000), { rate: 300 }));
  try {
    const job0 = s.catalog.localJob(m.job_id)!;
    await waitFor(() => job0.stats.numberOfCompletedCheckpoints > 0, { what: 'a checkpoint' });
    mkdirSync(spDir(), { recursive: true });
    if (root) execFileSync('chattr', ['+i', spDir()]);
    else chmodSync(spDir(), 0o555);
    locked = true;
    t.diagnostic(root ? 'chattr +i (running as root)' : 'chmod 0555');
    assert.throws(() => mkdirSync(join(spDir(), 'probe')), /EPERM|EACCES/, 'the directory really refuses writes');

    const op = await s.tuner.apply({ job_id: m.job_id, actions: scaleAgg(1, 2), origin: 'user' });
    const done = await s.tuner.waitFor(op.id, 60_000);
    t.diagnostic(`error: ${done.error}`);
    assert.equal(done.state, 'FAILED', JSON.stringify(done.steps));
    assert.deepEqual(done.steps.map((x) => [x.name, x.status]), [['savepoint', 'failed']]);
    assert.match(done.error ?? '', /stop with savepoint failed, the job keeps running unchanged/);
    assert.match(done.error ?? '', /EPERM|EACCES|not permitted|permission denied/i);
    assert.ok((done.error ?? '').includes(spDir()), 'the error names the directory');
    const job = s.catalog.get(m.job_id)!;
    assert.equal(job.state, 'RUNNING');
    assert.equal(job.topology.find((v) => v.name === 'agg')!.parallelism, 1);
    const local = s.catalog.localJob(m.job_id)!;
    const read = () => local.currentSubtasks().filter((x) => x.kind === 'source').reduce((a, x) => a + x.metrics.numRecordsIn, 0);
    const before = read();
    await waitFor(() => read() > before, { what: 'the job reading records after the failed operation' });

    unlock();
    const again = await s.tuner.apply({ job_id: m.job_id, actions: scaleAgg(1, 2), origin: 'user' });
    const ok = await s.tuner.waitFor(again.id, 60_000);
    assert.equal(ok.state, 'SUCCEEDED', `${ok.error ?? ''} ${JSON.stringify(ok.steps)}`);
    assert.equal(s.catalog.get(m.job_id)!.topology.find((v) => v.name === 'agg')!.parallelism, 2);
  } finally {
    unlock();
    await s.close();
  }
});

test('savepoint directory full (a filled tmpfs, ENOSPC): the operation FAILS saying so, the job keeps running with its old parallelism; with space again, the change succeeds', { timeout: 180_000 }, async (t) => {
  const dataDir = tempDir();
  const dataset = writeDataset(dataDir, 60_000);
  const r = await new Promise<{ code: number | null; out: string; err: string }>((resolve, reject) => {
    const p = spawn('unshare', ['-rm', process.execPath, '--import', 'tsx', CHILD, dataDir, 'full-savepoint', dataset], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, out, err }));
  });
  assert.equal(r.code, 0, `the child (needs unshare -rm: user and mount namespaces): ${r.err}`);
  const lines = r.out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  const full = lines.find((l) => l.event === 'full') as { filledBytes: number; operation: Operation; job: { state: string; parallelism: Record<string, number>; recordsIn: number }; recordsBefore: number; leftover: string[] };
  const space = lines.find((l) => l.event === 'space') as { operation: Operation; job: { state: string; parallelism: Record<string, number> } };
  assert.ok(full && space, r.out + r.err);
  t.diagnostic(`filled ${full.filledBytes} bytes; error: ${full.operation.error}; left in the directory: ${JSON.stringify(full.leftover)}`);
  assert.ok(full.filledBytes > 0);
  assert.equal(full.operation.state, 'FAILED', JSON.stringify(full.operation.steps));
  assert.deepEqual(full.operation.steps.map((x) => [x.name, x.status]), [['savepoint', 'failed']]);
  assert.match(full.operation.error ?? '', /stop with savepoint failed, the job keeps running unchanged/);
  assert.match(full.operation.error ?? '', /ENOSPC|no space left/i);
  assert.deepEqual(full.leftover, [], 'no half-written savepoint is left in the full directory');
  assert.equal(full.job.state, 'RUNNING');
  assert.equal(full.job.parallelism.agg, 1);
  assert.ok(full.job.recordsIn > full.recordsBefore, 'the job reads records after the failed operation');
  assert.equal(space.operation.state, 'SUCCEEDED', `${space.operation.error ?? ''} ${JSON.stringify(space.operation.steps)}`);
  assert.equal(space.job.state, 'RUNNING');
  assert.equal(space.job.parallelism.agg, 2);
  // the data dir outside the namespace never saw the tmpfs: the job's directory is an ordinary one
  assert.deepEqual(readdirSync(join(dataDir, 'jobs')).length, 1);
});
