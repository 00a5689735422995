/**
 * Small pure helpers over `Points` series used by every detector: means, maxima, counter increases
 * with resets, slopes. Empty series give `undefined`, never NaN.
 */
import { linearRegression } from 'simple-statistics';
import type { Points } from './window.ts';

/** Mean of the values, or undefined for an empty series. */
export function meanOf(p: Points | undefined): number | undefined {
  if (!p || p.length === 0) return undefined;
  let s = 0;
  for (const x of p) s += x.v;
  return s / p.length;
}

/** Max of the values, or undefined for an empty series. */
export function maxOf(p: Points | undefined): number | undefined {
  if (!p || p.length === 0) return undefined;
  let m = -Infinity;
  for (const x of p) if (x.v > m) m = x.v;
  return m;
}

/** Min of the values, or undefined for an empty series. */
export function minOf(p: Points | undefined): number | undefined {
  if (!p || p.length === 0) return undefined;
  let m = Infinity;
  for (const x of p) if (x.v < m) m = x.v;
  return m;
}

/** Last value, or undefined for an empty series. */
export function lastOf(p: Points | undefined): number | undefined {
  return p && p.length > 0 ? p[p.length - 1]!.v : undefined;
}

/** First value, or undefined. */
export function firstOf(p: Points | undefined): number | undefined {
  return p && p.length > 0 ? p[0]!.v : undefined;
}

/**
 * Increase of a monotonic counter/gauge over the series, with resets handled the Prometheus way:
 * a decrease means the counter restarted from zero, so the new value counts in full.
 * 0 for fewer than two points.
 */
export function increaseOf(p: Points | undefined): number {
  if (!p || p.length < 2) return 0;
  let inc = 0;
  for (let i = 1; i < p.length; i++) {
    const d = p[i]!.v - p[i - 1]!.v;
    inc += d >= 0 ? d : p[i]!.v;
  }
  return inc;
}

/**
 * Mean per-second rate of a counter over the series, records/s: its increase ({@link increaseOf},
 * a reset after a restart counts from zero) over the time between the first and the last point —
 * the Flink autoscaler's `ScalingMetricEvaluator.getRate` (last − first over the metric window),
 * with resets. undefined with fewer than two points or no time between them, never NaN.
 */
export function counterRate(p: Points | undefined): number | undefined {
  if (!p || p.length < 2) return undefined;
  const span = p[p.length - 1]!.t - p[0]!.t;
  return span > 0 ? increaseOf(p) / (span / 1000) : undefined;
}

/**
 * Per-interval rates of a counter, records/s: one point per pair of consecutive points, at the
 * later one's time, (increase, resets counting from zero) / (time between them). [] with fewer
 * than two points; pairs at the same time are skipped.
 */
export function counterRates(p: Points | undefined): Points {
  const out: Points = [];
  if (!p) return out;
  for (let i = 1; i < p.length; i++) {
    const dt = p[i]!.t - p[i - 1]!.t;
    if (dt <= 0) continue;
    const d = p[i]!.v - p[i - 1]!.v;
    out.push({ t: p[i]!.t, v: (d >= 0 ? d : p[i]!.v) / (dt / 1000) });
  }
  return out;
}

/**
 * Least-squares slope of the series in value units per second; undefined with fewer than two
 * points or a zero time span. (simple-statistics `linearRegression`.)
 */
export function slopePerSecond(p: Points | undefined): number | undefined {
  if (!p || p.length < 2) return undefined;
  const t0 = p[0]!.t;
  if (p[p.length - 1]!.t === t0) return undefined;
  const { m } = linearRegression(p.map((x) => [(x.t - t0) / 1000, x.v]));
  return Number.isFinite(m) ? m : undefined;
}

/**
 * The series without a last point that stands for a partial step: when a window is read per
 * `stepMs` step (points timestamped at the step's start), a last point whose step runs past `end`
 * (ms epoch) aggregates only part of its step under the timestamp of a whole one, which bends a
 * slope of a rising series down (by ~10% with four points). The point is dropped only while at
 * least two others remain; without `stepMs` the series is returned as it is.
 */
export function wholeSteps(p: Points, end: number, stepMs: number | undefined): Points {
  const last = p[p.length - 1];
  return stepMs && last && last.t + stepMs > end && p.length >= 3 ? p.slice(0, -1) : p;
}

/** Sums several series point-wise by timestamp (a timestamp missing in one series adds nothing). */
export function sumSeries(list: readonly Points[]): Points {
  const acc = new Map<number, number>();
  for (const s of list) for (const x of s) acc.set(x.t, (acc.get(x.t) ?? 0) + x.v);
  return [...acc.entries()].sort((a, b) => a[0] - b[0]).map(([t, v]) => ({ t, v }));
}

/** Point-wise max of several series by timestamp. */
export function maxSeries(list: readonly Points[]): Points {
  const acc = new Map<number, number>();
  for (const s of list) for (const x of s) acc.set(x.t, Math.max(acc.get(x.t) ?? -Infinity, x.v));
  return [...acc.entries()].sort((a, b) => a[0] - b[0]).map(([t, v]) => ({ t, v }));
}

/** The points with `t` in [from, to]. */
export function slice(p: Points | undefined, from: number, to: number): Points {
  return (p ?? []).filter((x) => x.t >= from && x.t <= to);
}

/** Rounds to `digits` decimals for evidence (keeps numbers readable in reports). */
export function round(v: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
