/**
 * Notifications without alert storms, after Burrow's notifier (`core/internal/notifier/coordinator.go`):
 * the incidents themselves are the {@link IncidentBook}'s (one per job problem, opened, gathering its
 * diagnoses, resolved when a diagnosis no longer finds the problem); the tracker decides what each
 * change deserves. An incident whose severity reaches the minimum gets ONE report, then a reminder at
 * most every `reminderIntervalMs` while it stays open (none with `sendOnce`), and a "resolved" notice
 * when it resolves (with `sendClose`) — only incidents that got a report get the notice. Burrow users'
 * complaint this answers: one mail per group per evaluation (every minute).
 *
 * Plain logic with an injected clock. Notification decisions are recorded in the book (its timeline,
 * `notifications`, `lastNotifiedAt`), so a restart neither resends a report nor restarts the reminder
 * schedule; the latest diagnosis of each open incident (for reminders without a new diagnosis) goes
 * through an {@link IncidentStore} ({@link FileIncidentStore}: a JSON file written atomically).
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage, type Logger, silentLogger, StreamtuneError } from '../core/index.ts';
import type { Diagnosis } from '../diagnoser/index.ts';
import type { Severity } from '../rules/index.ts';
import { IncidentBook, type IncidentChange } from './incident-book.ts';
import type { Incident, Notification } from './types.ts';

/** Severities in increasing order (Dr. Elephant's scale). */
export const SEVERITY_ORDER: readonly Severity[] = ['none', 'low', 'moderate', 'severe', 'critical'];

/** Rank of a severity in {@link SEVERITY_ORDER}: none = 0 … critical = 4. */
export function severityRank(s: Severity): number {
  return SEVERITY_ORDER.indexOf(s);
}

/** Persisted tracker state (version 2): the latest diagnosis of each open incident it notified about, for reminders. */
export interface IncidentState {
  version: 2;
  /** incident id → the latest diagnosis of it */
  lastDiagnosis: Record<string, Diagnosis>;
}

/** An open incident as version 1 of the state kept it (by job id; read once to take it over into the book). */
export interface OpenIncidentRecord {
  incident: { id: string; job_id: string; job_name?: string; startedAt: number; maxSeverity: Severity; lastNotifiedAt?: number; notifications: number };
  lastDiagnosis: Diagnosis;
}

/** Tracker state as version 1 wrote it. */
export interface IncidentStateV1 {
  version: 1;
  open: Record<string, OpenIncidentRecord>;
}

/** Where the tracker keeps its state. `load` returns undefined when nothing was saved yet. */
export interface IncidentStore {
  load(): IncidentState | IncidentStateV1 | undefined;
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

  load(): IncidentState | IncidentStateV1 | undefined {
    let raw: string;
    try {
      raw = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new StreamtuneError('INTERNAL', `cannot read incident state ${this.path}: ${errorMessage(err)}`, { cause: err, details: { file: this.path } });
    }
    try {
      const parsed = JSON.parse(raw) as IncidentState | IncidentStateV1;
      if (parsed?.version === 2 && typeof parsed.lastDiagnosis === 'object' && parsed.lastDiagnosis !== null) return parsed;
      if (parsed?.version === 1 && typeof parsed.open === 'object' && parsed.open !== null) return parsed;
      throw new Error('not an incident state (version 1 or 2)');
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
  /** An incident whose severity reaches this is notified about. Default 'moderate'. */
  minSeverity?: Severity;
  /** Least time between two notifications of one open incident, ms [`interval`]. Default 3,600,000 (1 h). */
  reminderIntervalMs?: number;
  /** Only the report, never reminders [`send-once`]. Default false. */
  sendOnce?: boolean;
  /** Send a "resolved" notice when a reported incident resolves [`send-close`]. Default true. */
  sendClose?: boolean;
  /** Clock, ms since epoch. Default Date.now. */
  now?: () => number;
  /** The incidents. Default: a book in memory with this clock and `newId`. */
  book?: IncidentBook;
  /** Where the latest diagnosis of each open incident is kept. Default: in memory. */
  store?: IncidentStore;
  /** Incident id generator of the default book. Default `inc-<uuid>`. */
  newId?: () => string;
  logger?: Logger;
}

/**
 * Decides which notifications the incident book's changes deserve. Throws
 * `StreamtuneError('INVALID_CONFIG')` from the constructor on a negative or non-finite reminder
 * interval or an unknown severity.
 */
export class IncidentTracker {
  /** The incidents notified about. */
  readonly book: IncidentBook;
  private readonly minRank: number;
  private readonly interval: number;
  private readonly sendOnce: boolean;
  private readonly sendClose: boolean;
  private readonly now: () => number;
  private readonly store: IncidentStore;
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
    this.log = (options.logger ?? silentLogger).namespace('incidents');
    this.book = options.book ?? new IncidentBook({ now: this.now, logger: options.logger, ...(options.newId ? { newId: options.newId } : {}) });
    this.store = options.store ?? new MemoryIncidentStore();
    const loaded = this.store.load();
    if (loaded?.version === 1) {
      // an earlier version kept open incidents by job: the book takes them over, keeping their ids and notification counts
      this.state = { version: 2, lastDiagnosis: {} };
      for (const rec of Object.values(loaded.open)) {
        if (this.book.adopt(rec.incident, rec.lastDiagnosis)) this.log.info('incident of an earlier version taken over', { incident: rec.incident.id, job_id: rec.incident.job_id });
        this.state.lastDiagnosis[rec.incident.id] = rec.lastDiagnosis;
      }
      this.save();
    } else {
      this.state = loaded ?? { version: 2, lastDiagnosis: {} };
    }
  }

  /** True when `d` is bad enough to be notified about (severity at or above the minimum). */
  isTrouble(d: Diagnosis): boolean {
    return severityRank(d.severity) >= this.minRank;
  }

  /**
   * Feeds one diagnosis to the book and returns the notifications its changes deserve (zero or more):
   * see {@link IncidentTracker.notificationsFor}.
   */
  observe(d: Diagnosis): Notification[] {
    return this.notificationsFor(this.book.observe(d));
  }

  /**
   * The notifications the book's `changes` deserve: a report when an incident's severity reaches the
   * minimum for the first time (when it opens, or later), a reminder when a reported incident gets a
   * new diagnosis and the interval has passed since its last notification (not with sendOnce), a
   * resolved notice when a reported incident resolves (with sendClose). Each decision is recorded in
   * the book; state is saved before returning, a failure to save is logged, never thrown.
   */
  notificationsFor(changes: readonly IncidentChange[]): Notification[] {
    const now = this.now();
    const out: Notification[] = [];
    let dirty = false;
    for (const c of changes) {
      const inc = c.incident;
      if (c.type === 'resolved') {
        if (this.state.lastDiagnosis[inc.id]) {
          delete this.state.lastDiagnosis[inc.id];
          dirty = true;
        }
        if (inc.notifications > 0 && this.sendClose) out.push(this.decide('resolved', inc, c.diagnosis, now));
        continue;
      }
      if (inc.notifications === 0) {
        if (severityRank(c.diagnosis.severity) < this.minRank) continue;
        this.state.lastDiagnosis[inc.id] = c.diagnosis;
        dirty = true;
        out.push(this.decide('report', inc, c.diagnosis, now));
        continue;
      }
      this.state.lastDiagnosis[inc.id] = c.diagnosis;
      dirty = true;
      if (this.reminderDue(inc, now)) out.push(this.decide('reminder', inc, c.diagnosis, now));
    }
    if (dirty) this.save();
    return out;
  }

  /**
   * Reminders due now for open reported incidents, built from each one's latest diagnosis, for
   * callers that check on a timer rather than on each diagnosis.
   */
  remindersDue(): Notification[] {
    const now = this.now();
    const out: Notification[] = [];
    for (const inc of this.book.openIncidents()) {
      const d = this.state.lastDiagnosis[inc.id];
      if (inc.notifications > 0 && d && this.reminderDue(inc, now)) out.push(this.decide('reminder', inc, d, now));
    }
    return out;
  }

  /** Open incidents notified about (severity reached the minimum), copies, oldest first. */
  openIncidents(): Incident[] {
    return this.book.openIncidents().filter((i) => severityRank(i.maxSeverity) >= this.minRank);
  }

  /** The newest open incident of a job notified about (a copy), if any. */
  openIncident(jobId: string): Incident | undefined {
    return this.book.openIncidents(jobId).filter((i) => severityRank(i.maxSeverity) >= this.minRank).at(-1);
  }

  private reminderDue(inc: Incident, now: number): boolean {
    if (this.sendOnce) return false;
    return now - (inc.lastNotifiedAt ?? inc.startedAt) >= this.interval;
  }

  /** Records the decision in the book and builds the notification with the incident after it. */
  private decide(type: 'report' | 'reminder' | 'resolved', inc: Incident, d: Diagnosis, now: number): Notification {
    const after = this.book.recordNotification(inc.id, { notification: type, status: 'queued', at: now }) ?? inc;
    if (type === 'reminder') this.log.info('incident still open; reminder', { incident: inc.id, job_id: inc.job_id, openMs: now - inc.startedAt });
    return { type, incident: after, diagnosis: d };
  }

  /** Saving must not stop a notification: a failure is logged and swallowed. */
  private save(): void {
    try {
      this.store.save(this.state);
    } catch (err) {
      this.log.error('incident state not saved; reminders after a restart wait for the next diagnosis', { error: errorMessage(err) });
    }
  }
}
