// test-runner: serial
/**
 * Scenario: a CPU-bound vertex in a chain. generator (R records/s) → filter → `parse`, a map burning
 * 1 ms of CPU per record (`faults.cpuMs`: one subtask handles at most ~1,000 records/s) → keyed
 * count → discard, on the bundled catalog (2 TaskManagers: the main thread and a worker thread).
 * The job lags; the diagnosis names `parse` (not the filter beside it, which only waits: its busy time
 * is the filter's own work, not the event loop's) and recommends more parallelism for it; applying
 * the recommendation through the tuner on the bundled executor (stop with savepoint, start with the
 * new parallelism: `parse`'s second subtask runs on the worker TaskManager's own thread) makes the
 * job keep up: the source's backlog drains.
 *
 * It needs about 1.1 cores of CPU once scaled: on a machine whose cores are taken by other work the
 * second subtask cannot run, and the backlog does not drain (the fault burns wall-clock time).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JobSpec } from '../../runtime/spec.ts';
import type { LocalJob } from '../../runtime/job.ts';
import { loadJobWindow } from '../../diagnoser/load.ts';
import { diagnose } from '../../diagnoser/diagnose.ts';
import { createTunerStack } from '../helpers/tuner-child.ts';
import { explain, setParallelism, shortWindowRules, topologyOf } from '../helpers/scenario.ts';
import { tempDir, waitFor } from '../helpers/wait.ts';

const R = 1100; // records/s from the source: more than one parse subtask handles (1.1 cores of CPU at parallelism 2)
const CPU_MS = 1; // ms of CPU per record in parse

function spec(): JobSpec {
  return {
    name: 'sc-cpu-bound',
    taskManagers: 2,
    checkpoints: { interval: 1000 },
    vertices: [
      { name: 'orders', type: 'generator-source', rate: R, keys: 100, splits: 4 },
      { name: 'valid', type: 'filter', condition: 'value >= 0' },
      { name: 'parse', type: 'map', faults: { cpuMs: CPU_MS } },
      { name: 'per-key', type: 'window-aggregate', key: 'key', size: '1h', aggregations: { n: 'count' } },
      { name: 'out', type: 'discard-sink' },
    ],
    edges: [
      { from: 'orders', to: 'valid' },
      { from: 'valid', to: 'parse', partitioning: 'rebalance' },
      { from: 'parse', to: 'per-key', partitioning: 'hash', key: 'key' },
      { from: 'per-key', to: 'out' },
    ],
  };
}

/** The source's backlog (pendingRecords over its subtasks), records. */
function backlog(job: LocalJob): number {
  return job.currentSubtasks().filter((s) => s.vertex === 'orders').reduce((a, s) => a + (s.metrics.pendingRecords ?? 0), 0);
}

test('CPU-bound vertex in a chain → under-provisioned, that vertex named; applying the recommendation through the tuner makes the job keep up', { timeout: 300_000 }, async (t) => {
  // small buffers: the backlog shows as lag, not as records held in channels, and the savepoint's
  // barrier does not queue behind seconds of CPU work
  const s = await createTunerStack({ dataDir: tempDir(), collectorIntervalMs: 1000, batchSize: 64, policies: { '*': { mode: 'recommend', verifyAfterMs: 5000 } } });
  try {
    const m = await s.catalog.submitSpec(spec());
    const id = m.job_id;
    const job = s.catalog.localJob(id)!;
    const from = job.startedAt + 3000;
    await waitFor(() => Date.now() >= from + 8000, { timeoutMs: 60_000, intervalMs: 200, what: 'the window to fill' });
    const now = Date.now();
    const window = await loadJobWindow(s.store, id, from, now, now, { stepMs: 1000, topology: topologyOf(job) });
    const d = diagnose(shortWindowRules(), window, { type: 'manual' });
    t.diagnostic(`diagnosis: ${d.rootCause.kind} ${d.rootCause.vertex ?? ''}; backlog ${backlog(job)} records`);
    assert.equal(d.rootCause.kind, 'under-provisioned', explain(d));
    assert.equal(d.rootCause.vertex, 'parse', explain(d));
    const act = setParallelism(d).find((a) => a.vertex.name === 'parse');
    assert.ok(act && act.from === 1 && act.to >= 2, explain(d));
    assert.ok(!setParallelism(d).some((a) => a.vertex.name === 'valid'), `nothing for the filter: ${explain(d)}`);

    const rec = d.recommendations.find((r) => r.actions.includes(act))!;
    const op = await s.tuner.apply({ job_id: id, actions: rec.actions, origin: 'user' });
    const after = await waitFor(() => {
      const j = s.catalog.localJob(id);
      return j && j !== job && j.state === 'RUNNING' && j.currentSubtasks().filter((x) => x.vertex === 'parse').length === act.to ? j : undefined;
    }, { timeoutMs: 60_000, what: `the job running with parse at parallelism ${act.to}` });
    const tms = new Set(after.currentSubtasks().filter((x) => x.vertex === 'parse').map((x) => x.tmId));
    assert.equal(tms.size, 2, 'parse runs on both TaskManagers');
    // keeps up: the backlog (which the savepoint restart kept, as on Kafka) drains to under a second of input
    const peak = await waitFor(() => backlog(after) || undefined, { what: 'the backlog after the restart' });
    await waitFor(() => backlog(after) < R, { timeoutMs: 150_000, intervalMs: 500, what: `the backlog (${peak} records after the restart) to drain` });
    t.diagnostic(`parse at ${act.to}: backlog ${peak} → ${backlog(after)} records`);
    const done = await s.tuner.waitFor(op.id, 60_000);
    t.diagnostic(`operation ${done.state}: ${done.steps.map((x) => `${x.name} ${x.status} ${x.message ?? ''}`).join('; ')}`);
    assert.equal(done.state, 'SUCCEEDED', JSON.stringify(done.steps));
  } finally {
    await s.close();
  }
});
