/**
 * Scenario: a transient spike. A job is stopped with a savepoint and restored 8 s later (a deploy):
 * the generator's arrival clock, kept in the savepoint, ran on, so the restored job starts with a
 * backlog of about 8 s of records that it drains at up to twice the input rate. The diagnosis
 * made while the backlog drains reports it and recommends nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startScenario, explain } from '../helpers/scenario.ts';
import { tempDir, waitFor } from '../helpers/wait.ts';
import { LocalJob } from '../../runtime/job.ts';
import type { JobSpec } from '../../runtime/spec.ts';

test('backlog after a restore draining fast → transient-spike, no action', { timeout: 90_000 }, async () => {
  const dir = tempDir();
  const spec: JobSpec = {
    name: 'sc-transient',
    checkpoints: { interval: 500, dir: join(dir, 'chk') },
    vertices: [
      { name: 'orders', type: 'generator-source', rate: 1000, keys: 100, splits: 4 },
      // at most 1000 / 0.5 = 2000 records/s: the backlog drains at up to 1000 records/s, so it takes ≥ 8 s
      { name: 'enrich', type: 'map', faults: { latencyMs: 0.5 } },
      { name: 'out', type: 'discard-sink' },
    ],
    edges: [
      { from: 'orders', to: 'enrich', partitioning: 'rebalance' },
      { from: 'enrich', to: 'out' },
    ],
  };
  const first = new LocalJob(spec, { metricsWindowMs: 1000 });
  await first.start();
  await waitFor(() => first.stats.numberOfCompletedCheckpoints >= 1, { what: 'a first checkpoint' });
  const sp = await first.stopWithSavepoint(join(dir, 'sp'));
  const stoppedAt = Date.now();
  await waitFor(() => Date.now() - stoppedAt >= 8000, { intervalMs: 100, timeoutMs: 20_000, what: 'the downtime' });

  const sc = await startScenario(spec, { job: { fromSavepoint: sp.path } });
  try {
    const pending = () => sc.job.metricPoints().filter((p) => p.measurement === 'taskmanager_job_task_operator_pendingRecords').reduce((a, p) => a + Number(p.fields.value), 0);
    const peak = await waitFor(() => pending() || undefined, { what: 'the backlog' });
    // diagnose once at least 3 s of data are in and the backlog is on its way down
    await waitFor(() => Date.now() - sc.startedAt >= 3500 && pending() < peak * 0.45, { timeoutMs: 40_000, intervalMs: 100, what: 'the backlog to drain' });
    const { diagnosis: d } = await sc.diagnose(sc.startedAt);

    assert.equal(d.rootCause.kind, 'transient-spike', explain(d));
    assert.ok(d.findings.some((f) => f.ruleId === 'lag.transient-spike'), explain(d));
    assert.deepEqual(d.recommendations.flatMap((r) => r.actions), [], explain(d));
  } finally {
    await sc.stop();
  }
});
