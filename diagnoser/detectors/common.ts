/**
 * Shared pieces of the detectors: Dr. Elephant severity grading from four thresholds, finding
 * construction from a rule, and per-vertex summaries of the window's series.
 */
import type { DetectorRule, Severity, Thresholds } from '../../rules/index.ts';
import type { Finding } from '../types.ts';
import type { JobWindow, VertexWindow } from '../window.ts';
import { counterRate, meanOf } from '../series.ts';

const LEVELS: Severity[] = ['none', 'low', 'moderate', 'severe', 'critical'];

/**
 * Dr. Elephant's grading: with direction 'higher', value ≥ t[3] → critical, ≥ t[2] → severe,
 * ≥ t[1] → moderate, ≥ t[0] → low, else none; 'lower' mirrors it (value ≤ t[i]).
 * NaN/undefined grade as none.
 */
export function grade(value: number | undefined, thresholds: Thresholds, direction: 'higher' | 'lower' = 'higher'): Severity {
  if (value === undefined || Number.isNaN(value)) return 'none';
  let level = 0;
  for (let i = 0; i < 4; i++) {
    const hit = direction === 'higher' ? value >= thresholds[i]! : value <= thresholds[i]!;
    if (hit) level = i + 1;
  }
  return LEVELS[level]!;
}

/** Grades with the rule's thresholds (none when the rule has none). */
export function gradeRule(rule: DetectorRule, value: number | undefined): Severity {
  return rule.severity ? grade(value, rule.severity.thresholds, rule.severity.direction) : 'none';
}

/** Numeric order of a severity (none 0 … critical 4). */
export function severityRank(s: Severity): number {
  return LEVELS.indexOf(s);
}

/** The worse of severities ('none' for an empty list). */
export function worst(list: readonly Severity[]): Severity {
  return list.reduce<Severity>((a, b) => (severityRank(b) > severityRank(a) ? b : a), 'none');
}

/** A parameter of the rule, or `dflt` when the rule file does not set it. */
export function param(rule: DetectorRule, name: string, dflt: number): number {
  const v = rule.params[name];
  return typeof v === 'number' && Number.isFinite(v) ? v : dflt;
}

/** Builds a finding carrying the rule's id and help text. */
export function makeFinding(rule: DetectorRule, severity: Severity, summary: string, evidence: Record<string, unknown>, vertex?: string): Finding {
  const f: Finding = { ruleId: rule.id, severity, summary, help: rule.help, evidence };
  if (vertex !== undefined) f.vertex = vertex;
  return f;
}

/** Means of one subtask's series over the window (undefined where a series has no points). */
export interface SubtaskStats {
  subtask: number;
  /** records/s: the mean of numRecordsInPerSecond, else the numRecordsIn counter's rate; undefined = no data */
  inRate?: number;
  /** records/s: the mean of numRecordsOutPerSecond, else the numRecordsOut counter's rate; undefined = no data */
  outRate?: number;
  /** 'counter' when a rate above was derived from the counter because the meter had no points */
  rateFrom?: 'counter';
  /** ms/s */
  busy?: number;
  /** ms/s */
  backPressured?: number;
  /** ms/s */
  idle?: number;
  /** number of busy-time points */
  points: number;
}

/** Summary of one vertex over the window. */
export interface VertexStats {
  vertex: VertexWindow;
  subtasks: SubtaskStats[];
  /** records/s summed over subtasks (subtasks without data count 0); see `inRateKnown` */
  inRate: number;
  /** records/s summed over subtasks; see `outRateKnown` */
  outRate: number;
  /** false when no subtask has an input rate (neither meter nor counter): `inRate` 0 means "no data" */
  inRateKnown: boolean;
  /** false when no subtask has an output rate: `outRate` 0 means "no data", not 0 records/s */
  outRateKnown: boolean;
  /** max over subtasks of mean busy time, ms/s (undefined without data) */
  busyMax?: number;
  /** mean over subtasks of mean busy time, ms/s */
  busyMean?: number;
  /** max over subtasks of mean back-pressured time, ms/s (0 without data) */
  backPressuredMax: number;
  /** min over subtasks of mean idle time, ms/s */
  idleMin?: number;
  /** true when at least one subtask has busy-time data */
  hasData: boolean;
}

function defined(xs: Array<number | undefined>): number[] {
  return xs.filter((x): x is number => x !== undefined);
}

/** Summarises every vertex of the window (order kept). */
export function summarise(w: JobWindow): VertexStats[] {
  return w.vertices.map((v) => {
    const subtasks: SubtaskStats[] = v.subtasks.map((s) => {
      const inMeter = meanOf(s.recordsInPerSecond);
      const outMeter = meanOf(s.recordsOutPerSecond);
      // a missing meter is no data, not 0 records/s: fall back to the counter's rate of increase
      const inRate = inMeter ?? counterRate(s.numRecordsIn);
      const outRate = outMeter ?? counterRate(s.numRecordsOut);
      const st: SubtaskStats = {
        subtask: s.subtask,
        busy: meanOf(s.busyTimeMsPerSecond),
        backPressured: meanOf(s.backPressuredTimeMsPerSecond),
        idle: meanOf(s.idleTimeMsPerSecond),
        points: s.busyTimeMsPerSecond.length,
      };
      if (inRate !== undefined) st.inRate = inRate;
      if (outRate !== undefined) st.outRate = outRate;
      if ((inMeter === undefined && inRate !== undefined) || (outMeter === undefined && outRate !== undefined)) st.rateFrom = 'counter';
      return st;
    });
    const busy = defined(subtasks.map((s) => s.busy));
    const bp = defined(subtasks.map((s) => s.backPressured));
    const idle = defined(subtasks.map((s) => s.idle));
    const st: VertexStats = {
      vertex: v,
      subtasks,
      inRate: subtasks.reduce((a, s) => a + (s.inRate ?? 0), 0),
      outRate: subtasks.reduce((a, s) => a + (s.outRate ?? 0), 0),
      inRateKnown: subtasks.some((s) => s.inRate !== undefined),
      outRateKnown: subtasks.some((s) => s.outRate !== undefined),
      backPressuredMax: bp.length ? Math.max(...bp) : 0,
      hasData: busy.length > 0,
    };
    if (busy.length) {
      st.busyMax = Math.max(...busy);
      st.busyMean = busy.reduce((a, b) => a + b, 0) / busy.length;
    }
    if (idle.length) st.idleMin = Math.min(...idle);
    return st;
  });
}

/** Flink's back-pressure level of a ratio (backPressuredTimeMsPerSecond / 1000): ok ≤ 0.10 < low ≤ 0.5 < high. */
export function backpressureLevel(ratio: number): 'ok' | 'low' | 'high' {
  return ratio <= 0.1 ? 'ok' : ratio <= 0.5 ? 'low' : 'high';
}

/** Records/s a vertex processes: its input rate, or for a source without input metrics its output rate (0 without data: see {@link measuredRate}). */
export function processedRate(s: VertexStats): number {
  return s.inRate > 0 ? s.inRate : s.vertex.isSource ? s.outRate : 0;
}

/**
 * Records/s a vertex processes as {@link processedRate}, or undefined when it was not measured
 * (no input meter or counter, and for a source no output one either): "no data", never 0.
 */
export function measuredRate(s: VertexStats): number | undefined {
  if (s.inRateKnown && s.inRate > 0) return s.inRate;
  if (s.vertex.isSource && s.outRateKnown) return s.outRate;
  return s.inRateKnown ? s.inRate : undefined;
}
