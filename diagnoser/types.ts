/**
 * Plain-data shapes of a diagnosis, shared by the diagnoser (which produces them), the tuner (which
 * applies their actions) and the dashboards and reports (which show them).
 */

import type { Severity } from '../rules/index.ts';
import type { VertexRef } from '../platform/index.ts';

export type { Severity };

/** Burrow's partition status. */
export type PartitionLagStatus = 'OK' | 'WARN' | 'STOP' | 'STALL' | 'REWIND';
/** Burrow's group status: the worst partition, with STOP/STALL/REWIND shown as ERR. */
export type GroupLagStatus = 'OK' | 'WARN' | 'ERR';

/** What caused the job's trouble. */
export type RootCauseKind =
  | 'healthy'
  | 'under-provisioned'
  | 'data-skew'
  | 'source-bound'
  | 'checkpoint-pressure'
  | 'crash-loop'
  | 'memory-pressure'
  | 'over-provisioned'
  | 'transient-spike'
  | 'consumer-stalled'
  | 'insufficient-data';

/** A machine-applicable action; the tuner applies it. */
export type TuningAction =
  | {
      type: 'set-parallelism';
      /** the vertex: its JobVertexID (what executors address) and its name (what people read) */
      vertex: VertexRef;
      from: number;
      to: number;
    }
  | {
      type: 'set-checkpointing';
      /** ms */
      interval?: number;
      /** ms */
      timeout?: number;
      /** ms */
      minPause?: number;
      unaligned?: boolean;
    }
  | {
      type: 'set-memory';
      /** bytes: the TaskManager heap to give (JVM heap on Flink, the V8 heap on the bundled runtime) */
      heapBytes: number;
      /** bytes: the heap it has now (the largest heap max seen), when known */
      fromHeapBytes?: number;
    };

/** A recommendation: what, why and the expected effect in numbers, plus the typed actions. */
export interface Recommendation {
  id: string;
  /** rule id that produced it */
  ruleId: string;
  /** human-readable: what to do */
  title: string;
  /** why, with the numbers */
  rationale: string;
  /**
   * expected effect in numbers, e.g. { throughputRecordsPerSecond: 5200, catchUpMs: 600000 };
   * `lagUnderOneMinuteMs` repeats {@link Recommendation.lagUnderOneMinuteMs} when it is a number
   * (the tuner records `expected` with the operation, so verification can compare it)
   */
  expected: Record<string, number>;
  /** empty when the remedy is not machine-applicable (skew: rewrite the job) */
  actions: TuningAction[];
  /**
   * Forecast, ms: from applying the recommendation until the consumer group's lag is back under one
   * minute of input (lag ≤ 60 s × the input rate, records), the restart its actions need included
   * (diagnoser/forecast.ts). 0 when the lag is under one minute of input and stays there; null
   * when it cannot be forecast: no lag or input rate measured, a capacity that stays at or below
   * the input rate, or advice (no actions) whose effect streamtune cannot compute while the lag is
   * above one minute of input. Set on every recommendation diagnose() makes; absent on diagnoses
   * stored by earlier versions (and on hand-made ones).
   */
  lagUnderOneMinuteMs?: number | null;
}

/** A finding of one detector. */
export interface Finding {
  /** stable rule id, e.g. 'lag.burrow', 'backpressure.bottleneck' */
  ruleId: string;
  severity: Severity;
  /** one-line summary */
  summary: string;
  /** what to do (from the rule's help text) */
  help: string;
  /** vertex concerned, when there is one */
  vertex?: string;
  /** the numbers behind it */
  evidence: Record<string, unknown>;
  /**
   * 'cost': the job works, it only uses more than it needs (over-provisioning); severity never
   * above 'low', whatever the rule's thresholds. Absent for findings about the job's health.
   */
  category?: 'cost';
  /**
   * Rule id of the root-cause finding this one follows from (e.g. 'restarts.crash-loop' on the
   * stalled consumer of a crash-looping job): a symptom of that cause, not a cause of its own.
   */
  consequenceOf?: string;
}

/** A diagnosis of one job over one window. */
export interface Diagnosis {
  id: string;
  job_id: string;
  job_name?: string;
  /** ms */
  windowStart: number;
  /** ms */
  windowEnd: number;
  /** ms, when it was made */
  createdAt: number;
  /**
   * what started it: an alert (`resolved`: the diagnosis made when the alert resolved, the evidence
   * that clears or keeps its incident), a sweep, or a user
   */
  trigger: { type: 'alert'; alertId: string; ruleId: string; resolved?: boolean } | { type: 'sweep' } | { type: 'manual' };
  lagStatus: GroupLagStatus | 'UNKNOWN';
  findings: Finding[];
  rootCause: { kind: RootCauseKind; vertex?: string; confidence: number; explanation: string };
  recommendations: Recommendation[];
  /** the worst finding's severity */
  severity: Severity;
}

/** A job fell behind (or stopped falling behind): raised by the alerter from an alert rule. */
export interface AnomalyEvent {
  /** alert instance key (rule id + group tags), stable across evaluations */
  alertId: string;
  ruleId: string;
  severity: Exclude<Severity, 'none'>;
  job_id: string;
  job_name?: string;
  /** 'fired' when the alert starts, 'resolved' when it ends */
  state: 'fired' | 'resolved';
  /** ms since epoch: when the condition started to hold */
  since: number;
  /** ms since epoch: evaluation time */
  at: number;
  /** the alert's value at `at` (e.g. lag in records) */
  value: number;
  labels: Record<string, string>;
}

/** The bus topics the diagnoser publishes: the alerter's anomalies and the diagnoses. */
export interface DiagnoserEvents {
  anomalies: AnomalyEvent;
  diagnoses: Diagnosis;
}
