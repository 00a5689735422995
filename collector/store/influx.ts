/**
 * The InfluxDB metric store.
 *
 * Writes: line protocol (`core/line-protocol.ts`, ms precision), in batches of `batchSize` lines,
 * gzipped above 1 KiB, retried with `core/retry.ts` on retriable failures:
 * - `writeApi: 'v2'` through `@influxdata/influxdb-client`'s write API (`POST /api/v2/write`;
 *   InfluxDB 1.8+, 2.x, 3, VictoriaMetrics), its own retry buffer switched off;
 * - `writeApi: 'v1'` as `POST /write?db=BUCKET&precision=ms` (InfluxDB <= 1.7, e.g. 1.6.7, which has no /api/v2).
 * Reads: InfluxQL on `POST /query` (db=, q=, epoch=ms), served by InfluxDB 1.x, 2.x (v1
 * compatibility API with a DBRP mapping) and 3 Core. Identifiers are always double-quoted (Flink's
 * Kafka metric names contain hyphens). Windowed mean/max/min/last/sum run in InfluxQL
 * (`GROUP BY time(Nms)`, epoch-aligned, `fill(none)`); `rate`, and every aggregate of a string or
 * boolean field (Flink's Boolean gauges), are computed client-side from raw points with the
 * helpers shared with the embedded store.
 * Logs: measurement `streamtune_log` (tags job_id, level, job_name, vertex; fields message,
 * exception_class, stack, subtask_index, attempt), written with ns precision and a per-process
 * sequence in the sub-ms digits so that events in the same ms do not overwrite each other.
 *
 * The token is sent only in the `Authorization: Token ...` header and is removed from every log
 * line and error message this module produces.
 */
import { gzipSync } from 'node:zlib';
import { InfluxDB, setLogger, type WriteApi } from '@influxdata/influxdb-client';
import { type ErrorCode, errorMessage, isRetriableHttpStatus, type LogEvent, type Logger, type LogLevel, type MetricPoint, pointToLine, retry, type RetryOptions, silentLogger, StreamtuneError } from '../../core/index.ts';
import {
  LEVEL_RANK,
  aggregateWindows,
  counterRate,
  mergeSeriesParts,
  pickTags,
  sortSeries,
  sumByWindow,
  tagKey,
  toNumeric,
  validateQuery,
  whereMatchesNothing,
  type Sample,
} from './aggregate.ts';
import type { LogQuery, MetricStore, Series, SeriesQuery } from './types.ts';
import { invalidLogReason, invalidPointReason } from './validate.ts';

/** Measurement holding log events in InfluxDB. */
export const LOG_MEASUREMENT = 'streamtune_log';

/** Options of {@link createInfluxStore}. */
export interface InfluxStoreOptions {
  /** Base URL, e.g. 'http://127.0.0.1:8086'. */
  url: string;
  /** API token (InfluxDB 2.x/3) sent as `Authorization: Token ...`. Never logged. Default none. */
  token?: string;
  /** Organisation (v2 write API). Default 'streamtune'. */
  org?: string;
  /** Bucket (v2) or database (v1 and the InfluxQL reads). */
  bucket: string;
  /** 'v2' = `/api/v2/write` via @influxdata/influxdb-client; 'v1' = `/write` (InfluxDB <= 1.7). */
  writeApi: 'v2' | 'v1';
  logger?: Logger;
  /** Lines per write request. Default 5000. */
  batchSize?: number;
  /** HTTP timeout per request, ms. Default 10,000. */
  timeoutMs?: number;
  /** Retry of a failed write/read (retriable errors only). Default 2 retries, delays from RETRY_DEFAULTS. */
  retry?: RetryOptions;
  /** With 'v1': send `CREATE DATABASE` (idempotent) on open. Default false. */
  createDatabase?: boolean;
}

/**
 * Error code for an HTTP status: 401/403 → UNAUTHORIZED, retriable by the one status table
 * (`core/http-status.ts`) → STORE_UNAVAILABLE, others STORE_REJECTED.
 */
function codeForStatus(status: number): { code: ErrorCode; retriable: boolean } {
  if (status === 401 || status === 403) return { code: 'UNAUTHORIZED', retriable: false };
  if (isRetriableHttpStatus(status)) return { code: 'STORE_UNAVAILABLE', retriable: true };
  return { code: 'STORE_REJECTED', retriable: false };
}

/** Tokens of every store created in this process, removed from anything the client library logs. */
const SECRETS = new Set<string>();

/** Replaces every known token in `s` by '***'. */
function redact(s: string, extra?: string): string {
  let out = s;
  for (const t of extra ? [...SECRETS, extra] : SECRETS) if (t) out = out.split(t).join('***');
  return out;
}

let clientLogger: Logger = silentLogger;
setLogger({
  error: (msg: string, err?: unknown) => clientLogger.error(redact(msg), err ? { error: redact(errorMessage(err)) } : undefined),
  warn: (msg: string, err?: unknown) => clientLogger.warn(redact(msg), err ? { error: redact(errorMessage(err)) } : undefined),
});

/** InfluxQL identifier: always double-quoted. */
export function quoteIdent(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** InfluxQL string literal. */
export function quoteString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

interface InfluxSeries {
  name?: string;
  tags?: Record<string, string>;
  columns: string[];
  values?: unknown[][];
}

/**
 * Creates an InfluxDB store (no request is made unless `createDatabase`).
 * @throws StreamtuneError INVALID_CONFIG for a bad url/bucket/writeApi.
 */
export async function createInfluxStore(options: InfluxStoreOptions): Promise<MetricStore> {
  let url: URL;
  try {
    url = new URL(options.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    throw new StreamtuneError('INVALID_CONFIG', `InfluxDB url must be an http(s) URL, got "${redact(options.url, options.token)}"`);
  }
  if (!options.bucket) throw new StreamtuneError('INVALID_CONFIG', 'InfluxDB bucket (database) is empty');
  if (options.writeApi !== 'v1' && options.writeApi !== 'v2') {
    throw new StreamtuneError('INVALID_CONFIG', `InfluxDB writeApi must be 'v1' or 'v2', got "${String(options.writeApi)}"`);
  }
  if (options.token) SECRETS.add(options.token);
  const store = new InfluxStore(options, url.toString().replace(/\/$/, ''));
  clientLogger = store.log;
  if (options.createDatabase && options.writeApi === 'v1') await store.influxql(`CREATE DATABASE ${quoteIdent(options.bucket)}`, true);
  return store;
}

class InfluxStore implements MetricStore {
  readonly log: Logger;
  private readonly token: string | undefined;
  private readonly batchSize: number;
  private readonly timeoutMs: number;
  private readonly retryOpts: RetryOptions;
  private readonly client: InfluxDB | undefined;
  private readonly fieldTypes = new Map<string, string[]>();
  private logSeq = 0;
  private closed = false;

  constructor(private readonly opts: InfluxStoreOptions, private readonly base: string) {
    this.log = (opts.logger ?? silentLogger).namespace('store.influx');
    this.token = opts.token || undefined;
    this.batchSize = opts.batchSize ?? 5000;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.retryOpts = { retries: 2, ...opts.retry };
    if (opts.writeApi === 'v2') this.client = new InfluxDB({ url: base, token: this.token, timeout: this.timeoutMs });
  }

  private headers(): Record<string, string> {
    return this.token ? { Authorization: `Token ${this.token}` } : {};
  }

  /** Wraps any failure as a StreamtuneError whose message and cause carry no token. */
  private wrap(err: unknown, what: string): StreamtuneError {
    if (err instanceof StreamtuneError) return err;
    const e = err as { statusCode?: unknown; body?: unknown; code?: unknown };
    const status = typeof e?.statusCode === 'number' ? e.statusCode : undefined;
    const msg = redact(errorMessage(err), this.token);
    if (status !== undefined) {
      const { code, retriable } = codeForStatus(status);
      const body = typeof e.body === 'string' ? redact(e.body, this.token).slice(0, 300) : '';
      const hint = status === 404 && this.opts.writeApi === 'v2' ? ' (no /api/v2/write here: InfluxDB <= 1.7 needs writeApi v1)' : '';
      return new StreamtuneError(code, `InfluxDB ${what} failed: HTTP ${status}${hint}${body ? `: ${body}` : ''}`, { retriable, details: { status } });
    }
    return new StreamtuneError('STORE_UNAVAILABLE', `InfluxDB ${what} failed: ${msg}`, { retriable: true, cause: new Error(msg) });
  }

  /** One HTTP request with fetch; throws a redacted StreamtuneError on failure. */
  private async http(path: string, init: RequestInit, what: string): Promise<string> {
    let res: Response;
    try {
      res = await fetch(this.base + path, { ...init, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      const cause = (err as { cause?: unknown }).cause;
      const reason = cause ? `${errorMessage(err)} (${errorMessage(cause)})` : errorMessage(err);
      const msg = redact(reason, this.token);
      throw new StreamtuneError('STORE_UNAVAILABLE', `InfluxDB ${what} failed: ${msg}`, { retriable: true, cause: new Error(msg) });
    }
    const text = await res.text().catch(() => '');
    if (res.status >= 200 && res.status < 300) return text;
    const { code, retriable } = codeForStatus(res.status);
    throw new StreamtuneError(code, `InfluxDB ${what} failed: HTTP ${res.status}: ${redact(text, this.token).slice(0, 300)}`, {
      retriable,
      details: { status: res.status },
    });
  }

  private async sendLines(lines: string[], precision: 'ms' | 'ns', what: string): Promise<void> {
    if (this.closed) throw new StreamtuneError('STORE_UNAVAILABLE', 'InfluxDB store is closed');
    for (let i = 0; i < lines.length; i += this.batchSize) {
      const chunk = lines.slice(i, i + this.batchSize);
      await retry(
        async () => (this.opts.writeApi === 'v2' ? this.sendV2(chunk, precision, what) : this.sendV1(chunk, precision, what)),
        {
          ...this.retryOpts,
          onRetry: (attempt, err, delayMs) => this.log.warn(`${what} failed, retrying`, { attempt, delayMs, error: errorMessage(err) }),
        },
      );
    }
  }

  private async sendV1(lines: string[], precision: 'ms' | 'ns', what: string): Promise<void> {
    const body = lines.join('\n') + '\n';
    const headers: Record<string, string> = { 'Content-Type': 'text/plain; charset=utf-8', ...this.headers() };
    let payload: string | Uint8Array = body;
    if (body.length > 1024) {
      payload = new Uint8Array(gzipSync(body));
      headers['Content-Encoding'] = 'gzip';
    }
    const q = new URLSearchParams({ db: this.opts.bucket, precision });
    await this.http(`/write?${q.toString()}`, { method: 'POST', headers, body: payload as BodyInit }, what);
  }

  private async sendV2(lines: string[], precision: 'ms' | 'ns', what: string): Promise<void> {
    const api: WriteApi = this.client!.getWriteApi(this.opts.org || 'streamtune', this.opts.bucket, precision, {
      batchSize: lines.length + 1,
      maxBatchBytes: Number.MAX_SAFE_INTEGER,
      flushInterval: 0,
      maxRetries: 0,
      gzipThreshold: 1024,
      // our retry() decides; the client must not keep failed lines in its own retry buffer
      writeFailed: (error: Error) => Promise.reject(error),
    });
    try {
      api.writeRecords(lines);
      await api.flush();
    } catch (err) {
      throw this.wrap(err, what);
    } finally {
      await api.close().catch(() => undefined);
    }
  }

  async write(points: readonly MetricPoint[]): Promise<void> {
    const lines: string[] = [];
    for (let i = 0; i < points.length; i++) {
      const why = invalidPointReason(points[i]);
      if (why) throw new StreamtuneError('STORE_REJECTED', `point ${i} rejected: ${why}`, { details: { index: i } });
      const line = pointToLine(points[i]!, 'ms');
      if (line) lines.push(line);
    }
    if (lines.length) await this.sendLines(lines, 'ms', 'write');
  }

  async writeLogs(events: readonly LogEvent[]): Promise<void> {
    const lines: string[] = [];
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      const why = invalidLogReason(e);
      if (why) throw new StreamtuneError('STORE_REJECTED', `log event ${i} rejected: ${why}`, { details: { index: i } });
      const tags: Record<string, string> = { job_id: e.job_id, level: e.level };
      if (e.job_name) tags.job_name = e.job_name;
      if (e.vertex) tags.vertex = e.vertex;
      const fields: MetricPoint['fields'] = { message: e.message };
      const intFields: string[] = [];
      if (e.exception_class !== undefined) fields.exception_class = e.exception_class;
      if (e.stack !== undefined) fields.stack = e.stack;
      if (e.subtask_index !== undefined && Number.isFinite(e.subtask_index)) {
        fields.subtask_index = e.subtask_index;
        intFields.push('subtask_index');
      }
      if (e.attempt !== undefined && Number.isFinite(e.attempt)) {
        fields.attempt = e.attempt;
        intFields.push('attempt');
      }
      const line = pointToLine({ measurement: LOG_MEASUREMENT, tags, fields, intFields, timestamp: e.timestamp }, 'ms');
      // ms → ns with a sequence in the sub-ms digits: events in the same ms stay distinct points
      this.logSeq = (this.logSeq + 1) % 1_000_000;
      lines.push(e.timestamp === 0 ? line.replace(/ 0$/, ` ${this.logSeq}`) : line + String(this.logSeq).padStart(6, '0'));
    }
    if (lines.length) await this.sendLines(lines, 'ns', 'writeLogs');
  }

  /** Runs one InfluxQL statement; returns the series of its first result. */
  async influxql(q: string, post = true): Promise<InfluxSeries[]> {
    if (this.closed) throw new StreamtuneError('STORE_UNAVAILABLE', 'InfluxDB store is closed');
    const params = new URLSearchParams({ db: this.opts.bucket, q, epoch: 'ms' });
    const text = await retry(
      () =>
        post
          ? this.http('/query', { method: 'POST', headers: { ...this.headers(), 'Content-Type': 'application/x-www-form-urlencoded' }, body: params.toString() }, 'query')
          : this.http(`/query?${params.toString()}`, { method: 'GET', headers: this.headers() }, 'query'),
      this.retryOpts,
    );
    let json: { results?: Array<{ series?: InfluxSeries[]; error?: string }>; error?: string };
    try {
      json = JSON.parse(text);
    } catch {
      throw new StreamtuneError('STORE_REJECTED', `InfluxDB query returned no JSON: ${redact(text, this.token).slice(0, 200)}`);
    }
    const err = json.error ?? json.results?.[0]?.error;
    if (err) throw new StreamtuneError('STORE_REJECTED', `InfluxQL error: ${redact(err, this.token)} (query: ${q})`);
    return json.results?.[0]?.series ?? [];
  }

  private whereSql(q: { start: number; end: number; where?: SeriesQuery['where'] }): string {
    const conds = [`time >= ${Math.floor(q.start)}ms`, `time <= ${Math.ceil(q.end)}ms`];
    for (const [k, v] of Object.entries(q.where ?? {})) {
      const vals = typeof v === 'string' ? [v] : [...v];
      conds.push(`(${vals.map((x) => `${quoteIdent(k)} = ${quoteString(x)}`).join(' OR ')})`);
    }
    return conds.join(' AND ');
  }

  /** Types of `field` in `measurement` ('float', 'integer', 'string', 'boolean'), cached once known. */
  private async fieldTypesOf(measurement: string, field: string): Promise<string[]> {
    const key = `${measurement}\u0000${field}`;
    const cached = this.fieldTypes.get(key);
    if (cached) return cached;
    const series = await this.influxql(`SHOW FIELD KEYS FROM ${quoteIdent(measurement)}`);
    const types: string[] = [];
    for (const s of series) for (const row of s.values ?? []) if (row[0] === field) types.push(String(row[1]));
    if (types.length) this.fieldTypes.set(key, types);
    return types;
  }

  /** Raw numeric samples, one entry per returned InfluxDB series (GROUP BY as given). */
  private async raw(q: SeriesQuery, groupBySql: string): Promise<Array<{ tags: Record<string, string>; samples: Sample[] }>> {
    const stmt = `SELECT ${quoteIdent(q.field)} FROM ${quoteIdent(q.measurement)} WHERE ${this.whereSql(q)}${groupBySql}`;
    const out: Array<{ tags: Record<string, string>; samples: Sample[] }> = [];
    for (const s of await this.influxql(stmt)) {
      const samples: Sample[] = [];
      for (const row of s.values ?? []) {
        const v = toNumeric(row[1] as number | string | boolean | null);
        if (v !== null) samples.push({ t: Number(row[0]), v });
      }
      out.push({ tags: s.tags ?? {}, samples });
    }
    return out;
  }

  async query(q: SeriesQuery): Promise<Series[]> {
    validateQuery(q);
    if (whereMatchesNothing(q.where)) return [];
    const groupBy = q.groupBy ?? [];
    const groupTagsSql = groupBy.map(quoteIdent).join(', ');
    const merge = (parts: Array<{ tags: Record<string, string>; samples: Sample[] }>, combine: (samples: Sample[][]) => Sample[]): Series[] => mergeSeriesParts(parts, groupBy, combine);
    const byTime = (parts: Sample[][]): Sample[] => parts.flat().sort((a, b) => a.t - b.t);

    if (!q.aggregate) {
      const parts = await this.raw(q, groupBy.length ? ` GROUP BY ${groupTagsSql}` : '');
      return merge(parts, byTime);
    }
    const w = q.window!;
    if (q.aggregate === 'rate') {
      const parts = await this.raw(q, ' GROUP BY *');
      return merge(parts, (ps) => sumByWindow(ps.map((samples) => counterRate(samples, w))));
    }
    const agg = q.aggregate;
    const types = await this.fieldTypesOf(q.measurement, q.field);
    if (types.length === 0) return [];
    if (types.some((t) => t === 'string' || t === 'boolean')) {
      const parts = await this.raw(q, groupBy.length ? ` GROUP BY ${groupTagsSql}` : '');
      return merge(parts, (ps) => aggregateWindows(byTime(ps), w, agg));
    }
    const stmt =
      `SELECT ${agg}(${quoteIdent(q.field)}) FROM ${quoteIdent(q.measurement)} WHERE ${this.whereSql(q)} ` +
      `GROUP BY time(${w}ms)${groupBy.length ? `, ${groupTagsSql}` : ''} fill(none)`;
    const series: Series[] = [];
    for (const s of await this.influxql(stmt)) {
      const points: Array<{ t: number; v: number }> = [];
      for (const row of s.values ?? []) if (typeof row[1] === 'number') points.push({ t: Number(row[0]), v: row[1] });
      if (points.length) series.push({ tags: pickTags(s.tags ?? {}, groupBy), points });
    }
    return sortSeries(series);
  }

  async tagValues(measurement: string, tag: string, start: number, end: number, where?: SeriesQuery['where']): Promise<string[]> {
    if (whereMatchesNothing(where)) return [];
    const stmt = `SELECT count(*) FROM ${quoteIdent(measurement)} WHERE ${this.whereSql({ start, end, where })} GROUP BY ${quoteIdent(tag)}`;
    const values = new Set<string>();
    for (const s of await this.influxql(stmt)) {
      const v = s.tags?.[tag];
      if (v) values.add(v);
    }
    return [...values].sort();
  }

  async queryLogs(q: LogQuery): Promise<LogEvent[]> {
    const limit = Math.max(0, Math.trunc(q.limit ?? 1000));
    if (limit === 0) return [];
    const conds = [`time >= ${Math.floor(q.start)}ms`, `time <= ${Math.ceil(q.end)}ms`];
    if (q.job_id !== undefined) conds.push(`"job_id" = ${quoteString(q.job_id)}`);
    if (q.level) {
      const levels = (Object.keys(LEVEL_RANK) as LogLevel[]).filter((l) => LEVEL_RANK[l] >= LEVEL_RANK[q.level!]);
      conds.push(`(${levels.map((l) => `"level" = ${quoteString(l)}`).join(' OR ')})`);
    }
    const stmt = `SELECT * FROM ${quoteIdent(LOG_MEASUREMENT)} WHERE ${conds.join(' AND ')} ORDER BY time DESC${q.keyword ? '' : ` LIMIT ${limit}`}`;
    const keyword = q.keyword?.toLowerCase();
    const out: LogEvent[] = [];
    for (const s of await this.influxql(stmt)) {
      const col = (name: string): number => s.columns.indexOf(name);
      const idx = {
        time: col('time'), level: col('level'), job_id: col('job_id'), job_name: col('job_name'), vertex: col('vertex'),
        subtask_index: col('subtask_index'), attempt: col('attempt'), message: col('message'),
        exception_class: col('exception_class'), stack: col('stack'),
      };
      for (const row of s.values ?? []) {
        const get = (i: number): unknown => (i >= 0 ? row[i] : null);
        const e: LogEvent = {
          timestamp: Number(get(idx.time)),
          level: String(get(idx.level)) as LogLevel,
          job_id: String(get(idx.job_id) ?? ''),
          message: String(get(idx.message) ?? ''),
        };
        const str = (i: number): string | undefined => (get(i) == null || get(i) === '' ? undefined : String(get(i)));
        const num = (i: number): number | undefined => (get(i) == null ? undefined : Number(get(i)));
        const jobName = str(idx.job_name);
        if (jobName !== undefined) e.job_name = jobName;
        const vertex = str(idx.vertex);
        if (vertex !== undefined) e.vertex = vertex;
        const sub = num(idx.subtask_index);
        if (sub !== undefined) e.subtask_index = sub;
        const attempt = num(idx.attempt);
        if (attempt !== undefined) e.attempt = attempt;
        const ex = str(idx.exception_class);
        if (ex !== undefined) e.exception_class = ex;
        const stack = str(idx.stack);
        if (stack !== undefined) e.stack = stack;
        if (keyword && ![e.message, e.exception_class ?? '', e.stack ?? ''].some((x) => x.toLowerCase().includes(keyword))) continue;
        out.push(e);
      }
    }
    out.sort((a, b) => b.timestamp - a.timestamp);
    return out.slice(0, limit);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
