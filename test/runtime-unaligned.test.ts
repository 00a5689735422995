/**
 * Unaligned checkpoints (Flink's FLIP-76) on the flights job with a slowed, backpressured window:
 * barriers overtake the queued records, the overtaken and the pre-barrier records are stored in the
 * checkpoint as in-flight data, and a restore — after an injected failure, or from a retained
 * checkpoint with another window parallelism (in-flight records dealt to the new owners of their key
 * groups) — still gives exact per-origin sums.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadJobSpec, type JobSpec } from '../runtime/spec.ts';
import { LocalJob } from '../runtime/job.ts';
import { latestCheckpoint, readCheckpoint } from '../runtime/checkpoint/storage.ts';
import { committedRecords, duplicateWindows, groundTruth, sumsByOrigin } from './helpers/flights.ts';
import { tempDir, waitFor } from './helpers/wait.ts';

const LIMIT = 400_000;

function spec(chk: string, failAfter?: number): JobSpec {
  const s = loadJobSpec('jobs/flight-delays.yaml');
  s.checkpoints = { interval: 150, timeout: 30_000, dir: chk, unaligned: true, retained: 100 };
  s.restartStrategy = { type: 'fixed-delay', attempts: 2, delay: 100 };
  for (const v of s.vertices) {
    if (v.type === 'dataset-source') v.limit = LIMIT;
    // a slow window keeps the channel into it full: there is always something in flight
    if (v.name === 'delay-by-origin') v.faults = { latencyMs: 0.004, ...(failAfter !== undefined ? { failAfterRecords: failAfter } : {}) };
  }
  return s;
}

/** Records in flight stored in a checkpoint, per vertex. */
function inflightOf(path: string): Record<string, number> {
  const meta = readCheckpoint(path);
  const out: Record<string, number> = {};
  for (const [v, st] of Object.entries(meta.vertices)) out[v] = (st.inflight ?? []).reduce((n, b) => n + b.values.length, 0);
  return out;
}

test('unaligned checkpoints under backpressure store in-flight records; failover from one is exact', { timeout: 240_000 }, async () => {
  const chk = join(tempDir(), 'chk');
  const out = tempDir();
  const job = new LocalJob(spec(chk, 250_000), { outputDirs: { results: out } });
  assert.equal(job.checkpointSettings().unaligned, true);
  await job.start();
  const r = await job.done();
  assert.equal(r.state, 'FINISHED', r.error?.message);
  assert.equal(job.numRestarts, 1);
  const withInflight = job.stats.history.filter((h) => 'path' in h && !h.savepoint && Object.values(inflightOf(h.path)).some((n) => n > 0));
  assert.ok(withInflight.length > 0, 'some checkpoint stored records in flight');
  const records = committedRecords(out);
  assert.deepEqual(duplicateWindows(records), []);
  assert.deepEqual(sumsByOrigin(records), await groundTruth(LIMIT));
});

test('restore from a retained unaligned checkpoint with window parallelism 1 → 3 deals in-flight records by key group; exact', { timeout: 240_000 }, async () => {
  const chk = join(tempDir(), 'chk');
  const out = tempDir();
  const first = new LocalJob(spec(chk), { outputDirs: { results: out } });
  await first.start();
  await waitFor(
    () => {
      const last = latestCheckpoint(chk);
      return last !== undefined && inflightOf(last)['delay-by-origin']! > 0 && (first.currentSubtasks().find((s) => s.vertex === 'flights')?.metrics.numRecordsIn ?? 0) < LIMIT;
    },
    { what: 'an unaligned checkpoint with records in flight into the window', timeoutMs: 120_000, intervalMs: 20 },
  );
  await first.cancel();
  const from = latestCheckpoint(chk)!;
  assert.ok(inflightOf(from)['delay-by-origin']! > 0);
  const second = new LocalJob(spec(join(tempDir(), 'chk2')), { outputDirs: { results: out }, fromSavepoint: from, parallelism: { 'delay-by-origin': 3 } });
  await second.start();
  const r = await second.done();
  assert.equal(r.state, 'FINISHED', r.error?.message);
  const records = committedRecords(out);
  assert.deepEqual(duplicateWindows(records), []);
  assert.deepEqual(sumsByOrigin(records), await groundTruth(LIMIT));
});
