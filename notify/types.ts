/**
 * Plain-data shapes of reports and notifications: what the incident tracker emits, what notifiers
 * (email, webhook) deliver and what the scheduled digest summarises.
 */
import type { Diagnosis, GroupLagStatus } from '../diagnoser/index.ts';
import type { Severity } from '../rules/index.ts';

/** Status of a tuning operation, as the reports show it ('unverified': applied, but verification could not judge it). */
export type OperationStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'rolled-back' | 'cancelled' | 'unverified';

/** One step of an operation (e.g. 'savepoint', 'stop', 'restart', 'verify'). Times in ms since epoch. */
export interface OperationStepSummary {
  name: string;
  status: OperationStatus | 'skipped';
  /** ms since epoch */
  startedAt?: number;
  /** ms since epoch */
  finishedAt?: number;
  /** one line, e.g. the savepoint path or the error */
  message?: string;
}

/**
 * The minimal view of a tuner operation that reports need; the tuner maps its own operation
 * record onto this.
 */
export interface OperationSummary {
  id: string;
  job_id: string;
  job_name?: string;
  status: OperationStatus;
  steps: OperationStepSummary[];
  /** ms the job was not processing (stop with savepoint → running again); absent when unknown */
  downtimeMs?: number;
  /** one-line outcome, e.g. 'parallelism of map 2 → 4, lag 120000 → 0 records'; absent while running */
  result?: string;
}

/** One job that was lagging during the digest period (Burrow group status). */
export interface LaggingJobSummary {
  job_id: string;
  job_name?: string;
  /** consumer group read by the job, when known */
  consumerGroup?: string;
  lagStatus: GroupLagStatus | 'UNKNOWN';
  /** records: max over partitions of log-end offset − committed offset, at the end of the period */
  maxLag?: number;
  /** records: sum over partitions */
  totalLag?: number;
  /** ms since epoch: since when the job has been lagging */
  since?: number;
}

/** What a scheduled digest covers; produced by the injected provider. Times in ms since epoch. */
export interface DigestData {
  /** ms since epoch */
  periodStart: number;
  /** ms since epoch */
  periodEnd: number;
  laggingJobs: LaggingJobSummary[];
  diagnoses: Diagnosis[];
  operations: OperationSummary[];
}

/** An incident: one stretch of trouble of one job, from the first bad diagnosis to back to OK (Burrow). */
export interface Incident {
  /** unique id, stable for the life of the incident */
  id: string;
  job_id: string;
  job_name?: string;
  /** ms since epoch: when the incident opened */
  startedAt: number;
  /** ms since epoch: when it closed; absent while open */
  resolvedAt?: number;
  /** worst severity seen while open */
  maxSeverity: Severity;
  /** ms since epoch of the last notification sent for it (report or reminder) */
  lastNotifiedAt?: number;
  /** number of notifications sent (report + reminders) */
  notifications: number;
}

/** Kinds of notification. */
export type NotificationType = 'report' | 'reminder' | 'resolved' | 'digest';

/**
 * One notification to deliver. `report`, `reminder` and `resolved` carry the incident and the
 * diagnosis behind it (for `resolved`, the healthy diagnosis that closed it); `digest` carries the
 * digest data.
 */
export type Notification =
  | { type: 'report' | 'reminder' | 'resolved'; incident: Incident; diagnosis: Diagnosis }
  | { type: 'digest'; digest: DigestData };

/** Something that delivers notifications (email, webhook). */
export interface Notifier {
  /** short name for logs, e.g. 'email', 'webhook' */
  readonly name: string;
  /**
   * Delivers one notification. Resolves when delivered. Rejects with a `StreamtuneError` whose
   * `retriable` says whether trying again later can help. Never puts secrets in errors.
   */
  send(notification: Notification): Promise<void>;
}

/**
 * Who receives mail: per team, per job (by job id or job name) and a default.
 * A job's recipients = its `emails` + its team's emails; when that is empty, `default`.
 * The digest goes to `digest` when given, else to `default`.
 */
export interface RecipientsConfig {
  teams?: Record<string, string[]>;
  jobs?: Record<string, { team?: string; emails?: string[] }>;
  default?: string[];
  digest?: string[];
}
