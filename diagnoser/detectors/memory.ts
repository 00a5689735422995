/**
 * Memory / GC detectors, per TaskManager, reporting the worst one:
 * - 'memory.gc': mean GarbageCollector_All_TimeMsPerSecond over the window (ms/s).
 * - 'memory.heap': heap after GC trending up. The post-GC floor is approximated per bucket of the
 *   window ({@link heapFloorTrend}); it fires when the least-squares slope over the floors since
 *   the last reset is > 0, fitted over at least `minPoints` floors, the last floor is above the
 *   first, and the fitted rise over the window is at least `minRise` × max heap (in windows of
 *   seconds, garbage promoted to the old generation and not yet collected by a major GC also
 *   lifts the floor by a few MB; a leak lifts it by a share of the heap), and the floor is still
 *   rising: the slope over the later half of those floors is at least `minRecentShare` × the whole
 *   slope (in a long window a floor that rose while caches and state warmed up and then levelled
 *   off has a positive slope over the window, but no leak), and the fitted floors span at least
 *   `minSpanMinutes` (a floor is a bucket's minimum of samples seconds apart: over a window of
 *   seconds it is anywhere on the young generation's sawtooth, and 30 minutes are not projected from
 *   it). The finding is graded on
 *   the floor projected `horizonMinutes` ahead at that slope / max heap — "where will the live heap
 *   be": a leak at 10% of the heap filling it within the horizon is already severe — and its
 *   evidence carries the slope (bytes/min), the current and projected floor / max ratios.
 */
import type { DetectorRule } from '../../rules/index.ts';
import type { Finding } from '../types.ts';
import type { JvmWindow, Points, TimePoint } from '../window.ts';
import { lastOf, maxOf, meanOf, round, slopePerSecond } from '../series.ts';
import { gradeRule, makeFinding, param, severityRank } from './common.ts';

/** Numbers of the worst TaskManager. */
export interface MemoryStats {
  tmId?: string;
  /** other jobs on a TaskManager a finding is about (see `JvmWindow.otherJobs`): ids, or names when known */
  sharedWith?: string[];
  /** ms/s */
  gcTimeMsPerSecond?: number;
  /** bytes */
  heapMax?: number;
  /** bytes, last post-GC floor */
  heapFloor?: number;
  /** bytes per minute */
  heapFloorSlope?: number;
}

/** Params of the heap-after-GC trend (rule 'memory.heap'). */
export interface HeapTrendParams {
  /** the window is cut into this many equal buckets */
  buckets: number;
  /** bucket floors needed after the last reset to fit a slope */
  minPoints: number;
  /** a floor below (1 - resetDrop) × the previous floor starts a new segment */
  resetDrop: number;
}

/** The heap-after-GC trend of one TaskManager (see {@link heapFloorTrend}). */
export interface HeapTrend {
  /** every bucket floor of the window: the minimum heap used of the bucket at its time, bytes */
  floors: Points;
  /** the floors the slope is fitted on: those since the last reset */
  fitted: Points;
  /** true when a reset (restart or a major GC freeing most of the heap) cut earlier floors off */
  reset: boolean;
  /** least-squares slope over `fitted`, bytes/s; undefined with fewer than two fitted floors */
  slopeBytesPerSecond: number | undefined;
  /** fitted rise over the fitted span (slope × span), bytes */
  riseBytes: number;
  /** least-squares slope over the later half of `fitted` (from index ⌊n/2⌋, at least two floors), bytes/s;
   * undefined when `slopeBytesPerSecond` is */
  recentSlopeBytesPerSecond: number | undefined;
}

/**
 * Heap-after-GC trend of one heap-used series over [start, end] (ms). Neither Flink
 * (`Status.JVM.Memory.Heap.Used`) nor the bundled runtime reports the heap left after a GC, so
 * it is approximated the usual way from sampled heap used: the window is cut into `buckets` equal
 * buckets and each bucket's minimum (taken at its own time) is the post-GC floor — the sawtooth's
 * low points. Buckets without points are skipped (missing points). A floor below
 * (1 - resetDrop) × the previous one means the heap was emptied (a TaskManager restart, or a
 * major GC freeing what had looked like growth): only the floors from there on are fitted. The
 * slope is the least-squares slope (simple-statistics) over the fitted floors, so one noisy
 * bucket does not decide it. Pure.
 */
export function heapFloorTrend(heapUsed: Points, start: number, end: number, p: HeapTrendParams): HeapTrend {
  const floors: Points = [];
  const buckets = Math.max(2, Math.round(p.buckets));
  const span = Math.max(1, end - start);
  let i = 0;
  const pts = heapUsed.filter((x) => x.t >= start && x.t <= end && Number.isFinite(x.v));
  for (let b = 0; b < buckets; b++) {
    const to = start + (span * (b + 1)) / buckets;
    let min: TimePoint | undefined;
    for (; i < pts.length && (pts[i]!.t < to || b === buckets - 1); i++) if (!min || pts[i]!.v < min.v) min = pts[i];
    if (min) floors.push({ t: min.t, v: min.v });
  }
  let from = 0;
  for (let k = 1; k < floors.length; k++) if (floors[k]!.v < (1 - p.resetDrop) * floors[k - 1]!.v) from = k;
  const fitted = floors.slice(from);
  const slope = fitted.length >= Math.max(2, p.minPoints) ? slopePerSecond(fitted) : undefined;
  const riseBytes = slope !== undefined && fitted.length >= 2 ? (slope * (fitted[fitted.length - 1]!.t - fitted[0]!.t)) / 1000 : 0;
  const recent = fitted.slice(Math.min(Math.floor(fitted.length / 2), fitted.length - 2));
  const recentSlope = slope !== undefined ? slopePerSecond(recent) : undefined;
  return { floors, fitted, reset: from > 0, slopeBytesPerSecond: slope, riseBytes, recentSlopeBytesPerSecond: recentSlope };
}

/** Other jobs on the TaskManager, as names (ids when no name is known); [] when not shared. */
function othersOf(j: JvmWindow): string[] {
  return (j.otherJobs ?? []).map((o) => o.jobName ?? o.jobId);
}

/** Evidence and summary suffix telling whether the TaskManager is shared with other jobs. */
function sharing(j: JvmWindow): { evidence: Record<string, unknown>; suffix: string } {
  const others = othersOf(j);
  if (others.length === 0) return { evidence: { sharedTaskManager: false }, suffix: '' };
  return {
    evidence: { sharedTaskManager: true, otherJobs: (j.otherJobs ?? []).map((o) => ({ ...o })) },
    suffix: ` (task manager shared with ${others.length} other job(s): ${others.slice(0, 5).join(', ')}${others.length > 5 ? ', ...' : ''}; the memory may be theirs)`,
  };
}

/**
 * Runs the memory detectors over every TaskManager of the window. Pure.
 * @param start window start, ms
 * @param end window end, ms
 */
export function detectMemory(jvm: readonly JvmWindow[], start: number, end: number, rules: Partial<Record<'memory.gc' | 'memory.heap', DetectorRule>>): { findings: Finding[]; stats: MemoryStats } {
  const findings: Finding[] = [];
  let stats: MemoryStats = {};
  const rg = rules['memory.gc'];
  const gcs = jvm.map((j) => ({ j, gc: meanOf(j.gcTimeMsPerSecond) })).filter((x) => x.gc !== undefined);
  const worstGc = gcs.sort((a, b) => b.gc! - a.gc!)[0];
  if (worstGc) {
    const hm = lastOf(worstGc.j.heapMax);
    stats = { tmId: worstGc.j.tmId, gcTimeMsPerSecond: worstGc.gc! };
    if (hm !== undefined) stats.heapMax = hm;
    if (rg?.enabled) {
      const sev = gradeRule(rg, worstGc.gc);
      if (severityRank(sev) > 0) {
        const sh = sharing(worstGc.j);
        if (sh.suffix) stats.sharedWith = othersOf(worstGc.j);
        findings.push(makeFinding(rg, sev, `task manager ${worstGc.j.tmId} spends ${Math.round(worstGc.gc!)} ms/s (${Math.round(worstGc.gc! / 10)}%) in garbage collection${sh.suffix}`, {
          tmId: worstGc.j.tmId, gcTimeMsPerSecond: round(worstGc.gc!, 1), heapMaxBytes: hm ?? null, ...sh.evidence,
        }));
      }
    }
  }
  const rh = rules['memory.heap'];
  if (rh) {
    const tp: HeapTrendParams = { buckets: param(rh, 'buckets', 5), minPoints: param(rh, 'minPoints', 3), resetDrop: param(rh, 'resetDrop', 0.5) };
    const minRise = param(rh, 'minRise', 0.02);
    const minRecentShare = param(rh, 'minRecentShare', 0.5);
    const minSpanMs = param(rh, 'minSpanMinutes', 3) * 60_000;
    const horizonMs = param(rh, 'horizonMinutes', 30) * 60_000;
    let worst: { j: JvmWindow; tr: HeapTrend; floorLast: number; slope: number; ratio: number; projected: number; max: number } | undefined;
    for (const j of jvm) {
      const tr = heapFloorTrend(j.heapUsed, start, end, tp);
      // Flink reports Heap.Max -1 when the JVM has no limit: fall back to the committed heap
      const hm = lastOf(j.heapMax);
      const max = hm !== undefined && hm > 0 ? hm : maxOf(j.heapCommitted);
      const slope = tr.slopeBytesPerSecond;
      if (!max || max <= 0 || slope === undefined || slope <= 0) continue;
      const floorLast = tr.fitted[tr.fitted.length - 1]!.v;
      if (floorLast <= tr.fitted[0]!.v || tr.riseBytes < minRise * max) continue;
      // a trend fitted over less than minSpanMinutes is not projected horizonMinutes ahead: with the
      // reporter's samples seconds apart, a bucket's minimum in a short window is anywhere on the
      // young generation's sawtooth (a healthy real Flink TaskManager read +456 MiB/min over 40 s)
      if (tr.fitted[tr.fitted.length - 1]!.t - tr.fitted[0]!.t < minSpanMs) continue;
      // levelled off (warm-up, a cache that filled): not rising any more
      if (tr.recentSlopeBytesPerSecond === undefined || tr.recentSlopeBytesPerSecond < minRecentShare * slope) continue;
      const ratio = floorLast / max;
      const projected = (floorLast + (slope * horizonMs) / 1000) / max;
      if (!worst || projected > worst.projected) worst = { j, tr, floorLast, slope, ratio, projected, max };
    }
    if (worst) {
      if (!stats.tmId || stats.tmId === worst.j.tmId) stats = { ...stats, tmId: worst.j.tmId, heapMax: worst.max };
      stats.heapFloor = worst.floorLast;
      stats.heapFloorSlope = worst.slope * 60;
      if (rh.enabled) {
        const sev = gradeRule(rh, worst.projected);
        const mib = (b: number) => Math.round(b / 1048576);
        if (severityRank(sev) > 0) {
          const sh = sharing(worst.j);
          if (sh.suffix) stats.sharedWith = [...new Set([...(stats.sharedWith ?? []), ...othersOf(worst.j)])];
          findings.push(makeFinding(rh, sev, `heap after GC on ${worst.j.tmId} rises ${mib(worst.slope * 60)} MiB/min (least squares over ${worst.tr.fitted.length} bucket floors), now ${mib(worst.floorLast)} MiB = ${Math.round(worst.ratio * 100)}% of max heap, ${Math.round(worst.projected * 100)}% in ${Math.round(horizonMs / 60_000)} min at this rate${sh.suffix}`, {
            tmId: worst.j.tmId,
            heapFloorBytes: Math.round(worst.floorLast),
            heapMaxBytes: worst.max,
            floorToMax: round(worst.ratio, 3),
            projectedFloorToMax: round(worst.projected, 3),
            horizonMs,
            slopeBytesPerMinute: Math.round(worst.slope * 60),
            riseBytes: Math.round(worst.tr.riseBytes),
            floors: worst.tr.fitted.length,
            resetInWindow: worst.tr.reset,
            ...sh.evidence,
          }));
        }
      }
    }
  }
  return { findings, stats };
}
