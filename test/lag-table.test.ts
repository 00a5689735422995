import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LagTable } from '../collector/kafka/lag-table.ts';

function table(points: Array<[number, number]>, limit?: number): LagTable {
  const t = new LagTable(limit === undefined ? {} : { limit });
  for (const [offset, time] of points) assert.equal(t.add(offset, time), 'added');
  return t;
}

test('add rejects out-of-order and decreasing samples and keeps the table unchanged', () => {
  const t = table([[100, 1000], [200, 2000]]);
  assert.equal(t.add(300, 2000), 'rejected-out-of-order');
  assert.equal(t.add(300, 1500), 'rejected-out-of-order');
  assert.equal(t.add(150, 3000), 'rejected-decreasing');
  assert.deepEqual(t.points(), [{ offset: 100, time: 1000 }, { offset: 200, time: 2000 }]);
});

test('flat stretches are compressed to their two ends', () => {
  const t = table([[100, 1000], [200, 2000], [200, 3000]]);
  assert.equal(t.add(200, 4000), 'compressed');
  assert.equal(t.add(200, 5000), 'compressed');
  assert.deepEqual(t.points(), [{ offset: 100, time: 1000 }, { offset: 200, time: 2000 }, { offset: 200, time: 5000 }]);
  assert.equal(t.add(250, 6000), 'added');
  assert.equal(t.size, 4);
});

test('the table keeps `limit` samples (default 120) from the first one on: a full table thins its old part', () => {
  const d = new LagTable();
  assert.equal(d.limit, 120);
  for (let i = 0; i < 130; i++) d.add(i * 10, i * 1000);
  assert.equal(d.size, 120);
  assert.deepEqual(d.points()[0], { offset: 0, time: 0 }, 'the first sample stays');
  assert.deepEqual(d.latest(), { offset: 1290, time: 129_000 });
  const t = table([[1, 1], [2, 2], [3, 3]], 3);
  t.add(4, 4);
  assert.deepEqual(t.points().map((p) => p.offset), [1, 3, 4]);
  assert.throws(() => new LagTable({ limit: 1 }), { code: 'INVALID_ARGUMENT' });
  assert.throws(() => t.add(Number.NaN, 10), { code: 'INVALID_ARGUMENT' });
});

test('interpolates the production time of the committed offset between bracketing samples', () => {
  // 100 records/s: offset 1000 at t=10s, 2000 at t=20s, 3000 at t=30s
  const t = table([[1000, 10_000], [2000, 20_000], [3000, 30_000]]);
  const r = t.lagSeconds(1500, 40_000); // produced at 15 s
  assert.equal(r.kind, 'interpolated');
  assert.equal(r.flagged, false);
  assert.equal(r.lowerBound, false);
  assert.equal(r.seconds, 25);
  assert.equal(t.lagSeconds(2000, 40_000).seconds, 20); // exactly on a sample
  assert.equal(t.lagSeconds(1000, 40_000).seconds, 30); // oldest sample offset is inside the table
});

test('after a flat stretch the committed offset is placed after the stretch, not at its start', () => {
  // offset stayed 2000 from 20 s to 50 s, then 3000 at 60 s
  const t = table([[1000, 10_000], [2000, 20_000], [2000, 50_000], [3000, 60_000]]);
  const r = t.lagSeconds(2500, 70_000);
  assert.equal(r.kind, 'interpolated');
  assert.equal(r.seconds, 15); // produced at 55 s
});

test('caught up (committed >= log-end) is 0 s, also with a single sample', () => {
  const t = table([[1000, 10_000], [2000, 20_000]]);
  assert.deepEqual(t.lagSeconds(2000, 99_000), { seconds: 0, kind: 'caught-up', lowerBound: false, flagged: false });
  assert.equal(t.lagSeconds(2500, 99_000).seconds, 0);
  const one = table([[500, 1000]]);
  assert.equal(one.lagSeconds(500, 99_000).kind, 'caught-up');
});

test('a committed offset older than the table is a flagged lower bound, never an extrapolation', () => {
  // burst: 10 records over the first 50 s, then 1e6 records in 10 s. Extrapolating the trend line
  // through (0..60 s) for offset 0 would put it long before the table; we report >= now - oldest.
  const t = table([[10, 0], [20, 50_000], [1_000_020, 60_000]]);
  const r = t.lagSeconds(5, 70_000);
  assert.deepEqual(r, { seconds: 70, kind: 'older-than-table', lowerBound: true, flagged: true });
  // replay: consumer reset to offset 0 long after the table starts at 5000
  const replay = table([[5000, 100_000], [5100, 110_000]]);
  const rr = replay.lagSeconds(0, 120_000);
  assert.equal(rr.seconds, 20);
  assert.equal(rr.lowerBound, true);
  assert.ok(Number.isFinite(rr.seconds));
});

test('fewer than two samples gives a defined value, not NaN', () => {
  const empty = new LagTable();
  assert.deepEqual(empty.lagSeconds(10, 5000), { seconds: 0, kind: 'no-data', lowerBound: false, flagged: true });
  const one = table([[500, 1000]]);
  assert.deepEqual(one.lagSeconds(100, 31_000), { seconds: 30, kind: 'too-few-points', lowerBound: true, flagged: true });
});

test('no committed offset is measured from the oldest sample and flagged', () => {
  const t = table([[1000, 10_000], [2000, 20_000]]);
  assert.deepEqual(t.lagSeconds(null, 25_000), { seconds: 15, kind: 'no-committed-offset', lowerBound: true, flagged: true });
});

test('a clock behind the samples never gives negative seconds', () => {
  const t = table([[1000, 10_000], [2000, 20_000]]);
  assert.equal(t.lagSeconds(1500, 12_000).seconds, 0);
});

test('reset empties the table so a recreated topic can start again', () => {
  const t = table([[1000, 10_000], [2000, 20_000]]);
  assert.equal(t.add(5, 30_000), 'rejected-decreasing');
  t.reset();
  assert.equal(t.add(5, 30_000), 'added');
  assert.deepEqual(t.latest(), { offset: 5, time: 30_000 });
});
