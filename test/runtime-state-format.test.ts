/**
 * Checkpoint format versions: window state as typed-array columns (format 2) round-trips every key
 * type through the file format; savepoints of format 1 (per-key tuples) still restore; a version this
 * streamtune does not know is refused with SAVEPOINT_CORRUPT naming the version.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalJob } from '../runtime/job.ts';
import type { JobSpec } from '../runtime/spec.ts';
import { CHECKPOINT_FORMAT_VERSION, decodeCheckpoint, encodeCheckpoint, readCheckpoint, type CheckpointMetadata } from '../runtime/checkpoint/storage.ts';
import { keyGroupOf } from '../runtime/keygroups.ts';
import { WindowSlots, keyGroupOfHash, keyHash, restoreKeyGroup, snapshotSlots, type KeyGroupBlock } from '../runtime/operators/window-state.ts';
import { StreamtuneError } from '../core/errors.ts';
import { tempDir } from './helpers/wait.ts';

test('window slots: grow past their capacity, find every key (strings, numbers, null, NaN), survive a format-2 file round trip', () => {
  const init = new Float64Array([0, Number.POSITIVE_INFINITY]);
  const w = new WindowSlots(3_600_000, 2, init);
  const keys: unknown[] = [null, Number.NaN, 0, -1, 2.5, 'a\u0000b', '', true];
  for (let i = 0; i < 5000; i++) keys.push(`key-${i}`);
  for (const [i, k] of keys.entries()) {
    const h = keyHash(k);
    assert.equal(w.find(k, h), -1);
    const s = w.insert(k, h, keyGroupOfHash(h, 128));
    w.counts[s] = i + 1;
    w.vals[s * 2] = i * 10;
    w.vals[s * 2 + 1] = -i;
    w.ns[s * 2] = i;
    w.ns[s * 2 + 1] = 1;
  }
  for (const [i, k] of keys.entries()) assert.equal(w.find(k, keyHash(k)), i, `slot of ${String(k)}`);
  assert.equal(w.kgs[keys.indexOf('key-7')], keyGroupOf('key-7', 128));

  const blocks = snapshotSlots([w], 2);
  const meta: CheckpointMetadata = {
    jobName: 'j',
    jobId: 'x'.repeat(32),
    checkpointId: 1,
    timestamp: 0,
    savepoint: true,
    maxParallelism: 128,
    vertices: { agg: { parallelism: 1, subtasks: [{ list: [], keyed: [...blocks.entries()] }] } },
  };
  const back = decodeCheckpoint(encodeCheckpoint(meta), 'mem');
  const restored = new Map<number, WindowSlots>();
  const windowFor = (s: number) => {
    let x = restored.get(s);
    if (!x) restored.set(s, (x = new WindowSlots(s, 2, init)));
    return x;
  };
  for (const [kg, raw] of back.vertices.agg!.subtasks[0]!.keyed) restoreKeyGroup(raw, kg, 2, [1, 2], windowFor);
  const r = restored.get(3_600_000)!;
  assert.equal(r.size, keys.length);
  for (const [i, k] of keys.entries()) {
    const s = r.find(k, keyHash(k));
    assert.ok(s >= 0, `restored ${String(k)}`);
    assert.deepEqual([r.counts[s], r.vals[s * 2], r.vals[s * 2 + 1], r.ns[s * 2], r.ns[s * 2 + 1]], [i + 1, i * 10, -i, i, 1]);
  }
  // a block for a vertex with other aggregations is refused, not misread
  const someBlock = back.vertices.agg!.subtasks[0]!.keyed[0]![1] as KeyGroupBlock;
  assert.throws(() => restoreKeyGroup(someBlock, 0, 3, [1, 2, 3], windowFor), (e: unknown) => e instanceof StreamtuneError && e.code === 'SAVEPOINT_CORRUPT' && /aggregations/.test(e.message));
  assert.throws(() => restoreKeyGroup({ f: 7 }, 0, 2, [1, 2], windowFor), (e: unknown) => e instanceof StreamtuneError && e.code === 'SAVEPOINT_CORRUPT' && /unknown format/.test(e.message));
});

const spec = (dir: string): JobSpec => ({
  name: 'format-test',
  checkpoints: { dir },
  vertices: [
    { name: 'gen', type: 'generator-source', rate: 0, keys: 5, count: 1000, splits: 2 },
    { name: 'agg', type: 'window-aggregate', key: 'key', size: '1h', timeFormat: 'epoch-ms', aggregations: { n: 'count', total: 'sum(value)', mean: 'avg(value)', low: 'min(value)' }, parallelism: 2 },
    { name: 'out', type: 'collect-sink' },
  ],
  edges: [
    { from: 'gen', to: 'agg', partitioning: 'hash', key: 'key' },
    { from: 'agg', to: 'out' },
  ],
});

/** A savepoint as format 1 wrote it: generator splits at 0 with a fixed clock, window state as tuples. */
function formatOneSavepoint(dir: string, version: number): string {
  const startedAt = 1_000_000; // event times 1e6 + j: all in the window [0, 1 h)
  const tuple = (key: string, count: number, sum: number, min: number) => [key, 0, count, [0, sum, sum, min], [0, count, count, count]];
  const meta: CheckpointMetadata = {
    jobName: 'format-test',
    jobId: 'f'.repeat(32),
    checkpointId: 7,
    timestamp: 0,
    savepoint: true,
    maxParallelism: 128,
    vertices: {
      gen: { parallelism: 1, subtasks: [{ list: [{ split: 0, read: 0, startedAt }, { split: 1, read: 0, startedAt }], keyed: [] }] },
      agg: {
        parallelism: 1,
        subtasks: [{ list: [{ watermark: Number.NEGATIVE_INFINITY }], keyed: [[keyGroupOf('key-1', 128), [tuple('key-1', 10, 1000, -5)]], [keyGroupOf('old-key', 128), [tuple('old-key', 3, 30, 4)]]] }],
      },
      out: { parallelism: 1, subtasks: [{ list: [], keyed: [] }] },
    },
  };
  const path = join(dir, `savepoint-v${version}`);
  mkdirSync(path, { recursive: true });
  writeFileSync(join(path, '_metadata'), encodeCheckpoint(meta, version));
  return path;
}

async function runToEnd(job: LocalJob): Promise<Map<string, Record<string, unknown>>> {
  await job.start();
  const res = await job.done();
  assert.equal(res.state, 'FINISHED', res.error?.message);
  return new Map(job.collected.map((r) => [String(r.key), r]));
}

test('a format-1 savepoint (per-key tuples) restores into the columnar window state, redistributed over 2 subtasks', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const sp = formatOneSavepoint(dir, 1);
  assert.equal(CHECKPOINT_FORMAT_VERSION, 2);
  const restored = await runToEnd(new LocalJob(spec(join(dir, 'a')), { fromSavepoint: sp }));
  // the same input without the restored state: every difference is the restored tuples
  const fresh = formatOneSavepoint(join(dir, 'fresh'), 1);
  const m = readCheckpoint(fresh);
  m.vertices.agg!.subtasks[0]!.keyed = [];
  writeFileSync(join(fresh, '_metadata'), encodeCheckpoint(m, 1));
  const base = await runToEnd(new LocalJob(spec(join(dir, 'b')), { fromSavepoint: fresh }));

  assert.deepEqual(restored.get('old-key'), { key: 'old-key', windowStart: 0, windowEnd: 3_600_000, n: 3, total: 30, mean: 10, low: 4 });
  const k1 = restored.get('key-1')!;
  const b1 = base.get('key-1')!;
  assert.equal(k1.n, (b1.n as number) + 10);
  assert.equal(k1.total, (b1.total as number) + 1000);
  assert.equal(k1.low, -5);
  for (const k of ['key-0', 'key-2', 'key-3', 'key-4']) assert.deepEqual(restored.get(k), base.get(k));
});

test('a checkpoint format version this streamtune does not know is refused, naming the version', async () => {
  const dir = tempDir();
  const sp = formatOneSavepoint(dir, 99);
  assert.throws(() => readCheckpoint(sp), (e: unknown) => e instanceof StreamtuneError && e.code === 'SAVEPOINT_CORRUPT' && /format version 99/.test(e.message) && /reads versions 1 and 2/.test(e.message));
  const job = new LocalJob(spec(join(dir, 'c')), { fromSavepoint: sp });
  await assert.rejects(job.start(), (e: unknown) => e instanceof StreamtuneError && e.code === 'SAVEPOINT_CORRUPT');
});
