/** Checkpoint timeout, retention of the last N, the push reporter, and a savepoint while running. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { LocalJob } from '../runtime/job.ts';
import type { JobSpec } from '../runtime/spec.ts';
import type { MetricPoint } from '../core/points.ts';
import { readCheckpoint } from '../runtime/checkpoint/storage.ts';
import { CheckpointCoordinator, type CheckpointStats } from '../runtime/checkpoint/coordinator.ts';
import type { Subtask } from '../runtime/task.ts';
import { silentLogger } from '../core/logger.ts';
import { tempDir, waitFor } from './helpers/wait.ts';

const spec = (dir: string, sinkLatencyMs: number, timeout: number): JobSpec => ({
  name: 'cp-test',
  checkpoints: { interval: 100, timeout, retained: 2, dir },
  vertices: [
    { name: 'gen', type: 'generator-source', rate: 2000, keys: 50 },
    { name: 'agg', type: 'window-aggregate', key: 'key', size: '1h', aggregations: { n: 'count' }, faults: { latencyMs: sinkLatencyMs } },
    { name: 'out', type: 'discard-sink' },
  ],
  edges: [
    { from: 'gen', to: 'agg', partitioning: 'hash', key: 'key' },
    { from: 'agg', to: 'out' },
  ],
});

test('a checkpoint slower than its timeout fails, is counted, and the job keeps running', { timeout: 60_000 }, async () => {
  const job = new LocalJob(spec(tempDir(), 2, 150), { channelCapacity: 64 });
  await job.start();
  await waitFor(() => job.stats.numberOfFailedCheckpoints >= 1, { what: 'a failed checkpoint' });
  assert.equal(job.state, 'RUNNING');
  const failed = job.metricPoints().find((p) => p.measurement === 'jobmanager_job_numberOfFailedCheckpoints');
  assert.ok(Number(failed?.fields.value) >= 1);
  await job.cancel();
});

test('only the last N completed checkpoints are retained; a savepoint holds keyed state by key group', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const job = new LocalJob(spec(dir, 0, 10_000));
  const pushed: MetricPoint[][] = [];
  job.addReporter({ report: (p) => void pushed.push(p) }, 200);
  await job.start();
  await waitFor(() => job.stats.numberOfCompletedCheckpoints >= 5, { what: 'five checkpoints' });
  const chk = readdirSync(dir).filter((n) => n.startsWith('chk-'));
  assert.equal(chk.length, 2);
  const sp = await job.triggerSavepoint(tempDir());
  const meta = readCheckpoint(sp.path);
  assert.equal(meta.savepoint, true);
  const keyed = meta.vertices.agg!.subtasks[0]!.keyed;
  assert.ok(keyed.length > 0 && keyed.every(([kg]) => kg >= 0 && kg < 128));
  await waitFor(() => pushed.length >= 3, { what: 'three pushes of the reporter' });
  assert.ok(pushed.at(-1)!.some((p) => p.measurement === 'taskmanager_job_task_busyTimeMsPerSecond' && p.tags.task_name === 'agg'));
  assert.ok(pushed.at(-1)!.some((p) => p.measurement === 'taskmanager_job_task_streamtune_keyGroupRecords'));
  await job.cancel();
});

test('a checkpoint whose acks arrive after its timeout, while the event loop was too busy to run the timer, fails as expired', async () => {
  const dir = tempDir();
  const stats: CheckpointStats = { numberOfCompletedCheckpoints: 0, numberOfFailedCheckpoints: 0, numberOfInProgressCheckpoints: 0, lastCheckpointDuration: 0, lastCheckpointSize: 0, lastCompleted: undefined, history: [] };
  let id = 0;
  // the snapshot holds the loop 2.5 × the timeout; the timeout is long enough that a checkpoint with no
  // blocking completes within it even on a loaded machine (writing and fsyncing the file)
  let blockMs = 1_250;
  // one source subtask whose snapshot runs synchronously for blockMs (as a large keyed state does)
  const source = {
    kind: 'source', vertex: 'src', index: 0,
    trigger: (t: { checkpointId: number }) => {
      const until = Date.now() + blockMs;
      while (Date.now() < until) { /* the snapshot holds the event loop */ }
      coordinator.ack(t.checkpointId, source as unknown as Subtask, { list: [] });
    },
    resume: () => {},
    notifyComplete: async () => {},
  };
  const coordinator: CheckpointCoordinator = new CheckpointCoordinator(
    { name: 'cp-busy', id: 'cafe', maxParallelism: 128 },
    { interval: 0, timeout: 500, minPause: 0, retained: 2, dir },
    [source as unknown as Subtask],
    { src: 1 },
    stats,
    () => ++id,
    silentLogger,
    () => true,
  );
  await assert.rejects(coordinator.trigger({ savepoint: false, stop: false }), (err: Error & { code?: string }) => err.code === 'CHECKPOINT_TIMEOUT');
  assert.equal(stats.numberOfFailedCheckpoints, 1);
  assert.equal(stats.numberOfCompletedCheckpoints, 0);
  assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('chk-')), [], 'an expired checkpoint leaves no chk- directory');
  // the same subtask within its timeout completes
  blockMs = 0;
  const done = await coordinator.trigger({ savepoint: false, stop: false });
  assert.ok(done.duration <= 500);
  assert.equal(stats.numberOfCompletedCheckpoints, 1);
});
