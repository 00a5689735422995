/**
 * Plain-data shapes of reports and notifications: what the incident tracker emits, what notifiers
 * (email, webhook) deliver and what the scheduled digest summarises.
 */
import type { Diagnosis, GroupLagStatus, RootCauseKind } from '../diagnoser/index.ts';
import type { Severity } from '../rules/index.ts';
import type { Applicability } from '../tuner/index.ts';

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

/**
 * An incident: one problem of one job (its key: job id + root-cause kind), from the first diagnosis
 * that finds it until a diagnosis no longer does (notify/incident-book.ts). It gathers every
 * diagnosis of that problem meanwhile. Times in ms since epoch.
 */
export interface Incident {
  /** unique id, stable for the life of the incident */
  id: string;
  job_id: string;
  job_name?: string;
  /** the problem: the root-cause kind of the diagnoses it gathers */
  kind: RootCauseKind;
  /** the vertex the latest of them names, when it names one */
  vertex?: string;
  state: 'open' | 'resolved';
  /** ms since epoch: when the incident opened */
  startedAt: number;
  /** ms since epoch: when it resolved; absent while open */
  resolvedAt?: number;
  /** why it resolved, one line (e.g. 'cleared: the diagnosis finds the job healthy, lag OK') */
  resolution?: string;
  /** the diagnosis that resolved it */
  resolvedBy?: string;
  /** the latest diagnosis' severity */
  severity: Severity;
  /** worst severity seen while open */
  maxSeverity: Severity;
  /** the diagnoses it gathered, in the order seen */
  diagnosisIds: string[];
  /** ms since epoch of the last notification decided for it (report or reminder) */
  lastNotifiedAt?: number;
  /** number of notifications decided for it (report + reminders) */
  notifications: number;
}

/**
 * One entry of an incident's timeline (`at`: ms since epoch, the incident book's clock):
 * - `opened`: by the diagnosis `diagnosisId`;
 * - `diagnosis`: a later diagnosis of the same problem attached to it;
 * - `notification`: a report, reminder or resolved notice decided (`status: 'queued'`), then
 *   delivered by a channel ('sent', `channel` e.g. 'email') or given up on ('failed', `detail`);
 * - `operation`: a tuner operation on the job applied (its first state) or ended (a terminal state);
 * - `resolved`: by the diagnosis `diagnosisId`, with the reason.
 */
export type IncidentEvent =
  | { type: 'opened' | 'diagnosis'; at: number; diagnosisId: string; diagnosisAt: number; severity: Severity; lagStatus: Diagnosis['lagStatus']; rootCause: RootCauseKind; vertex?: string; trigger: string; summary: string }
  | { type: 'notification'; at: number; notification: 'report' | 'reminder' | 'resolved'; status: 'queued' | 'sent' | 'failed'; channel?: string; detail?: string }
  | { type: 'operation'; at: number; operationId: string; state: string; summary: string }
  | { type: 'resolved'; at: number; diagnosisId?: string; reason: string };

/** An incident with its timeline (oldest first). */
export interface IncidentDetail extends Incident {
  timeline: IncidentEvent[];
}

/** Kinds of notification. */
export type NotificationType = 'report' | 'reminder' | 'resolved' | 'digest';

/**
 * One notification to deliver. `report`, `reminder` and `resolved` carry the incident and the
 * diagnosis behind it (for `resolved`, the healthy diagnosis that closed it); `digest` carries the
 * digest data.
 */
export type Notification =
  | {
      type: 'report' | 'reminder' | 'resolved';
      incident: Incident;
      diagnosis: Diagnosis;
      /**
       * per recommendation id: whether streamtune can apply it on the job's executor, and if not
       * why and the settings to change by hand (the tuner's answer); absent when not known
       */
      applicability?: Record<string, Applicability>;
    }
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
