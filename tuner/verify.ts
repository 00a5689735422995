/**
 * Verification of a tuning operation: did it help? {@link verifyOperation} is a pure function over
 * the sources' throughput and the consumer group's lag before and after the restart;
 * {@link loadVerifyInput} reads those series from the metric store.
 *
 * The rule for a scale-up follows the Flink Kubernetes operator's autoscaler, which marks a
 * scale-up ineffective when the processing rate gained is below `scaling.effectiveness.threshold`
 * (default 0.1) of the gain it expected (`ScalingExecutor`/`ScalingTracking`, FLIP-271 follow-up,
 * `job.autoscaler.scaling.effectiveness.detection.enabled`), and Dhalion's health manager, which
 * judges an action only after it had time to act and does not repeat one that did not help
 * (see docs/PRIOR-ART.md). The blocking itself is in tuner/policy.ts.
 */
import { linearRegression } from 'simple-statistics';
import type { MetricStore, Series } from '../collector/index.ts';
import type { Points, TuningAction } from '../diagnoser/index.ts';
import { sourceVertices, type ManagedJob } from '../platform/index.ts';
import type { Operation, Verification } from './types.ts';

/** The series verification compares. See {@link verifyOperation}. */
export interface VerifyInput {
  /** before the operation: `throughput` = records/s read by the sources (summed over source
   * vertices and subtasks); `lag` = the consumer group's total lag, records */
  before: { throughput: Points; lag: Points };
  /** after the restart (once settled), same units */
  after: { throughput: Points; lag: Points };
  /** the recommendation's expected effect; `throughputRecordsPerSecond` (records/s) is used */
  expected?: Record<string, number>;
  /** the operation's actions: a set-parallelism with `to > from` makes it a scale-up */
  actions: TuningAction[];
  /**
   * the lag from applying on, for the forecast check: `appliedAt` ms since epoch (the stop with
   * savepoint, or the rescale request), `lag` records from then to the end of the window
   */
  sinceApply?: { appliedAt: number; lag: Points };
}

/** Flink autoscaler's `scaling.effectiveness.threshold` default: the share of the expected gain a
 * scale-up must deliver. Also used as the minimum rise over the throughput before (10%). */
export const SCALE_UP_MIN_GAIN = 0.1;

/** records: lag at or below max(this, 1 s of throughput after) counts as caught up (~0). */
export const ZERO_LAG_RECORDS = 100;

/** Share of the rate before (records/s: the larger of the throughput and the input rate, throughput
 * + lag trend) by which the lag's growth must rise after a change for the change to count as worse
 * (`Verification.worse`): 10%, the same share as {@link SCALE_UP_MIN_GAIN}. The input rate counts
 * because the lag trend's own noise grows with it: a bottleneck doing 100 of 300 records/s read
 * +184 then +199 records/s with nothing changed, more than 10% of its throughput apart. */
export const WORSE_LAG_GROWTH_SHARE = 0.1;

/** Share of the input rate (records/s, throughput + lag trend) within which the input before and
 * after a change counts as steady, so the lag trend can confirm a throughput gain: 10%. streamtune's
 * own check; the Flink autoscaler judges the scaled vertex's processing rate alone. */
export const STEADY_INPUT_SHARE = 0.1;

/** records/s: lag trends within ±max(this, 1% of the throughput after) count as flat. */
export const FLAT_LAG_RECORDS_PER_SECOND = 1;

function mean(p: Points): number | undefined {
  if (p.length === 0) return undefined;
  let s = 0;
  for (const x of p) s += x.v;
  return s / p.length;
}

/** Least-squares slope in value units per second; undefined for fewer than two distinct times. */
function slopePerSecond(p: Points): number | undefined {
  if (p.length < 2) return undefined;
  const t0 = p[0]!.t;
  if (p.every((x) => x.t === t0)) return undefined;
  const { m } = linearRegression(p.map((x) => [(x.t - t0) / 1000, x.v]));
  return Number.isFinite(m) ? m : undefined;
}

const r1 = (v: number): string => (Math.abs(v) >= 100 ? String(Math.round(v)) : String(Math.round(v * 10) / 10));
const signed = (v: number): string => (v >= 0 ? `+${r1(v)}` : r1(v));
const clean = (p: Points): Points => p.filter((x) => Number.isFinite(x.v) && Number.isFinite(x.t)).sort((a, b) => a.t - b.t);

/**
 * ms from `appliedAt` until the lag was at or under `minute` records and stayed there through the last
 * point of `lag` (points before `appliedAt` are ignored): 0 at the earliest (the first point at or
 * after `appliedAt` counts from `appliedAt`); null when the last point is above `minute` (not back
 * under within the points); undefined when there is no point.
 */
export function timeUntilUnder(lag: Points, minute: number, appliedAt: number): number | null | undefined {
  const p = clean(lag).filter((x) => x.t >= appliedAt);
  if (p.length === 0) return undefined;
  if (p[p.length - 1]!.v > minute) return null;
  let i = p.length - 1;
  while (i > 0 && p[i - 1]!.v <= minute) i--;
  return Math.max(0, p[i]!.t - appliedAt);
}

/**
 * Judges one operation over `window` (ms since epoch; copied into the result as `from`/`to`).
 *
 * Definitions (throughput in records/s, lag in records, trends in records/s by least squares):
 * - caught up: the smallest lag after is ≤ max({@link ZERO_LAG_RECORDS}, 1 s of throughput after)
 *   and the lag is not growing (Burrow: OK when any observation in the window was at ~0 lag; this
 *   copes with Kafka's committed offsets, which only move at checkpoints, so lag saw-tooths);
 * - falling / growing: the lag trend after is below / above ∓max({@link FLAT_LAG_RECORDS_PER_SECOND},
 *   1% of throughput after); growing also needs the last lag above the caught-up bound;
 * - risen (scale-up): throughput after − before ≥ {@link SCALE_UP_MIN_GAIN} × before, or ≥ 0.1 ×
 *   (predicted − before) when `expected.throughputRecordsPerSecond` is above before (the Flink
 *   autoscaler's ineffective-scaling rule), and > 0.
 *
 * Verdicts:
 * - scale-up (any set-parallelism with `to > from`): effective when the lag is not growing, is
 *   falling or caught up, and throughput rose — or when the lag was above the caught-up bound
 *   before and is caught up now (once caught up the sources read only what arrives, so throughput
 *   cannot show the gained capacity). Throughput risen but the lag still growing, or flat and not
 *   falling: effective and `insufficient` (as the Flink autoscaler, which blocks only a scale-up that gained too little
 *   processing rate; a step sized from a short window can be too small, and blocking it would stop
 *   the next step for `blockIneffectiveMs`). But when the lag still grows, the input rate
 *   (throughput + lag trend) is steady within {@link STEADY_INPUT_SHARE} and the lag's growth fell
 *   by less than the minimum rise, the throughput rise is not confirmed: ineffective. Otherwise
 *   ineffective: a scale-up that did not raise throughput.
 * - scale-down, set-checkpointing, set-memory: effective when the lag does not grow. (Checkpoint
 *   changes really show in failed checkpoints stopping; that is left to the next diagnosis.)
 * - worse (any action): the lag is growing after and its trend is above the trend before (none
 *   before counts as 0) by more than max(flat band, {@link WORSE_LAG_GROWTH_SHARE} × the larger of
 *   the throughput and the input rate before): `worse: true`, `effective: false`, reason starting 'worse' (a scale-up: 'ineffective
 *   scale-up: the lag grows faster'). The runner rolls such a change back by default (`onWorse`).
 * - not enough data (fewer than two lag points after; for a scale-up also no throughput point
 *   before or after): `effective: false`, reason starting 'not enough data'. The caller decides
 *   whether to wait longer; it is not evidence the action failed.
 * The reason is one line with the numbers.
 */
export function verifyOperation(input: VerifyInput, window: { from: number; to: number }): Verification {
  const tb = clean(input.before.throughput);
  const ta = clean(input.after.throughput);
  const lb = clean(input.before.lag);
  const la = clean(input.after.lag);
  const scaleUp = input.actions.some((a) => a.type === 'set-parallelism' && a.to > a.from);
  const predicted = input.expected?.throughputRecordsPerSecond;

  const throughputBefore = mean(tb) ?? 0;
  const throughputAfter = mean(ta) ?? 0;
  const v: Verification = { from: window.from, to: window.to, throughputBefore, throughputAfter, effective: false, reason: '' };
  if (predicted !== undefined && Number.isFinite(predicted)) v.throughputPredicted = predicted;
  const trendBefore = slopePerSecond(lb);
  if (trendBefore !== undefined) v.lagTrendBefore = trendBefore;
  const trendAfter = slopePerSecond(la);
  if (trendAfter !== undefined) v.lagTrendAfter = trendAfter;
  if (la.length > 0) v.lagAfter = la[la.length - 1]!.v;
  checkForecast(v, input, ta.length > 0 ? throughputAfter : undefined, trendAfter, window.to);

  const missing: string[] = [];
  if (la.length < 2) missing.push(`${la.length} lag point(s) after the restart, need 2`);
  if (scaleUp && tb.length === 0) missing.push('no throughput before');
  if (scaleUp && ta.length === 0) missing.push('no throughput after');
  if (missing.length > 0 || trendAfter === undefined) {
    v.reason = `not enough data: ${missing.length > 0 ? missing.join(', ') : 'lag points after share one timestamp'}`;
    return v;
  }

  const zero = Math.max(ZERO_LAG_RECORDS, throughputAfter);
  const flat = Math.max(FLAT_LAG_RECORDS_PER_SECOND, 0.01 * throughputAfter);
  const lastLag = la[la.length - 1]!.v;
  const minLag = Math.min(...la.map((x) => x.v));
  const growing = trendAfter > flat && lastLag > zero;
  const falling = trendAfter < -flat;
  const caughtUp = minLag <= zero && !growing;
  const wasBehind = lb.length > 0 && Math.max(...lb.map((x) => x.v)) > zero;
  const lagText = `lag trend ${signed(trendAfter)} records/s after${trendBefore !== undefined ? ` (${signed(trendBefore)} before)` : ''}, lag ${r1(lastLag)} records`;

  // worse: the lag grows faster than before by more than 10% of the throughput or input rate before
  // (capacity lost, not noise in a saw-toothing lag), and more than the flat band
  const rateBefore = tb.length > 0 ? throughputBefore : throughputAfter;
  const worseBy = Math.max(flat, WORSE_LAG_GROWTH_SHARE * Math.max(rateBefore, rateBefore + (trendBefore ?? 0)));
  if (growing && trendAfter > (trendBefore ?? 0) + worseBy) {
    v.worse = true;
    v.reason = `${scaleUp ? 'ineffective scale-up' : 'worse'}: the lag grows faster than before the change (by more than ${r1(worseBy)} records/s): ${lagText}`;
    return v;
  }

  if (!scaleUp) {
    v.effective = !growing;
    v.reason = growing ? `lag grows after the change: ${lagText}` : `lag does not grow: ${lagText}`;
    return v;
  }

  const gain = throughputAfter - throughputBefore;
  const pct = throughputBefore > 0 ? (100 * gain) / throughputBefore : undefined;
  const needOverBefore = SCALE_UP_MIN_GAIN * throughputBefore;
  const needOfPredicted = predicted !== undefined && predicted > throughputBefore ? SCALE_UP_MIN_GAIN * (predicted - throughputBefore) : undefined;
  const risen = gain > 0 && (gain >= needOverBefore || (needOfPredicted !== undefined && gain >= needOfPredicted));
  const tpText = `throughput ${r1(throughputBefore)} → ${r1(throughputAfter)} records/s (${signed(gain)}${pct !== undefined ? `, ${signed(pct)}%` : ''}${predicted !== undefined ? `, predicted ${r1(predicted)}` : ''})`;

  // with a steady input rate (throughput + lag trend, before vs after, within STEADY_INPUT_SHARE), a
  // real gain in processing rate shows as the same fall in the lag's growth: a throughput rise the
  // lag does not confirm is noise in the throughput (e.g. a before window holding the job's ramp-up)
  const inputBefore = trendBefore !== undefined && tb.length > 0 ? throughputBefore + trendBefore : undefined;
  const inputAfter = throughputAfter + trendAfter;
  const steadyInput = inputBefore !== undefined && inputBefore > 0 && Math.abs(inputAfter - inputBefore) <= STEADY_INPUT_SHARE * inputBefore;
  const lagGain = trendBefore !== undefined ? trendBefore - trendAfter : undefined;
  const minRise = Math.min(needOverBefore, needOfPredicted ?? Infinity);
  const lagDenies = growing && risen && steadyInput && lagGain !== undefined && lagGain < minRise;

  if (lagDenies) {
    v.reason = `ineffective scale-up: lag still grows and its growth fell by ${r1(lagGain)} records/s, less than the ${r1(minRise)} records/s a real gain would show at a steady input rate (${r1(inputBefore!)} → ${r1(inputAfter)} records/s): ${lagText}; ${tpText}`;
  } else if (growing && risen) {
    // Flink's rule judges a scale-up by the processing rate it gained, not by the lag: a step that
    // raised throughput but not enough is kept and not blocked, so the next one can follow
    v.effective = true;
    v.insufficient = true;
    v.reason = `effective scale-up, not enough: ${tpText}; lag still grows: ${lagText}; the next diagnosis sizes a further step`;
  } else if (growing) {
    v.reason = `ineffective scale-up: lag still grows and throughput did not rise enough: ${lagText}; ${tpText}`;
  } else if (risen && (falling || caughtUp)) {
    v.effective = true;
    v.reason = `effective scale-up: ${tpText}; ${lagText}`;
  } else if (caughtUp && wasBehind) {
    v.effective = true;
    v.reason = `effective scale-up: lag cleared (${lagText}); ${tpText}`;
  } else if (!risen) {
    const need = needOfPredicted !== undefined ? `≥ ${r1(Math.min(needOverBefore, needOfPredicted))} records/s (10% of before or of the predicted gain)` : `≥ ${r1(needOverBefore)} records/s (10% of before)`;
    v.reason = `ineffective scale-up: throughput did not rise: ${tpText}, needs ${need}; ${lagText}`;
  } else {
    // risen, and the lag stopped growing but does not fall: it helped and was not enough
    v.effective = true;
    v.insufficient = true;
    v.reason = `effective scale-up, not enough: ${tpText}; the lag no longer grows but does not fall: ${lagText}; the next diagnosis sizes a further step`;
  }
  return v;
}

/**
 * Sets the forecast check of `v` (see {@link Verification}): the forecast from `expected`, and when
 * the lag since applying and the input rate (throughput after + lag trend after, records/s) are
 * known, the measured time until the lag was back under one minute of input, watched until `to`.
 */
function checkForecast(v: Verification, input: VerifyInput, throughputAfter: number | undefined, trendAfter: number | undefined, to: number): void {
  const f = input.expected?.lagUnderOneMinuteMs;
  if (f !== undefined && Number.isFinite(f)) v.lagUnderOneMinuteForecastMs = f;
  const since = input.sinceApply;
  if (!since || throughputAfter === undefined) return;
  const inputRate = Math.max(0, throughputAfter + (trendAfter ?? 0));
  v.inputRecordsPerSecond = Math.round(inputRate * 10) / 10;
  const measured = timeUntilUnder(since.lag, 60 * inputRate, since.appliedAt);
  if (measured === undefined) return;
  v.lagUnderOneMinuteMs = measured;
  v.lagUnderOneMinuteCheckedMs = Math.max(0, to - since.appliedAt);
}

/** ms: read resolution of {@link loadVerifyInput} (the collector's default interval). */
export const VERIFY_STEP_MS = 5_000;
/** ms after the first record processed after the restart that the after window skips (restore,
 * catch-up burst, rate meters warming up; Flink's meters average over 60 s, so `verifyAfterMs`
 * should be at least that on Flink). */
export const VERIFY_SETTLE_MS = 10_000;
/** ms: the shortest before window (the tuner's default `verifyAfterMs`). */
export const VERIFY_MIN_BEFORE_MS = 60_000;

const THROUGHPUT = 'taskmanager_job_task_numRecordsOutPerSecond';
const TOTAL_LAG = 'streamtune_kafka_group_totalLag';
const PENDING = 'taskmanager_job_task_operator_pendingRecords';

function sumByTime(series: readonly Series[]): Points {
  const acc = new Map<number, number>();
  for (const s of series) for (const x of s.points) acc.set(x.t, (acc.get(x.t) ?? 0) + x.v);
  return [...acc.entries()].sort((a, b) => a[0] - b[0]).map(([t, v]) => ({ t, v }));
}

function stepTime(op: Operation, names: readonly string[], which: 'startedAt' | 'finishedAt'): number | undefined {
  let t: number | undefined;
  for (const s of op.steps) {
    if (!names.includes(s.name) || s.status === 'failed' || s.status === 'skipped') continue;
    const v = s[which];
    if (v !== undefined && (t === undefined || (which === 'startedAt' ? v < t : v > t))) t = v;
  }
  return t;
}

/**
 * Reads the {@link VerifyInput} of `op` on `job` from `store`, at `now` (ms since epoch).
 *
 * Series, per {@link VERIFY_STEP_MS} window (mean per subtask, then summed):
 * - throughput: `taskmanager_job_task_numRecordsOutPerSecond` (Flink Meter, field `rate`, records/s;
 *   field `value` when a store holds it as a gauge) of the source vertices — the entries of
 *   `job.topology` with no inputs, matched on `task_name` (their `name`, else `id`) — with
 *   `job_id` = `job.job_id` or `op.job_id` (Flink gives the restarted job a new id), summed over
 *   subtasks and source vertices;
 * - lag: `streamtune_kafka_group_totalLag` field `value` with `group` = `job.consumerGroup`
 *   (records); where the group has no lag in the store (no consumer group, or a source not reported
 *   as one), the sources' backlog instead: `taskmanager_job_task_operator_pendingRecords` (Flink's
 *   standard source metric, FLIP-33) summed over the source vertices and subtasks, records.
 *
 * Windows, from the operation's journaled steps:
 * - stop = the start of the first 'savepoint' or 'stop' step (else `op.createdAt`);
 * - restart = the end of the last 'wait-running' step (else of 'start', else stop);
 * - first record = the first window at or after restart with throughput > 0 (else restart);
 * - after = [first record + {@link VERIFY_SETTLE_MS}, now];
 * - before = [stop − max(length of after, {@link VERIFY_MIN_BEFORE_MS}), stop]; when the run before
 *   the change had its first record inside that range, from that record + {@link VERIFY_SETTLE_MS}
 *   (if at least two steps remain before the stop).
 * - since apply = [applied, now], applied = the start of the first 'savepoint', 'stop' or 'rescale'
 *   step (else `op.createdAt`): the lag the forecast check reads (`sinceApply`).
 * The `window` to pass to {@link verifyOperation} is `{ from: after start, to: now }` and is
 * returned as `afterWindow`.
 *
 * @throws StreamtuneError STORE_UNAVAILABLE / STORE_REJECTED from the store.
 */
export async function loadVerifyInput(store: MetricStore, job: ManagedJob, op: Operation, now: number): Promise<VerifyInput & { afterWindow: { from: number; to: number } }> {
  const stop = stepTime(op, ['savepoint', 'stop'], 'startedAt') ?? op.createdAt;
  const appliedAt = stepTime(op, ['savepoint', 'stop', 'rescale'], 'startedAt') ?? op.createdAt;
  const restart = stepTime(op, ['wait-running'], 'finishedAt') ?? stepTime(op, ['start'], 'finishedAt') ?? stop;
  const sources = sourceVertices(job.topology).map((v) => v.name);
  const jobIds = [...new Set([job.job_id, op.job_id])];

  const throughput = async (start: number, end: number): Promise<Points> => {
    if (sources.length === 0 || end < start) return [];
    for (const field of ['rate', 'value']) {
      const s = await store.query({ measurement: THROUGHPUT, field, start, end, where: { job_id: jobIds, task_name: sources }, groupBy: ['job_id', 'task_name', 'subtask_index'], window: VERIFY_STEP_MS, aggregate: 'mean' });
      if (s.length > 0) return sumByTime(s);
    }
    return [];
  };
  const groupLag = async (start: number, end: number): Promise<Points> => {
    if (!job.consumerGroup || end < start) return [];
    const s = await store.query({ measurement: TOTAL_LAG, field: 'value', start, end, where: { group: job.consumerGroup }, window: VERIFY_STEP_MS, aggregate: 'mean' });
    return sumByTime(s);
  };
  const backlog = async (start: number, end: number): Promise<Points> => {
    if (sources.length === 0 || end < start) return [];
    const s = await store.query({ measurement: PENDING, field: 'value', start, end, where: { job_id: jobIds, task_name: sources }, groupBy: ['job_id', 'task_name', 'subtask_index'], window: VERIFY_STEP_MS, aggregate: 'mean' });
    return sumByTime(s);
  };
  // the group's lag when the store has it (from before the stop to now), else the sources' backlog
  const useGroup = (await groupLag(Math.min(stop - VERIFY_MIN_BEFORE_MS, op.createdAt), now)).length > 0;
  const lag = (start: number, end: number): Promise<Points> => (useGroup ? groupLag(start, end) : backlog(start, end));

  const sinceRestart = await throughput(restart, now);
  const firstRecord = sinceRestart.find((p) => p.v > 0)?.t ?? restart;
  const afterFrom = Math.max(restart, firstRecord) + VERIFY_SETTLE_MS;
  const span = Math.max(now - afterFrom, VERIFY_MIN_BEFORE_MS);
  // the run before the change started inside the before window (its first record after the window's
  // start): skip its first VERIFY_SETTLE_MS as the after window does, so buffers filling at its start
  // do not read as a slower-growing lag before — unless that leaves fewer than two steps
  const earliest = stop - span;
  // read once: the before window's throughput is a part of it (windows are epoch-aligned)
  const throughputToStop = await throughput(earliest - VERIFY_STEP_MS, stop);
  const firstBefore = throughputToStop.find((p) => p.v > 0)?.t;
  const settledFrom = firstBefore !== undefined && firstBefore > earliest ? firstBefore + VERIFY_SETTLE_MS : earliest;
  const beforeFrom = settledFrom <= stop - 2 * VERIFY_STEP_MS ? settledFrom : earliest;
  // windows are epoch-aligned: keep only those that start inside each range
  const inside = (p: Points, from: number, to: number): Points => p.filter((x) => x.t >= from && x.t <= to);
  const tb = throughputToStop;
  const [lb, ta, la, ls] = await Promise.all([lag(beforeFrom, stop), throughput(afterFrom, now), lag(afterFrom, now), lag(appliedAt, now)]);
  const out: VerifyInput & { afterWindow: { from: number; to: number } } = {
    before: { throughput: inside(tb, beforeFrom, stop), lag: inside(lb, beforeFrom, stop) },
    after: { throughput: inside(ta, afterFrom, now), lag: inside(la, afterFrom, now) },
    actions: op.actions,
    afterWindow: { from: afterFrom, to: now },
    sinceApply: { appliedAt, lag: inside(ls, appliedAt, now) },
  };
  if (op.expected) out.expected = op.expected;
  return out;
}
