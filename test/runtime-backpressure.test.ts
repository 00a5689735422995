// test-runner: serial
/**
 * Real backpressure: a downstream operator slowed with the latency knob is busy near 1000 ms/s while
 * its upstream is backpressured; doubling its parallelism raises throughput.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalJob } from '../runtime/job.ts';
import type { JobSpec } from '../runtime/spec.ts';
import { tempDir, waitFor } from './helpers/wait.ts';
import { setTimeout as sleep } from 'node:timers/promises';

function spec(): JobSpec {
  return {
    name: 'bp-test',
    checkpoints: { interval: 0, dir: tempDir() },
    vertices: [
      { name: 'gen', type: 'generator-source', rate: 0, keys: 100, splits: 4, parallelism: 1 },
      { name: 'slow', type: 'map', parallelism: 1, faults: { latencyMs: 0.2 } },
      { name: 'sink', type: 'discard-sink', parallelism: 1 },
    ],
    edges: [
      { from: 'gen', to: 'slow', partitioning: 'rebalance' },
      { from: 'slow', to: 'sink', partitioning: 'rebalance' },
    ],
  };
}

function value(job: LocalJob, measurement: string, vertex: string, field = 'value'): number[] {
  return job
    .metricPoints()
    .filter((p) => p.measurement === measurement && p.tags.task_name === vertex)
    .map((p) => Number(p.fields[field]));
}

async function measure(parallelism: number): Promise<{ rate: number; slowBusy: number; genBp: number }> {
  const job = new LocalJob(spec(), { parallelism: { slow: parallelism }, metricsWindowMs: 3000 });
  await job.start();
  // let the window fill with steady-state samples
  await waitFor(() => value(job, 'taskmanager_job_task_numRecordsInPerSecond', 'slow', 'rate').every((r) => r > 0), { what: 'slow vertex to process' });
  await sleep(4000);
  const rate = value(job, 'taskmanager_job_task_numRecordsInPerSecond', 'slow', 'rate').reduce((a, b) => a + b, 0);
  const slowBusy = Math.min(...value(job, 'taskmanager_job_task_busyTimeMsPerSecond', 'slow'));
  const genBp = Math.max(...value(job, 'taskmanager_job_task_backPressuredTimeMsPerSecond', 'gen'));
  const sum = ['busyTimeMsPerSecond', 'backPressuredTimeMsPerSecond', 'idleTimeMsPerSecond']
    .map((m) => value(job, `taskmanager_job_task_${m}`, 'gen')[0]!)
    .reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(sum - 1000) < 50, `busy + backpressured + idle of gen should be about 1000 ms/s, got ${sum}`);
  await job.cancel();
  return { rate, slowBusy, genBp };
}

test('a slowed operator is busy while its upstream is backpressured; doubling its parallelism raises throughput', { timeout: 120_000 }, async () => {
  const one = await measure(1);
  assert.ok(one.slowBusy > 850, `slow vertex busy time should be near 1000 ms/s, got ${one.slowBusy}`);
  assert.ok(one.genBp > 500, `source should be backpressured most of the time, got ${one.genBp} ms/s`);
  const two = await measure(2);
  assert.ok(two.rate > one.rate * 1.5, `throughput should rise with parallelism 2: ${one.rate} → ${two.rate} records/s`);
});
