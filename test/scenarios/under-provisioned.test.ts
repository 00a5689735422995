/**
 * Scenario: an under-provisioned operator. `enrich` (parallelism 1) is slowed with the latency knob
 * to L ms per record while the generator produces R records/s; the job falls behind and the
 * diagnoser must name `enrich` and recommend a parallelism within one of the smallest that keeps up.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScenario, setParallelism, explain } from '../helpers/scenario.ts';
import { tempDir } from '../helpers/wait.ts';

test('under-provisioned operator → set-parallelism up for it, within one of the smallest that keeps up', { timeout: 60_000 }, async () => {
  const R = 1000; // records/s from the source
  const L = 2; // ms of added latency per record in enrich
  // One subtask of enrich processes at most 1000 / L records/s (the latency is paid per record, as
  // busy time), so the smallest parallelism that keeps up with R is ceil(R / (1000 / L)) = ceil(R·L/1000).
  const pMin = Math.ceil((R * L) / 1000);
  const { diagnosis: d } = await runScenario({
    name: 'sc-under',
    checkpoints: { interval: 0, dir: tempDir() },
    vertices: [
      { name: 'orders', type: 'generator-source', rate: R, keys: 100, splits: 4 },
      { name: 'enrich', type: 'map', faults: { latencyMs: L } },
      { name: 'out', type: 'discard-sink' },
    ],
    edges: [
      { from: 'orders', to: 'enrich', partitioning: 'rebalance' },
      { from: 'enrich', to: 'out' },
    ],
  });
  assert.equal(d.rootCause.kind, 'under-provisioned', explain(d));
  assert.equal(d.rootCause.vertex, 'enrich', explain(d));
  const act = setParallelism(d).find((a) => a.vertex.name === 'enrich');
  assert.ok(act, explain(d));
  assert.equal(act.from, 1);
  assert.ok(act.to >= pMin && act.to <= pMin + 1, `to ${act.to}, smallest that keeps up ${pMin}: ${explain(d)}`);
});
