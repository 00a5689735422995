/**
 * Scenario: a too-slow source. The generator reads one split (one partition) with one subtask and
 * pays L ms per record it reads, so it cannot read as fast as records arrive; nothing downstream is
 * back-pressured. More parallelism cannot help past one subtask per partition.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScenario, setParallelism, explain } from '../helpers/scenario.ts';
import { tempDir } from '../helpers/wait.ts';

test('too-slow source → source-bound, the source vertex, no scale-up, add partitions', { timeout: 60_000 }, async () => {
  const { diagnosis: d } = await runScenario({
    name: 'sc-source',
    checkpoints: { interval: 0, dir: tempDir() },
    vertices: [
      { name: 'orders', type: 'generator-source', rate: 2000, keys: 100, splits: 1, faults: { latencyMs: 1 } },
      { name: 'enrich', type: 'map', set: { doubled: 'value * 2' } },
      { name: 'out', type: 'discard-sink' },
    ],
    edges: [
      { from: 'orders', to: 'enrich' },
      { from: 'enrich', to: 'out' },
    ],
  });
  assert.equal(d.rootCause.kind, 'source-bound', explain(d));
  assert.equal(d.rootCause.vertex, 'orders', explain(d));
  assert.ok(!d.findings.some((f) => f.ruleId === 'backpressure.bottleneck'), explain(d));
  assert.deepEqual(setParallelism(d), [], explain(d));
  assert.ok(d.recommendations.some((r) => /partitions/.test(r.title)), explain(d));
});
