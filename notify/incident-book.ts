/**
 * The incident book: one incident per job problem, as an on-call knows them from Alertmanager,
 * PagerDuty or Burrow's notifier — opened by the first diagnosis that finds the problem, gathering
 * every later diagnosis of the same problem instead of piling up separate open items, and resolved
 * when a diagnosis no longer finds it, with the evidence (that diagnosis) and the reason. The API, the
 * pages and the notifications all read it; the {@link IncidentTracker} decides what to send from its
 * changes.
 *
 * Key (the dedup key): job id + root-cause kind (`problemOf`, diagnoser/problem.ts). For each
 * diagnosis `d` of a job, in {@link IncidentBook.observe}:
 * - 'insufficient-data' is no evidence: ignored (missing data neither opens nor clears);
 * - a diagnosis already seen (same id: a bus redelivery) is ignored;
 * - every open incident of the job whose kind `d` does not find is resolved by `d`: "cleared" when `d`
 *   finds no problem (healthy, over-provisioned), "no longer the problem" when it finds another kind;
 * - when `d` finds a problem: attached to the open incident of that kind, or a new incident opens.
 * A diagnosis older than the newest one already seen for the job (delivered late) only attaches to an
 * open incident of its kind: it never opens or resolves one.
 * Besides diagnoses the timeline records the notifications decided and delivered
 * ({@link IncidentBook.recordNotification}) and the tuner operations applied and ended on the job
 * ({@link IncidentBook.recordOperation}).
 *
 * Durable: an append-only JSON Lines journal `<dir>/incidents.jsonl` (each line appended and fsynced
 * before the call returns): `{"t":"open","v":{id, job_id, job_name?, kind, startedAt}}` and
 * `{"t":"ev","id":"...","v":IncidentEvent}`; an incident's fields are a fold of its events, the same
 * at replay as live. A torn last line (crash mid-write) is cut off; any other unreadable line is
 * skipped and logged. Without `dir` the book lives in memory. Times come from the injected clock.
 */
import { randomUUID } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage, type Logger, silentLogger, StreamtuneError } from '../core/index.ts';
import { isConclusive, problemOf, type Diagnosis, type RootCauseKind } from '../diagnoser/index.ts';
import type { Severity } from '../rules/index.ts';
import type { Operation } from '../tuner/index.ts';
import { describeAction } from './render.ts';
import type { Incident, IncidentDetail, IncidentEvent } from './types.ts';

const SEVERITY_RANK: Record<Severity, number> = { none: 0, low: 1, moderate: 2, severe: 3, critical: 4 };

/** The journal's file name inside the book's directory. */
export const INCIDENT_JOURNAL = 'incidents.jsonl';

/** What one diagnosis did to an incident. */
export interface IncidentChange {
  /** 'opened' by it, 'updated' (attached to an open incident), 'resolved' by it */
  type: 'opened' | 'updated' | 'resolved';
  /** the incident after the change (a copy) */
  incident: Incident;
  diagnosis: Diagnosis;
}

/** Filter of {@link IncidentBook.list}. Times in ms since epoch. */
export interface IncidentFilter {
  job_id?: string;
  state?: 'open' | 'resolved';
  /** incidents still open at or after `from`: resolved at or after it, or open */
  from?: number;
  /** incidents opened at or before `to` */
  to?: number;
  limit?: number;
}

/** Options of {@link IncidentBook}. */
export interface IncidentBookOptions {
  /** directory of the journal (created when missing); absent → in memory only */
  dir?: string;
  /** clock, ms since epoch. Default Date.now. */
  now?: () => number;
  /** incident id generator. Default `inc-<uuid>`. */
  newId?: () => string;
  logger?: Logger;
}

type Line = { t: 'open'; v: { id: string; job_id: string; job_name?: string; kind: RootCauseKind; startedAt: number } } | { t: 'ev'; id: string; v: IncidentEvent };

interface Rec {
  incident: Incident;
  timeline: IncidentEvent[];
  /** operation ids with an 'applied' / 'ended' event here */
  ops: Set<string>;
}

const triggerText = (d: Diagnosis): string => (d.trigger.type === 'alert' ? `alert ${d.trigger.ruleId}${d.trigger.resolved ? ' resolved' : ''}` : d.trigger.type);

/**
 * The incident book; see the module comment. The constructor reads the journal back.
 * @throws StreamtuneError INVALID_CONFIG when the journal's directory or file cannot be created,
 *   read or opened. Appends that fail later are logged (the change stays in memory), never thrown.
 */
export class IncidentBook {
  /** the journal file; undefined in memory */
  readonly path: string | undefined;
  private readonly now: () => number;
  private readonly newId: () => string;
  private readonly log: Logger;
  private readonly recs = new Map<string, Rec>();
  /** job id → open incident ids */
  private readonly openByJob = new Map<string, Set<string>>();
  /** diagnosis ids already observed */
  private readonly seen = new Set<string>();
  /** job id → createdAt of the newest diagnosis observed */
  private readonly newest = new Map<string, number>();
  private fd: number | undefined;

  constructor(opts: IncidentBookOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.newId = opts.newId ?? (() => `inc-${randomUUID()}`);
    this.log = (opts.logger ?? silentLogger).namespace('incidents');
    this.path = opts.dir !== undefined ? join(opts.dir, INCIDENT_JOURNAL) : undefined;
    if (opts.dir !== undefined) this.load(opts.dir);
  }

  /** Feeds one diagnosis; returns what it did (see the module comment). */
  observe(d: Diagnosis): IncidentChange[] {
    if (!isConclusive(d) || this.seen.has(d.id)) return [];
    const late = d.createdAt < (this.newest.get(d.job_id) ?? -Infinity);
    const p = problemOf(d);
    const changes: IncidentChange[] = [];
    const copy = (r: Rec): Incident => structuredClone(r.incident);
    if (!late) {
      this.newest.set(d.job_id, d.createdAt);
      for (const id of [...(this.openByJob.get(d.job_id) ?? [])]) {
        const r = this.recs.get(id)!;
        if (p && r.incident.kind === p.kind) continue;
        const reason = p
          ? `no longer the problem: the ${triggerText(d)} diagnosis finds ${p.kind}${p.vertex ? ` at ${p.vertex}` : ''} instead`
          : `cleared: the ${triggerText(d)} diagnosis finds ${d.rootCause.kind === 'healthy' ? 'the job healthy' : d.rootCause.kind}, lag ${d.lagStatus}`;
        this.append(r, { type: 'resolved', at: this.now(), diagnosisId: d.id, reason });
        changes.push({ type: 'resolved', incident: copy(r), diagnosis: d });
        this.log.info('incident resolved', { incident: id, job_id: d.job_id, kind: r.incident.kind, reason });
      }
    }
    if (p) {
      const openId = [...(this.openByJob.get(d.job_id) ?? [])].find((id) => this.recs.get(id)!.incident.kind === p.kind);
      if (openId) {
        const r = this.recs.get(openId)!;
        this.append(r, this.diagnosisEvent('diagnosis', d));
        changes.push({ type: 'updated', incident: copy(r), diagnosis: d });
      } else if (!late) {
        const r = this.openIncident(d, p.kind);
        changes.push({ type: 'opened', incident: copy(r), diagnosis: d });
        this.log.info('incident opened', { incident: r.incident.id, job_id: d.job_id, kind: p.kind, vertex: p.vertex, severity: d.severity });
      }
    }
    this.seen.add(d.id);
    return changes;
  }

  /**
   * Records a notification decided for (status 'queued') or delivered by a channel ('sent',
   * 'failed') for incident `id`. Unknown ids are ignored. Returns the incident after it (a copy).
   */
  recordNotification(id: string, n: { notification: 'report' | 'reminder' | 'resolved'; status: 'queued' | 'sent' | 'failed'; channel?: string; detail?: string; at?: number }): Incident | undefined {
    const r = this.recs.get(id);
    if (!r) return undefined;
    const ev: IncidentEvent = { type: 'notification', at: n.at ?? this.now(), notification: n.notification, status: n.status };
    if (n.channel !== undefined) ev.channel = n.channel;
    if (n.detail !== undefined) ev.detail = n.detail;
    this.append(r, ev);
    return structuredClone(r.incident);
  }

  /**
   * Records a tuner operation on the incidents it concerns: applied (the first state seen of it) on
   * the incident that gathered the diagnosis it came from, else on the job's open incidents; ended (a
   * terminal state) on the incidents where it was applied. Each at most once per incident.
   * `terminal` says whether `op.state` is terminal (the tuner's `isTerminalOperationState`).
   */
  recordOperation(op: Pick<Operation, 'id' | 'job_id' | 'state' | 'actions' | 'origin'> & { diagnosisId?: string; error?: string; verification?: { reason: string } }, terminal: boolean): void {
    const changes = op.actions.map(describeAction).join('; ');
    const applied = [...this.recs.values()].filter((r) => r.ops.has(`${op.id}:applied`));
    if (applied.length === 0) {
      const byDiagnosis = op.diagnosisId ? [...this.recs.values()].filter((r) => r.incident.diagnosisIds.includes(op.diagnosisId!)) : [];
      const targets = byDiagnosis.length ? byDiagnosis : [...(this.openByJob.get(op.job_id) ?? [])].map((id) => this.recs.get(id)!);
      for (const r of targets) this.append(r, { type: 'operation', at: this.now(), operationId: op.id, state: op.state, summary: `applied (${op.origin}): ${changes}` });
      applied.push(...targets);
    }
    if (!terminal) return;
    for (const r of applied) {
      if (r.ops.has(`${op.id}:ended`)) continue;
      const why = op.verification?.reason ?? op.error;
      this.append(r, { type: 'operation', at: this.now(), operationId: op.id, state: op.state, summary: `ended ${op.state}${why ? `: ${why}` : ''}` });
    }
  }

  /**
   * Takes over an open incident from an earlier version's notification state (notify/incidents.ts
   * version 1) when no incident of that id is known: opened at its `startedAt` by `d`, with its
   * notification count. Returns whether it was taken over.
   */
  adopt(old: { id: string; job_id: string; job_name?: string; startedAt: number; lastNotifiedAt?: number; notifications: number }, d: Diagnosis): boolean {
    if (this.recs.has(old.id)) return false;
    const kind = problemOf(d)?.kind ?? d.rootCause.kind;
    const r = this.openIncident(d, kind, { id: old.id, startedAt: old.startedAt, ...(old.job_name !== undefined ? { job_name: old.job_name } : {}) });
    for (let i = 0; i < old.notifications; i++) this.append(r, { type: 'notification', at: old.lastNotifiedAt ?? old.startedAt, notification: i === 0 ? 'report' : 'reminder', status: 'queued' });
    return true;
  }

  /** The incident with its timeline (copies), or undefined. */
  get(id: string): IncidentDetail | undefined {
    const r = this.recs.get(id);
    return r && structuredClone({ ...r.incident, timeline: r.timeline });
  }

  /** Incidents matching `filter` (copies, without timelines), newest first (by `startedAt`). */
  list(filter: IncidentFilter = {}): Incident[] {
    const out: Incident[] = [];
    for (const { incident: i } of this.recs.values()) {
      if (filter.job_id !== undefined && i.job_id !== filter.job_id) continue;
      if (filter.state !== undefined && i.state !== filter.state) continue;
      if (filter.from !== undefined && i.resolvedAt !== undefined && i.resolvedAt < filter.from) continue;
      if (filter.to !== undefined && i.startedAt > filter.to) continue;
      out.push(i);
    }
    out.sort((a, b) => b.startedAt - a.startedAt || (a.id < b.id ? -1 : 1));
    return (filter.limit !== undefined ? out.slice(0, Math.max(0, filter.limit)) : out).map((i) => structuredClone(i));
  }

  /** Open incidents (copies), of one job or all, oldest first. */
  openIncidents(jobId?: string): Incident[] {
    const ids = jobId !== undefined ? [...(this.openByJob.get(jobId) ?? [])] : [...this.openByJob.values()].flatMap((s) => [...s]);
    return ids.map((id) => structuredClone(this.recs.get(id)!.incident)).sort((a, b) => a.startedAt - b.startedAt || (a.id < b.id ? -1 : 1));
  }

  /** Closes the journal. Later changes stay in memory only. */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  // ---- internals ---------------------------------------------------------------------------

  private diagnosisEvent(type: 'opened' | 'diagnosis', d: Diagnosis): IncidentEvent {
    const ev: IncidentEvent = {
      type, at: this.now(), diagnosisId: d.id, diagnosisAt: d.createdAt, severity: d.severity, lagStatus: d.lagStatus, rootCause: d.rootCause.kind,
      trigger: triggerText(d), summary: d.rootCause.explanation.length > 300 ? `${d.rootCause.explanation.slice(0, 300)}…` : d.rootCause.explanation,
    };
    if (d.rootCause.vertex !== undefined) ev.vertex = d.rootCause.vertex;
    return ev;
  }

  private openIncident(d: Diagnosis, kind: RootCauseKind, over: { id?: string; startedAt?: number; job_name?: string } = {}): Rec {
    const header = { id: over.id ?? this.newId(), job_id: d.job_id, kind, startedAt: over.startedAt ?? this.now(), ...(over.job_name ?? d.job_name ? { job_name: over.job_name ?? d.job_name } : {}) };
    this.write({ t: 'open', v: header });
    const r = this.create(header);
    this.append(r, { ...this.diagnosisEvent('opened', d), at: header.startedAt });
    return r;
  }

  private create(h: Extract<Line, { t: 'open' }>['v']): Rec {
    const incident: Incident = { id: h.id, job_id: h.job_id, kind: h.kind, state: 'open', startedAt: h.startedAt, severity: 'none', maxSeverity: 'none', diagnosisIds: [], notifications: 0 };
    if (h.job_name !== undefined) incident.job_name = h.job_name;
    const r: Rec = { incident, timeline: [], ops: new Set() };
    this.recs.set(h.id, r);
    let s = this.openByJob.get(h.job_id);
    if (!s) this.openByJob.set(h.job_id, (s = new Set()));
    s.add(h.id);
    return r;
  }

  /** Journals `ev` for `r`, then folds it in. */
  private append(r: Rec, ev: IncidentEvent): void {
    this.write({ t: 'ev', id: r.incident.id, v: ev });
    this.fold(r, ev);
  }

  /** The incident's fields as a fold of its events (the same live and at replay). */
  private fold(r: Rec, ev: IncidentEvent): void {
    const i = r.incident;
    r.timeline.push(ev);
    switch (ev.type) {
      case 'opened':
      case 'diagnosis':
        i.diagnosisIds.push(ev.diagnosisId);
        i.severity = ev.severity;
        if (SEVERITY_RANK[ev.severity] > SEVERITY_RANK[i.maxSeverity]) i.maxSeverity = ev.severity;
        if (ev.vertex !== undefined) i.vertex = ev.vertex;
        else delete i.vertex;
        this.seen.add(ev.diagnosisId);
        if (ev.diagnosisAt > (this.newest.get(i.job_id) ?? -Infinity)) this.newest.set(i.job_id, ev.diagnosisAt);
        break;
      case 'notification':
        if (ev.status === 'queued' && ev.notification !== 'resolved') {
          i.notifications++;
          i.lastNotifiedAt = ev.at;
        }
        break;
      case 'operation':
        r.ops.add(`${ev.operationId}:${ev.summary.startsWith('applied') ? 'applied' : 'ended'}`);
        break;
      case 'resolved':
        i.state = 'resolved';
        i.resolvedAt = ev.at;
        i.resolution = ev.reason;
        if (ev.diagnosisId !== undefined) {
          i.resolvedBy = ev.diagnosisId;
          this.seen.add(ev.diagnosisId);
        }
        this.openByJob.get(i.job_id)?.delete(i.id);
        break;
    }
  }

  private write(l: Line): void {
    if (this.fd === undefined) return;
    try {
      writeSync(this.fd, `${JSON.stringify(l)}\n`);
      fsyncSync(this.fd);
    } catch (err) {
      this.log.error('incident journal not written; the change is kept in memory only', { file: this.path, error: errorMessage(err) });
    }
  }

  private load(dir: string): void {
    const path = this.path!;
    let text = '';
    try {
      mkdirSync(dir, { recursive: true });
      try {
        text = readFileSync(path, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    } catch (err) {
      throw new StreamtuneError('INVALID_CONFIG', `cannot read the incident journal ${path}: ${errorMessage(err)}`, { cause: err, details: { file: path } });
    }
    let good = 0;
    let pos = 0;
    let lineNo = 0;
    while (pos < text.length) {
      const nl = text.indexOf('\n', pos);
      lineNo++;
      if (nl < 0) {
        this.log.warn('skipping a torn last line of the incident journal', { file: path, line: lineNo });
        break;
      }
      const raw = text.slice(pos, nl);
      try {
        const l = JSON.parse(raw) as Line;
        if (l.t === 'open' && typeof l.v?.id === 'string') this.create(l.v);
        else if (l.t === 'ev' && this.recs.has(l.id) && l.v && typeof l.v.type === 'string') this.fold(this.recs.get(l.id)!, l.v);
        else throw new Error('not an incident journal record');
      } catch (err) {
        if (raw.trim()) this.log.warn('skipping an unreadable line of the incident journal', { file: path, line: lineNo, error: errorMessage(err) });
      }
      good += Buffer.byteLength(text.slice(pos, nl + 1));
      pos = nl + 1;
    }
    try {
      if (good < Buffer.byteLength(text)) truncateSync(path, good);
      this.fd = openSync(path, 'a');
    } catch (err) {
      throw new StreamtuneError('INVALID_CONFIG', `cannot open the incident journal ${path}: ${errorMessage(err)}`, { cause: err, details: { file: path } });
    }
    this.log.info('incident journal loaded', { file: path, incidents: this.recs.size, open: this.openIncidents().length });
  }
}
