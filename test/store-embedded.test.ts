import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { createEmbeddedStore } from '../collector/store/embedded.ts';
import { runStoreContract, T0 } from './store-contract.ts';
import { tempDir } from './helpers/wait.ts';

runStoreContract('embedded DuckDB (:memory:)', async () => ({ store: await createEmbeddedStore({ path: ':memory:', retentionDays: 0 }) }));

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
