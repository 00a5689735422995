/** Dataset-replay lag (collector/dataset-lag.ts): splits as partitions of a consumer group, pure. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { datasetLagPoints, datasetLagSample } from '../collector/dataset-lag.ts';
import { KAFKA_LAG_MEASUREMENTS as M } from '../collector/kafka/index.ts';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalJob } from '../runtime/job.ts';
import type { JobSpec } from '../runtime/spec.ts';
import { tempDir } from './helpers/wait.ts';

const T0 = 1_767_225_600_000;

test('with a rate: lag = arrived − read, lag seconds = age of the oldest unread record on the arrival clock', () => {
  // 10 records/s per split, started 100 s ago: record 900 arrived 10 s ago
  const g = datasetLagSample('flights-job', [
    { vertex: 'flights', split: 1, readOffset: 900, arrivedOffset: 1001, arrivalRate: 10, startedAt: T0 - 100_000 },
    { vertex: 'flights', split: 0, readOffset: 1001, arrivedOffset: 1001, arrivalRate: 10, startedAt: T0 - 100_000 },
  ], T0)!;
  assert.deepEqual(g.partitions.map((p) => [p.topic, p.partition, p.logEndOffset, p.committedOffset, p.lag]), [['flights', 0, 1001, 1001, 0], ['flights', 1, 1001, 900, 101]]);
  assert.equal(g.partitions[0]!.lagSeconds, 0);
  assert.equal(g.partitions[1]!.lagSeconds, 10);
  assert.equal(g.totalLag, 101);
  assert.equal(g.maxLagSeconds, 10);
});

test('without a rate every record arrived at the start; unknown start gives 0 s, never NaN', () => {
  const g = datasetLagSample('j', [{ vertex: 'src', split: 0, readOffset: 10, arrivedOffset: 50, arrivalRate: 0, startedAt: T0 - 4000 }], T0)!;
  assert.equal(g.partitions[0]!.lag, 40);
  assert.equal(g.partitions[0]!.lagSeconds, 4);
  const u = datasetLagSample('j', [{ vertex: 'src', split: 0, readOffset: 10, arrivedOffset: 50 }], T0)!;
  assert.equal(u.partitions[0]!.lagSeconds, 0);
  assert.equal(datasetLagSample('j', [], T0), null);
  assert.equal(datasetLagSample('j', [{ vertex: 'src', split: 0, readOffset: Number.NaN, arrivedOffset: 5 }], T0), null);
});

test('points: the Kafka lag measurements and tags, plus source=dataset', () => {
  const pts = datasetLagPoints('j', [{ vertex: 'src', split: 3, readOffset: 7, arrivedOffset: 9, arrivalRate: 1, startedAt: T0 - 10_000 }], T0);
  const lag = pts.find((p) => p.measurement === M.lag)!;
  assert.deepEqual(lag.tags, { group: 'j', topic: 'src', partition: '3', source: 'dataset' });
  assert.equal(lag.fields.value, 2);
  assert.equal(lag.timestamp, T0);
  assert.deepEqual(pts.find((p) => p.measurement === M.committedOffset)!.fields, { value: 7 });
  assert.deepEqual(pts.find((p) => p.measurement === M.logEndOffset)!.fields, { value: 9 });
  assert.deepEqual(pts.find((p) => p.measurement === M.groupTotalLag)!.tags, { group: 'j', source: 'dataset' });
  assert.deepEqual(new Set(pts.map((p) => p.measurement)), new Set(Object.values(M)));
});

test('LocalJob.sourceOffsets without a rate: every record has arrived; at the end all are read', { timeout: 60_000 }, async () => {
  const dir = tempDir('streamtune-dslag-');
  try {
    const file = join(dir, 'rows.jsonl');
    writeFileSync(file, Array.from({ length: 101 }, (_, i) => JSON.stringify({ ts: T0 + i, v: i })).join('\n') + '\n');
    const job = new LocalJob({
      name: 'ds-offsets',
      checkpoints: { interval: 60_000, dir: join(dir, 'chk') },
      vertices: [
        { name: 'src', type: 'dataset-source', path: file, eventTime: 'ts', splits: 3, parallelism: 2 },
        { name: 'out', type: 'discard-sink' },
      ],
      edges: [{ from: 'src', to: 'out', partitioning: 'rebalance' }],
    } as JobSpec);
    await job.start();
    assert.equal((await job.done()).state, 'FINISHED');
    // 101 rows in 3 stripes: 34, 34, 33
    assert.deepEqual(job.sourceOffsets().map((o) => [o.vertex, o.split, o.readOffset, o.arrivedOffset, o.arrivalRate]), [
      ['src', 0, 34, 34, 0],
      ['src', 1, 34, 34, 0],
      ['src', 2, 33, 33, 0],
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
