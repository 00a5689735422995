/**
 * Scenario: hot-key skew. 70% of the records carry one key; `count` (keyed by key, 4 subtasks of
 * 1000 records/s each at L = 1 ms/record) would handle the 2000 records/s if they were spread, but
 * the hot key's subtask receives about 1550 records/s.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScenario, setParallelism, explain } from '../helpers/scenario.ts';
import { tempDir } from '../helpers/wait.ts';

test('hot-key skew → data-skew, the keyed vertex, the skew remedy, no set-parallelism', { timeout: 60_000 }, async () => {
  const { diagnosis: d } = await runScenario({
    name: 'sc-skew',
    checkpoints: { interval: 0, dir: tempDir() },
    vertices: [
      { name: 'orders', type: 'generator-source', rate: 2000, keys: 100, hotKeyShare: 0.7, splits: 4 },
      { name: 'count', type: 'map', parallelism: 4, faults: { latencyMs: 1 } },
      { name: 'out', type: 'discard-sink' },
    ],
    edges: [
      { from: 'orders', to: 'count', partitioning: 'hash', key: 'key' },
      { from: 'count', to: 'out', partitioning: 'rebalance' },
    ],
  });
  assert.equal(d.rootCause.kind, 'data-skew', explain(d));
  assert.equal(d.rootCause.vertex, 'count', explain(d));
  assert.deepEqual(setParallelism(d), [], explain(d));
  const rec = d.recommendations.find((r) => r.ruleId === 'skew.keyed');
  assert.ok(rec, explain(d));
  assert.match(rec.title, /two-phase|salting/);
  assert.deepEqual(rec.actions, []);
});
