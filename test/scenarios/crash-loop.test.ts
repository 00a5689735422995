/**
 * Scenario: a crash loop from a poison record. `parse` throws on one record; every restart from the
 * last checkpoint replays it and fails again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScenario, setParallelism, explain } from '../helpers/scenario.ts';
import { tempDir } from '../helpers/wait.ts';

test('poison record → crash-loop, the exception class named, the vertex, no tuning action', { timeout: 60_000 }, async () => {
  const { diagnosis: d } = await runScenario({
    name: 'sc-crash',
    checkpoints: { interval: 200, dir: tempDir() },
    restartStrategy: { type: 'fixed-delay', attempts: 100, delay: 300 },
    vertices: [
      { name: 'orders', type: 'generator-source', rate: 1000, keys: 100, splits: 4 },
      { name: 'parse', type: 'map', faults: { failOnRecord: 'seq == 1500' } },
      { name: 'out', type: 'discard-sink' },
    ],
    edges: [
      { from: 'orders', to: 'parse' },
      { from: 'parse', to: 'out' },
    ],
  }, { warmupMs: 500 });
  assert.equal(d.rootCause.kind, 'crash-loop', explain(d));
  assert.equal(d.rootCause.vertex, 'parse', explain(d));
  assert.match(d.rootCause.explanation, /PoisonRecordError/);
  const f = d.findings.find((x) => x.ruleId === 'restarts.crash-loop');
  assert.ok(f && Number(f.evidence.restarts) >= 2, explain(d));
  assert.deepEqual(setParallelism(d), []);
});
