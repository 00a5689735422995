/**
 * What one run of the accuracy benchmark reports (bench/accuracy.ts), shared by its children:
 * bench/_accuracy-child.ts (bundled runtime) and bench/_accuracy-flink-child.ts (real Flink).
 */
import type { Diagnosis, TuningAction } from '../diagnoser/types.ts';
import type { AccuracyCase } from './_accuracy-corpus.ts';

/** What one child run reports. */
export interface AccuracyChildResult {
  id: string;
  rootCause: Diagnosis['rootCause']['kind'];
  vertex?: string;
  confidence: number;
  severity: Diagnosis['severity'];
  lagStatus: Diagnosis['lagStatus'];
  explanation: string;
  findings: Array<{ ruleId: string; severity: string; vertex?: string; summary: string }>;
  recommendations: Array<{ title: string; actions: TuningAction[]; lagUnderOneMinuteMs?: number | null }>;
  /** ms the run took */
  durationMs: number;
  /** forecast cases: the applied recommendation's forecast and what was measured */
  forecast?: {
    from: number;
    to: number;
    /** records: backlog when applied */
    backlogAtApply: number;
    /** records: one minute of input */
    minuteRecords: number;
    /** ms: the recommendation's lagUnderOneMinuteMs (null: no forecast) */
    forecastMs: number | null;
    /** ms from the stop call until the backlog was ≤ one minute of input; null: not within FORECAST_MAX_MS */
    measuredMs: number | null;
    /** ms of the stop with savepoint and restore */
    restartMs: number;
  };
}

/** The result of case `c` from its diagnosis `d`; `startedAt` (epoch ms) is when its run began. */
export function summary(c: AccuracyCase, d: Diagnosis, startedAt: number): AccuracyChildResult {
  const out: AccuracyChildResult = {
    id: c.id,
    rootCause: d.rootCause.kind,
    confidence: d.rootCause.confidence,
    severity: d.severity,
    lagStatus: d.lagStatus,
    explanation: d.rootCause.explanation,
    findings: d.findings.map((f) => ({ ruleId: f.ruleId, severity: f.severity, ...(f.vertex ? { vertex: f.vertex } : {}), summary: f.summary })),
    recommendations: d.recommendations.map((r) => ({ title: r.title, actions: r.actions, ...(r.lagUnderOneMinuteMs !== undefined ? { lagUnderOneMinuteMs: r.lagUnderOneMinuteMs } : {}) })),
    durationMs: Date.now() - startedAt,
  };
  if (d.rootCause.vertex !== undefined) out.vertex = d.rootCause.vertex;
  return out;
}
