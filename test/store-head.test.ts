/**
 * The embedded store's in-memory head (collector/store/head.ts) answers like DuckDB: random points
 * are written (out of order, in random batches, with a restart and a retention run in between) to
 * a store with the head on (small heads, so that the covered range moves and points are dropped)
 * and to one with it off; random queries and tagValues must give the same answers. Timestamps are
 * distinct across all points, since DuckDB orders equal timestamps arbitrarily (the raw points of a
 * group, `last`, the pairs of `rate`); values are compared to 1e-9 (DuckDB sums floating point in
 * its own order).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { createEmbeddedStore, type EmbeddedStore } from '../collector/store/embedded.ts';
import { HEAD_CHUNK_POINTS, MetricHead } from '../collector/store/head.ts';
import type { Series, SeriesQuery } from '../collector/store/types.ts';
import type { FieldValue, MetricPoint } from '../core/points.ts';

const T0 = 1_767_225_600_000;
const SPAN = 600_000;
const DAY = 86_400_000;
const MEASUREMENTS = ['taskmanager_job_task_busyTimeMsPerSecond', 'taskmanager_job_task_numRecordsIn'] as const;
const FIELDS = ['value', 'count'] as const;
const TAGS = { job_id: ['j1', 'j2'], group: ['g1', 'g2'], subtask_index: ['0', '1'], 'custom tag': ['a', 'b'] } as const;
type TagName = keyof typeof TAGS;
const TAG_NAMES = Object.keys(TAGS) as TagName[];

const valueArb: fc.Arbitrary<FieldValue> = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: -1000, max: 100_000 }) },
  { weight: 3, arbitrary: fc.integer({ min: -100_000, max: 100_000 }).map((n) => n / 100) },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constantFrom('true', 'FALSE', ' 42 ', '3.5', 'not a number', '') },
);

const tagsArb = fc.record(
  { job_id: fc.constantFrom(...TAGS.job_id), group: fc.constantFrom(...TAGS.group), subtask_index: fc.constantFrom(...TAGS.subtask_index), 'custom tag': fc.constantFrom(...TAGS['custom tag']) },
  { requiredKeys: [] },
) as fc.Arbitrary<Record<string, string>>;

/** Points with distinct timestamps in [T0, T0 + SPAN), in random order. */
const pointsArb: fc.Arbitrary<MetricPoint[]> = fc
  .uniqueArray(fc.integer({ min: 0, max: SPAN - 1 }), { minLength: 1, maxLength: 300 })
  .chain((offsets) =>
    fc.tuple(
      ...offsets.map((dt) =>
        fc.record({
          measurement: fc.constantFrom(...MEASUREMENTS),
          tags: tagsArb,
          fields: fc.dictionary(fc.constantFrom(...FIELDS), valueArb, { minKeys: 1, maxKeys: 2 }),
        }).map((p): MetricPoint => ({ ...p, timestamp: T0 + dt })),
      ),
    ),
  );

const whereArb = fc.dictionary(
  fc.constantFrom<string>(...TAG_NAMES, 'absent_tag'),
  fc.oneof(fc.constantFrom('j1', 'j2', 'g1', '0', '1', 'a', 'b', ''), fc.array(fc.constantFrom('j1', 'g2', '1', 'b', ''), { maxLength: 3 })),
  { maxKeys: 3 },
);

const queryArb: fc.Arbitrary<SeriesQuery> = fc
  .record({
    measurement: fc.constantFrom(...MEASUREMENTS, 'unknown_measurement'),
    field: fc.constantFrom(...FIELDS),
    // biased to the end of the data, where the (small) heads cover
    start: fc.oneof(fc.integer({ min: -60_000, max: SPAN }), fc.integer({ min: SPAN - 120_000, max: SPAN })).map((d) => T0 + d + (d % 3 === 0 ? 0.5 : 0)),
    length: fc.integer({ min: 0, max: SPAN + 60_000 }),
    where: fc.option(whereArb, { nil: undefined }),
    groupBy: fc.option(fc.uniqueArray(fc.constantFrom<string>(...TAG_NAMES, 'absent_tag'), { maxLength: 2 }), { nil: undefined }),
    agg: fc.option(fc.record({ window: fc.constantFrom(1000, 5000, 7000, 60_000), aggregate: fc.constantFrom('mean', 'max', 'min', 'last', 'sum', 'rate' as const) }), { nil: undefined }),
  })
  .map(({ length, agg, where, groupBy, ...q }) => ({
    ...q,
    end: q.start + length,
    ...(where ? { where } : {}),
    ...(groupBy ? { groupBy } : {}),
    ...(agg ?? {}),
  }));

/** Same tags and times; values equal to 1e-9 (relative, or absolute near 0). */
function assertSameSeries(got: Series[], want: Series[], what: string): void {
  assert.deepEqual(got.map((s) => [s.tags, s.points.map((p) => p.t)]), want.map((s) => [s.tags, s.points.map((p) => p.t)]), what);
  got.forEach((s, i) =>
    s.points.forEach((p, k) => {
      const w = want[i]!.points[k]!.v;
      assert.ok(Math.abs(p.v - w) <= 1e-9 * Math.max(1, Math.abs(w)), `${what}: ${JSON.stringify(s.tags)} at ${p.t}: ${p.v} != ${w}`);
    }),
  );
}

test('the head answers queries and tagValues like DuckDB (random points, batches, a restart, retention)', { timeout: 600_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'streamtune-head-'));
  let hits = 0;
  let misses = 0;
  let run = 0;
  try {
    await fc.assert(
      fc.asyncProperty(
        pointsArb,
        fc.array(queryArb, { minLength: 1, maxLength: 25 }),
        fc.record({
          headMinutes: fc.constantFrom(0.25, 1, 3, 65),
          headMaxPoints: fc.constantFrom(40, 150, 1_000_000),
          batches: fc.integer({ min: 1, max: 6 }),
          restartAfter: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
          retentionAt: fc.option(fc.integer({ min: 0, max: SPAN }), { nil: undefined }),
        }),
        async (points, queries, opts) => {
          const path = join(dir, `head-${run++}.duckdb`);
          const open = () => createEmbeddedStore({ path, retentionDays: 1, now: () => T0 + SPAN, headMinutes: opts.headMinutes, headMaxPoints: opts.headMaxPoints });
          let withHead: EmbeddedStore = await open();
          const duck = await createEmbeddedStore({ path: ':memory:', retentionDays: 1, now: () => T0 + SPAN, headMinutes: 0 });
          try {
            const size = Math.ceil(points.length / opts.batches);
            for (let b = 0; b * size < points.length; b++) {
              const batch = points.slice(b * size, (b + 1) * size);
              await withHead.write(batch);
              await duck.write(batch);
              if (opts.restartAfter === b) {
                await withHead.close();
                withHead = await open();
              }
            }
            if (opts.retentionAt !== undefined) {
              const now = T0 + DAY + opts.retentionAt;
              assert.deepEqual(await withHead.enforceRetention(now), await duck.enforceRetention(now));
            }
            for (const q of queries) {
              const [got, want] = await Promise.all([withHead.query(q), duck.query(q)]);
              assertSameSeries(got, want, JSON.stringify(q));
              for (const tag of [...TAG_NAMES, 'absent_tag']) {
                assert.deepEqual(await withHead.tagValues(q.measurement, tag, q.start, q.end, q.where), await duck.tagValues(q.measurement, tag, q.start, q.end, q.where), `tagValues ${tag} ${JSON.stringify(q)}`);
              }
            }
            const st = withHead.headStats()!;
            hits += st.hits;
            misses += st.misses;
            assert.ok(st.points <= opts.headMaxPoints, `head holds ${st.points} points, more than ${opts.headMaxPoints}`);
          } finally {
            await withHead.close();
            await duck.close();
            rmSync(path, { force: true });
            rmSync(`${path}.wal`, { force: true });
          }
        },
      ),
      { numRuns: Number(process.env.STREAMTUNE_HEAD_PROPERTY_RUNS ?? 100) },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // both paths were exercised: reads answered from memory and reads sent to DuckDB
  assert.ok(hits > 0 && misses > 0, `head hits ${hits}, misses ${misses}`);
});

test('the head keeps at most maxPoints (oldest dropped first) and forgets series that left its range', () => {
  const head = new MetricHead({ headMinutes: 10, maxPoints: 1000, now: () => T0 + DAY });
  head.open(null);
  const ref = (id: number) => ({ id, measurement: 'm', field: 'value', tags: { job_id: `j${id}` } });
  // 50 series, one point a second each, for 100 s: 5,000 points against a cap of 1,000
  for (let s = 0; s < 100; s++) {
    for (let id = 0; id < 50; id++) head.add(ref(id), T0 + s * 1000, s);
    head.settle();
    assert.ok(head.stats().points <= 1000, `${head.stats().points} points after ${s} s`);
  }
  const st = head.stats();
  assert.ok(st.coveredFrom! > T0, 'the covered range moved on');
  // what is covered is complete: every series has every second from the covered start on
  const q = { measurement: 'm', field: 'value', start: st.coveredFrom!, end: T0 + DAY, groupBy: ['job_id'] };
  const series = head.query(q);
  assert.equal(series.length, 50);
  const expected = Math.ceil((T0 + 99_000 - st.coveredFrom! + 1) / 1000);
  for (const s of series) assert.equal(s.points.length, expected);
  // the window: 10 minutes later only the series still written are held
  head.add(ref(0), T0 + 100_000 + 10 * 60_000, 1);
  head.settle();
  assert.deepEqual([head.stats().series, head.stats().points], [1, 1]);
});

test('out-of-order points land in time order across chunk splits', () => {
  const head = new MetricHead({ headMinutes: 60 * 24, now: () => T0 + DAY });
  head.open(null);
  const ref = { id: 1, measurement: 'm', field: 'value', tags: {} };
  const n = HEAD_CHUNK_POINTS * 5 + 3;
  // a fixed shuffle of 0..n-1 (a permutation by a multiplier prime to n)
  const order = Array.from({ length: n }, (_, i) => (i * 7919) % n);
  assert.equal(new Set(order).size, n);
  for (const i of order) head.add(ref, T0 + i * 10, i);
  head.settle();
  const [s] = head.query({ measurement: 'm', field: 'value', start: T0, end: T0 + n * 10 });
  assert.deepEqual(s!.points.map((p) => p.v), Array.from({ length: n }, (_, i) => i));
});
