/**
 * The API's result cache (TtlCache in dashboards/server/api.ts) with a fake clock: fresh values are
 * shared, a stale one is answered at once while exactly one refresh runs, a failed refresh keeps
 * the old value, values past the stale window are waited for; and prepareJsonCompressed carries the
 * gzip body computed off the event loop.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { TtlCache } from '../dashboards/server/ttl-cache.ts';
import { GZIP_MIN_BYTES, prepareJsonCompressed } from '../dashboards/server/prepared.ts';

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

test('stale-while-revalidate: a stale value is served at once while one refresh runs', async () => {
  let now = 0;
  const cache = new TtlCache<string>(1000, 500, () => now);
  let loads = 0;
  assert.equal(await cache.get('k', async () => `v${++loads}`), 'v1');
  now = 500;
  assert.equal(await cache.get('k', async () => `v${++loads}`), 'v1', 'fresh: shared');
  assert.equal(loads, 1);

  now = 1500; // stale (ttl 1000, stale window another 1000)
  const refresh = deferred<string>();
  const started: number[] = [];
  const slowLoad = () => {
    started.push(now);
    return refresh.promise;
  };
  assert.equal(await cache.get('k', slowLoad), 'v1', 'stale: the old value, without waiting');
  assert.equal(await cache.get('k', slowLoad), 'v1');
  assert.equal(started.length, 1, 'one refresh for many callers');
  refresh.resolve('v2');
  await refresh.promise;
  await new Promise((r) => setImmediate(r));
  assert.equal(await cache.get('k', async () => 'never'), 'v2', 'the refreshed value, fresh again');

  // a failed refresh keeps the old value while it may still be served, and is tried again
  now = 1500 + 1200;
  let fails = 0;
  assert.equal(await cache.get('k', () => (fails++, Promise.reject(new Error('store down')))), 'v2');
  await new Promise((r) => setImmediate(r));
  assert.equal(await cache.get('k', () => (fails++, Promise.reject(new Error('store down')))), 'v2');
  assert.equal(fails, 2);

  // past the stale window: callers wait for the load
  now = 1500 + 2500;
  const late = deferred<string>();
  const got = cache.get('k', () => late.promise);
  let settled = false;
  void got.then(() => (settled = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(settled, false, 'waits for a value that is too old');
  late.resolve('v3');
  assert.equal(await got, 'v3');
});

test('ttl 0 caches nothing', async () => {
  const cache = new TtlCache<number>(0);
  let n = 0;
  assert.equal(await cache.get('k', async () => ++n), 1);
  assert.equal(await cache.get('k', async () => ++n), 2);
});

test('prepareJsonCompressed: the gzip body is ready for large bodies, absent for small ones', async () => {
  const big = { points: Array.from({ length: 500 }, (_, i) => ({ t: i * 1000, v: i })) };
  const p = await prepareJsonCompressed(big);
  assert.ok(p.body.length >= GZIP_MIN_BYTES);
  assert.ok(p.gzip && p.gzip.length < p.body.length);
  assert.deepEqual(JSON.parse(gunzipSync(p.gzip).toString('utf8')), big);
  assert.equal((await prepareJsonCompressed({ ok: true })).gzip, undefined);
});
