/**
 * The main job on real data: per-origin sums of count and sumDelay over the whole flights-3m run
 * equal DuckDB's GROUP BY origin exactly — straight through, and when stopped with a savepoint twice
 * midway and restored with another aggregation parallelism each time (1 → 4 → 2).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadJobSpec } from '../runtime/spec.ts';
import { LocalJob } from '../runtime/job.ts';
import { committedRecords, duplicateWindows, groundTruth, sumsByOrigin } from './helpers/flights.ts';
import { tempDir, waitFor } from './helpers/wait.ts';

const spec = () => {
  const s = loadJobSpec('jobs/flight-delays.yaml');
  s.checkpoints = { ...s.checkpoints, dir: join(tempDir(), 'chk') };
  return s;
};

function sourceRecords(job: LocalJob): number {
  return job.currentSubtasks().filter((s) => s.kind === 'source').reduce((a, s) => a + s.metrics.numRecordsIn, 0);
}

test('flights-3m: per-origin sums equal DuckDB GROUP BY origin', { timeout: 300_000 }, async () => {
  const out = tempDir();
  const job = new LocalJob(spec(), { outputDirs: { results: out } });
  await job.start();
  const r = await job.done();
  assert.equal(r.state, 'FINISHED');
  const records = committedRecords(out);
  assert.deepEqual(duplicateWindows(records), []);
  const truth = await groundTruth();
  assert.equal(truth.size, 229);
  assert.deepEqual(sumsByOrigin(records), truth);
});

test('flights-3m: stopped with a savepoint twice and restored at parallelism 1 → 4 → 2, still exact', { timeout: 300_000 }, async () => {
  const out = tempDir();
  const sp = tempDir();
  const s = spec();
  const first = new LocalJob(s, { outputDirs: { results: out }, parallelism: { 'delay-by-origin': 1 } });
  await first.start();
  await waitFor(() => sourceRecords(first) > 700_000, { timeoutMs: 120_000, what: 'first run to read 700k flights' });
  const sp1 = await first.stopWithSavepoint(sp);
  assert.equal((await first.done()).state, 'FINISHED');

  const second = new LocalJob(s, { outputDirs: { results: out }, parallelism: { 'delay-by-origin': 4 }, fromSavepoint: sp1.path });
  await second.start();
  assert.equal(second.currentSubtasks().filter((t) => t.vertex === 'delay-by-origin').length, 4);
  await waitFor(() => sourceRecords(second) > 700_000, { timeoutMs: 120_000, what: 'second run to read 700k more flights' });
  const sp2 = await second.stopWithSavepoint(sp);

  const third = new LocalJob(s, { outputDirs: { results: out }, parallelism: { 'delay-by-origin': 2 }, fromSavepoint: sp2.path });
  await third.start();
  assert.equal((await third.done()).state, 'FINISHED');

  const records = committedRecords(out);
  assert.deepEqual(duplicateWindows(records), []);
  assert.deepEqual(sumsByOrigin(records), await groundTruth());
});
