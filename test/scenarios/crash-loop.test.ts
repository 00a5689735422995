/**
 * Scenario: a crash loop from a poison record. `parse` throws on one record; every restart from the
 * last checkpoint replays it and fails again. The sources then read nothing and lag grows: the
 * stalled consumer is reported as a consequence of the crash loop, not as a cause.
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
  // between restarts the sources read nothing and lag grows: symptoms of the crash loop, marked as
  // such; "reading is limited outside the job" (source.bound) would be wrong and is not reported
  assert.deepEqual(d.findings.filter((x) => x.ruleId === 'source.bound' || x.ruleId === 'capacity.over-provisioned'), [], explain(d));
  const stalled = d.findings.find((x) => x.ruleId === 'consumer.stalled');
  assert.equal(stalled?.consequenceOf, 'restarts.crash-loop', explain(d));
  for (const x of d.findings) if (x !== f) assert.equal(x.consequenceOf, 'restarts.crash-loop', `${x.ruleId} reads as a cause of its own: ${explain(d)}`);
});
