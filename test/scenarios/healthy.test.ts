/** Scenario: a healthy job — a light load every vertex handles easily; nothing to report. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScenario, explain } from '../helpers/scenario.ts';
import { severityRank } from '../../diagnoser/detectors/common.ts';
import { tempDir } from '../helpers/wait.ts';

test('healthy job → root cause healthy, no finding above low, no action', { timeout: 60_000 }, async () => {
  const { diagnosis: d } = await runScenario({
    name: 'sc-healthy',
    checkpoints: { interval: 1000, dir: tempDir() },
    vertices: [
      { name: 'orders', type: 'generator-source', rate: 300, keys: 100, splits: 4 },
      { name: 'enrich', type: 'map', set: { doubled: 'value * 2' } },
      { name: 'out', type: 'discard-sink' },
    ],
    edges: [
      { from: 'orders', to: 'enrich', partitioning: 'rebalance' },
      { from: 'enrich', to: 'out' },
    ],
  });
  assert.equal(d.rootCause.kind, 'healthy', explain(d));
  assert.ok(d.findings.every((f) => severityRank(f.severity) <= 1), explain(d));
  assert.deepEqual(d.recommendations.flatMap((r) => r.actions), [], explain(d));
});
