/**
 * Data-skew detector for vertices behind a keyed edge. Per subtask it compares the records-in rate
 * (mean over the window): Dhalion's max/min > `maxMinRatio` (1.5) and Flink's skew (mean absolute
 * deviation / mean, as in the REST `agg=skew`, here a ratio 0..1 instead of percent) graded with the
 * rule's thresholds. Busy time max/mean is reported as supporting evidence. Key-group record counts
 * (`keyGroupRecords`) name the hot key groups (share ≥ `hotKeyGroupFactor` × the uniform share 1/K)
 * and the subtask that owns each (Flink's `KeyGroupRangeAssignment`: subtask = kg·p / K).
 * A skewed vertex's hot subtask does not get faster with more parallelism: its hot keys stay on one
 * subtask. Vertices with one subtask, no keyed input, or input below `minRecordsPerSecond` are skipped.
 */
import { subtaskForKeyGroup } from '../../platform/index.ts';
import type { DetectorRule } from '../../rules/index.ts';
import type { Finding } from '../types.ts';
import { gradeRule, makeFinding, param, severityRank, type VertexStats } from './common.ts';
import { round } from '../series.ts';

/** One hot key group. */
export interface HotKeyGroup {
  keyGroup: number;
  /** share of the vertex's records, 0..1 */
  share: number;
  /** subtask that owns it */
  subtask: number;
}

/** Skew of one vertex. */
export interface SkewResult {
  vertexId: string;
  vertexName: string;
  /** Dhalion: max/min records-in rate over subtasks (Infinity when a subtask gets nothing) */
  maxMinRatio: number;
  /** Flink: mean absolute deviation / mean of records-in rate, 0..1 */
  skew: number;
  /** subtask with the most input */
  hotSubtask: number;
  /** share of the vertex's records on the hot subtask, 0..1 */
  hotSubtaskShare: number;
  hotKeyGroups: HotKeyGroup[];
}

/**
 * Detects skewed vertices. Pure.
 * @returns findings (one per skewed vertex, vertex = its name) and the per-vertex results
 */
export function detectSkew(stats: readonly VertexStats[], rule: DetectorRule): { findings: Finding[]; skewed: SkewResult[] } {
  const ratioMin = param(rule, 'maxMinRatio', 1.5);
  const minRate = param(rule, 'minRecordsPerSecond', 1);
  const hotFactor = param(rule, 'hotKeyGroupFactor', 4);
  const findings: Finding[] = [];
  const skewed: SkewResult[] = [];
  for (const s of stats) {
    const v = s.vertex;
    if (!v.keyedInput || v.parallelism < 2) continue;
    const rates = s.subtasks.filter((x) => x.inRate !== undefined).map((x) => ({ subtask: x.subtask, rate: x.inRate!, busy: x.busy }));
    if (rates.length < 2) continue;
    const total = rates.reduce((a, r) => a + r.rate, 0);
    if (total < minRate) continue;
    const mean = total / rates.length;
    const mad = rates.reduce((a, r) => a + Math.abs(r.rate - mean), 0) / rates.length;
    const skew = Math.min(1, mad / mean);
    const max = rates.reduce((a, r) => (r.rate > a.rate ? r : a));
    const min = Math.min(...rates.map((r) => r.rate));
    const maxMin = min > 0 ? max.rate / min : Infinity;
    const sev = gradeRule(rule, skew);
    if (!(maxMin > ratioMin) || severityRank(sev) === 0) continue;
    const hot: HotKeyGroup[] = [];
    if (v.keyGroupRecords) {
      const entries = Object.entries(v.keyGroupRecords).map(([k, c]) => [Number(k), c] as const);
      const kgTotal = entries.reduce((a, [, c]) => a + c, 0);
      const K = v.maxParallelism;
      if (kgTotal > 0) {
        for (const [kg, c] of entries) {
          const share = c / kgTotal;
          if (share >= hotFactor / K) hot.push({ keyGroup: kg, share: round(share, 4), subtask: subtaskForKeyGroup(kg, v.parallelism, K) });
        }
        hot.sort((a, b) => b.share - a.share);
      }
    }
    const busies = rates.map((r) => r.busy).filter((b): b is number => b !== undefined);
    const busyMean = busies.length ? busies.reduce((a, b) => a + b, 0) / busies.length : undefined;
    const r: SkewResult = {
      vertexId: v.id,
      vertexName: v.name,
      maxMinRatio: maxMin,
      skew,
      hotSubtask: max.subtask,
      hotSubtaskShare: max.rate / total,
      hotKeyGroups: hot.slice(0, 10),
    };
    skewed.push(r);
    findings.push(
      makeFinding(
        rule,
        sev,
        `vertex ${v.name} is skewed: subtask ${max.subtask} gets ${Math.round(r.hotSubtaskShare * 100)}% of the records (max/min ${Number.isFinite(maxMin) ? round(maxMin, 1) : '∞'}, skew ${Math.round(skew * 100)}%)` +
          (hot.length ? `; hot key groups ${hot.slice(0, 3).map((h) => `${h.keyGroup} (${Math.round(h.share * 100)}%)`).join(', ')}` : ''),
        {
          maxMinRatio: Number.isFinite(maxMin) ? round(maxMin, 2) : null,
          skew: round(skew, 3),
          hotSubtask: max.subtask,
          hotSubtaskShare: round(r.hotSubtaskShare, 3),
          recordsInPerSecondBySubtask: rates.map((x) => round(x.rate, 1)),
          busyMaxOverMean: busyMean && busyMean > 0 ? round(Math.max(...busies) / busyMean, 2) : null,
          hotKeyGroups: r.hotKeyGroups,
          moreParallelismHelps: false,
        },
        v.name,
      ),
    );
  }
  return { findings, skewed };
}
