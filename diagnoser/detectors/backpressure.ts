/**
 * Back-pressure bottleneck detector. A vertex is a bottleneck when it is busy (busy time, max over
 * subtasks, ≥ `busyRatio`·1000 ms/s), is not back-pressured itself (≤ `ownBackpressureMax`, Flink's
 * "ok" level ≤ 0.10), and at least one of its upstream vertices is back-pressured above Dhalion's
 * symptom threshold (`symptomMsPerSecond`, 20 ms/s). Severity is graded on the upstream
 * back-pressure ratio (default thresholds 0.02/0.1/0.5/0.8: Dhalion's symptom, Flink's low and high).
 * With no such vertex, the source is the bottleneck candidate (returned as `sourceCandidate`,
 * without a finding: whether it matters depends on lag — see source.ts and diagnose.ts), and the
 * busiest vertex overall is returned as `busiest` (mean busy time over subtasks, then max).
 */
import type { DetectorRule } from '../../rules/index.ts';
import type { Finding } from '../types.ts';
import { backpressureLevel, gradeRule, makeFinding, param, type VertexStats } from './common.ts';
import { round } from '../series.ts';

/** One bottleneck vertex. */
export interface Bottleneck {
  vertexId: string;
  vertexName: string;
  /** busy ratio, max over subtasks, 0..1 */
  busyRatio: number;
  /** back-pressure ratio of the most back-pressured upstream vertex, 0..1 */
  upstreamBackpressureRatio: number;
}

/** Result of {@link detectBottleneck}. */
export interface BottleneckResult {
  findings: Finding[];
  /** bottlenecks, primary (busiest) first */
  bottlenecks: Bottleneck[];
  /** true when some vertex is back-pressured above the symptom threshold */
  anyBackpressure: boolean;
  /** the busiest source, when no vertex qualifies */
  sourceCandidate?: string;
  /**
   * the busiest vertex of all (busy time, max over subtasks, ≥ `busyRatio`), when no vertex
   * qualifies: what stalls the whole task manager (GC pauses, a saturated event loop) shows as busy
   * time everywhere, and most in the vertex that causes it
   */
  busiest?: string;
}

/**
 * Finds bottleneck vertices. Pure.
 * @param stats per-vertex summaries (`summarise(window)`)
 * @param rule the 'backpressure.bottleneck' rule (params symptomMsPerSecond, busyRatio, ownBackpressureMax)
 */
export function detectBottleneck(stats: readonly VertexStats[], rule: DetectorRule): BottleneckResult {
  const symptom = param(rule, 'symptomMsPerSecond', 20);
  const busyMin = param(rule, 'busyRatio', 0.5);
  const ownMax = param(rule, 'ownBackpressureMax', 0.1);
  const byId = new Map(stats.map((s) => [s.vertex.id, s]));
  const anyBackpressure = stats.some((s) => s.backPressuredMax > symptom);
  const bottlenecks: Bottleneck[] = [];
  const findings: Finding[] = [];
  for (const s of stats) {
    if (s.busyMax === undefined) continue;
    const busyRatio = s.busyMax / 1000;
    const ownRatio = s.backPressuredMax / 1000;
    const ups = s.vertex.inputs.map((id) => byId.get(id)).filter((u): u is VertexStats => !!u);
    const upMax = ups.reduce((m, u) => Math.max(m, u.backPressuredMax), 0);
    if (busyRatio < busyMin || ownRatio > ownMax || upMax <= symptom) continue;
    const upRatio = upMax / 1000;
    const b: Bottleneck = { vertexId: s.vertex.id, vertexName: s.vertex.name, busyRatio, upstreamBackpressureRatio: upRatio };
    bottlenecks.push(b);
    const worstUp = ups.find((u) => u.backPressuredMax === upMax)!;
    findings.push(
      makeFinding(
        rule,
        gradeRule(rule, upRatio),
        `vertex ${s.vertex.name} is the bottleneck: busy ${Math.round(s.busyMax)} ms/s while upstream ${worstUp.vertex.name} is back-pressured ${Math.round(upMax)} ms/s (level ${backpressureLevel(upRatio)})`,
        {
          busyTimeMsPerSecond: round(s.busyMax, 1),
          backPressuredTimeMsPerSecond: round(s.backPressuredMax, 1),
          upstreamVertex: worstUp.vertex.name,
          upstreamBackPressuredTimeMsPerSecond: round(upMax, 1),
          upstreamBackpressureLevel: backpressureLevel(upRatio),
          parallelism: s.vertex.parallelism,
        },
        s.vertex.name,
      ),
    );
  }
  bottlenecks.sort((a, b) => b.busyRatio - a.busyRatio);
  findings.sort((a, b) => Number(b.evidence.busyTimeMsPerSecond) - Number(a.evidence.busyTimeMsPerSecond));
  const res: BottleneckResult = { findings, bottlenecks, anyBackpressure };
  if (bottlenecks.length === 0) {
    const sources = stats.filter((s) => s.vertex.isSource);
    const busiest = sources.sort((a, b) => (b.busyMax ?? 0) - (a.busyMax ?? 0))[0];
    if (busiest) res.sourceCandidate = busiest.vertex.id;
    const top = [...stats].filter((x) => (x.busyMax ?? 0) / 1000 >= busyMin).sort((a, b) => (b.busyMean ?? 0) - (a.busyMean ?? 0) || (b.busyMax ?? 0) - (a.busyMax ?? 0))[0];
    if (top) res.busiest = top.vertex.id;
  }
  return res;
}
