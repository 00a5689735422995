/**
 * Scenario: the live heap grows (a leak). `enrich` keeps 20 KB per record on the V8 heap
 * (the retainBytes knob) and allocates nothing short-lived, so GC time stays low (10–20 ms/s, no
 * 'memory.gc' finding) while the heap left after GC rises by about rate × 20 KB = 40 MB/s. After
 * the 2 s warm-up and the 8 s window the heap is about 400 MB, 10% of Node's 4 GB limit here:
 * graded on the floor itself the leak would read as nothing for minutes, graded on the floor
 * projected 30 min ahead (rules/detectors.yaml, memory.heap) it is critical.
 *
 * The root cause names no vertex: heap is a TaskManager resource, and no metric of the window
 * ties it to one vertex (busy time is ~100 ms/s for enrich and ~80 ms/s for the source, no
 * evidence either way); the finding names the TaskManager instead.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScenario, setParallelism, explain } from '../helpers/scenario.ts';
import { tempDir } from '../helpers/wait.ts';
import { severityRank } from '../../diagnoser/detectors/common.ts';
import type { TuningAction } from '../../diagnoser/types.ts';

const RATE = 2000; // records/s
const RETAIN = 20_000; // bytes kept per record

test('heap after GC rising → memory.heap with slope and floor/max, memory-pressure, set-memory', { timeout: 120_000 }, async () => {
  const { diagnosis: d } = await runScenario({
    name: 'sc-heap',
    checkpoints: { interval: 0, dir: tempDir() },
    vertices: [
      { name: 'orders', type: 'generator-source', rate: RATE, keys: 100, splits: 4 },
      { name: 'enrich', type: 'map', faults: { retainBytes: RETAIN } },
      { name: 'out', type: 'discard-sink' },
    ],
    edges: [
      { from: 'orders', to: 'enrich' },
      { from: 'enrich', to: 'out' },
    ],
  }, { windowMs: 8000 });
  const heap = d.findings.find((f) => f.ruleId === 'memory.heap');
  assert.ok(heap, explain(d));
  const e = heap.evidence as { tmId: string; slopeBytesPerMinute: number; floorToMax: number; projectedFloorToMax: number; heapFloorBytes: number; heapMaxBytes: number; floors: number };
  assert.equal(e.tmId, `streamtune-tm-${process.pid}`, explain(d));
  // the slope is the leak: RATE × RETAIN bytes/s, give or take the generator's pace and array headers
  const leakPerMinute = RATE * RETAIN * 60;
  assert.ok(e.slopeBytesPerMinute > 0.5 * leakPerMinute && e.slopeBytesPerMinute < 1.5 * leakPerMinute, `slope ${e.slopeBytesPerMinute} B/min, leak ${leakPerMinute} B/min`);
  assert.ok(e.floors >= 3, explain(d));
  assert.ok(e.heapFloorBytes < 1024 ** 3, 'the scenario stays under 1 GiB of heap');
  assert.ok(e.floorToMax < 0.25 && e.projectedFloorToMax >= 0.95, JSON.stringify(e));
  assert.equal(heap.severity, 'critical', explain(d));
  assert.ok(d.findings.every((f) => f.ruleId !== 'memory.gc' || severityRank(f.severity) < 2), 'GC time is not what fires');

  assert.equal(d.rootCause.kind, 'memory-pressure', explain(d));
  assert.equal(d.rootCause.vertex, undefined, explain(d));
  assert.match(d.rootCause.explanation, new RegExp(`heap after GC on ${e.tmId}`));
  const rec = d.recommendations.find((r) => r.actions.some((a) => a.type === 'set-memory'));
  assert.equal(rec?.ruleId, 'memory.heap', explain(d));
  const act = rec.actions.find((a): a is Extract<TuningAction, { type: 'set-memory' }> => a.type === 'set-memory')!;
  assert.ok(act.heapBytes > e.heapMaxBytes, explain(d));
  assert.deepEqual(setParallelism(d), [], explain(d));
});
