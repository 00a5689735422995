/** An injected failure restarts the job from the last completed checkpoint, and the output is still exact. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadJobSpec } from '../runtime/spec.ts';
import { LocalJob } from '../runtime/job.ts';
import { MemoryLogger } from '../core/logger.ts';
import type { LogEvent } from '../core/points.ts';
import { committedRecords, duplicateWindows, groundTruth, sumsByOrigin } from './helpers/flights.ts';
import { tempDir } from './helpers/wait.ts';

test('failure after N records: restart from the last checkpoint, numRestarts counted, output exact', { timeout: 240_000 }, async () => {
  const s = loadJobSpec('jobs/flight-delays.yaml');
  const LIMIT = 600_000;
  s.checkpoints = { interval: 200, timeout: 30_000, dir: join(tempDir(), 'chk') };
  s.restartStrategy = { type: 'fixed-delay', attempts: 2, delay: 100 };
  for (const v of s.vertices) {
    if (v.type === 'dataset-source') {
      v.limit = LIMIT;
      v.rate = 300_000;
    }
    if (v.name === 'delay-by-origin') v.faults = { failAfterRecords: 400_000 };
  }
  const out = tempDir();
  const logger = new MemoryLogger();
  const job = new LocalJob(s, { outputDirs: { results: out }, logger });
  const logs: LogEvent[] = [];
  job.onLog((e) => logs.push(e));
  await job.start();
  const r = await job.done();
  assert.equal(r.state, 'FINISHED');
  assert.equal(job.numRestarts, 1);
  assert.ok(job.stats.numberOfCompletedCheckpoints >= 1);
  const err = logs.find((e) => e.level === 'error');
  assert.equal(err?.exception_class, 'InjectedFailure');
  assert.equal(err?.vertex, 'delay-by-origin');
  assert.match(err?.stack ?? '', /InjectedFailure/);
  const line = logger.lines.find((l) => l.level === 'error');
  assert.equal(line?.meta.job_id, job.id);
  assert.equal(line?.meta.vertex, 'delay-by-origin');
  const records = committedRecords(out);
  assert.deepEqual(duplicateWindows(records), []);
  assert.deepEqual(sumsByOrigin(records), await groundTruth(LIMIT));
});

test('a poison record fails every attempt until the restart strategy gives up: the job ends FAILED', { timeout: 120_000 }, async () => {
  const job = new LocalJob(
    {
      name: 'poison',
      checkpoints: { interval: 100, dir: tempDir() },
      restartStrategy: { type: 'fixed-delay', attempts: 2, delay: 50 },
      vertices: [
        { name: 'gen', type: 'generator-source', count: 5000, rate: 0 },
        { name: 'parse', type: 'map', faults: { failOnRecord: 'seq == 4321' } },
        { name: 'out', type: 'discard-sink' },
      ],
      edges: [
        { from: 'gen', to: 'parse' },
        { from: 'parse', to: 'out' },
      ],
    },
    {},
  );
  await job.start();
  const r = await job.done();
  assert.equal(r.state, 'FAILED');
  assert.equal(job.numRestarts, 2);
  assert.equal(r.error?.name, 'PoisonRecordError');
});
