/** Scenario: over-provisioning — four subtasks of `enrich` for a load one handles with ease. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScenario, setParallelism, explain } from '../helpers/scenario.ts';
import { tempDir } from '../helpers/wait.ts';

test('over-provisioned → over-provisioned, the vertex, a scale-down', { timeout: 60_000 }, async () => {
  const { diagnosis: d } = await runScenario({
    name: 'sc-over',
    checkpoints: { interval: 0, dir: tempDir() },
    vertices: [
      { name: 'orders', type: 'generator-source', rate: 200, keys: 100, splits: 4 },
      { name: 'enrich', type: 'map', parallelism: 4, set: { doubled: 'value * 2' } },
      { name: 'out', type: 'discard-sink' },
    ],
    edges: [
      { from: 'orders', to: 'enrich', partitioning: 'rebalance' },
      { from: 'enrich', to: 'out', partitioning: 'rebalance' },
    ],
  });
  assert.equal(d.rootCause.kind, 'over-provisioned', explain(d));
  assert.equal(d.rootCause.vertex, 'enrich', explain(d));
  const act = setParallelism(d).find((a) => a.vertex.name === 'enrich');
  assert.ok(act && act.from === 4 && act.to < 4, explain(d));
});
