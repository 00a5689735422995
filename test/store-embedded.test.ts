import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';
import { createEmbeddedStore } from '../collector/store/embedded.ts';
import { tagKey } from '../collector/store/aggregate.ts';
import type { SeriesQuery } from '../collector/store/types.ts';
import type { MetricPoint } from '../core/points.ts';
import { StreamtuneError } from '../core/errors.ts';
import { runStoreContract, T0 } from './store-contract.ts';
import { tempDir } from './helpers/wait.ts';

// the in-memory head is on by default: the contract's reads (a range of minutes around its data) are answered from it
runStoreContract('embedded DuckDB (:memory:)', async () => ({ store: await createEmbeddedStore({ path: ':memory:', retentionDays: 0 }) }));
// and with the head off, every read is a DuckDB statement
runStoreContract('embedded DuckDB (:memory:), in-memory head off', async () => ({ store: await createEmbeddedStore({ path: ':memory:', retentionDays: 0, headMinutes: 0 }) }));

runStoreContract('embedded DuckDB (file)', async () => {
  const dir = tempDir('streamtune-duck-');
  return { store: await createEmbeddedStore({ path: join(dir, 'sub', 'metrics.duckdb'), retentionDays: 0 }), cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
});

test('points survive closing and reopening the DuckDB file', async () => {
  const dir = tempDir('streamtune-duck-');
  try {
    const path = join(dir, 'metrics.duckdb');
    const a = await createEmbeddedStore({ path, retentionDays: 0 });
    await a.write([{ measurement: 'm', tags: { k: 'v' }, fields: { value: 7 }, timestamp: T0 }]);
    await a.close();
    const b = await createEmbeddedStore({ path, retentionDays: 0 });
    const s = await b.query({ measurement: 'm', field: 'value', start: T0, end: T0 });
    await b.close();
    assert.deepEqual(s, [{ tags: {}, points: [{ t: T0, v: 7 }] }]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('after a restart the in-memory head starts empty and covers only times after the newest stored point: older ranges are read from DuckDB', async () => {
  const dir = tempDir('streamtune-duck-');
  try {
    const path = join(dir, 'metrics.duckdb');
    const a = await createEmbeddedStore({ path, retentionDays: 0 });
    await a.write([0, 1, 2].map((i) => ({ measurement: 'm', tags: { job_id: 'j' }, fields: { value: i }, timestamp: T0 + i * 1000 })));
    await a.close();
    const b = await createEmbeddedStore({ path, retentionDays: 0 });
    try {
      assert.deepEqual(b.headStats(), { points: 0, series: 0, coveredFrom: T0 + 2001, hits: 0, misses: 0 });
      await b.write([3, 4].map((i) => ({ measurement: 'm', tags: { job_id: 'j' }, fields: { value: i }, timestamp: T0 + i * 1000 })));
      const all = { measurement: 'm', field: 'value', start: T0, end: T0 + 10_000, groupBy: ['job_id'] };
      // spans the restart: DuckDB, with the points of both processes
      assert.deepEqual((await b.query(all))[0]!.points.map((p) => p.v), [0, 1, 2, 3, 4]);
      assert.deepEqual(b.headStats()!.misses, 1);
      // after it: the head, with the points written since
      assert.deepEqual((await b.query({ ...all, start: T0 + 2001 }))[0]!.points.map((p) => p.v), [3, 4]);
      assert.deepEqual(await b.query({ ...all, start: T0 + 2001, window: 10_000, aggregate: 'sum' }), [{ tags: { job_id: 'j' }, points: [{ t: T0, v: 7 }] }]);
      assert.deepEqual(b.headStats(), { points: 2, series: 1, coveredFrom: T0 + 2001, hits: 2, misses: 1 });
    } finally {
      await b.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('DuckDB path: the windows of a group of several series come in time order (found by the head property test)', async () => {
  const store = await createEmbeddedStore({ path: ':memory:', retentionDays: 0, headMinutes: 0 });
  try {
    // series 1 (created first) has a point only in the later window, series 2 only in the earlier one
    await store.write([{ measurement: 'm', tags: {}, fields: { value: 1 }, timestamp: T0 + 5000 }]);
    await store.write([{ measurement: 'm', tags: { k: 'a' }, fields: { value: 2 }, timestamp: T0 + 1000 }]);
    const s = await store.query({ measurement: 'm', field: 'value', start: T0, end: T0 + 10_000, window: 1000, aggregate: 'mean' });
    assert.deepEqual(s, [{ tags: {}, points: [{ t: T0 + 1000, v: 2 }, { t: T0 + 5000, v: 1 }] }]);
  } finally {
    await store.close();
  }
});

test('retention drops points and logs older than retentionDays, on open and on demand', async () => {
  const dir = tempDir('streamtune-duck-');
  const day = 86_400_000;
  let now = T0;
  try {
    const path = join(dir, 'metrics.duckdb');
    const a = await createEmbeddedStore({ path, retentionDays: 2, now: () => now });
    await a.write([
      { measurement: 'm', tags: {}, fields: { value: 1 }, timestamp: T0 - 3 * day },
      { measurement: 'm', tags: {}, fields: { value: 2 }, timestamp: T0 - 1 * day },
      { measurement: 'm', tags: {}, fields: { value: 3 }, timestamp: T0 },
    ]);
    await a.writeLogs([{ timestamp: T0 - 3 * day, level: 'error', job_id: 'j', message: 'old' }]);
    assert.deepEqual(await a.enforceRetention(), { points: 1, logs: 1 });
    const q = { measurement: 'm', field: 'value', start: T0 - 10 * day, end: T0 };
    assert.deepEqual((await a.query(q))[0]!.points.map((p) => p.v), [2, 3]);
    assert.deepEqual(await a.queryLogs({ start: T0 - 10 * day, end: T0 }), []);
    await a.close();
    now = T0 + 1.5 * day; // reopening later: the point of T0 - 1 day is now too old
    const b = await createEmbeddedStore({ path, retentionDays: 2, now: () => now });
    assert.deepEqual((await b.query(q))[0]!.points.map((p) => p.v), [3]);
    await b.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Writes a file in the schema-1 layout (points with JSON tags), as the previous store did. */
async function writeSchema1File(path: string): Promise<void> {
  const instance = await DuckDBInstance.create(path);
  const conn = await instance.connect();
  try {
    await conn.run('CREATE TABLE points (ts BIGINT NOT NULL, measurement VARCHAR NOT NULL, tags VARCHAR NOT NULL, field VARCHAR NOT NULL, value DOUBLE NOT NULL)');
    await conn.run('CREATE TABLE text_points (ts BIGINT NOT NULL, measurement VARCHAR NOT NULL, tags VARCHAR NOT NULL, field VARCHAR NOT NULL, text VARCHAR NOT NULL)');
    await conn.run('CREATE TABLE logs (ts BIGINT NOT NULL, level VARCHAR NOT NULL, level_rank INTEGER NOT NULL, job_id VARCHAR NOT NULL, job_name VARCHAR, vertex VARCHAR, subtask_index INTEGER, attempt INTEGER, message VARCHAR NOT NULL, exception_class VARCHAR, stack VARCHAR)');
    const busy = 'taskmanager_job_task_busyTimeMsPerSecond';
    const tags = (sub: number, job = 'j1') => tagKey({ job_id: job, task_id: 'v1', subtask_index: String(sub), 'odd key': 'x' });
    for (let i = 0; i < 4; i++) {
      await conn.run('INSERT INTO points VALUES ($1, $2, $3, $4, $5)', [T0 + i * 5000, busy, tags(0), 'value', 100 * (i + 1)]);
      await conn.run('INSERT INTO points VALUES ($1, $2, $3, $4, $5)', [T0 + i * 5000, busy, tags(1), 'value', 10 * (i + 1)]);
    }
    await conn.run('INSERT INTO points VALUES ($1, $2, $3, $4, $5)', [T0, busy, tags(0, 'j2'), 'value', 999]);
    await conn.run('INSERT INTO points VALUES ($1, $2, $3, $4, $5)', [T0, 'streamtune_job_vertex', tagKey({ job_id: 'j1', task_id: 'v1', inputs: 'v0' }), 'parallelism', 2]);
    await conn.run('INSERT INTO text_points VALUES ($1, $2, $3, $4, $5)', [T0, 'streamtune_job_vertex', tagKey({ job_id: 'j1', task_id: 'v1', inputs: 'v0' }), 'inputs', 'v0']);
    await conn.run("INSERT INTO logs VALUES ($1, 'error', 3, 'j1', NULL, NULL, 0, NULL, 'Task failed', 'PoisonRecordError', NULL)", [T0 + 1000]);
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

test('a file of the previous schema (points with JSON tags) is migrated on open: same answers, text points and logs kept, new writes join the old series', async () => {
  const dir = tempDir('streamtune-duck-');
  try {
    const path = join(dir, 'metrics.duckdb');
    await writeSchema1File(path);
    const busy = 'taskmanager_job_task_busyTimeMsPerSecond';
    const range = { start: T0 - 60_000, end: T0 + 60_000 };
    const a = await createEmbeddedStore({ path, retentionDays: 0 });
    assert.deepEqual((await a.query({ measurement: busy, field: 'value', ...range, where: { job_id: 'j1' } }))[0]!.points.map((p) => p.v), [100, 10, 200, 20, 300, 30, 400, 40]);
    assert.deepEqual(await a.query({ measurement: busy, field: 'value', ...range, where: { job_id: 'j1', 'odd key': 'x' }, groupBy: ['subtask_index'], window: 20_000, aggregate: 'max' }), [
      { tags: { subtask_index: '0' }, points: [{ t: T0, v: 400 }] },
      { tags: { subtask_index: '1' }, points: [{ t: T0, v: 40 }] },
    ]);
    assert.deepEqual(await a.tagValues(busy, 'job_id', range.start, range.end), ['j1', 'j2']);
    assert.deepEqual(await a.tagValues('streamtune_job_vertex', 'inputs', range.start, range.end, { job_id: 'j1' }), ['v0']);
    assert.deepEqual(await a.queryText('streamtune_job_vertex', 'inputs', range.start, range.end, { job_id: 'j1' }), [{ t: T0, tags: { inputs: 'v0', job_id: 'j1', task_id: 'v1' }, value: 'v0' }]);
    assert.deepEqual((await a.queryLogs({ ...range, job_id: 'j1' })).map((l) => l.exception_class), ['PoisonRecordError']);
    // a new point of a migrated series lands in that series
    await a.write([{ measurement: busy, tags: { job_id: 'j2', task_id: 'v1', subtask_index: '0', 'odd key': 'x' }, fields: { value: 5 }, timestamp: T0 + 1 }]);
    await a.close();
    const b = await createEmbeddedStore({ path, retentionDays: 0 });
    const j2 = await b.query({ measurement: busy, field: 'value', ...range, where: { job_id: 'j2' }, groupBy: ['subtask_index'] });
    await b.close();
    assert.deepEqual(j2, [{ tags: { subtask_index: '0' }, points: [{ t: T0, v: 999 }, { t: T0 + 1, v: 5 }] }]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a file of a newer schema is refused with an error naming the file', async () => {
  const dir = tempDir('streamtune-duck-');
  try {
    const path = join(dir, 'metrics.duckdb');
    const instance = await DuckDBInstance.create(path);
    const conn = await instance.connect();
    await conn.run("CREATE TABLE streamtune_meta (key VARCHAR NOT NULL, value VARCHAR NOT NULL); INSERT INTO streamtune_meta VALUES ('schema_version', '99')");
    conn.closeSync();
    instance.closeSync();
    await assert.rejects(createEmbeddedStore({ path, retentionDays: 0 }), (e: unknown) => e instanceof StreamtuneError && e.code === 'STORE_UNAVAILABLE' && e.message.includes(path) && /newer/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('reads: filters and groupBy on tags without a column of their own, several queries at once answered like one at a time, retention forgets empty series', async () => {
  const day = 86_400_000;
  let now = T0;
  const store = await createEmbeddedStore({ path: ':memory:', retentionDays: 1, now: () => now });
  try {
    const m = 'taskmanager_job_task_streamtune_keyGroupRecords';
    const pts: MetricPoint[] = [];
    for (let kg = 0; kg < 4; kg++) {
      for (let i = 0; i < 3; i++) {
        pts.push({ measurement: m, tags: { job_id: 'j', task_id: 'v', subtask_index: String(kg % 2), key_group: String(kg), 'custom "tag"': kg < 2 ? 'a' : 'b' }, fields: { count: kg * 100 + i, other: i }, timestamp: T0 + i * 1000 });
      }
    }
    pts.push({ measurement: m, tags: { job_id: 'old', key_group: '9' }, fields: { count: 1 }, timestamp: T0 - 2 * day });
    await store.write(pts);
    const range = { start: T0 - 3 * day, end: T0 + 60_000 };
    const qs: SeriesQuery[] = [
      { measurement: m, field: 'count', ...range, where: { 'custom "tag"': 'b' }, groupBy: ['custom "tag"', 'subtask_index'], window: 60_000, aggregate: 'sum' as const },
      { measurement: m, field: 'other', ...range, where: { 'custom "tag"': 'b' }, groupBy: ['custom "tag"', 'subtask_index'], window: 60_000, aggregate: 'sum' as const },
      { measurement: m, field: 'count', ...range, where: { 'custom "tag"': 'b' }, groupBy: ['custom "tag"', 'subtask_index'], window: 60_000, aggregate: 'sum' as const },
      { measurement: m, field: 'count', ...range, where: { job_id: 'j' }, groupBy: ['key_group'], window: 2000, aggregate: 'rate' as const },
      { measurement: m, field: 'count', ...range, where: { key_group: ['0', '3'] }, groupBy: ['key_group'] },
    ];
    const together = await Promise.all(qs.map((q) => store.query(q)));
    const alone = [];
    for (const q of qs) alone.push(await store.query(q));
    assert.deepEqual(together, alone);
    assert.deepEqual(together[0], [
      { tags: { 'custom "tag"': 'b', subtask_index: '0' }, points: [{ t: T0, v: 600 + 3 }] },
      { tags: { 'custom "tag"': 'b', subtask_index: '1' }, points: [{ t: T0, v: 900 + 3 }] },
    ]);
    assert.deepEqual(together[1]!.map((s) => s.points[0]!.v), [3, 3]);
    assert.deepEqual(together[3]!.map((s) => [s.tags.key_group, s.points.map((p) => p.v)]), [['0', [1, 1]], ['1', [1, 1]], ['2', [1, 1]], ['3', [1, 1]]]);
    assert.deepEqual(together[4]!.map((s) => [s.tags.key_group, s.points.map((p) => p.v)]), [['0', [0, 1, 2]], ['3', [300, 301, 302]]]);
    assert.deepEqual(await store.tagValues(m, 'custom "tag"', range.start, range.end, { job_id: 'j' }), ['a', 'b']);
    assert.deepEqual(await store.tagValues(m, 'job_id', range.start, range.end), ['j', 'old']);
    now = T0 + 1000;
    assert.deepEqual(await store.enforceRetention(), { points: 1, logs: 0 });
    assert.deepEqual(await store.tagValues(m, 'job_id', range.start, range.end), ['j']);
    assert.deepEqual(await store.query({ measurement: m, field: 'count', ...range, where: { job_id: 'old' } }), []);
  } finally {
    await store.close();
  }
});
