/**
 * Two small runtime guarantees:
 * - the latency fault accumulates sub-millisecond waits: `latencyMs: 0.5` on one-record batches
 *   owes 0.5 ms per record and pays it in sleeps of at least 1 ms (it used to skip every wait below
 *   1 ms, so such a fault cost nothing);
 * - the checkpoint scheduler triggers a periodic checkpoint `interval` ms after the previous one and
 *   no sooner than `minPause` ms after the previous one *ended* (it used to re-arm 50 ms after each
 *   trigger, so a fast checkpoint was followed by a second one in the same interval).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LatencyDebt } from '../runtime/operators/sleep.ts';
import { Faults } from '../runtime/faults.ts';
import { CheckpointCoordinator, type CheckpointStats } from '../runtime/checkpoint/coordinator.ts';
import type { Subtask } from '../runtime/task.ts';
import { silentLogger } from '../core/logger.ts';
import { tempDir, waitFor } from './helpers/wait.ts';

test('latency debt below 1 ms is carried over, not dropped', async () => {
  const d = new LatencyDebt();
  d.add(0.5);
  assert.equal(d.pay(), undefined, 'half a millisecond waits for more');
  assert.equal(d.debtMs, 0.5, 'and is kept');
  d.add(0.5);
  const p = d.pay();
  assert.ok(p, 'one millisecond owed: a sleep is due');
  const counted = await p;
  assert.ok(counted >= 1 && counted <= 2, `busy time counted for a 1 ms debt: ${counted} ms`);
  assert.ok(d.debtMs <= 0, `the sleep paid the debt (left ${d.debtMs} ms)`);
});

test('latencyMs 0.5 on 400 one-record batches costs about 0.5 ms per record, not 0', async () => {
  const f = new Faults({ latencyMs: 0.5 }, 'v', 0);
  let sleeps = 0;
  let counted = 0;
  const t0 = performance.now();
  for (let i = 0; i < 400; i++) {
    f.before([{ i }]);
    const p = f.after(1);
    if (p) {
      sleeps++;
      counted += await p;
    }
  }
  const wall = performance.now() - t0;
  // 400 × 0.5 ms = 200 ms owed: paid in sleeps of ≥ 1 ms, each at most 1 ms + the previous overshoot
  assert.ok(sleeps >= 50 && sleeps <= 200, `${sleeps} sleeps`);
  assert.ok(wall >= 190, `400 records at 0.5 ms must take at least ~200 ms, took ${wall.toFixed(1)} ms`);
  assert.ok(counted >= 150 && counted <= wall + 1, `busy time counted ${counted.toFixed(1)} ms of ${wall.toFixed(1)} ms`);
});

function coordinatorWith(interval: number, minPause: number, ackDelayMs: number) {
  const stats: CheckpointStats = { numberOfCompletedCheckpoints: 0, numberOfFailedCheckpoints: 0, numberOfInProgressCheckpoints: 0, lastCheckpointDuration: 0, lastCheckpointSize: 0, lastCompleted: undefined, history: [] };
  let id = 0;
  const triggers: number[] = [];
  const ends: number[] = [];
  const source = {
    kind: 'source', vertex: 'src', index: 0,
    trigger: (t: { checkpointId: number }) => {
      triggers.push(Date.now());
      setTimeout(() => coordinator.ack(t.checkpointId, source as unknown as Subtask, { list: [] }), ackDelayMs);
    },
    resume: () => {},
    notifyComplete: async () => {
      ends.push(Date.now());
    },
  };
  const coordinator: CheckpointCoordinator = new CheckpointCoordinator(
    { name: 'cp-sched', id: 'cafe', maxParallelism: 128 },
    { interval, timeout: 10_000, minPause, retained: 2, dir: tempDir() },
    [source as unknown as Subtask],
    { src: 1 },
    stats,
    () => ++id,
    silentLogger,
    () => true,
  );
  return { coordinator, stats, triggers, ends };
}

test('periodic checkpoints: one per interval, never a pair in one interval', { timeout: 30_000 }, async () => {
  const c = coordinatorWith(200, 0, 0);
  c.coordinator.start();
  await waitFor(() => c.stats.numberOfCompletedCheckpoints >= 5, { what: 'five checkpoints', timeoutMs: 10_000 });
  c.coordinator.stop();
  const gaps = c.triggers.slice(1).map((t, i) => t - c.triggers[i]!);
  // timers never fire early; 2 ms of slack for Date.now() rounding
  assert.ok(gaps.every((g) => g >= 198), `gaps between triggers (ms): ${gaps.join(', ')}`);
});

test('periodic checkpoints: minPause counts from the previous checkpoint\'s completion', { timeout: 30_000 }, async () => {
  // each checkpoint takes ~120 ms; interval 100 ms would trigger at once after it; minPause 300 ms holds it back
  const c = coordinatorWith(100, 300, 120);
  c.coordinator.start();
  await waitFor(() => c.stats.numberOfCompletedCheckpoints >= 3, { what: 'three checkpoints', timeoutMs: 10_000 });
  c.coordinator.stop();
  for (let i = 1; i < c.triggers.length && i <= c.ends.length; i++) {
    const pause = c.triggers[i]! - c.ends[i - 1]!;
    assert.ok(pause >= 298, `checkpoint ${i + 1} triggered ${pause} ms after checkpoint ${i} completed (minPause 300)`);
  }
});
