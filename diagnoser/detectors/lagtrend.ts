/**
 * Lag-trend detectors over the job's total lag (records) — the consumer group's lag summed over
 * partitions, or else the sources' pendingRecords:
 * - 'lag.transient-spike': lag is above `allowedLag` but falling (least-squares slope over the last
 *   half of the window ≤ −`minDrainRate` records/s), already down by at least `minDropRatio` from
 *   its peak in the window (so a noisy or saw-tooth backlog that keeps growing is not a spike: a
 *   source reading in batches makes pendingRecords jump by a batch between samples), and fast
 *   enough that the projected drain time lag / drain rate is within the catch-up target.
 *   Reported, no action.
 * - 'consumer.stalled': partitions with lag ≥ `minLag` whose committed offset did not move over the
 *   window (≥ 2 observations) for longer than two commit cadences, or sources processing <
 *   `processingEpsilon` records/s while lag ≥ `minLag`. Graded on how long (ms) the offsets have not
 *   moved. A partition without any committed offset is listed in the evidence
 *   (`partitionsWithoutCommit`), not counted as stalled. The commit cadence
 *   ({@link commitCadenceMs}): a Flink KafkaSource (and the bundled runtime's) commits its offsets
 *   when a checkpoint completes, so offsets stand still for the checkpoint interval plus the
 *   checkpoint's duration — under back-pressure aligned checkpoints of a real Flink job took 30 s
 *   at a 2 s interval, and 8 s without a commit was read as a stalled consumer.
 */
import type { DetectorRule } from '../../rules/index.ts';
import type { Finding } from '../types.ts';
import type { JobWindow, Points } from '../window.ts';
import { lastOf, round, slopePerSecond, sumSeries, wholeSteps } from '../series.ts';
import { gradeRule, makeFinding, param, processedRate, severityRank, type VertexStats } from './common.ts';

/**
 * Total lag of the job over time, records: the consumer group's per-partition lag summed (each
 * partition's newest value carried forward), else the sources' pendingRecords summed; [] without data.
 */
export function totalLagSeries(w: JobWindow): Points {
  const parts = w.consumerLag?.partitions.filter((p) => p.lag.length > 0) ?? [];
  if (parts.length > 0) {
    const times = [...new Set(parts.flatMap((p) => p.lag.map((x) => x.t)))].sort((a, b) => a - b);
    const idx = parts.map(() => -1);
    return times.map((t) => {
      let v = 0;
      parts.forEach((p, i) => {
        while (idx[i]! + 1 < p.lag.length && p.lag[idx[i]! + 1]!.t <= t) idx[i]!++;
        if (idx[i]! >= 0) v += p.lag[idx[i]!]!.v;
      });
      return { t, v };
    });
  }
  return sumSeries(w.vertices.filter((v) => v.isSource && v.pendingRecords).map((v) => v.pendingRecords!));
}

/** Lag trend numbers. */
export interface LagTrend {
  /** records, newest */
  lag?: number;
  /** records/s over the whole window (positive = growing) */
  growthRate?: number;
  /** records/s over the last half of the window */
  recentRate?: number;
  /** records, the largest lag in the window */
  peak?: number;
}

/**
 * Current lag and its slopes. Pure.
 * @param lag total lag, records, per step; `start`/`end` ms epoch of the window
 * @param stepMs the step the window was read with: the slopes leave out a partial last step
 *   ({@link wholeSteps}); the current lag and the peak keep it
 */
export function lagTrend(lag: Points, start: number, end: number, stepMs?: number): LagTrend {
  const mid = start + (end - start) / 2;
  const t: LagTrend = {};
  const l = lastOf(lag);
  if (l !== undefined) t.lag = l;
  const whole = wholeSteps(lag, end, stepMs);
  const recent = whole.filter((x) => x.t >= mid);
  const g = slopePerSecond(whole);
  if (g !== undefined) t.growthRate = g;
  const r = slopePerSecond(recent.length >= 3 ? recent : whole.slice(-3));
  if (r !== undefined) t.recentRate = r;
  if (lag.length > 0) t.peak = Math.max(...lag.map((x) => x.v));
  return t;
}

/**
 * Transient spike: lag falling fast enough to drain within `catchUpMs`. Pure.
 * @param inputRate records/s the sources read (summed), when known: a peak worth less than
 *   `minPeakSeconds` of it is the saw-tooth of a few buffered records under back-pressure, no spike
 * @param commitCadenceMs ms between two offset commits ({@link commitCadenceMs}), when known: a job
 *   committing on checkpoints shows a saw-tooth lag of up to one cadence of input between commits,
 *   so the peak must pass `minPeakSeconds` plus one cadence of input (a healthy real Flink job at
 *   200 records/s with 2 s checkpoints read as "transient spike" without it)
 * @returns a finding (severity graded on the projected drain time, ms) or none
 */
export function detectTransientSpike(trend: LagTrend, catchUpMs: number, allowedLag: number, rule: DetectorRule, inputRate?: number, commitCadenceMs = 0): Finding[] {
  const minDrain = param(rule, 'minDrainRate', 1);
  const minDrop = param(rule, 'minDropRatio', 0.5);
  const minPeakS = param(rule, 'minPeakSeconds', 2) + commitCadenceMs / 1000;
  if (trend.lag === undefined || trend.recentRate === undefined || trend.lag <= allowedLag) return [];
  if (inputRate !== undefined && inputRate > 0 && (trend.peak ?? trend.lag) < inputRate * minPeakS) return [];
  const drainRate = -trend.recentRate;
  if (drainRate < minDrain) return [];
  // still near its peak: not (yet) a spike that is draining, maybe noise on a growing backlog
  if (trend.peak !== undefined && trend.lag > trend.peak * (1 - minDrop)) return [];
  const drainMs = ((trend.lag - allowedLag) / drainRate) * 1000;
  if (drainMs > catchUpMs) return [];
  const sev = gradeRule(rule, drainMs);
  return [
    makeFinding(rule, severityRank(sev) === 0 ? 'low' : sev, `lag of ${Math.round(trend.lag)} records is falling ${Math.round(drainRate)} records/s and drains in about ${Math.round(drainMs / 1000)} s (target ${Math.round(catchUpMs / 1000)} s): transient, no action`, {
      lag: Math.round(trend.lag), peakLag: Math.round(trend.peak ?? trend.lag), drainRecordsPerSecond: round(drainRate, 1), projectedDrainMs: Math.round(drainMs), catchUpMs,
    }),
  ];
}

/** Result of {@link detectStalled}. */
export interface StalledResult {
  findings: Finding[];
  /** 'topic/partition' of stalled partitions */
  stalledPartitions: string[];
  /** true when the sources process nothing while lag is present */
  notProcessing: boolean;
}

/**
 * ms between two commits of a job that commits its offsets on completed checkpoints, at most: the
 * checkpoint interval, the min pause and the longest checkpoint duration of the window; 0 when the
 * checkpoint settings are unknown.
 */
export function commitCadenceMs(w: JobWindow): number {
  const interval = w.checkpoints.config?.interval;
  if (interval === undefined) return 0;
  const longest = w.checkpoints.lastCheckpointDuration.reduce((m, p) => Math.max(m, p.v), 0);
  return interval + (w.checkpoints.config?.minPause ?? 0) + longest;
}

/**
 * Consumer stalled: committed offsets not moving for more than two commit cadences while lag is
 * non-zero, or the job not processing. Pure.
 */
export function detectStalled(w: JobWindow, stats: readonly VertexStats[], lag: number | undefined, rule: DetectorRule): StalledResult {
  const minLag = param(rule, 'minLag', 1);
  const eps = param(rule, 'processingEpsilon', 0.01);
  // offsets standing still for up to two commit cadences are a consumer between two checkpoints
  const minStillMs = 2 * commitCadenceMs(w);
  const stalled: string[] = [];
  const noCommit: string[] = [];
  let since = w.now;
  for (const p of w.consumerLag?.partitions ?? []) {
    const name = `${p.topic}/${p.partition}`;
    const pl = lastOf(p.lag) ?? 0;
    if (p.committedOffset.length === 0) {
      if (pl >= minLag || (lastOf(p.logEndOffset) ?? 0) > 0) noCommit.push(name);
      continue;
    }
    if (pl < minLag || p.committedOffset.length < 2) continue;
    const last = p.committedOffset[p.committedOffset.length - 1]!.v;
    if (p.committedOffset.every((x) => x.v === last) && w.now - p.committedOffset[0]!.t >= minStillMs) {
      stalled.push(name);
      since = Math.min(since, p.committedOffset[0]!.t);
    }
  }
  const sources = stats.filter((s) => s.vertex.isSource);
  const withData = sources.filter((s) => s.subtasks.some((x) => x.inRate !== undefined || x.outRate !== undefined));
  const notProcessing = (lag ?? 0) >= minLag && withData.length > 0 && withData.every((s) => processedRate(s) < eps);
  if (notProcessing) since = Math.min(since, w.start);
  const findings: Finding[] = [];
  if (stalled.length > 0 || notProcessing) {
    const stalledMs = w.now - since;
    const sev = gradeRule(rule, stalledMs);
    findings.push(
      makeFinding(rule, severityRank(sev) === 0 ? 'low' : sev,
        stalled.length > 0
          ? `committed offsets of ${stalled.length} partition(s) have not moved for ${Math.round(stalledMs / 1000)} s while lag is ${Math.round(lag ?? 0)} records`
          : `the sources process no records while lag is ${Math.round(lag ?? 0)} records`,
        { stalledPartitions: stalled, partitionsWithoutCommit: noCommit, notProcessing, stalledMs, lag: Math.round(lag ?? 0) }),
    );
  }
  return { findings, stalledPartitions: stalled, notProcessing };
}
