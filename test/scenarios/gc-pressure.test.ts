/**
 * Scenario: GC pressure. `enrich` allocates a short-lived buffer of A bytes per record (the
 * allocBytes knob) and keeps 40 KB per record (retainBytes: a growing live heap makes every major
 * GC longer), so the process spends a large share of its time in garbage collection and `enrich`,
 * the allocating vertex, becomes the bottleneck. Allocation alone gave ~75–115 ms/s of GC here and
 * 20 KB kept per record 90–110 ms/s, both too close to the detector's moderate threshold
 * (100 ms/s); 40 KB gives 155–230 ms/s, idle or loaded (the heap reaches ~1.6 GB).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScenario, setParallelism, explain } from '../helpers/scenario.ts';
import { tempDir } from '../helpers/wait.ts';
import type { TuningAction } from '../../diagnoser/types.ts';

test('GC pressure → memory-pressure, the allocating vertex, set-memory, no scale-up', { timeout: 180_000 }, async () => {
  const { diagnosis: d } = await runScenario({
    name: 'sc-gc',
    checkpoints: { interval: 0, dir: tempDir() },
    vertices: [
      { name: 'orders', type: 'generator-source', rate: 2000, keys: 100, splits: 4 },
      { name: 'enrich', type: 'map', faults: { allocBytes: 400_000, retainBytes: 40_000 } },
      { name: 'out', type: 'discard-sink' },
    ],
    edges: [
      { from: 'orders', to: 'enrich' },
      { from: 'enrich', to: 'out' },
    ],
  });
  assert.equal(d.rootCause.kind, 'memory-pressure', explain(d));
  assert.equal(d.rootCause.vertex, 'enrich', explain(d));
  assert.ok(d.findings.some((f) => f.ruleId === 'memory.gc'), explain(d));
  const act = d.recommendations.flatMap((r) => r.actions).find((a): a is Extract<TuningAction, { type: 'set-memory' }> => a.type === 'set-memory');
  assert.ok(act && act.heapBytes > 0, explain(d));
  assert.deepEqual(setParallelism(d), [], explain(d));
});
