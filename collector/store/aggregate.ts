/**
 * Client-side window arithmetic shared by every {@link MetricStore} implementation, so that the
 * stores give the same answers: numeric reading of field values, epoch-aligned windows, the
 * counter rate with resets, series ordering and query validation.
 */
import { type FieldValue, StreamtuneError } from '../../core/index.ts';
import type { Aggregate, Series, SeriesQuery } from './types.ts';

/** A raw sample: time (ms) and numeric value. */
export interface Sample {
  t: number;
  v: number;
}

/**
 * A field value as a number: numbers as they are (non-finite → null), booleans and the strings
 * "true"/"false" (any case, Flink's Boolean gauges) as 1/0, numeric strings parsed, other strings null.
 */
export function toNumeric(v: FieldValue | null | undefined): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (s === 'true') return 1;
    if (s === 'false') return 0;
    if (s === '') return null;
    const n = Number(s);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

/** Start (ms) of the epoch-aligned window of length `window` ms holding `t` (InfluxQL `GROUP BY time()` alignment). */
export function windowStart(t: number, window: number): number {
  return Math.floor(t / window) * window;
}

/**
 * Per-second rate of a counter, per window. `samples` is ONE series (one full tag set) sorted by time.
 * For each consecutive pair (a, b) the increase is `b.v - a.v`, or `b.v` when the counter went down
 * (a reset: the counter restarted from zero, as Prometheus' `rate()` treats it). The pair belongs
 * to the window of `b.t`. A window's rate = Σ increases / Σ (b.t - a.t) seconds of its pairs.
 * Windows without a pair (e.g. holding only the first sample) are left out, as are pairs with
 * equal timestamps.
 */
export function counterRate(samples: readonly Sample[], window: number): Sample[] {
  const acc = new Map<number, { inc: number; dt: number }>();
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1]!;
    const b = samples[i]!;
    const dt = b.t - a.t;
    if (dt <= 0) continue;
    const inc = b.v >= a.v ? b.v - a.v : b.v;
    const w = windowStart(b.t, window);
    const cur = acc.get(w);
    if (cur) {
      cur.inc += inc;
      cur.dt += dt;
    } else acc.set(w, { inc, dt });
  }
  return [...acc.entries()].sort((x, y) => x[0] - y[0]).map(([t, { inc, dt }]) => ({ t, v: inc / (dt / 1000) }));
}

/**
 * Combines samples (of one or more series, any order) per window with `mean`, `max`, `min`,
 * `last` (value at the latest time) or `sum`. Not for `rate` (see {@link counterRate}).
 */
export function aggregateWindows(samples: readonly Sample[], window: number, agg: Exclude<Aggregate, 'rate'>): Sample[] {
  const acc = new Map<number, { sum: number; n: number; max: number; min: number; lastT: number; last: number }>();
  for (const s of samples) {
    const w = windowStart(s.t, window);
    const c = acc.get(w);
    if (!c) acc.set(w, { sum: s.v, n: 1, max: s.v, min: s.v, lastT: s.t, last: s.v });
    else {
      c.sum += s.v;
      c.n++;
      if (s.v > c.max) c.max = s.v;
      if (s.v < c.min) c.min = s.v;
      if (s.t >= c.lastT) {
        c.lastT = s.t;
        c.last = s.v;
      }
    }
  }
  return [...acc.entries()]
    .sort((x, y) => x[0] - y[0])
    .map(([t, c]) => ({
      t,
      v: agg === 'mean' ? c.sum / c.n : agg === 'max' ? c.max : agg === 'min' ? c.min : agg === 'last' ? c.last : c.sum,
    }));
}

/** Adds per-window values of several series (the groups of a `rate` with `groupBy`). */
export function sumByWindow(parts: ReadonlyArray<readonly Sample[]>): Sample[] {
  const acc = new Map<number, number>();
  for (const part of parts) for (const s of part) acc.set(s.t, (acc.get(s.t) ?? 0) + s.v);
  return [...acc.entries()].sort((a, b) => a[0] - b[0]).map(([t, v]) => ({ t, v }));
}

/** A stable key of a tag set (sorted JSON). */
export function tagKey(tags: Record<string, string>): string {
  const sorted: Record<string, string> = {};
  for (const k of Object.keys(tags).sort()) sorted[k] = tags[k]!;
  return JSON.stringify(sorted);
}

/** The groupBy projection of full tags: exactly the groupBy keys, missing tags as ''. */
export function pickTags(tags: Record<string, string>, groupBy: readonly string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of groupBy ?? []) out[k] = tags[k] ?? '';
  return out;
}

/** Sorts series by their tags (sorted JSON), so that stores list them in the same order. */
export function sortSeries(series: Series[]): Series[] {
  if (series.length < 2) return series;
  // each key computed once (not twice per comparison): sweeps sort thousands of series per query
  const keyed = series.map((s) => ({ k: tagKey(s.tags), s }));
  keyed.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
  for (let i = 0; i < keyed.length; i++) series[i] = keyed[i]!.s;
  return series;
}

/**
 * Checks a {@link SeriesQuery}. @throws StreamtuneError STORE_REJECTED naming the bad field.
 */
export function validateQuery(q: SeriesQuery): void {
  const bad = (field: string, why: string): never => {
    throw new StreamtuneError('STORE_REJECTED', `invalid query: ${field} ${why}`, { details: { field } });
  };
  if (!q.measurement) bad('measurement', 'is empty');
  if (!q.field) bad('field', 'is empty');
  if (!Number.isFinite(q.start)) bad('start', 'is not a number (ms)');
  if (!Number.isFinite(q.end)) bad('end', 'is not a number (ms)');
  if (q.window !== undefined) {
    if (!Number.isFinite(q.window) || q.window <= 0 || !Number.isInteger(q.window)) bad('window', 'must be a positive integer (ms)');
    if (!q.aggregate) bad('aggregate', 'is required with window');
  } else if (q.aggregate) bad('aggregate', 'needs a window');
  if (q.aggregate && !['mean', 'max', 'min', 'last', 'sum', 'rate'].includes(q.aggregate)) bad('aggregate', `is unknown: ${q.aggregate}`);
}

/** True when a `where` filter can match nothing (an empty list of values). */
export function whereMatchesNothing(where: SeriesQuery['where']): boolean {
  return !!where && Object.values(where).some((v) => Array.isArray(v) && v.length === 0);
}

/** Numeric rank of log levels (debug < info < warn < error). */
export const LEVEL_RANK = { debug: 0, info: 1, warn: 2, error: 3 } as const;

/**
 * Groups raw series parts (full tag sets, samples) by the `groupBy` projection of their tags and
 * combines each group's sample lists with `combine` (concatenate by time, sum of rates, window
 * aggregates); groups that combine to no point are left out. Series sorted as {@link sortSeries}.
 * Shared by the stores that read raw samples and aggregate in JavaScript (InfluxDB, Prometheus).
 */
export function mergeSeriesParts(parts: ReadonlyArray<{ tags: Record<string, string>; samples: Sample[] }>, groupBy: readonly string[], combine: (parts: Sample[][]) => Sample[]): Series[] {
  const groups = new Map<string, { tags: Record<string, string>; parts: Sample[][] }>();
  for (const p of parts) {
    const tags = pickTags(p.tags, groupBy);
    const k = tagKey(tags);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { tags, parts: [] }));
    g.parts.push(p.samples);
  }
  const series: Series[] = [];
  for (const g of groups.values()) {
    const points = combine(g.parts);
    if (points.length) series.push({ tags: g.tags, points });
  }
  return sortSeries(series);
}

