/**
 * TaskManagers that run in parallel (`runtime/taskmanager/`): slot-sharing placement; a job spread
 * over 2 TaskManagers (the main thread and a worker thread) keeps its guarantees — unaligned
 * checkpoints whose barriers overtake records on a channel between TaskManagers store them as
 * in-flight data, and a failover from such a checkpoint is exact; collect sinks on a worker hand
 * every record to the job; task metrics carry the `tm_id` of the TaskManager the subtask runs on,
 * and heap and GC are reported per TaskManager.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { LocalJob } from '../runtime/job.ts';
import { loadJobSpec, type JobSpec } from '../runtime/spec.ts';
import { placeSubtasks } from '../runtime/taskmanager/placement.ts';
import { keyGroupOf, keyGroupRange } from '../runtime/keygroups.ts';
import { readCheckpoint } from '../runtime/checkpoint/storage.ts';
import { committedRecords, duplicateWindows, groundTruth, sumsByOrigin } from './helpers/flights.ts';
import { tempDir, waitFor } from './helpers/wait.ts';

test('placement: slot i holds subtask i of every vertex, slots spread over TaskManagers; Kafka sources and functions stay on TaskManager 0', () => {
  const spec: JobSpec = {
    name: 'placement',
    vertices: [
      { name: 'src', type: 'kafka-source', topic: 't', groupId: 'g', parallelism: 2 },
      { name: 'parse', type: 'map', parallelism: 4 },
      { name: 'fn', type: 'map', parallelism: 2, fn: (r) => r },
      { name: 'agg', type: 'window-aggregate', key: 'k', size: '1h', aggregations: { n: 'count' }, parallelism: 3 },
      { name: 'out', type: 'discard-sink' },
    ],
    edges: [
      { from: 'src', to: 'parse', partitioning: 'rebalance' },
      { from: 'parse', to: 'fn', partitioning: 'rebalance' },
      { from: 'fn', to: 'agg', partitioning: 'hash', key: 'k' },
      { from: 'agg', to: 'out', partitioning: 'rebalance' },
    ],
  };
  const p = placeSubtasks(spec, { src: 2, parse: 4, fn: 2, agg: 3, out: 1 }, 2);
  assert.equal(p.slots, 4);
  assert.deepEqual(p.tm, { src: [0, 0], parse: [0, 1, 0, 1], fn: [0, 0], agg: [0, 1, 0], out: [0] });
  assert.deepEqual(placeSubtasks(spec, { src: 2, parse: 4, fn: 2, agg: 3, out: 1 }, 1).tm.parse, [0, 0, 0, 0]);
});

const LIMIT = 300_000;

function flightsSpec(chk: string, failAfter: number): JobSpec {
  const s = loadJobSpec('jobs/flight-delays.yaml');
  s.taskManagers = 2;
  s.checkpoints = { interval: 150, timeout: 30_000, dir: chk, unaligned: true, retained: 100 };
  s.restartStrategy = { type: 'fixed-delay', attempts: 2, delay: 100 };
  for (const v of s.vertices) {
    if (v.type === 'dataset-source') v.limit = LIMIT;
    if (v.name === 'delay-by-origin') {
      v.parallelism = 2;
      // slow: the channels into the window stay full, so barriers always overtake something
      v.faults = { latencyMs: 0.004, failAfterRecords: failAfter };
    }
  }
  return s;
}

test('2 TaskManagers: unaligned barriers overtake records on the channel into the worker; failover from such checkpoints is exact', { timeout: 240_000 }, async () => {
  const chk = join(tempDir(), 'chk');
  const out = tempDir();
  const job = new LocalJob(flightsSpec(chk, 100_000), { outputDirs: { results: out } });
  await job.start();
  const windowTms = job.currentSubtasks().filter((s) => s.vertex === 'delay-by-origin').map((s) => s.tmId);
  assert.equal(windowTms[0], '', 'window subtask 0 runs on TaskManager 0 (the main thread)');
  assert.match(windowTms[1]!, /^streamtune-tm-\d+-1$/, 'window subtask 1 runs on worker TaskManager 1');
  // per-TaskManager heap, and the worker's tm_id on its subtask's task metrics
  const points = await waitFor(() => {
    const pts = job.metricPoints();
    return pts.some((p) => p.measurement === 'taskmanager_Status_JVM_Memory_Heap_Used' && p.tags.tm_id === windowTms[1]) ? pts : undefined;
  }, { what: 'the worker TaskManager\'s heap in the metrics' });
  const heapTms = points.filter((p) => p.measurement === 'taskmanager_Status_JVM_Memory_Heap_Used').map((p) => p.tags.tm_id);
  assert.equal(new Set(heapTms).size, 2, `heap of both TaskManagers: ${heapTms.join(', ')}`);
  const busy = points.find((p) => p.measurement === 'taskmanager_job_task_busyTimeMsPerSecond' && p.tags.task_name === 'delay-by-origin' && p.tags.subtask_index === '1');
  assert.equal(busy?.tags.tm_id, windowTms[1]);
  const r = await job.done();
  assert.equal(r.state, 'FINISHED', r.error?.message);
  assert.equal(job.numRestarts, 1);

  // records in flight into window subtask 1 (its key groups) only ever came over the channel from
  // TaskManager 0: the receiving side recorded the records its barrier overtook
  const range = keyGroupRange(1, 2, 128);
  let remoteInflight = 0;
  for (const h of job.stats.history) {
    if (!('path' in h) || h.savepoint) continue;
    for (const b of readCheckpoint(h.path).vertices['delay-by-origin']?.inflight ?? []) {
      for (const rec of b.values) {
        const kg = keyGroupOf(rec.origin ?? null, 128);
        if (kg >= range.start && kg <= range.end) remoteInflight++;
      }
    }
  }
  assert.ok(remoteInflight > 0, 'some checkpoint stored records in flight on the channel between TaskManagers');
  const records = committedRecords(out);
  assert.deepEqual(duplicateWindows(records), []);
  assert.deepEqual(sumsByOrigin(records), await groundTruth(LIMIT));
});

test('2 TaskManagers: a collect sink on the worker hands every record to the job; cancel releases the worker', { timeout: 60_000 }, async () => {
  const N = 20_000;
  const job = new LocalJob({
    name: 'tm-collect',
    taskManagers: 2,
    checkpoints: { interval: 100, dir: tempDir() },
    vertices: [
      { name: 'gen', type: 'generator-source', rate: 0, keys: 50, count: N, splits: 4, parallelism: 2 },
      { name: 'out', type: 'collect-sink', parallelism: 2 },
    ],
    edges: [{ from: 'gen', to: 'out', partitioning: 'forward' }],
  });
  await job.start();
  const r = await job.done();
  assert.equal(r.state, 'FINISHED', r.error?.message);
  assert.equal(job.collected.length, N);
  assert.equal(new Set(job.collected.map((x) => x.seq)).size, N);
  assert.ok(job.currentSubtasks().some((s) => s.vertex === 'out' && s.tmId !== '' && s.metrics.numRecordsIn > 0), 'a sink subtask ran on the worker');

  const endless = new LocalJob({
    name: 'tm-cancel',
    taskManagers: 2,
    checkpoints: { interval: 100, dir: tempDir() },
    vertices: [
      { name: 'gen', type: 'generator-source', rate: 5000, keys: 50, splits: 4, parallelism: 2 },
      { name: 'slow', type: 'map', parallelism: 2, faults: { latencyMs: 1 } },
      { name: 'out', type: 'discard-sink', parallelism: 2 },
    ],
    edges: [
      { from: 'gen', to: 'slow', partitioning: 'rebalance' },
      { from: 'slow', to: 'out', partitioning: 'forward' },
    ],
  });
  await endless.start();
  await waitFor(() => endless.stats.numberOfCompletedCheckpoints >= 2, { what: 'two checkpoints across TaskManagers' });
  const sp = await endless.triggerSavepoint(tempDir());
  const meta = readCheckpoint(sp.path);
  assert.equal(meta.vertices.gen!.subtasks.length, 2);
  assert.ok(meta.vertices.gen!.subtasks.every((s) => s !== undefined && s.list.length === 2), 'both source subtasks (one per TaskManager) acknowledged with their splits');
  await endless.cancel();
  assert.equal((await endless.done()).state, 'CANCELED');
});

test('2 TaskManagers: a vertex with a TypeScript function stays on TaskManager 0 while the others spread', { timeout: 60_000 }, async () => {
  const N = 5000;
  const job = new LocalJob({
    name: 'tm-fn',
    taskManagers: 2,
    checkpoints: { interval: 0, dir: tempDir() },
    vertices: [
      { name: 'gen', type: 'generator-source', rate: 0, keys: 50, count: N, splits: 4, parallelism: 2 },
      { name: 'tag', type: 'map', parallelism: 2, fn: (r) => ({ ...r, tagged: true }) },
      { name: 'out', type: 'collect-sink', parallelism: 2 },
    ],
    edges: [
      { from: 'gen', to: 'tag', partitioning: 'rebalance' },
      { from: 'tag', to: 'out', partitioning: 'rebalance' },
    ],
  });
  await job.start();
  assert.deepEqual(job.currentSubtasks().filter((s) => s.vertex === 'tag').map((s) => s.tmId), ['', '']);
  assert.ok(job.currentSubtasks().some((s) => s.vertex === 'gen' && s.tmId !== ''));
  const r = await job.done();
  assert.equal(r.state, 'FINISHED', r.error?.message);
  assert.equal(job.collected.length, N);
  assert.ok(job.collected.every((x) => x.tagged === true));
});
