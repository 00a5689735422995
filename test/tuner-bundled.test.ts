/** The bundled catalog and executor on the real runtime: restart with new parallelism from a
 * savepoint, savepoint/start faults, resume from the latest snapshot after a new catalog opens, and
 * a start without a savepoint given uses the latest of several checkpoints and savepoints, every one
 * of them recorded. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryLogger } from '../core/logger.ts';
import type { CompletedCheckpoint } from '../runtime/checkpoint/coordinator.ts';
import { readCheckpoint } from '../runtime/checkpoint/storage.ts';
import type { LocalJob } from '../runtime/job.ts';
import type { JobSpec } from '../runtime/spec.ts';
import { createBundledCatalog, type SnapshotRecord } from '../platform/index.ts';
import { createTunerStack } from './helpers/tuner-child.ts';
import { tempDir, waitFor } from './helpers/wait.ts';

/** A small unbounded job: generator → keyed count → discard. */
export function genSpec(name: string): JobSpec {
  return {
    name,
    checkpoints: { interval: 200 },
    vertices: [
      { name: 'gen', type: 'generator-source', rate: 500, keys: 20, splits: 4 },
      { name: 'agg', type: 'window-aggregate', key: 'key', size: '1h', aggregations: { n: 'count' } },
      { name: 'out', type: 'discard-sink' },
    ],
    edges: [
      { from: 'gen', to: 'agg', partitioning: 'hash', key: 'key' },
      { from: 'agg', to: 'out' },
    ],
  };
}

test('executor: stop with savepoint, start with new parallelism from it, downtime measured; a new catalog resumes from the latest snapshot', { timeout: 90_000 }, async () => {
  const dataDir = tempDir();
  const cat = await createBundledCatalog({ dataDir, snapshotPollMs: 50 });
  const snaps: SnapshotRecord[] = [];
  cat.onSnapshot((s) => snaps.push(s));
  const started: string[] = [];
  cat.onJobStarted((j) => started.push(j.id));
  const m = await cat.submitSpec(genSpec('bundled-a'));
  assert.equal(m.state, 'RUNNING');
  assert.equal(m.consumerGroup, 'bundled-a');
  assert.deepEqual(m.topology.map((v) => v.name), ['gen', 'agg', 'out']);
  assert.equal(m.topology[1]!.inputs[0], m.topology[0]!.id);
  assert.equal(m.topology[0]!.partitions, 4);
  assert.equal(m.topology[1]!.keyedInput, true);
  await waitFor(() => snaps.some((s) => s.kind === 'checkpoint'), { what: 'a checkpoint recorded' });

  const ex = cat.executor;
  const stopCalled = Date.now();
  const { savepointPath } = await ex.stopWithSavepoint(m.job_id, { timeoutMs: 20_000 });
  const stopped = Date.now();
  assert.equal(readCheckpoint(savepointPath).savepoint, true);
  assert.equal((await ex.describe(m.job_id)).state, 'FINISHED');
  // the job stays stopped for 300 ms: no record can flow between the end of the stop and the start
  await new Promise((r) => setTimeout(r, 300));
  const startCalled = Date.now();
  await ex.start({ jobId: m.job_id, savepointPath, parallelism: { agg: 2 } });
  await ex.waitUntilRunning(m.job_id, 10_000);
  const t = await ex.describe(m.job_id);
  assert.equal(t.vertices.find((v) => v.name === 'agg')!.parallelism, 2);
  const downtime = await ex.downtimeMs(m.job_id, 10_000);
  const measured = Date.now();
  // last record before the stop → first record after the start: it spans at least the stopped gap
  // and at most the stop call → the first record having been seen
  assert.ok(downtime !== undefined && downtime >= startCalled - stopped && downtime <= measured - stopCalled, `downtime ${downtime} ms, stopped gap ${startCalled - stopped} ms, whole ${measured - stopCalled} ms`);
  assert.equal(started.length, 2);
  assert.ok(started.every((id) => id === m.job_id), 'same JobID across restarts');
  assert.ok(snaps.some((s) => s.kind === 'savepoint' && s.path === savepointPath));

  // savepoint failure (injected): the job keeps running unchanged
  ex.faults.failNextSavepoint = true;
  await assert.rejects(ex.stopWithSavepoint(m.job_id, { timeoutMs: 5000 }), (e: Error & { code?: string }) => e.code === 'OPERATION_FAILED');
  assert.equal(cat.localJob(m.job_id)!.state, 'RUNNING');
  // start failure (injected)
  await assert.rejects(ex.start({ jobId: m.job_id }), (e: Error & { code?: string }) => e.code === 'JOB_STATE' || e.code === 'OPERATION_FAILED');

  // a running job is stopped with a savepoint at close, and resumed by the next catalog from it
  await cat.close();
  const last = cat.latestSnapshot(m.job_id)!;
  assert.equal(last.kind, 'savepoint');
  const cat2 = await createBundledCatalog({ dataDir });
  try {
    const j = cat2.get(m.job_id)!;
    assert.equal(j.state, 'RUNNING');
    assert.equal(j.topology.find((v) => v.name === 'agg')!.parallelism, 2, 'settings persisted');
    const lj = cat2.localJob(m.job_id)!;
    await waitFor(() => lj.stats.numberOfCompletedCheckpoints > 0, { what: 'a checkpoint after resume' });
    const firstNew = lj.stats.history.find((h) => 'path' in h)!;
    assert.ok(firstNew.id > readCheckpoint(last.path).checkpointId, 'resumed from the savepoint (checkpoint ids continue)');
  } finally {
    await cat2.close();
  }
});

test('a user stop is not undone by a restart of streamtune; unknown jobs are NOT_FOUND', { timeout: 60_000 }, async () => {
  const dataDir = tempDir();
  const cat = await createBundledCatalog({ dataDir });
  const m = await cat.submitSpec(genSpec('bundled-b'));
  await cat.stop(m.job_id);
  await cat.close();
  const cat2 = await createBundledCatalog({ dataDir });
  try {
    assert.equal(cat2.get(m.job_id)!.state, 'CANCELED');
    assert.equal(cat2.localJob(m.job_id), undefined);
    await assert.rejects(cat2.executor.describe('nope'), (e: Error & { code?: string }) => e.code === 'NOT_FOUND');
    // resubmitting the same name resumes it from its latest snapshot, with the same id
    const again = await cat2.submitSpec(genSpec('bundled-b'));
    assert.equal(again.job_id, m.job_id);
    await assert.rejects(cat2.submitSpec(genSpec('bundled-b')), (e: Error & { code?: string }) => e.code === 'CONFLICT');
  } finally {
    await cat2.close();
  }
});

test('a start without a savepoint given uses the latest of several checkpoints and savepoints; every one is recorded by the catalog and in the tuner journal', { timeout: 90_000 }, async () => {
  const dataDir = tempDir();
  const logger = new MemoryLogger();
  const s = await createTunerStack({ dataDir, logger });
  try {
    const cat = s.catalog;
    const recorded: SnapshotRecord[] = [];
    cat.onSnapshot((x) => recorded.push(x));
    const executions: LocalJob[] = [];
    cat.onJobStarted((j) => executions.push(j));
    /** where each execution of the job was restored from, as the runtime logs it when it runs */
    const restoredFrom = () => logger.lines.filter((l) => l.msg === 'job latest-a running').map((l) => l.meta.restored_from);
    const completed = (j: LocalJob) => j.stats.history.filter((h): h is CompletedCheckpoint => 'path' in h);
    const newestCheckpointAfter = (j: LocalJob, id: number) => completed(j).some((h) => !h.savepoint && h.id > id);

    const m = await cat.submitSpec(genSpec('latest-a'));
    const id = m.job_id;
    let job = cat.localJob(id)!;
    await waitFor(() => completed(job).filter((h) => !h.savepoint).length >= 2, { what: 'two checkpoints' });
    // a savepoint while it runs, then checkpoints after it, then the user's stop with a savepoint: the newest
    const { savepointPath: sp1 } = await cat.triggerSavepoint(id);
    await waitFor(() => newestCheckpointAfter(job, readCheckpoint(sp1).checkpointId), { what: 'a checkpoint after the savepoint' });
    const { savepointPath: sp2 } = await cat.stop(id);
    assert.ok(readCheckpoint(sp2).checkpointId > Math.max(...completed(job).filter((h) => h.path !== sp2).map((h) => h.id)), 'the stop savepoint is the newest');
    assert.equal(cat.latestSnapshot(id)?.path, sp2);
    const again = await cat.submitSpec(genSpec('latest-a'));
    assert.equal(again.job_id, id);
    assert.equal(restoredFrom().at(-1), sp2, 'started from the stop savepoint, not an older savepoint or checkpoint, nor without state');

    // now the newest is a checkpoint taken after every savepoint: cancelled without a savepoint, the next start uses it
    job = cat.localJob(id)!;
    await waitFor(() => newestCheckpointAfter(job, readCheckpoint(sp2).checkpointId), { what: 'a checkpoint after the restore' });
    await cat.executor.cancel(id);
    const newest = completed(job).at(-1)!;
    assert.equal(newest.savepoint, false);
    assert.equal(cat.latestSnapshot(id)?.path, newest.path);
    await cat.submitSpec(genSpec('latest-a'));
    assert.equal(restoredFrom().at(-1), newest.path, 'started from the newest checkpoint, not the older savepoints');
    assert.ok(readCheckpoint(newest.path).checkpointId > readCheckpoint(sp1).checkpointId);

    // every completed checkpoint and savepoint of every execution is recorded once, and journaled
    assert.equal(executions.length, 3);
    job = cat.localJob(id)!;
    await waitFor(() => completed(job).length > 0, { what: 'a checkpoint of the third execution' });
    const all = executions.flatMap(completed).map((h) => h.path);
    assert.ok(all.includes(sp1) && all.includes(sp2));
    await waitFor(() => all.every((p) => recorded.some((r) => r.path === p)), { what: 'every snapshot announced by the catalog' });
    assert.equal(new Set(recorded.map((r) => r.path)).size, recorded.length, 'each announced once');
    for (const r of recorded) assert.equal(r.kind, r.path === sp1 || r.path === sp2 ? 'savepoint' : 'checkpoint', r.path);
    await waitFor(() => all.every((p) => s.tuner.snapshots(id).some((r) => r.path === p)), { what: 'every snapshot in the tuner journal' });
  } finally {
    await s.close();
  }
});
