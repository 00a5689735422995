/**
 * Scenario: checkpoint timeouts. A keyed window aggregation holds up to 100,000 keys, so
 * writing a checkpoint takes far longer than the configured 5 ms timeout: checkpoints expire and
 * fail while the job itself keeps up.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScenario, explain } from '../helpers/scenario.ts';
import { tempDir } from '../helpers/wait.ts';
import type { TuningAction } from '../../diagnoser/types.ts';

test('checkpoint timeouts → checkpoint-pressure with a set-checkpointing action raising the timeout', { timeout: 60_000 }, async () => {
  const TIMEOUT = 5;
  const { diagnosis: d } = await runScenario({
    name: 'sc-checkpoint',
    checkpoints: { interval: 300, timeout: TIMEOUT, dir: tempDir() },
    vertices: [
      { name: 'orders', type: 'generator-source', rate: 4000, keys: 100_000, splits: 4 },
      { name: 'per-key', type: 'window-aggregate', key: 'key', size: '1h', aggregations: { n: 'count', total: 'sum(value)' } },
      { name: 'out', type: 'discard-sink' },
    ],
    edges: [
      { from: 'orders', to: 'per-key', partitioning: 'hash', key: 'key' },
      { from: 'per-key', to: 'out' },
    ],
  }, { windowMs: 7000 });
  assert.equal(d.rootCause.kind, 'checkpoint-pressure', explain(d));
  assert.ok(d.findings.some((f) => f.ruleId === 'checkpoint.failures'), explain(d));
  const act = d.recommendations.flatMap((r) => r.actions).find((a): a is Extract<TuningAction, { type: 'set-checkpointing' }> => a.type === 'set-checkpointing');
  assert.ok(act, explain(d));
  assert.ok(act.timeout !== undefined && act.timeout > TIMEOUT, explain(d));
});
