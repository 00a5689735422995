/**
 * Incidents without alert storms, after Burrow's notifier (`core/internal/notifier/coordinator.go`):
 * an incident opens (id, start time) when a job's diagnosis reaches the minimum severity; it gets
 * ONE report, then a reminder at most every `reminderIntervalMs` while it stays open (none with
 * `sendOnce`), and a "resolved" notice when the job is back to OK (with `sendClose`). Burrow users'
 * complaint this answers: one mail per group per evaluation (every minute).
 *
 * Plain logic with an injected clock; state goes through an {@link IncidentStore} so a restart does
 * not resend reports ({@link FileIncidentStore}: a JSON file written atomically).
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage, type Logger, silentLogger, StreamtuneError } from '../core/index.ts';
import type { Diagnosis } from '../diagnoser/index.ts';
import type { Severity } from '../rules/index.ts';
import type { Incident, Notification } from './types.ts';

/** Severities in increasing order (Dr. Elephant's scale). */
export const SEVERITY_ORDER: readonly Severity[] = ['none', 'low', 'moderate', 'severe', 'critical'];

/** Rank of a severity in {@link SEVERITY_ORDER}: none = 0 … critical = 4. */
export function severityRank(s: Severity): number {
  return SEVERITY_ORDER.indexOf(s);
}

/** An open incident as persisted: the incident plus the latest diagnosis of its job (for reminders). */
export interface OpenIncidentRecord {
  incident: Incident;
  lastDiagnosis: Diagnosis;
}

/** Persisted tracker state: open incidents by job id. */
export interface IncidentState {
  version: 1;
  open: Record<string, OpenIncidentRecord>;
}

/** Where the tracker keeps its state. `load` returns undefined when nothing was saved yet. */
export interface IncidentStore {
  load(): IncidentState | undefined;
  save(state: IncidentState): void;
}

/** Keeps state in memory only (tests, or when no data dir is configured). */
export class MemoryIncidentStore implements IncidentStore {
  private state: IncidentState | undefined;
  load(): IncidentState | undefined {
    return this.state && structuredClone(this.state);
  }
  save(state: IncidentState): void {
    this.state = structuredClone(state);
  }
}

/**
 * Keeps state in `<dataDir>/<fileName>` (default `notify-incidents.json`), written atomically
 * (temporary file in the same directory, then rename). A file that does not parse is moved aside to
 * `<file>.corrupt-<ms>` and logged, and the tracker starts empty.
 * `save` throws `StreamtuneError('INTERNAL')` when the file cannot be written.
 */
export class FileIncidentStore implements IncidentStore {
  /** Absolute path of the state file. */
  readonly path: string;
  private readonly log: Logger;

  constructor(dataDir: string, options: { fileName?: string; logger?: Logger } = {}) {
    this.path = join(dataDir, options.fileName ?? 'notify-incidents.json');
    this.log = (options.logger ?? silentLogger).namespace('incidents');
    mkdirSync(dataDir, { recursive: true });
  }

  load(): IncidentState | undefined {
    let raw: string;
    try {
      raw = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new StreamtuneError('INTERNAL', `cannot read incident state ${this.path}: ${errorMessage(err)}`, { cause: err, details: { file: this.path } });
    }
    try {
      const parsed = JSON.parse(raw) as IncidentState;
      if (parsed?.version !== 1 || typeof parsed.open !== 'object' || parsed.open === null) throw new Error('not an incident state (version 1)');
      return parsed;
    } catch (err) {
      const aside = `${this.path}.corrupt-${Date.now()}`;
      try {
        renameSync(this.path, aside);
      } catch {
        /* leave it */
      }
      this.log.error('incident state unreadable; starting with no open incidents', { file: this.path, movedTo: aside, error: errorMessage(err) });
      return undefined;
    }
  }

  save(state: IncidentState): void {
    const tmp = `${this.path}.${process.pid}.tmp`;
    try {
      writeFileSync(tmp, JSON.stringify(state), { mode: 0o600 });
      renameSync(tmp, this.path);
    } catch (err) {
      throw new StreamtuneError('INTERNAL', `cannot write incident state ${this.path}: ${errorMessage(err)}`, { cause: err, details: { file: this.path } });
    }
  }
}

/** Options of {@link IncidentTracker}. Burrow equivalents in brackets. */
export interface IncidentTrackerOptions {
  /** A diagnosis at or above this severity opens an incident. Default 'moderate'. */
  minSeverity?: Severity;
  /** Least time between two notifications of one open incident, ms [`interval`]. Default 3,600,000 (1 h). */
  reminderIntervalMs?: number;
  /** Only the report, never reminders [`send-once`]. Default false. */
  sendOnce?: boolean;
  /** Send a "resolved" notice when the incident closes [`send-close`]. Default true. */
  sendClose?: boolean;
  /** Clock, ms since epoch. Default Date.now. */
  now?: () => number;
  /** Default: in memory. */
  store?: IncidentStore;
  /** Incident id generator. Default `inc-<uuid>`. */
  newId?: () => string;
  logger?: Logger;
}

/**
 * Decides which notifications a stream of diagnoses deserves. Throws `StreamtuneError('INVALID_CONFIG')`
 * from the constructor on a negative or non-finite reminder interval or an unknown severity.
 */
export class IncidentTracker {
  private readonly minRank: number;
  private readonly interval: number;
  private readonly sendOnce: boolean;
  private readonly sendClose: boolean;
  private readonly now: () => number;
  private readonly store: IncidentStore;
  private readonly newId: () => string;
  private readonly log: Logger;
  private state: IncidentState;

  constructor(options: IncidentTrackerOptions = {}) {
    const min = options.minSeverity ?? 'moderate';
    this.minRank = severityRank(min);
    if (this.minRank < 1) {
      throw new StreamtuneError('INVALID_CONFIG', `incidents.minSeverity must be one of low, moderate, severe, critical; got '${min}'`, {
        details: { field: 'incidents.minSeverity' },
      });
    }
    this.interval = options.reminderIntervalMs ?? 3_600_000;
    if (!Number.isFinite(this.interval) || this.interval < 0) {
      throw new StreamtuneError('INVALID_CONFIG', `incidents.reminderIntervalMs must be a finite number ≥ 0; got ${this.interval}`, {
        details: { field: 'incidents.reminderIntervalMs' },
      });
    }
    this.sendOnce = options.sendOnce ?? false;
    this.sendClose = options.sendClose ?? true;
    this.now = options.now ?? Date.now;
    this.store = options.store ?? new MemoryIncidentStore();
    this.newId = options.newId ?? (() => `inc-${randomUUID()}`);
    this.log = (options.logger ?? silentLogger).namespace('incidents');
    this.state = this.store.load() ?? { version: 1, open: {} };
  }

  /** True when `d` is bad enough to open (or keep) an incident. */
  isTrouble(d: Diagnosis): boolean {
    return severityRank(d.severity) >= this.minRank;
  }

  /**
   * True when `d` says the job is back to OK: below the minimum severity and either the root cause
   * is 'healthy' or the consumer group's lag status is OK. ('insufficient-data' with lag UNKNOWN
   * does not close an incident: missing data is not recovery.)
   */
  isOk(d: Diagnosis): boolean {
    return !this.isTrouble(d) && (d.rootCause.kind === 'healthy' || d.lagStatus === 'OK');
  }

  /**
   * Takes the next diagnosis of a job and returns the notifications to send (zero or one):
   * a report when an incident opens, a reminder when one is open and the interval has passed
   * since its last notification (not with sendOnce), a resolved notice when it closes (with
   * sendClose). State is saved before returning; a failure to save is logged, never thrown.
   */
  observe(d: Diagnosis): Notification[] {
    const now = this.now();
    const rec = this.state.open[d.job_id];
    if (!rec) {
      if (!this.isTrouble(d)) return [];
      const incident: Incident = {
        id: this.newId(),
        job_id: d.job_id,
        ...(d.job_name !== undefined ? { job_name: d.job_name } : {}),
        startedAt: now,
        maxSeverity: d.severity,
        lastNotifiedAt: now,
        notifications: 1,
      };
      this.state.open[d.job_id] = { incident, lastDiagnosis: d };
      this.save();
      this.log.info('incident opened', { incident: incident.id, job_id: d.job_id, severity: d.severity, rootCause: d.rootCause.kind });
      return [{ type: 'report', incident: { ...incident }, diagnosis: d }];
    }
    const incident = rec.incident;
    if (this.isOk(d)) {
      delete this.state.open[d.job_id];
      incident.resolvedAt = now;
      this.save();
      this.log.info('incident resolved', { incident: incident.id, job_id: d.job_id, openMs: now - incident.startedAt });
      return this.sendClose ? [{ type: 'resolved', incident: { ...incident }, diagnosis: d }] : [];
    }
    rec.lastDiagnosis = d;
    if (severityRank(d.severity) > severityRank(incident.maxSeverity)) incident.maxSeverity = d.severity;
    const out = this.reminderIfDue(rec, now);
    this.save();
    return out;
  }

  /**
   * Reminders due now for open incidents, built from each job's latest diagnosis, for callers that
   * check on a timer rather than on each diagnosis. Saves state when it returns any (failures logged).
   */
  remindersDue(): Notification[] {
    const now = this.now();
    const out: Notification[] = [];
    for (const rec of Object.values(this.state.open)) out.push(...this.reminderIfDue(rec, now));
    if (out.length > 0) this.save();
    return out;
  }

  /** Open incidents (copies), oldest first. */
  openIncidents(): Incident[] {
    return Object.values(this.state.open)
      .map((r) => ({ ...r.incident }))
      .sort((a, b) => a.startedAt - b.startedAt);
  }

  /** The open incident of a job (a copy), if any. */
  openIncident(jobId: string): Incident | undefined {
    const r = this.state.open[jobId];
    return r && { ...r.incident };
  }

  private reminderIfDue(rec: OpenIncidentRecord, now: number): Notification[] {
    if (this.sendOnce) return [];
    const last = rec.incident.lastNotifiedAt ?? rec.incident.startedAt;
    if (now - last < this.interval) return [];
    rec.incident.lastNotifiedAt = now;
    rec.incident.notifications++;
    this.log.info('incident still open; reminder', { incident: rec.incident.id, job_id: rec.incident.job_id, openMs: now - rec.incident.startedAt });
    return [{ type: 'reminder', incident: { ...rec.incident }, diagnosis: rec.lastDiagnosis }];
  }

  /** Saving must not stop a notification: a failure is logged (a restart may then resend) and swallowed. */
  private save(): void {
    try {
      this.store.save(this.state);
    } catch (err) {
      this.log.error('incident state not saved; a restart may resend notifications', { error: errorMessage(err) });
    }
  }
}
