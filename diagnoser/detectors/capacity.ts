/**
 * Capacity detectors:
 * - 'capacity.over-provisioned': a vertex with parallelism > 1 whose every subtask is idle at least
 *   `minIdleRatio` of the time (idleTimeMsPerSecond/1000), graded (direction lower) on its busy ratio
 *   (max over subtasks) and capped at 'low': a cost finding (`category: 'cost'`), never an alarm;
 *   only when the job is not lagging. diagnose() keeps it only where the plan scales the vertex
 *   down, i.e. once the load stayed low for the scale-down interval (diagnoser/plan.ts).
 * - 'source.bound': no vertex back-pressured above the symptom threshold, yet lag grows: the sources
 *   cannot read faster. Either a source is busy (≥ `busyRatio`) but already runs one subtask per
 *   partition (more parallelism cannot help: add partitions), or no source is busy (an external
 *   fetch limit: quotas, network, fetch settings). Lag growth below `minGrowthRatio` (default 0.05)
 *   of the sources' read rate is taken as noise. A busy source below its partition count is not
 *   source-bound: it is under-provisioned and the plan scales it.
 */
import type { DetectorRule } from '../../rules/index.ts';
import type { Finding } from '../types.ts';
import { round } from '../series.ts';
import { gradeRule, makeFinding, param, processedRate, severityRank, type VertexStats } from './common.ts';

/** Over-provisioned vertices. Pure. `lagging`: the group lags (then nothing is over-provisioned). */
export function detectOverProvisioned(stats: readonly VertexStats[], lagging: boolean, rule: DetectorRule): { findings: Finding[]; vertices: string[] } {
  const findings: Finding[] = [];
  const vertices: string[] = [];
  if (lagging) return { findings, vertices };
  const minIdle = param(rule, 'minIdleRatio', 0.6) * 1000;
  for (const s of stats) {
    if (s.vertex.parallelism < 2 || s.busyMax === undefined) continue;
    const idle = s.subtasks.map((x) => x.idle);
    if (idle.some((i) => i === undefined || i < minIdle)) continue;
    const busyRatio = s.busyMax / 1000;
    if (severityRank(gradeRule(rule, busyRatio)) === 0) continue;
    // spare capacity costs money, it does not hurt the job: never above low
    const sev = 'low';
    vertices.push(s.vertex.id);
    findings.push(makeFinding(rule, sev, `vertex ${s.vertex.name} is over-provisioned: ${s.vertex.parallelism} subtasks, busiest ${Math.round(s.busyMax)} ms/s, every subtask idle ≥ ${Math.round(Math.min(...(idle as number[])))} ms/s`, {
      parallelism: s.vertex.parallelism, busyMaxMsPerSecond: round(s.busyMax, 1), idleMinMsPerSecond: round(Math.min(...(idle as number[])), 1), recordsInPerSecond: round(processedRate(s), 1),
    }, s.vertex.name));
    findings[findings.length - 1]!.category = 'cost';
  }
  return { findings, vertices };
}

/** Result of {@link detectSourceBound}. */
export interface SourceBoundResult {
  findings: Finding[];
  /** the source to scale when it is busy but below its partition count */
  scalableSource?: string;
  /** 'partitions' (at one subtask per partition) or 'external' (not busy) */
  reason?: 'partitions' | 'external';
}

/**
 * Source-bound detection. Pure.
 * @param anyBackpressure some vertex is back-pressured above the symptom threshold
 * @param lagGrowth lag growth, records/s (positive = growing)
 */
export function detectSourceBound(stats: readonly VertexStats[], anyBackpressure: boolean, lagGrowth: number | undefined, rule: DetectorRule): SourceBoundResult {
  const busyMin = param(rule, 'busyRatio', 0.8) * 1000;
  if (anyBackpressure || lagGrowth === undefined) return { findings: [] };
  const sev = gradeRule(rule, lagGrowth);
  if (severityRank(sev) === 0) return { findings: [] };
  const sources = stats.filter((s) => s.vertex.isSource && s.hasData);
  if (sources.length === 0) return { findings: [] };
  // growth that is a tiny share of what the sources read is sampling noise (a source reading in
  // batches makes its backlog jump by a batch), not a source that cannot keep up
  const readRate = sources.reduce((a, s) => a + processedRate(s), 0);
  if (lagGrowth < param(rule, 'minGrowthRatio', 0.05) * readRate) return { findings: [] };
  const busy = sources.filter((s) => (s.busyMax ?? 0) >= busyMin);
  const capped = busy.filter((s) => s.vertex.partitions !== undefined && s.vertex.parallelism >= s.vertex.partitions);
  const scalable = busy.find((s) => !capped.includes(s));
  if (scalable) return { findings: [], scalableSource: scalable.vertex.id };
  const reason: 'partitions' | 'external' = capped.length > 0 ? 'partitions' : 'external';
  const s = capped[0] ?? sources.sort((a, b) => (b.busyMax ?? 0) - (a.busyMax ?? 0))[0]!;
  const summary = reason === 'partitions'
    ? `source ${s.vertex.name} runs one subtask per partition (${s.vertex.partitions}) and is busy ${Math.round(s.busyMax ?? 0)} ms/s while lag grows ${Math.round(lagGrowth)} records/s: add partitions`
    : `no vertex is back-pressured and source ${s.vertex.name} is only busy ${Math.round(s.busyMax ?? 0)} ms/s, yet lag grows ${Math.round(lagGrowth)} records/s: reading is limited outside the job`;
  return {
    reason,
    findings: [makeFinding(rule, sev, summary, {
      reason, lagGrowthRecordsPerSecond: round(lagGrowth, 1), sourceBusyMsPerSecond: round(s.busyMax ?? 0, 1), parallelism: s.vertex.parallelism, partitions: s.vertex.partitions ?? null, recordsPerSecond: round(processedRate(s), 1),
    }, s.vertex.name)],
  };
}

/**
 * Insufficient data: share of subtasks with at least `minPoints` busy-time points below
 * `minCoverage` (or no vertex at all). Returns the coverage and a severity-'none' finding. Pure.
 */
export function detectInsufficientData(stats: readonly VertexStats[], rule: DetectorRule): { insufficient: boolean; coverage: number; findings: Finding[] } {
  const minPoints = param(rule, 'minPoints', 3);
  const minCoverage = param(rule, 'minCoverage', 0.5);
  const subs = stats.flatMap((s) => s.subtasks);
  const ok = subs.filter((x) => x.points >= minPoints).length;
  const coverage = subs.length ? ok / subs.length : 0;
  const insufficient = coverage < minCoverage;
  return {
    insufficient,
    coverage,
    findings: insufficient
      ? [makeFinding(rule, 'none', `not enough data: ${ok} of ${subs.length} subtasks have ≥ ${minPoints} busy-time points`, { subtasks: subs.length, subtasksWithData: ok, coverage: round(coverage, 3), minPoints })]
      : [],
  };
}
