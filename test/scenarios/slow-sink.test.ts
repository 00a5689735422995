/** Scenario: a slow sink (a blocking write of L ms per record) is the bottleneck of the job. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScenario, setParallelism, explain } from '../helpers/scenario.ts';
import { tempDir } from '../helpers/wait.ts';

test('slow sink → under-provisioned, the sink vertex, set-parallelism up for the sink', { timeout: 60_000 }, async () => {
  const { diagnosis: d } = await runScenario({
    name: 'sc-sink',
    checkpoints: { interval: 0, dir: tempDir() },
    vertices: [
      { name: 'orders', type: 'generator-source', rate: 1000, keys: 100, splits: 4 },
      { name: 'enrich', type: 'map', set: { doubled: 'value * 2' } },
      { name: 'out', type: 'discard-sink', faults: { latencyMs: 2 } },
    ],
    edges: [
      { from: 'orders', to: 'enrich' },
      { from: 'enrich', to: 'out', partitioning: 'rebalance' },
    ],
  });
  assert.equal(d.rootCause.kind, 'under-provisioned', explain(d));
  assert.equal(d.rootCause.vertex, 'out', explain(d));
  assert.ok(d.findings.some((f) => f.ruleId === 'backpressure.bottleneck' && f.vertex === 'out'), explain(d));
  const act = setParallelism(d).find((a) => a.vertex.name === 'out');
  assert.ok(act && act.to > act.from, explain(d));
});
