/**
 * The embedded metric store: DuckDB (`@duckdb/node-api`) in one file (or in memory), no server.
 *
 * Layout (schema 2, recorded in table `streamtune_meta`):
 * - `series(id INTEGER, measurement VARCHAR, field VARCHAR, tags VARCHAR /* sorted JSON object *\/,
 *   tag_job_id, tag_task_id, … VARCHAR)`: one row per numeric series (measurement, field and full
 *   tag set). The common Flink tags ({@link PROMOTED_TAGS}) have their own column ('' when absent),
 *   so `where` filters and `groupBy` on them are column predicates on this small table; other tags
 *   are read from the JSON.
 * - `points(series_id INTEGER, ts BIGINT ms, value DOUBLE)`: one row per numeric field value (see
 *   `toNumeric`: booleans and "true"/"false" and numeric strings as numbers).
 * - `text_points(ts, measurement, tags, field, text VARCHAR)` for the other string fields (e.g.
 *   `inputs` of `streamtune_job_vertex`; read with {@link EmbeddedStore.queryText}, never by the
 *   numeric reads), and table `logs`.
 *
 * The store keeps the series catalog in memory (id → tags, parsed once; loaded on open), so writes
 * append only `(series_id, ts, value)` rows and reads return only numeric columns: the matching
 * series are selected in SQL, joined to `points`, windowed mean/max/min/last/sum aggregated in SQL
 * per group and window, and each returned row is mapped to its series through the catalog (one tag
 * object per series, not per row). `rate` is computed from the raw points per series with the
 * shared {@link counterRate}, so it matches the InfluxDB store. Writes go through DuckDB's
 * appender in one batch per call.
 *
 * A file written with schema 1 (`points(ts, measurement, tags, field, value)`) is migrated on open,
 * in one transaction.
 *
 * Recent points are also kept in memory, in the head (head.ts, after Prometheus' head block): a
 * read whose whole range lies in the head's covered range (by default the last 65 minutes, see
 * {@link EmbeddedStoreOptions.headMinutes}) is answered from memory, without a DuckDB statement,
 * with the same answer; older ranges are read from DuckDB.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DuckDBInstance, type DuckDBConnection, type DuckDBResult, type DuckDBValue } from '@duckdb/node-api';
import { errorMessage, type LogEvent, type Logger, type LogLevel, type MetricPoint, silentLogger, StreamtuneError } from '../../core/index.ts';
import {
  LEVEL_RANK,
  counterRate,
  sumByWindow,
  tagKey,
  toNumeric,
  validateQuery,
  whereMatchesNothing,
  type Sample,
} from './aggregate.ts';
import type { LogQuery, MetricStore, Series, SeriesQuery } from './types.ts';
import { invalidLogReason, invalidPointReason } from './validate.ts';
import { DEFAULT_HEAD_MAX_POINTS, DEFAULT_HEAD_MINUTES, MetricHead, type HeadStats } from './head.ts';

/** Options of {@link createEmbeddedStore}. */
export interface EmbeddedStoreOptions {
  /** DuckDB file, or ':memory:'. Default `${STREAMTUNE_DATA_DIR ?? './data'}/metrics.duckdb`. The folder is created. */
  path?: string;
  /** Points and log events older than this many days are deleted (on open, hourly, and on demand). Default 7. 0 keeps everything. */
  retentionDays?: number;
  /** How often retention runs, ms. Default 3,600,000 (1 h). */
  retentionIntervalMs?: number;
  logger?: Logger;
  /** Clock for retention (and the head's guard against future points), ms. Default Date.now. */
  now?: () => number;
  /**
   * Minutes of recent points also kept in memory (the head, collector/store/head.ts), behind the
   * newest point written; reads of ranges inside it are answered from memory. 0 turns the head
   * off. Default 65 ({@link DEFAULT_HEAD_MINUTES}: the job page's 1 h chart range and the
   * diagnoser's 1 h history read, plus 5 minutes). After a restart the head covers only times
   * after the newest point already stored.
   */
  headMinutes?: number;
  /** Most points the head holds; past it the oldest are dropped first. Default 20,000,000
   * ({@link DEFAULT_HEAD_MAX_POINTS}, ~0.6 GB). */
  headMaxPoints?: number;
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
  /** The in-memory head's size, covered range and hit counts; null when it is off (`headMinutes: 0`). */
  headStats(): HeadStats | null;
}

/** The default DuckDB file: `${STREAMTUNE_DATA_DIR ?? './data'}/metrics.duckdb`. */
export function defaultEmbeddedPath(env: NodeJS.ProcessEnv = process.env): string {
  return `${env.STREAMTUNE_DATA_DIR || './data'}/metrics.duckdb`;
}

/** The schema this code writes (see the module comment). 1 = the single `points` table with JSON tags. */
export const EMBEDDED_SCHEMA_VERSION = 2;

/**
 * Tags with their own column `tag_<name>` in table `series` (Flink's scope variables and the Kafka
 * lag tags, docs/METRICS.md). Filters and groupBy on any other tag read the series' JSON tags.
 */
export const PROMOTED_TAGS = [
  'job_id', 'job_name', 'task_id', 'task_name', 'subtask_index', 'tm_id', 'host',
  'operator_id', 'operator_name', 'group', 'topic', 'partition', 'inputs', 'key_group',
] as const;
const PROMOTED = new Set<string>(PROMOTED_TAGS);

const DAY_MS = 86_400_000;

/** A JSON path selecting one key of the tags object, quoted so any key works. */
function tagPath(key: string): string {
  return `$."${key.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** SQL string literal. */
function lit(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

const SERIES_DDL = `CREATE TABLE IF NOT EXISTS series (id INTEGER NOT NULL, measurement VARCHAR NOT NULL, field VARCHAR NOT NULL, tags VARCHAR NOT NULL, ${PROMOTED_TAGS.map((t) => `tag_${t} VARCHAR NOT NULL`).join(', ')})`;
const POINTS_DDL = (table: string) => `CREATE TABLE IF NOT EXISTS ${table} (series_id INTEGER NOT NULL, ts BIGINT NOT NULL, value DOUBLE NOT NULL)`;

/** One numeric series of the catalog. */
interface SeriesInfo {
  id: number;
  measurement: string;
  field: string;
  /** sorted JSON of the tags (the `tags` column) */
  key: string;
  /** the parsed tags, shared by every series with the same tag set */
  tags: Record<string, string>;
  /** `${measurement}\u0000${field}`, shared by the series of one measurement and field */
  mf: string;
}

/**
 * In-memory copy of table `series`: measurement → tag key → field → series, and id → series.
 * Tag objects and keys are interned, so series of one tag set share them.
 */
class SeriesCatalog {
  readonly byId = new Map<number, SeriesInfo>();
  /**
   * Series removed by the last retention run, still known by id: a read on the read connection
   * that began before that run may return their rows. Forgotten at the next run.
   */
  private retired = new Map<number, SeriesInfo>();
  private readonly index = new Map<string, Map<string, Map<string, SeriesInfo>>>();
  private readonly interned = new Map<string, Record<string, string>>();
  /** series count per `${measurement}\\u0000${field}` */
  private readonly fields = new Map<string, number>();
  private readonly mfs = new Map<string, string>();
  nextId = 1;

  /** The interned tags object of a tag key. */
  tagsOf(key: string, tags?: Record<string, string>): Record<string, string> {
    let t = this.interned.get(key);
    if (!t) this.interned.set(key, (t = tags ? { ...tags } : (JSON.parse(key) as Record<string, string>)));
    return t;
  }

  /** Whether any series of this measurement and field exists. */
  has(measurement: string, field: string): boolean {
    return (this.fields.get(`${measurement}\u0000${field}`) ?? 0) > 0;
  }

  /** The interned `${measurement}\u0000${field}` key. */
  mfOf(measurement: string, field: string): string {
    const k = `${measurement}\u0000${field}`;
    let m = this.mfs.get(k);
    if (m === undefined) this.mfs.set(k, (m = k));
    return m;
  }

  get(measurement: string, key: string, field: string): SeriesInfo | undefined {
    return this.index.get(measurement)?.get(key)?.get(field);
  }

  add(s: SeriesInfo): void {
    let m = this.index.get(s.measurement);
    if (!m) this.index.set(s.measurement, (m = new Map()));
    let k = m.get(s.key);
    if (!k) m.set(s.key, (k = new Map()));
    if (!k.has(s.field)) this.fields.set(s.mf, (this.fields.get(s.mf) ?? 0) + 1);
    k.set(s.field, s);
    this.byId.set(s.id, s);
    if (s.id >= this.nextId) this.nextId = s.id + 1;
  }

  /** A series by id, also one removed by the last retention run. */
  info(id: number): SeriesInfo | undefined {
    return this.byId.get(id) ?? this.retired.get(id);
  }

  /** Forgets the series retired by the previous retention run (call before removing more). */
  forgetRetired(): void {
    this.retired = new Map();
  }

  remove(id: number): void {
    const s = this.byId.get(id);
    if (!s) return;
    this.byId.delete(id);
    this.retired.set(id, s);
    const m = this.index.get(s.measurement);
    const k = m?.get(s.key);
    if (k?.delete(s.field)) this.fields.set(s.mf, (this.fields.get(s.mf) ?? 1) - 1);
    if (k && k.size === 0) m!.delete(s.key);
    if (m && m.size === 0) this.index.delete(s.measurement);
  }
}

/**
 * Opens (creating when needed) the embedded DuckDB store, migrates a file of an older schema, and
 * runs retention once.
 * @throws StreamtuneError STORE_UNAVAILABLE when the file cannot be opened (e.g. locked by another
 * process), was written by a newer streamtune, or cannot be migrated (the message names the file).
 */
export async function createEmbeddedStore(options: EmbeddedStoreOptions = {}): Promise<EmbeddedStore> {
  const path = options.path ?? defaultEmbeddedPath();
  const log = (options.logger ?? silentLogger).namespace('store.embedded');
  const retentionDays = options.retentionDays ?? 7;
  if (!Number.isFinite(retentionDays) || retentionDays < 0) {
    throw new StreamtuneError('INVALID_CONFIG', `retentionDays must be a number >= 0, got ${retentionDays}`);
  }
  const now = options.now ?? Date.now;
  const headMinutes = options.headMinutes ?? DEFAULT_HEAD_MINUTES;
  const headMaxPoints = options.headMaxPoints ?? DEFAULT_HEAD_MAX_POINTS;
  if (!Number.isFinite(headMinutes) || headMinutes < 0) {
    throw new StreamtuneError('INVALID_CONFIG', `headMinutes must be a number >= 0 (0: no in-memory head), got ${headMinutes}`, { details: { field: 'headMinutes' } });
  }
  if (!Number.isFinite(headMaxPoints) || headMaxPoints < 1) {
    throw new StreamtuneError('INVALID_CONFIG', `headMaxPoints must be a number >= 1, got ${headMaxPoints}`, { details: { field: 'headMaxPoints' } });
  }
  let instance: DuckDBInstance;
  let conn: DuckDBConnection;
  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    instance = await DuckDBInstance.create(path);
    conn = await instance.connect();
  } catch (err) {
    throw new StreamtuneError('STORE_UNAVAILABLE', `cannot open the embedded store ${path}: ${errorMessage(err)}`, { cause: err, details: { path } });
  }
  const catalog = new SeriesCatalog();
  const head = headMinutes > 0 ? new MetricHead({ headMinutes, maxPoints: headMaxPoints, now }) : undefined;
  let readConn: DuckDBConnection | undefined;
  try {
    await prepareSchema(conn, path, log);
    const rows = (await conn.runAndReadAll('SELECT id, measurement, field, tags FROM series')).getColumns();
    const [ids, ms, fs, ks] = rows as [number[], string[], string[], string[]];
    for (let i = 0; i < (ids?.length ?? 0); i++) {
      const key = ks[i]!;
      catalog.add({ id: ids[i]!, measurement: ms[i]!, field: fs[i]!, key, tags: catalog.tagsOf(key), mf: catalog.mfOf(ms[i]!, fs[i]!) });
    }
    readConn = await instance.connect();
    if (head) {
      // the head covers the times after the newest stored point: it starts empty
      const newest = (await conn.runAndReadAll('SELECT max(ts)::DOUBLE FROM points')).getColumns()[0]?.[0];
      head.open(typeof newest === 'number' ? newest : null);
    }
  } catch (err) {
    readConn?.closeSync();
    conn.closeSync();
    instance.closeSync();
    if (err instanceof StreamtuneError) throw err;
    throw new StreamtuneError('STORE_UNAVAILABLE', `cannot open the embedded store ${path}: ${errorMessage(err)}`, { cause: err, details: { path } });
  }
  const store = new DuckStore(path, instance, conn, readConn!, catalog, retentionDays, now, log, head);
  await store.enforceRetention();
  const every = options.retentionIntervalMs ?? 3_600_000;
  if (retentionDays > 0 && every > 0) {
    store.timer = setInterval(() => {
      store.enforceRetention().catch((err: unknown) => log.warn('retention failed', { error: errorMessage(err) }));
    }, every);
    store.timer.unref();
  }
  log.info('embedded store open', { path, retentionDays, series: catalog.byId.size, headMinutes, headMaxPoints });
  return store;
}

/**
 * Creates the tables of schema 2, or migrates a schema-1 file (points with JSON tags) in one
 * transaction: distinct (measurement, field, tags) become `series`, points keep ts and value.
 * @throws StreamtuneError STORE_UNAVAILABLE for a file of a newer schema or a failed migration.
 */
async function prepareSchema(conn: DuckDBConnection, path: string, log: Logger): Promise<void> {
  await conn.run('CREATE TABLE IF NOT EXISTS streamtune_meta (key VARCHAR NOT NULL, value VARCHAR NOT NULL)');
  const meta = (await conn.runAndReadAll("SELECT value FROM streamtune_meta WHERE key = 'schema_version'")).getColumns()[0] ?? [];
  const version = meta.length ? Number(meta[0]) : undefined;
  if (version !== undefined && !(version <= EMBEDDED_SCHEMA_VERSION)) {
    throw new StreamtuneError(
      'STORE_UNAVAILABLE',
      `the embedded store ${path} has schema ${String(meta[0])}, written by a newer streamtune (this one reads schema ${EMBEDDED_SCHEMA_VERSION}): upgrade streamtune, or point STREAMTUNE_DATA_DIR (or the store path) at another folder`,
      { details: { path, schema: String(meta[0]) } },
    );
  }
  const cols = (await conn.runAndReadAll("SELECT column_name FROM duckdb_columns() WHERE table_name = 'points' AND schema_name = 'main' AND database_name = current_database()")).getColumns()[0] ?? [];
  const v1 = cols.includes('tags') && !cols.includes('series_id');
  if (v1) {
    const t = Date.now();
    log.info('migrating the embedded store to schema 2 (series table, points by series id)', { path });
    try {
      await conn.run('BEGIN TRANSACTION');
      await conn.run(SERIES_DDL);
      await conn.run(
        `INSERT INTO series SELECT (row_number() OVER (ORDER BY measurement, field, tags))::INTEGER, measurement, field, tags, ${PROMOTED_TAGS.map((k) => `coalesce(json_extract_string(tags, ${lit(tagPath(k))}), '')`).join(', ')} FROM (SELECT DISTINCT measurement, field, tags FROM points)`,
      );
      await conn.run(POINTS_DDL('points_v2'));
      await conn.run('INSERT INTO points_v2 SELECT s.id, p.ts, p.value FROM points p JOIN series s ON p.measurement = s.measurement AND p.field = s.field AND p.tags = s.tags ORDER BY p.ts');
      await conn.run('DROP TABLE points');
      await conn.run('ALTER TABLE points_v2 RENAME TO points');
      await conn.run("DELETE FROM streamtune_meta WHERE key = 'schema_version'");
      await conn.run(`INSERT INTO streamtune_meta VALUES ('schema_version', '${EMBEDDED_SCHEMA_VERSION}')`);
      await conn.run('COMMIT');
    } catch (err) {
      await conn.run('ROLLBACK').catch(() => undefined);
      throw new StreamtuneError(
        'STORE_UNAVAILABLE',
        `cannot migrate the embedded store ${path} from schema 1 to ${EMBEDDED_SCHEMA_VERSION}: ${errorMessage(err)}. The file is unchanged; free disk space and retry, or move the file aside to start an empty store`,
        { cause: err, details: { path } },
      );
    }
    log.info('embedded store migrated', { path, ms: Date.now() - t });
  } else {
    await conn.run(SERIES_DDL);
    await conn.run(POINTS_DDL('points'));
    if (version === undefined) await conn.run(`INSERT INTO streamtune_meta VALUES ('schema_version', '${EMBEDDED_SCHEMA_VERSION}')`);
  }
  await conn.run(
    'CREATE TABLE IF NOT EXISTS text_points (ts BIGINT NOT NULL, measurement VARCHAR NOT NULL, tags VARCHAR NOT NULL, field VARCHAR NOT NULL, text VARCHAR NOT NULL)',
  );
  await conn.run(
    'CREATE TABLE IF NOT EXISTS logs (ts BIGINT NOT NULL, level VARCHAR NOT NULL, level_rank INTEGER NOT NULL, job_id VARCHAR NOT NULL, job_name VARCHAR, vertex VARCHAR, subtask_index INTEGER, attempt INTEGER, message VARCHAR NOT NULL, exception_class VARCHAR, stack VARCHAR)',
  );
}

/** `JSON.stringify(s)`, without the call for the usual strings that need no escaping. */
function jsonString(s: string): string {
  return /["\\\u0000-\u001f\u007f-\uffff]/.test(s) ? JSON.stringify(s) : `"${s}"`;
}

/** The time bounds of a query as integer ms: ts >= lo AND ts <= hi selects [start, end]. */
function bounds(start: number, end: number): [bigint, bigint] {
  return [BigInt(Math.ceil(start)), BigInt(Math.floor(end))];
}

/** One statement answering the queries of one shape: see `planShape`. */
interface ShapePlan {
  sql: string;
  params: DuckDBValue[];
  /** called for each result row, in result order */
  row: (id: number, t: number, v: number) => void;
  /** after the last row: the answers, in the order of the queries */
  finish: () => Series[][];
}

/** A query waiting to run, with its promise's callbacks. */
interface PendingQuery {
  q: SeriesQuery;
  resolve: (s: Series[]) => void;
  reject: (err: unknown) => void;
}

/**
 * The store over two DuckDB connections to one instance, each running one statement at a time:
 * `conn` writes (points, logs, retention), `readConn` reads. DuckDB's MVCC lets a read run while a
 * write appends (each read sees the writes committed before it began), so reads of ranges older
 * than the head do not wait behind collection rounds.
 */
class DuckStore implements EmbeddedStore {
  timer: NodeJS.Timeout | undefined;
  /** the write connection's queue */
  private chain: Promise<unknown> = Promise.resolve();
  /** the read connection's queue */
  private readChain: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** queries waiting for the next {@link runPending} */
  private pending: PendingQuery[] = [];

  constructor(
    readonly path: string,
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
    private readonly readConn: DuckDBConnection,
    private readonly catalog: SeriesCatalog,
    private readonly retentionDays: number,
    private readonly now: () => number,
    private readonly log: Logger,
    /** recent points in memory; undefined when off */
    private readonly head?: MetricHead,
  ) {}

  headStats(): HeadStats | null {
    return this.head?.stats() ?? null;
  }

  /**
   * Runs `fn` alone on one connection (DuckDB connections take one statement at a time): the
   * write connection's queue, or the read connection's with `read`.
   */
  private exclusive<T>(what: string, fn: () => Promise<T>, read = false): Promise<T> {
    const run = async (): Promise<T> => {
      if (this.closed) throw new StreamtuneError('STORE_UNAVAILABLE', `embedded store is closed (${what})`);
      try {
        return await fn();
      } catch (err) {
        if (err instanceof StreamtuneError) throw err;
        throw new StreamtuneError('STORE_REJECTED', `embedded store ${what} failed: ${errorMessage(err)}`, { cause: err });
      }
    };
    if (read) {
      const r = this.readChain.then(run, run);
      this.readChain = r.catch(() => undefined);
      return r;
    }
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => undefined);
    return p;
  }

  /**
   * Hands each row of a result whose columns are (series id INTEGER, t DOUBLE, v DOUBLE) to `row`,
   * chunk by chunk, straight from DuckDB's vectors (no row objects, no column arrays).
   */
  private async eachRow(result: DuckDBResult, row: (id: number, t: number, v: number) => void): Promise<void> {
    for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
      const n = chunk.rowCount;
      const ids = chunk.getColumnVector(0);
      const ts = chunk.getColumnVector(1);
      const vs = chunk.getColumnVector(2);
      for (let i = 0; i < n; i++) row(ids.getItem(i) as number, ts.getItem(i) as number, vs.getItem(i) as number);
    }
  }

  /** Runs a statement on `conn` (default the write connection) and returns its columns (numbers for INTEGER/DOUBLE columns). */
  private async columns(sql: string, params: DuckDBValue[], conn: DuckDBConnection = this.conn): Promise<DuckDBValue[][]> {
    const reader = await conn.runAndReadAll(sql, params);
    const cols = reader.getColumns();
    // an empty result has no chunks, hence no columns: one empty array per column
    while (cols.length < reader.columnCount) cols.push([]);
    return cols;
  }

  async write(points: readonly MetricPoint[]): Promise<void> {
    for (let i = 0; i < points.length; i++) {
      const why = invalidPointReason(points[i]);
      if (why) throw new StreamtuneError('STORE_REJECTED', `point ${i} rejected: ${why}`, { details: { index: i } });
    }
    if (!points.length) return;
    await this.exclusive('write', async () => {
      try {
        await this.writeRows(points);
      } catch (err) {
        // DuckDB may hold part of the batch: the head gives up the batch's times (reads go to DuckDB)
        if (this.head) this.head.forget(points.reduce((m, p) => Math.max(m, p.timestamp), 0));
        throw err;
      }
    });
  }

  /** The body of {@link write}, on the connection: series, points (and the head), text points. */
  private async writeRows(points: readonly MetricPoint[]): Promise<void> {
    {
      const cat = this.catalog;
      const fresh: SeriesInfo[] = [];
      const freshIndex = new Map<string, SeriesInfo>();
      let texts: Array<{ ts: bigint; measurement: string; tags: string; field: string; text: string }> | undefined;
      const rows: Array<{ s: SeriesInfo; ts: bigint; t: number; v: number }> = [];
      const tagCache = new Map<Record<string, string>, string>();
      for (const p of points) {
        let key = tagCache.get(p.tags);
        if (key === undefined) {
          key = tagKey(p.tags ?? {});
          tagCache.set(p.tags, key);
        }
        const ts = BigInt(p.timestamp);
        for (const field in p.fields) {
          const raw = p.fields[field];
          const v = toNumeric(raw);
          if (v === null) {
            if (typeof raw === 'string') (texts ??= []).push({ ts, measurement: p.measurement, tags: key, field, text: raw });
            continue;
          }
          let s = cat.get(p.measurement, key, field);
          if (!s) {
            const fk = `${p.measurement}\u0000${field}\u0000${key}`;
            s = freshIndex.get(fk);
            if (!s) {
              s = { id: cat.nextId++, measurement: p.measurement, field, key, tags: cat.tagsOf(key, p.tags ?? {}), mf: cat.mfOf(p.measurement, field) };
              freshIndex.set(fk, s);
              fresh.push(s);
            }
          }
          rows.push({ s, ts, t: p.timestamp, v });
        }
      }
      if (fresh.length) {
        const sapp = await this.conn.createAppender('series');
        try {
          for (const s of fresh) {
            sapp.appendInteger(s.id);
            sapp.appendVarchar(s.measurement);
            sapp.appendVarchar(s.field);
            sapp.appendVarchar(s.key);
            for (const t of PROMOTED_TAGS) sapp.appendVarchar(s.tags[t] ?? '');
            sapp.endRow();
          }
          sapp.flushSync();
        } finally {
          sapp.closeSync();
        }
        for (const s of fresh) cat.add(s);
      }
      if (rows.length) {
        const app = await this.conn.createAppender('points');
        try {
          for (const r of rows) {
            app.appendInteger(r.s.id);
            app.appendBigInt(r.ts);
            app.appendDouble(r.v);
            app.endRow();
          }
          app.flushSync();
        } finally {
          app.closeSync();
        }
        // in DuckDB now: into the head, in the same synchronous step
        const head = this.head;
        if (head) {
          for (const r of rows) head.add(r.s, r.t, r.v);
          head.settle();
        }
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
    }
  }

  async queryText(measurement: string, field: string, start: number, end: number, where?: SeriesQuery['where']): Promise<Array<{ t: number; tags: Record<string, string>; value: string }>> {
    if (whereMatchesNothing(where)) return [];
    const params: DuckDBValue[] = [measurement, ...bounds(start, end), field];
    const conds = ['measurement = $1', 'ts >= $2', 'ts <= $3', 'field = $4'];
    for (const [key, val] of Object.entries(where ?? {})) conds.push(`${this.jsonTag(key, params)} IN (${this.placeholders(val, params)})`);
    const sql = `SELECT ts::DOUBLE AS t, tags, text FROM text_points WHERE ${conds.join(' AND ')} ORDER BY ts`;
    const [ts, tags, text] = await this.exclusive('queryText', () => this.columns(sql, params, this.readConn), true) as [number[], string[], string[]];
    const out: Array<{ t: number; tags: Record<string, string>; value: string }> = [];
    for (let i = 0; i < (ts?.length ?? 0); i++) out.push({ t: ts[i]!, tags: JSON.parse(tags[i]!) as Record<string, string>, value: text[i]! });
    return out;
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

  /** Adds the values as parameters; returns their placeholders, comma-separated. */
  private placeholders(val: string | readonly string[], params: DuckDBValue[]): string {
    const vals = typeof val === 'string' ? [val] : val;
    return vals.map((v) => {
      params.push(v);
      return `$${params.length}`;
    }).join(', ');
  }

  /** A tag of the JSON `tags` column ('' when absent). */
  private jsonTag(key: string, params: DuckDBValue[]): string {
    params.push(tagPath(key));
    return `coalesce(json_extract_string(tags, $${params.length}), '')`;
  }

  /** A tag of a `series` row: its own column when promoted, else from the JSON ('' when absent). */
  private seriesTag(key: string, params: DuckDBValue[]): string {
    return PROMOTED.has(key) ? `tag_${key}` : this.jsonTag(key, params);
  }

  /**
   * `SELECT id[, extra] FROM series WHERE …`: the series of the given measurements (and fields,
   * when given) whose tags match `where`. Parameters are added to `params`.
   */
  private seriesSql(of: ReadonlyArray<{ measurement: string; field?: string }>, where: SeriesQuery['where'], params: DuckDBValue[], extra: string[] = []): string {
    const any = of.map(({ measurement, field }) => {
      params.push(measurement);
      if (field === undefined) return `measurement = $${params.length}`;
      params.push(field);
      return `(measurement = $${params.length - 1} AND field = $${params.length})`;
    });
    const conds = [any.length === 1 ? any[0]! : `(${any.join(' OR ')})`];
    for (const [key, val] of Object.entries(where ?? {})) conds.push(`${this.seriesTag(key, params)} IN (${this.placeholders(val, params)})`);
    return `SELECT ${['id', ...extra].join(', ')} FROM series WHERE ${conds.join(' AND ')}`;
  }

  async query(q: SeriesQuery): Promise<Series[]> {
    validateQuery(q);
    if (this.closed) throw new StreamtuneError('STORE_UNAVAILABLE', 'embedded store is closed (query)');
    if (whereMatchesNothing(q.where)) return [];
    // no series of this measurement and field at all: nothing to ask DuckDB
    if (!this.catalog.has(q.measurement, q.field)) return [];
    if (this.head) {
      // one event-loop turn first: a batch of reads (a sweep asks ~30 at once) is answered one
      // read per turn, with the API's requests in between, not in one long synchronous run; the
      // range is checked after it, in the same turn as the answer (the head may move meanwhile)
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.closed) throw new StreamtuneError('STORE_UNAVAILABLE', 'embedded store is closed (query)');
      // a range inside the head's: answered from memory
      if (this.head.covers(Math.ceil(q.start))) return this.head.query(q);
    }
    return new Promise<Series[]>((resolve, reject) => {
      this.pending.push({ q, resolve, reject });
      if (this.pending.length > 1) return;
      this.exclusive('query', () => this.runPending(), true).catch((err: unknown) => {
        const waiting = this.pending;
        this.pending = [];
        for (const p of waiting) p.reject(err);
      });
    });
  }

  /**
   * Runs the queries queued since the last run: those of one shape (range, window, aggregate,
   * groupBy, where; they differ in measurement or field) share one statement, so one scan of
   * `points` answers them all (loadJobWindows issues ~30 queries at once, most of one shape).
   */
  private async runPending(): Promise<void> {
    const list = this.pending;
    this.pending = [];
    const byShape = new Map<string, PendingQuery[]>();
    for (const p of list) {
      const q = p.q;
      const where = Object.keys(q.where ?? {}).sort().map((k) => [k, q.where![k]]);
      const shape = JSON.stringify([q.start, q.end, q.window ?? null, q.aggregate ?? null, q.groupBy ?? [], where]);
      let l = byShape.get(shape);
      if (!l) byShape.set(shape, (l = []));
      l.push(p);
    }
    const groups = [...byShape.values()];
    const plans = groups.map((g): ShapePlan | StreamtuneError => {
      try {
        return this.planShape(g.map((p) => p.q));
      } catch (err) {
        return err instanceof StreamtuneError ? err : new StreamtuneError('STORE_REJECTED', `embedded store query failed: ${errorMessage(err)}`, { cause: err });
      }
    });
    // Pipelined: DuckDB runs the statement of shape i + 1 (on its own threads, the result is
    // materialised) while the rows of shape i become series here, on the event loop.
    const start = (i: number): Promise<DuckDBResult> | undefined => {
      const plan = plans[i];
      if (!plan || plan instanceof StreamtuneError) return undefined;
      const r = this.readConn.run(plan.sql, plan.params);
      r.catch(() => undefined); // rejections are handled when shape i is read
      return r;
    };
    let next = start(0);
    for (let i = 0; i < groups.length; i++) {
      const running = next;
      next = undefined;
      try {
        const plan = plans[i]!;
        if (plan instanceof StreamtuneError) throw plan;
        const result = await running!;
        next = start(i + 1);
        await this.eachRow(result, plan.row);
        const answers = plan.finish();
        groups[i]!.forEach((p, k) => p.resolve(answers[k]!));
      } catch (err) {
        const e = err instanceof StreamtuneError ? err : new StreamtuneError('STORE_REJECTED', `embedded store query failed: ${errorMessage(err)}`, { cause: err });
        for (const p of groups[i]!) p.reject(e);
      } finally {
        next ??= start(i + 1);
      }
    }
  }

  /**
   * The one statement that answers queries of one shape (see {@link runPending}): its SQL, a
   * handler for each (series id, t, v) row, and `finish`, which gives the answers in the order of `qs`.
   */
  private planShape(qs: readonly SeriesQuery[]): ShapePlan {
    const q0 = qs[0]!;
    const groupBy = q0.groupBy ?? [];
    const cat = this.catalog;
    // distinct measurement/field pairs; a repeated pair gets a copy of the first one's answer
    const slot = new Map<string, number>();
    const slotOf: number[] = [];
    const uniq: SeriesQuery[] = [];
    for (const q of qs) {
      const k = cat.mfOf(q.measurement, q.field);
      let i = slot.get(k);
      if (i === undefined) {
        slot.set(k, (i = uniq.length));
        uniq.push(q);
      }
      slotOf.push(i);
    }
    const [lo, hi] = bounds(q0.start, q0.end);
    const params: DuckDBValue[] = [lo, hi];
    // per slot: one Series per distinct groupBy projection, found once per series id; each group
    // gets its sort key (the order of sortSeries) when it is made
    const sortKeys = [...new Set(groupBy)].sort();
    const outs = uniq.map(() => new Map<string, Series>());
    const keyOf = new Map<Series, string>();
    const groupOfId = new Map<number, Series>();
    // the group key of a tag set, once per (interned, shared) tags object
    const keyOfTags = new Map<Record<string, string>, string>();
    const groupOf = (id: number): Series => {
      let s = groupOfId.get(id);
      if (s) return s;
      const info = cat.info(id);
      const out = outs[(info && slot.get(info.mf)) ?? 0]!;
      const all = info?.tags ?? {};
      let key = keyOfTags.get(all);
      if (key === undefined) {
        key = '';
        for (const k of sortKeys) key += `${jsonString(all[k] ?? '')},`;
        keyOfTags.set(all, key);
      }
      s = out.get(key);
      if (!s) {
        const tags: Record<string, string> = {};
        for (const k of groupBy) tags[k] = all[k] ?? '';
        out.set(key, (s = { tags, points: [] }));
        keyOf.set(s, key);
      }
      groupOfId.set(id, s);
      return s;
    };
    /** The series of each slot in the order of sortSeries (all groups of a slot have the groupBy keys). */
    const sorted = (list: Series[]): Series[] => {
      const keyed = list.map((x) => ({ k: keyOf.get(x)!, x }));
      keyed.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
      return keyed.map((e) => e.x);
    };
    // rows come ordered by series (or group), so the group is looked up once per run of rows
    let lastId = -1;
    let lastPoints: Sample[] = [];
    const push = (id: number, t: number, v: number): void => {
      if (id !== lastId) {
        lastId = id;
        lastPoints = groupOf(id).points;
      }
      lastPoints.push({ t, v });
    };
    const given = new Set<number>();
    const answer = (perSlot: Series[][]): Series[][] =>
      slotOf.map((i) => {
        if (!given.has(i)) {
          given.add(i);
          return perSlot[i]!;
        }
        return perSlot[i]!.map((x) => ({ tags: { ...x.tags }, points: x.points.map((p) => ({ t: p.t, v: p.v })) }));
      });

    if (q0.aggregate && q0.aggregate !== 'rate') {
      const w = q0.window!;
      // gid numbers the groups of the matching series (few rows), so points are grouped by one integer
      const gexprs = groupBy.map((k) => this.seriesTag(k, params));
      const s = this.seriesSql(uniq, q0.where, params, [`dense_rank() OVER (ORDER BY ${['measurement', 'field', ...gexprs].join(', ')}) AS gid`]);
      const agg = { mean: 'avg(p.value)', max: 'max(p.value)', min: 'min(p.value)', sum: 'sum(p.value)', last: 'arg_max(p.value, p.ts)' }[q0.aggregate];
      // min(s.id): a series of the group (with a point in that window), through which the catalog gives the group's tags.
      // Ordered by group, then window: a group's windows arrive together, in time order (ordering by sid mixed up the
      // windows of a group of several series: each window's sid is the least id with a point in that window)
      const sql = `WITH s AS (${s}) SELECT min(s.id) AS sid, ((p.ts // ${w}) * ${w})::DOUBLE AS t, ${agg}::DOUBLE AS v FROM points p JOIN s ON p.series_id = s.id WHERE p.ts >= $1 AND p.ts <= $2 GROUP BY s.gid, t ORDER BY s.gid, t`;
      return { sql, params, row: push, finish: () => answer(outs.map((o) => sorted([...o.values()]))) };
    }

    const s = this.seriesSql(uniq, q0.where, params);
    if (!q0.aggregate) {
      // raw points of a group in time order (the points of its series interleaved, as before)
      const sql = `WITH s AS (${s}) SELECT p.series_id AS sid, p.ts::DOUBLE AS t, p.value AS v FROM points p JOIN s ON p.series_id = s.id WHERE p.ts >= $1 AND p.ts <= $2 ORDER BY p.ts`;
      return { sql, params, row: push, finish: () => answer(outs.map((o) => sorted([...o.values()]))) };
    }
    // rate: per series (rows ordered by series, then time), then summed per group
    const sql = `WITH s AS (${s}) SELECT p.series_id AS sid, p.ts::DOUBLE AS t, p.value AS v FROM points p JOIN s ON p.series_id = s.id WHERE p.ts >= $1 AND p.ts <= $2 ORDER BY p.series_id, p.ts`;
    const parts = new Map<Series, Sample[][]>();
    let samples: Sample[] = [];
    let current = -1;
    const flush = (): void => {
      if (current < 0) return;
      const g = groupOf(current);
      let l = parts.get(g);
      if (!l) parts.set(g, (l = []));
      l.push(counterRate(samples, q0.window!));
    };
    const row = (id: number, t: number, v: number): void => {
      if (id !== current) {
        flush();
        current = id;
        samples = [];
      }
      samples.push({ t, v });
    };
    const finish = (): Series[][] => {
      flush();
      return answer(outs.map((o) => {
        const series: Series[] = [];
        for (const g of o.values()) {
          const p = parts.get(g);
          const points = p ? sumByWindow(p) : [];
          if (points.length) series.push({ tags: g.tags, points });
        }
        return sorted(series);
      }));
    };
    return { sql, params, row, finish };
  }

  async tagValues(measurement: string, tag: string, start: number, end: number, where?: SeriesQuery['where']): Promise<string[]> {
    if (whereMatchesNothing(where)) return [];
    if (this.closed) throw new StreamtuneError('STORE_UNAVAILABLE', 'embedded store is closed (tagValues)');
    if (this.head) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.closed) throw new StreamtuneError('STORE_UNAVAILABLE', 'embedded store is closed (tagValues)');
      if (this.head.covers(Math.ceil(start))) return this.head.tagValues(measurement, tag, start, end, where);
    }
    const params: DuckDBValue[] = [...bounds(start, end)];
    const s = this.seriesSql([{ measurement }], where, params, [`${this.seriesTag(tag, params)} AS v`]);
    const sql = `WITH s AS (${s}) SELECT DISTINCT s.v FROM points p JOIN s ON p.series_id = s.id WHERE p.ts >= $1 AND p.ts <= $2 AND s.v <> '' ORDER BY s.v`;
    const [vs] = await this.exclusive('tagValues', () => this.columns(sql, params, this.readConn), true) as [string[]];
    return (vs ?? []).filter((v): v is string => typeof v === 'string' && v !== '');
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
    const rows = await this.exclusive('queryLogs', async () => (await this.readConn.runAndReadAll(sql, params)).getRowObjectsJS(), true);
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
      this.head?.dropBefore(cutoff);
      if (Number(p.rowsChanged) > 0) {
        // series left without points (e.g. jobs gone for retentionDays) leave the catalog too
        const gone = (await this.columns('DELETE FROM series WHERE id NOT IN (SELECT DISTINCT series_id FROM points) RETURNING id', []))[0] ?? [];
        this.catalog.forgetRetired();
        for (const id of gone) this.catalog.remove(id as number);
      }
      return { points: Number(p.rowsChanged) + Number(t.rowsChanged), logs: Number(l.rowsChanged) };
    });
    if (res.points || res.logs) this.log.info('retention deleted old rows', { ...res, cutoff });
    return res;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.timer) clearInterval(this.timer);
    await Promise.all([this.chain, this.readChain]);
    this.closed = true;
    this.readConn.closeSync();
    this.conn.closeSync();
    this.instance.closeSync();
  }
}
