/**
 * The embedded metric store: DuckDB (`@duckdb/node-api`) in one file (or in memory), no server.
 *
 * Layout: table `points(ts BIGINT ms, measurement VARCHAR, tags VARCHAR /* sorted JSON object *\/,
 * field VARCHAR, value DOUBLE)`, one row per numeric field (see `toNumeric`: booleans and
 * "true"/"false" and numeric strings as numbers), table `text_points(ts, measurement, tags, field,
 * text VARCHAR)` for the other string fields (e.g. `inputs` of `streamtune_job_vertex`; read with
 * {@link EmbeddedStore.queryText}, never by the numeric reads), and table `logs`. Writes go
 * through DuckDB's appender in one batch per call. Windowed mean/max/min/last/sum run in SQL;
 * `rate` is computed from the raw points with the shared {@link counterRate}, so it matches the
 * InfluxDB store.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { StreamtuneError, errorMessage } from '../../core/errors.ts';
import { silentLogger, type Logger } from '../../core/logger.ts';
import type { LogEvent, LogLevel, MetricPoint } from '../../core/points.ts';
import {
  LEVEL_RANK,
  counterRate,
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

/** Options of {@link createEmbeddedStore}. */
export interface EmbeddedStoreOptions {
  /** DuckDB file, or ':memory:'. Default `${STREAMTUNE_DATA_DIR ?? './data'}/metrics.duckdb`. The folder is created. */
  path?: string;
  /** Points and log events older than this many days are deleted (on open, hourly, and on demand). Default 7. 0 keeps everything. */
  retentionDays?: number;
  /** How often retention runs, ms. Default 3,600,000 (1 h). */
  retentionIntervalMs?: number;
  logger?: Logger;
  /** Clock for retention, ms. Default Date.now. */
  now?: () => number;
}

/** The embedded store: a {@link MetricStore} plus on-demand retention. */
export interface EmbeddedStore extends MetricStore {
  /** The DuckDB file (or ':memory:'). */
  readonly path: string;
  /** Deletes points and logs older than `retentionDays` before `now` (ms). Returns the rows deleted
   * (`points` counts numeric and string field rows). */
  enforceRetention(now?: number): Promise<{ points: number; logs: number }>;
  /**
   * Raw string fields (those that are not numbers, booleans or "true"/"false") of one measurement
   * over [start, end] (ms, inclusive), oldest first, with their full tag sets; `where` as in
   * {@link SeriesQuery}. E.g. `queryText('streamtune_job_vertex', 'inputs', t0, t1)`.
   */
  queryText(measurement: string, field: string, start: number, end: number, where?: SeriesQuery['where']): Promise<Array<{ t: number; tags: Record<string, string>; value: string }>>;
}

/** The default DuckDB file: `${STREAMTUNE_DATA_DIR ?? './data'}/metrics.duckdb`. */
export function defaultEmbeddedPath(env: NodeJS.ProcessEnv = process.env): string {
  return `${env.STREAMTUNE_DATA_DIR || './data'}/metrics.duckdb`;
}

const DAY_MS = 86_400_000;

/** A JSON path selecting one key of the tags object, quoted so any key works. */
function tagPath(key: string): string {
  return `$."${key.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * Opens (creating when needed) the embedded DuckDB store and runs retention once.
 * @throws StreamtuneError STORE_UNAVAILABLE when the file cannot be opened (e.g. locked by another process).
 */
export async function createEmbeddedStore(options: EmbeddedStoreOptions = {}): Promise<EmbeddedStore> {
  const path = options.path ?? defaultEmbeddedPath();
  const log = (options.logger ?? silentLogger).namespace('store.embedded');
  const retentionDays = options.retentionDays ?? 7;
  if (!Number.isFinite(retentionDays) || retentionDays < 0) {
    throw new StreamtuneError('INVALID_CONFIG', `retentionDays must be a number >= 0, got ${retentionDays}`);
  }
  const now = options.now ?? Date.now;
  let instance: DuckDBInstance;
  let conn: DuckDBConnection;
  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    instance = await DuckDBInstance.create(path);
    conn = await instance.connect();
    await conn.run(
      'CREATE TABLE IF NOT EXISTS points (ts BIGINT NOT NULL, measurement VARCHAR NOT NULL, tags VARCHAR NOT NULL, field VARCHAR NOT NULL, value DOUBLE NOT NULL)',
    );
    await conn.run(
      'CREATE TABLE IF NOT EXISTS text_points (ts BIGINT NOT NULL, measurement VARCHAR NOT NULL, tags VARCHAR NOT NULL, field VARCHAR NOT NULL, text VARCHAR NOT NULL)',
    );
    await conn.run(
      'CREATE TABLE IF NOT EXISTS logs (ts BIGINT NOT NULL, level VARCHAR NOT NULL, level_rank INTEGER NOT NULL, job_id VARCHAR NOT NULL, job_name VARCHAR, vertex VARCHAR, subtask_index INTEGER, attempt INTEGER, message VARCHAR NOT NULL, exception_class VARCHAR, stack VARCHAR)',
    );
  } catch (err) {
    throw new StreamtuneError('STORE_UNAVAILABLE', `cannot open the embedded store ${path}: ${errorMessage(err)}`, { cause: err, details: { path } });
  }
  const store = new DuckStore(path, instance, conn, retentionDays, now, log);
  await store.enforceRetention();
  const every = options.retentionIntervalMs ?? 3_600_000;
  if (retentionDays > 0 && every > 0) {
    store.timer = setInterval(() => {
      store.enforceRetention().catch((err: unknown) => log.warn('retention failed', { error: errorMessage(err) }));
    }, every);
    store.timer.unref();
  }
  log.info('embedded store open', { path, retentionDays });
  return store;
}

class DuckStore implements EmbeddedStore {
  timer: NodeJS.Timeout | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    readonly path: string,
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
    private readonly retentionDays: number,
    private readonly now: () => number,
    private readonly log: Logger,
  ) {}

  /** Runs `fn` alone on the connection (DuckDB connections take one statement at a time). */
  private exclusive<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      if (this.closed) throw new StreamtuneError('STORE_UNAVAILABLE', `embedded store is closed (${what})`);
      try {
        return await fn();
      } catch (err) {
        if (err instanceof StreamtuneError) throw err;
        throw new StreamtuneError('STORE_REJECTED', `embedded store ${what} failed: ${errorMessage(err)}`, { cause: err });
      }
    };
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => undefined);
    return p;
  }

  async write(points: readonly MetricPoint[]): Promise<void> {
    for (let i = 0; i < points.length; i++) {
      const why = invalidPointReason(points[i]);
      if (why) throw new StreamtuneError('STORE_REJECTED', `point ${i} rejected: ${why}`, { details: { index: i } });
    }
    if (!points.length) return;
    await this.exclusive('write', async () => {
      const app = await this.conn.createAppender('points');
      let texts: Array<{ ts: bigint; measurement: string; tags: string; field: string; text: string }> | undefined;
      try {
        const tagCache = new Map<Record<string, string>, string>();
        for (const p of points) {
          let tags = tagCache.get(p.tags);
          if (tags === undefined) {
            tags = tagKey(p.tags ?? {});
            tagCache.set(p.tags, tags);
          }
          const ts = BigInt(p.timestamp);
          for (const field in p.fields) {
            const raw = p.fields[field];
            const v = toNumeric(raw);
            if (v === null) {
              if (typeof raw === 'string') (texts ??= []).push({ ts, measurement: p.measurement, tags, field, text: raw });
              continue;
            }
            app.appendBigInt(ts);
            app.appendVarchar(p.measurement);
            app.appendVarchar(tags);
            app.appendVarchar(field);
            app.appendDouble(v);
            app.endRow();
          }
        }
        app.flushSync();
      } finally {
        app.closeSync();
      }
      if (!texts) return;
      const tapp = await this.conn.createAppender('text_points');
      try {
        for (const r of texts) {
          tapp.appendBigInt(r.ts);
          tapp.appendVarchar(r.measurement);
          tapp.appendVarchar(r.tags);
          tapp.appendVarchar(r.field);
          tapp.appendVarchar(r.text);
          tapp.endRow();
        }
        tapp.flushSync();
      } finally {
        tapp.closeSync();
      }
    });
  }

  async queryText(measurement: string, field: string, start: number, end: number, where?: SeriesQuery['where']): Promise<Array<{ t: number; tags: Record<string, string>; value: string }>> {
    if (whereMatchesNothing(where)) return [];
    const { sql: whereSql, params } = this.filters({ measurement, field, start, end, where });
    const sql = `SELECT ts::DOUBLE AS t, tags, text FROM text_points WHERE ${whereSql} ORDER BY ts`;
    const rows = await this.exclusive('queryText', async () => (await this.conn.runAndReadAll(sql, params)).getRowObjectsJS());
    return rows.map((r) => ({ t: r.t as number, tags: JSON.parse(r.tags as string) as Record<string, string>, value: r.text as string }));
  }

  async writeLogs(events: readonly LogEvent[]): Promise<void> {
    for (let i = 0; i < events.length; i++) {
      const why = invalidLogReason(events[i]);
      if (why) throw new StreamtuneError('STORE_REJECTED', `log event ${i} rejected: ${why}`, { details: { index: i } });
    }
    if (!events.length) return;
    await this.exclusive('writeLogs', async () => {
      const app = await this.conn.createAppender('logs');
      try {
        const optStr = (s: string | undefined): void => (s === undefined ? app.appendNull() : app.appendVarchar(s));
        const optInt = (n: number | undefined): void => (n === undefined || !Number.isFinite(n) ? app.appendNull() : app.appendInteger(Math.trunc(n)));
        for (const e of events) {
          app.appendBigInt(BigInt(e.timestamp));
          app.appendVarchar(e.level);
          app.appendInteger(LEVEL_RANK[e.level]);
          app.appendVarchar(e.job_id);
          optStr(e.job_name);
          optStr(e.vertex);
          optInt(e.subtask_index);
          optInt(e.attempt);
          app.appendVarchar(e.message);
          optStr(e.exception_class);
          optStr(e.stack);
          app.endRow();
        }
        app.flushSync();
      } finally {
        app.closeSync();
      }
    });
  }

  /** WHERE clause and parameters for measurement/field/time/tag filters. */
  private filters(q: { measurement: string; field?: string; start: number; end: number; where?: SeriesQuery['where'] }): { sql: string; params: DuckDBValue[] } {
    const params: DuckDBValue[] = [q.measurement, q.start, q.end];
    const conds = ['measurement = $1', 'ts >= $2', 'ts <= $3'];
    if (q.field !== undefined) {
      params.push(q.field);
      conds.push(`field = $${params.length}`);
    }
    for (const [key, val] of Object.entries(q.where ?? {})) {
      params.push(tagPath(key));
      const col = `coalesce(json_extract_string(tags, $${params.length}), '')`;
      const vals = typeof val === 'string' ? [val] : [...val];
      const ph = vals.map((v) => {
        params.push(v);
        return `$${params.length}`;
      });
      conds.push(`${col} IN (${ph.join(', ')})`);
    }
    return { sql: conds.join(' AND '), params };
  }

  async query(q: SeriesQuery): Promise<Series[]> {
    validateQuery(q);
    if (whereMatchesNothing(q.where)) return [];
    const groupBy = q.groupBy ?? [];
    const { sql: whereSql, params } = this.filters(q);
    const gcols = groupBy.map((k, i) => {
      params.push(tagPath(k));
      return `coalesce(json_extract_string(tags, $${params.length}), '') AS g${i}`;
    });
    const gnames = groupBy.map((_, i) => `g${i}`);
    const toTags = (row: Record<string, unknown>): Record<string, string> => {
      const tags: Record<string, string> = {};
      groupBy.forEach((k, i) => (tags[k] = String(row[`g${i}`])));
      return tags;
    };
    const out = new Map<string, Series>();
    const seriesFor = (tags: Record<string, string>): Series => {
      const key = tagKey(tags);
      let s = out.get(key);
      if (!s) out.set(key, (s = { tags, points: [] }));
      return s;
    };

    if (q.aggregate && q.aggregate !== 'rate') {
      const w = q.window!;
      const agg = { mean: 'avg(value)', max: 'max(value)', min: 'min(value)', sum: 'sum(value)', last: 'arg_max(value, ts)' }[q.aggregate];
      const sel = [...gcols, `((ts // ${w}) * ${w})::DOUBLE AS t`, `${agg}::DOUBLE AS v`].join(', ');
      const sql = `SELECT ${sel} FROM points WHERE ${whereSql} GROUP BY ${[...gnames, 't'].join(', ')} ORDER BY t`;
      const rows = await this.exclusive('query', async () => (await this.conn.runAndReadAll(sql, params)).getRowObjectsJS());
      for (const r of rows) seriesFor(toTags(r)).points.push({ t: r.t as number, v: r.v as number });
      return sortSeries([...out.values()]);
    }

    const sel = [...gcols, 'tags', 'ts::DOUBLE AS t', 'value AS v'].join(', ');
    const sql = `SELECT ${sel} FROM points WHERE ${whereSql} ORDER BY ts`;
    const rows = await this.exclusive('query', async () => (await this.conn.runAndReadAll(sql, params)).getRowObjectsJS());
    if (!q.aggregate) {
      for (const r of rows) seriesFor(toTags(r)).points.push({ t: r.t as number, v: r.v as number });
      return sortSeries([...out.values()]);
    }
    // rate: per full tag set, then summed per group
    const perSeries = new Map<string, { group: Record<string, string>; samples: Sample[] }>();
    for (const r of rows) {
      const key = r.tags as string;
      let e = perSeries.get(key);
      if (!e) perSeries.set(key, (e = { group: toTags(r), samples: [] }));
      e.samples.push({ t: r.t as number, v: r.v as number });
    }
    const groups = new Map<string, { tags: Record<string, string>; parts: Sample[][] }>();
    for (const { group, samples } of perSeries.values()) {
      const k = tagKey(group);
      let g = groups.get(k);
      if (!g) groups.set(k, (g = { tags: group, parts: [] }));
      g.parts.push(counterRate(samples, q.window!));
    }
    const series: Series[] = [];
    for (const g of groups.values()) {
      const points = sumByWindow(g.parts);
      if (points.length) series.push({ tags: g.tags, points });
    }
    return sortSeries(series);
  }

  async tagValues(measurement: string, tag: string, start: number, end: number, where?: SeriesQuery['where']): Promise<string[]> {
    if (whereMatchesNothing(where)) return [];
    const { sql: whereSql, params } = this.filters({ measurement, start, end, where });
    params.push(tagPath(tag));
    const sql = `SELECT DISTINCT json_extract_string(tags, $${params.length}) AS v FROM points WHERE ${whereSql} ORDER BY v`;
    const rows = await this.exclusive('tagValues', async () => (await this.conn.runAndReadAll(sql, params)).getRowObjectsJS());
    return rows.map((r) => r.v).filter((v): v is string => typeof v === 'string' && v !== '');
  }

  async queryLogs(q: LogQuery): Promise<LogEvent[]> {
    const params: DuckDBValue[] = [q.start, q.end];
    const conds = ['ts >= $1', 'ts <= $2'];
    if (q.job_id !== undefined) {
      params.push(q.job_id);
      conds.push(`job_id = $${params.length}`);
    }
    if (q.level) {
      params.push(LEVEL_RANK[q.level]);
      conds.push(`level_rank >= $${params.length}`);
    }
    if (q.keyword) {
      params.push(q.keyword.toLowerCase());
      const k = `$${params.length}`;
      conds.push(`(contains(lower(message), ${k}) OR contains(lower(coalesce(exception_class, '')), ${k}) OR contains(lower(coalesce(stack, '')), ${k}))`);
    }
    const limit = Math.max(0, Math.trunc(q.limit ?? 1000));
    const sql = `SELECT ts::DOUBLE AS ts, level, job_id, job_name, vertex, subtask_index, attempt, message, exception_class, stack FROM logs WHERE ${conds.join(' AND ')} ORDER BY ts DESC LIMIT ${limit}`;
    const rows = await this.exclusive('queryLogs', async () => (await this.conn.runAndReadAll(sql, params)).getRowObjectsJS());
    return rows.map((r) => {
      const e: LogEvent = { timestamp: r.ts as number, level: r.level as LogLevel, job_id: r.job_id as string, message: r.message as string };
      if (r.job_name != null) e.job_name = r.job_name as string;
      if (r.vertex != null) e.vertex = r.vertex as string;
      if (r.subtask_index != null) e.subtask_index = Number(r.subtask_index);
      if (r.attempt != null) e.attempt = Number(r.attempt);
      if (r.exception_class != null) e.exception_class = r.exception_class as string;
      if (r.stack != null) e.stack = r.stack as string;
      return e;
    });
  }

  async enforceRetention(now: number = this.now()): Promise<{ points: number; logs: number }> {
    if (this.retentionDays <= 0) return { points: 0, logs: 0 };
    const cutoff = Math.floor(now - this.retentionDays * DAY_MS);
    const res = await this.exclusive('retention', async () => {
      const p = await this.conn.run('DELETE FROM points WHERE ts < $1', [cutoff]);
      const t = await this.conn.run('DELETE FROM text_points WHERE ts < $1', [cutoff]);
      const l = await this.conn.run('DELETE FROM logs WHERE ts < $1', [cutoff]);
      return { points: Number(p.rowsChanged) + Number(t.rowsChanged), logs: Number(l.rowsChanged) };
    });
    if (res.points || res.logs) this.log.info('retention deleted old rows', { ...res, cutoff });
    return res;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.timer) clearInterval(this.timer);
    await this.chain;
    this.closed = true;
    this.conn.closeSync();
    this.instance.closeSync();
  }
}
