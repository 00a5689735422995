/**
 * Busy time as Flink defines it, on one TaskManager (one event loop): generator → filter → map
 * burning 1 ms of CPU per record (`faults.cpuMs`) → keyed window. Every subtask shares the event
 * loop, so while the map computes, the filter waits for the loop; that wait is not the filter's busy
 * time. The filter does almost nothing itself and is blocked on the map's full input channel: low
 * busy, high back-pressured; the map is busy near 1000 ms/s; and the diagnoser names the map as the
 * bottleneck, not the filter (it used to read ~1000 ms/s busy on every vertex and name the filter).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScenario, explain } from './helpers/scenario.ts';
import { tempDir } from './helpers/wait.ts';
import type { JobWindow } from '../diagnoser/window.ts';

/** Mean over the window of a vertex's per-subtask series (max over subtasks), ms/s. */
function meanOf(w: JobWindow, vertex: string, metric: 'busyTimeMsPerSecond' | 'backPressuredTimeMsPerSecond' | 'idleTimeMsPerSecond'): number {
  const v = w.vertices.find((x) => x.name === vertex);
  assert.ok(v, `vertex ${vertex} in the window`);
  const per = v.subtasks.map((s) => {
    const xs = s[metric].map((p) => p.v).filter((x) => Number.isFinite(x));
    return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN;
  });
  return Math.max(...per);
}

test('a CPU-bound map in one TaskManager: the filter upstream is not busy, the map is, and the diagnosis names the map', { timeout: 90_000 }, async (t) => {
  const { diagnosis: d, window: w } = await runScenario({
    name: 'busy-cpu',
    checkpoints: { interval: 0, dir: tempDir() },
    taskManagers: 1,
    vertices: [
      { name: 'gen', type: 'generator-source', rate: 2000, keys: 100, splits: 4 },
      { name: 'keep', type: 'filter', condition: 'value >= 0' },
      { name: 'parse', type: 'map', faults: { cpuMs: 1 } },
      { name: 'count', type: 'window-aggregate', key: 'key', size: '1h', aggregations: { n: 'count' } },
      { name: 'out', type: 'discard-sink' },
    ],
    edges: [
      { from: 'gen', to: 'keep' },
      { from: 'keep', to: 'parse' },
      { from: 'parse', to: 'count', partitioning: 'hash', key: 'key' },
      { from: 'count', to: 'out' },
    ],
  }, { windowMs: 6000 });
  const filterBusy = meanOf(w, 'keep', 'busyTimeMsPerSecond');
  const mapBusy = meanOf(w, 'parse', 'busyTimeMsPerSecond');
  const filterBp = meanOf(w, 'keep', 'backPressuredTimeMsPerSecond');
  const windowBusy = meanOf(w, 'count', 'busyTimeMsPerSecond');
  const shape = `busy ms/s: filter ${filterBusy.toFixed(0)}, map ${mapBusy.toFixed(0)}, window ${windowBusy.toFixed(0)}; filter back-pressured ${filterBp.toFixed(0)} ms/s`;
  t.diagnostic(shape);
  assert.ok(mapBusy > 700, `the CPU-bound map is busy: ${shape}`);
  assert.ok(filterBusy < 100, `the filter next to it is not: ${shape}`);
  assert.ok(windowBusy < 100, `nor the window after it: ${shape}`);
  assert.ok(filterBp > 500, `the filter is blocked on the map's input: ${shape}`);
  assert.equal(d.rootCause.vertex, 'parse', explain(d));
  const bottleneck = d.findings.find((f) => f.ruleId === 'backpressure.bottleneck');
  assert.equal(bottleneck?.vertex, 'parse', explain(d));
});
