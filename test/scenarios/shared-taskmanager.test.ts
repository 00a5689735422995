/**
 * Scenario: two jobs in one bundled-runtime process, i.e. on one TaskManager (`tm_id` is the
 * process): `sc-leaky` keeps 20 KB per record on the heap (as in heap-growth.test.ts), `sc-light`
 * does nothing wrong. Both write into the same store. The diagnosis of the light job sees the
 * TaskManager's rising heap; it must say the TaskManager is shared, name the leaking job and be
 * less confident than the leaking job's own diagnosis would be alone (heap-growth.test.ts: 0.65).
 * The heap stays around 400 MB.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startScenario, explain } from '../helpers/scenario.ts';
import { tempDir, waitFor } from '../helpers/wait.ts';
import { LocalJob } from '../../runtime/job.ts';
import type { JobSpec } from '../../runtime/spec.ts';

const pipeline = (name: string, faults?: { retainBytes: number }): JobSpec => ({
  name,
  checkpoints: { interval: 0, dir: tempDir() },
  vertices: [
    { name: 'orders', type: 'generator-source', rate: 2000, keys: 100, splits: 4 },
    { name: 'enrich', type: 'map', ...(faults ? { faults } : { set: { doubled: 'value * 2' } }) },
    { name: 'out', type: 'discard-sink' },
  ],
  edges: [
    { from: 'orders', to: 'enrich' },
    { from: 'enrich', to: 'out' },
  ],
});

test('heap growth on a TaskManager shared by two jobs → the other job is named, sharedTaskManager, lower confidence', { timeout: 120_000 }, async () => {
  const leaky = new LocalJob(pipeline('sc-leaky', { retainBytes: 20_000 }), { metricsWindowMs: 1000 });
  await leaky.start();
  const sc = await startScenario(pipeline('sc-light'), { extraPoints: () => leaky.metricPoints(Date.now()) });
  try {
    const from = sc.startedAt + 2000;
    await waitFor(() => Date.now() >= from + 8000, { timeoutMs: 40_000, intervalMs: 100, what: 'the window to fill' });
    const { diagnosis: d } = await sc.diagnose(from);
    const heap = d.findings.find((f) => f.ruleId === 'memory.heap');
    assert.ok(heap, explain(d));
    assert.equal(heap.evidence.sharedTaskManager, true, explain(d));
    assert.deepEqual(heap.evidence.otherJobs, [{ jobId: leaky.id, jobName: 'sc-leaky' }], explain(d));
    assert.match(heap.summary, /shared with 1 other job\(s\): sc-leaky/);
    assert.equal(d.rootCause.kind, 'memory-pressure', explain(d));
    assert.ok(d.rootCause.confidence < 0.65, `confidence ${d.rootCause.confidence}`);
    assert.match(d.rootCause.explanation, /also runs sc-leaky/);
  } finally {
    await sc.stop();
    await leaky.cancel();
  }
});
