/**
 * The audit log: who did what to the control plane. Logins (and failed ones), recommendations
 * applied and dismissed, jobs submitted, stopped and savepointed, manual diagnoses, rule reloads
 * (by request or on a file change) and configuration changes between starts. One JSON object per
 * line in `<dataDir>/audit.jsonl` (mode 0600), appended and fsynced, never rewritten: each entry
 * carries the hash of the one before (`prev`) and its own (`hash` = sha256 of `prev` and the entry),
 * so a removed or edited line breaks the chain ({@link AuditLog.verify}). A line cut by a crash is
 * skipped on reading and the next entry starts on a new line.
 *
 * Entries hold ids, names, field names and outcomes, never secrets: the token, passwords and URLs
 * with credentials are not passed in (see `recordConfigChange`, which lists changed fields only).
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage, type Logger, silentLogger } from '../core/index.ts';

/** How the actor was identified. */
export interface AuditActor {
  /** 'token': the API token; 'session': a logged-in session; 'login-link': a one-time link;
   * 'anonymous': no credentials (failed logins); 'system': streamtune itself (file watch, start) */
  via: 'token' | 'session' | 'login-link' | 'anonymous' | 'system';
  /** a short fingerprint of the session id (not the id): which session did it */
  session?: string;
  /** the client address */
  address?: string;
}

/** What is appended. */
export interface AuditInput {
  /** dotted, e.g. 'login', 'login.failed', 'recommendation.apply', 'rules.reload', 'config.change' */
  action: string;
  /** 'ok' done; 'refused' bad input or credentials; 'failed' accepted but it did not work */
  outcome: 'ok' | 'refused' | 'failed';
  /** HTTP status, for requests */
  status?: number;
  actor: AuditActor;
  /** what it was done to: job_id, recommendation, operation, ... */
  target?: Record<string, string>;
  /** more, without secrets: changed field names, error codes, counts */
  details?: Record<string, unknown>;
}

/** One line of the log. */
export interface AuditEntry extends AuditInput {
  /** 1, 2, ... in order of appending */
  seq: number;
  /** ms since epoch */
  at: number;
  /** hash of the previous entry ('' for the first) */
  prev: string;
  /** sha256 hex of `prev` + the entry's JSON without `hash` */
  hash: string;
}

/** Filter of {@link AuditLog.list}. */
export interface AuditFilter {
  /** ms since epoch, inclusive */
  from?: number;
  /** ms since epoch, inclusive */
  to?: number;
  /** this action, or its dotted sub-actions ('login' → 'login', 'login.failed') */
  action?: string;
  /** the newest this many. Default 1,000. */
  limit?: number;
}

/** The audit log of one control plane. */
export interface AuditLog {
  /** Appends (and fsyncs, for the file log) one entry. Never throws: a failed write is logged. */
  record(e: AuditInput): AuditEntry;
  /** Entries matching `filter`, oldest first. */
  list(filter?: AuditFilter): AuditEntry[];
  /** Whether the chain of hashes holds over every entry. */
  verify(): boolean;
  /** Closes the file; records after it are logged as failed writes. */
  close(): void;
  /** the file, for the file log */
  readonly file?: string;
}

/** Name of the file under the data dir. */
export const AUDIT_FILE = 'audit.jsonl';

function entryHash(e: Omit<AuditEntry, 'hash'>): string {
  return createHash('sha256').update(e.prev).update('\n').update(JSON.stringify(e)).digest('hex');
}

function matches(e: AuditEntry, f: AuditFilter): boolean {
  if (f.from !== undefined && e.at < f.from) return false;
  if (f.to !== undefined && e.at > f.to) return false;
  if (f.action !== undefined && e.action !== f.action && !e.action.startsWith(`${f.action}.`)) return false;
  return true;
}

function chainHolds(entries: readonly AuditEntry[]): boolean {
  let prev = '';
  for (const e of entries) {
    const { hash, ...rest } = e;
    if (e.prev !== prev || entryHash(rest) !== hash) return false;
    prev = hash;
  }
  return true;
}

/** Parses the log's text: complete lines that are JSON objects; a cut or garbled line is skipped. */
function parseEntries(text: string): AuditEntry[] {
  const out: AuditEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const e = JSON.parse(line) as AuditEntry;
      if (e && typeof e === 'object' && typeof e.seq === 'number' && typeof e.hash === 'string') out.push(e);
    } catch {
      // a line cut by a crash: skipped (verify() then fails if it was not the last)
    }
  }
  return out;
}

/** Options of {@link openAuditLog}. */
export interface AuditLogOptions {
  /** ms since epoch. Default Date.now. */
  now?: () => number;
  logger?: Logger;
}

/**
 * Opens (creating it, mode 0600) `<dataDir>/audit.jsonl` for appending. Throws (fs errors) when the
 * data dir cannot be written.
 */
export function openAuditLog(dataDir: string, opts: AuditLogOptions = {}): AuditLog {
  const now = opts.now ?? Date.now;
  const log = (opts.logger ?? silentLogger).namespace('audit');
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, AUDIT_FILE);
  const existing = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const entries = parseEntries(existing);
  let last = entries[entries.length - 1];
  const fd = openSync(file, 'a', 0o600);
  let closed = false;
  chmodSync(file, 0o600);
  // a line cut by a crash: the next entry starts on its own line
  if (existing.length > 0 && !existing.endsWith('\n')) writeSync(fd, '\n');
  return {
    file,
    record(input) {
      const base = { seq: (last?.seq ?? 0) + 1, at: now(), ...input, prev: last?.hash ?? '' };
      const entry: AuditEntry = { ...base, hash: entryHash(base) };
      try {
        if (closed) throw new Error('the audit log is closed');
        writeSync(fd, `${JSON.stringify(entry)}\n`);
        fsyncSync(fd);
        last = entry;
      } catch (err) {
        log.error('cannot append to the audit log', { file, action: input.action, error: errorMessage(err) });
      }
      return entry;
    },
    list(filter = {}) {
      const all = parseEntries(readFileSync(file, 'utf8')).filter((e) => matches(e, filter));
      return all.slice(Math.max(0, all.length - (filter.limit ?? 1000)));
    },
    verify() {
      return chainHolds(parseEntries(readFileSync(file, 'utf8')));
    },
    close() {
      if (closed) return;
      closed = true;
      closeSync(fd);
    },
  };
}

/** An audit log in memory (tests, and servers built without a data dir). */
export function memoryAuditLog(now: () => number = Date.now): AuditLog {
  const entries: AuditEntry[] = [];
  return {
    record(input) {
      const last = entries[entries.length - 1];
      const base = { seq: (last?.seq ?? 0) + 1, at: now(), ...input, prev: last?.hash ?? '' };
      const entry: AuditEntry = { ...base, hash: entryHash(base) };
      entries.push(entry);
      return entry;
    },
    list(filter = {}) {
      const all = entries.filter((e) => matches(e, filter));
      return all.slice(Math.max(0, all.length - (filter.limit ?? 1000)));
    },
    verify: () => chainHolds(entries),
    close() {},
  };
}

/** Config fields that are secrets: only whether they changed is kept, as a hash, never the value. */
const SECRET_FIELDS = [/^server\.apiToken$/, /^store\.influxToken$/, /^flink\.authorization$/, /^notify\.email\.smtpUrl$/, /^notify\.webhooks\.\d+\.url$/, /^notify\.webhooks\.\d+\.headers\./];

/** Name of the file of the last start's config fingerprints (mode 0600). */
export const CONFIG_FINGERPRINT_FILE = 'config-fingerprint.json';

/** Every leaf of `v` as 'a.b.0.c' → JSON value. */
function flatten(v: unknown, path: string[] = [], out: Record<string, string> = {}): Record<string, string> {
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>);
    if (entries.length === 0) out[path.join('.')] = JSON.stringify(v);
    for (const [k, x] of entries) flatten(x, [...path, k], out);
  } else if (v !== undefined) out[path.join('.')] = JSON.stringify(v);
  return out;
}

/**
 * Compares the config with the one of the last start (`<dataDir>/config-fingerprint.json`: a sha256
 * per field, mode 0600) and appends 'config.change' listing the added, removed and changed field
 * names (never values) when they differ, or when there was no earlier start ('first start'). Returns
 * the entry, or undefined when nothing changed.
 */
export function recordConfigChange(audit: AuditLog, config: unknown, dataDir: string, source?: string): AuditEntry | undefined {
  const file = join(dataDir, CONFIG_FINGERPRINT_FILE);
  const flat = flatten(config);
  const fp: Record<string, string> = {};
  for (const [k, v] of Object.entries(flat)) fp[k] = createHash('sha256').update(v).digest('hex');
  let before: Record<string, string> | undefined;
  try {
    before = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>) : undefined;
  } catch {
    before = undefined;
  }
  const added = Object.keys(fp).filter((k) => before && !(k in before));
  const removed = Object.keys(before ?? {}).filter((k) => !(k in fp));
  const changed = Object.keys(fp).filter((k) => before && k in before && before[k] !== fp[k]);
  writeFileSync(file, JSON.stringify(fp), { mode: 0o600 });
  chmodSync(file, 0o600);
  if (before && added.length + removed.length + changed.length === 0) return undefined;
  const secret = (k: string) => SECRET_FIELDS.some((re) => re.test(k));
  return audit.record({
    action: 'config.change',
    outcome: 'ok',
    actor: { via: 'system' },
    details: before
      ? { added, removed, changed, secretsChanged: [...added, ...removed, ...changed].filter(secret), ...(source ? { source } : {}) }
      : { firstStart: true, fields: Object.keys(fp).length, ...(source ? { source } : {}) },
  });
}
