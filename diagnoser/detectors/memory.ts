/**
 * Memory / GC detectors, per TaskManager, reporting the worst one:
 * - 'memory.gc': mean GarbageCollector_All_TimeMsPerSecond over the window (ms/s).
 * - 'memory.heap': the window is cut into `buckets` buckets; the minimum heap used of each bucket
 *   approximates the heap left after GC. When that floor rises (least-squares slope > 0 and the last
 *   floor above the first) the finding is graded on last floor / max heap.
 */
import type { DetectorRule } from '../../rules/types.ts';
import type { Finding } from '../types.ts';
import type { JvmWindow, Points } from '../window.ts';
import { lastOf, maxOf, meanOf, round, slopePerSecond } from '../series.ts';
import { gradeRule, makeFinding, param, severityRank } from './common.ts';

/** Numbers of the worst TaskManager. */
export interface MemoryStats {
  tmId?: string;
  /** ms/s */
  gcTimeMsPerSecond?: number;
  /** bytes */
  heapMax?: number;
  /** bytes, last post-GC floor */
  heapFloor?: number;
  /** bytes per minute */
  heapFloorSlope?: number;
}

function floors(p: Points, start: number, end: number, buckets: number): Points {
  const out: Points = [];
  const span = Math.max(1, end - start);
  for (let b = 0; b < buckets; b++) {
    const from = start + (span * b) / buckets;
    const to = start + (span * (b + 1)) / buckets;
    const inB = p.filter((x) => x.t >= from && (b === buckets - 1 ? x.t <= to : x.t < to));
    if (inB.length) out.push({ t: inB[0]!.t, v: Math.min(...inB.map((x) => x.v)) });
  }
  return out;
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
      if (severityRank(sev) > 0)
        findings.push(makeFinding(rg, sev, `task manager ${worstGc.j.tmId} spends ${Math.round(worstGc.gc!)} ms/s (${Math.round(worstGc.gc! / 10)}%) in garbage collection`, {
          tmId: worstGc.j.tmId, gcTimeMsPerSecond: round(worstGc.gc!, 1), heapMaxBytes: hm ?? null,
        }));
    }
  }
  const rh = rules['memory.heap'];
  if (rh) {
    const buckets = Math.max(2, Math.round(param(rh, 'buckets', 5)));
    let worst: { j: JvmWindow; floorLast: number; slope: number; ratio: number; max: number } | undefined;
    for (const j of jvm) {
      const fl = floors(j.heapUsed, start, end, buckets);
      const max = lastOf(j.heapMax) ?? maxOf(j.heapCommitted);
      const slope = slopePerSecond(fl);
      if (fl.length < 3 || !max || slope === undefined || slope <= 0 || fl[fl.length - 1]!.v <= fl[0]!.v) continue;
      const ratio = fl[fl.length - 1]!.v / max;
      if (!worst || ratio > worst.ratio) worst = { j, floorLast: fl[fl.length - 1]!.v, slope, ratio, max };
    }
    if (worst) {
      if (!stats.tmId || stats.tmId === worst.j.tmId) stats = { ...stats, tmId: worst.j.tmId, heapMax: worst.max };
      stats.heapFloor = worst.floorLast;
      stats.heapFloorSlope = worst.slope * 60;
      if (rh.enabled) {
        const sev = gradeRule(rh, worst.ratio);
        if (severityRank(sev) > 0)
          findings.push(makeFinding(rh, sev, `heap after GC on ${worst.j.tmId} rises ${Math.round((worst.slope * 60) / 1048576)} MiB/min, now ${Math.round(worst.ratio * 100)}% of max heap`, {
            tmId: worst.j.tmId, heapFloorBytes: Math.round(worst.floorLast), heapMaxBytes: worst.max, floorToMax: round(worst.ratio, 3), slopeBytesPerMinute: Math.round(worst.slope * 60),
          }));
      }
    }
  }
  return { findings, stats };
}
