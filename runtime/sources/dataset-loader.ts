/**
 * Loads a dataset file (parquet, JSON lines or CSV) through DuckDB into compact columns, in
 * event-time order, progressively: readers may start on the first rows while the rest loads. One
 * load per (file, columns, limit) is shared by every subtask in the process.
 */
import { DuckDBInstance, type DuckDBDataChunk } from '@duckdb/node-api';
import { existsSync } from 'node:fs';
import { StreamtuneError } from '../../core/index.ts';
import { compileObjectBuilder } from '../operators/codegen.ts';

/** A column: numbers in a Float64Array, strings dictionary-encoded, anything else as values. */
export type Column =
  | { kind: 'num'; data: Float64Array }
  | { kind: 'dict'; codes: Int32Array; dict: string[]; index: Map<string, number> }
  | { kind: 'any'; data: unknown[] };

/** A dataset being loaded. */
export interface LoadedDataset {
  readonly total: number;
  /** rows loaded so far */
  loaded: number;
  done: boolean;
  error: Error | undefined;
  readonly names: string[];
  readonly columns: Column[];
  /** event time of each row, ms */
  readonly ts: Float64Array;
  /** resolves when more rows are loaded (or loading ended) */
  progress(): Promise<void>;
  /** row as a record */
  row(i: number): Record<string, unknown>;
}

const cache = new Map<string, Promise<LoadedDataset>>();

/**
 * The values of column `c` of a chunk as a typed array of `n` items. The query makes every column
 * non-null DOUBLE or INTEGER, whose DuckDB vectors keep their data in a typed array (`items`, not
 * in the package's typings); when a vector has none, the values are read one by one.
 */
function vectorItems<T extends Float64Array | Int32Array>(chunk: DuckDBDataChunk, c: number, kind: { new (n: number): T }, n: number): T {
  const vec = chunk.getColumnVector(c);
  const items = (vec as unknown as { items?: unknown }).items;
  if (items instanceof kind && items.length === n) return items as T;
  const out = new kind(n);
  for (let i = 0; i < n; i++) {
    const v = vec.getItem(i);
    out[i] = v === null || v === undefined ? (kind === (Float64Array as unknown) ? Number.NaN : -1) : Number(v);
  }
  return out;
}

function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}
function ident(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

/**
 * A generated `row(i)` building each record as one object literal (see `operators/codegen.ts`):
 * numbers (NaN → null), dictionary strings (code −1 → null), other values as stored. Undefined when
 * the names cannot be literal keys (the caller keeps its generic loop).
 */
function compiledRow(names: string[], columns: Column[]): ((i: number) => Record<string, unknown>) | undefined {
  const bound: Record<string, unknown> = {};
  const fields: Array<[string, string]> = names.map((n, c) => {
    const col = columns[c]!;
    if (col.kind === 'num') {
      bound[`c${c}`] = col.data;
      return [n, `(c${c}[i] !== c${c}[i] ? null : c${c}[i])`];
    }
    if (col.kind === 'dict') {
      bound[`k${c}`] = col.codes;
      bound[`d${c}`] = col.dict;
      return [n, `(k${c}[i] < 0 ? null : d${c}[k${c}[i]])`];
    }
    bound[`a${c}`] = col.data;
    return [n, `a${c}[i]`];
  });
  return compileObjectBuilder<(i: number) => Record<string, unknown>>(bound, ['i'], fields);
}

/** Options of {@link loadDataset}. */
export interface DatasetOptions {
  path: string;
  format: 'parquet' | 'jsonl' | 'csv';
  eventTime: string;
  columns?: string[];
  limit?: number;
}

/** Infers the format from a file name. */
export function formatOf(path: string): 'parquet' | 'jsonl' | 'csv' {
  if (/\.parquet$/i.test(path)) return 'parquet';
  if (/\.(jsonl|ndjson|json)$/i.test(path)) return 'jsonl';
  if (/\.csv$/i.test(path)) return 'csv';
  throw new StreamtuneError('INVALID_SPEC', `cannot tell the format of ${path}: give format: parquet | jsonl | csv`);
}

/** Starts (or joins) the load of a dataset. Throws INVALID_SPEC when the file or columns are wrong. */
export function loadDataset(opts: DatasetOptions): Promise<LoadedDataset> {
  const key = JSON.stringify(opts);
  let p = cache.get(key);
  if (!p) {
    p = startLoad(opts);
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  return p;
}

async function startLoad(opts: DatasetOptions): Promise<LoadedDataset> {
  if (!existsSync(opts.path)) throw new StreamtuneError('INVALID_SPEC', `dataset file not found: ${opts.path}`);
  const reader =
    opts.format === 'parquet'
      ? `read_parquet(${sqlString(opts.path)})`
      : opts.format === 'csv'
        ? `read_csv_auto(${sqlString(opts.path)})`
        : `read_json_auto(${sqlString(opts.path)}, format='newline_delimited')`;
  const instance = await DuckDBInstance.create(':memory:');
  const con = await instance.connect();
  let described: Array<[string, string]>;
  try {
    const d = await con.runAndReadAll(`DESCRIBE SELECT * FROM ${reader}`);
    described = d.getRows().map((r) => [String(r[0]), String(r[1])]);
  } catch (err) {
    throw new StreamtuneError('INVALID_SPEC', `cannot read dataset ${opts.path}: ${(err as Error).message}`, { cause: err });
  }
  const types = new Map(described);
  if (!types.has(opts.eventTime)) {
    throw new StreamtuneError('INVALID_SPEC', `dataset ${opts.path} has no event-time column '${opts.eventTime}' (columns: ${[...types.keys()].join(', ')})`);
  }
  const names = opts.columns ?? [...types.keys()];
  for (const n of names) if (!types.has(n)) throw new StreamtuneError('INVALID_SPEC', `dataset ${opts.path} has no column '${n}'`);
  const isNumeric = (t: string) => /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|DOUBLE|DECIMAL.*)$/.test(t);
  const isTime = (t: string) => /^(TIMESTAMP.*|DATE)$/.test(t);
  const tsType = types.get(opts.eventTime)!;
  const tsExpr = isTime(tsType)
    ? `CAST(epoch_ms(CAST(${ident(opts.eventTime)} AS TIMESTAMP)) AS DOUBLE)`
    : isNumeric(tsType)
      ? `CAST(${ident(opts.eventTime)} AS DOUBLE)`
      : `CAST(epoch_ms(CAST(${ident(opts.eventTime)} AS TIMESTAMP)) AS DOUBLE)`;
  // Strings are dictionary-encoded by DuckDB, not in JS: each string column gets an ENUM type of its
  // distinct values, and the query returns the ENUM codes as INTEGER (−1 for NULL). JS then copies
  // typed vectors instead of decoding and hashing one string per row; the dictionary is read once.
  const dicts = new Map<string, string[]>();
  for (const [c, n] of names.entries()) {
    const t = types.get(n)!;
    if (isNumeric(t) || isTime(t)) continue;
    const asText = t === 'VARCHAR' ? ident(n) : `CAST(${ident(n)} AS VARCHAR)`;
    // sorted: the codes (and so the tie-break of the ORDER BY below) are the same at every load
    await con.run(`CREATE TYPE ${ident(`st_dict_${c}`)} AS ENUM (SELECT DISTINCT ${asText} AS v FROM ${reader} WHERE ${ident(n)} IS NOT NULL ORDER BY v)`);
    const values = await con.runAndReadAll(`SELECT unnest(enum_range(NULL::${ident(`st_dict_${c}`)}))`);
    dicts.set(n, values.getRows().map((r) => String(r[0])));
  }
  const exprs = names.map((n, c) => {
    const t = types.get(n)!;
    if (isNumeric(t)) return `coalesce(CAST(${ident(n)} AS DOUBLE), 'NaN'::DOUBLE)`;
    if (isTime(t)) return `coalesce(CAST(epoch_ms(CAST(${ident(n)} AS TIMESTAMP)) AS DOUBLE), 'NaN'::DOUBLE)`;
    const asText = t === 'VARCHAR' ? ident(n) : `CAST(${ident(n)} AS VARCHAR)`;
    if (dicts.get(n)!.length === 0) return 'CAST(-1 AS INTEGER)';
    return `coalesce(CAST(enum_code(CAST(${asText} AS ${ident(`st_dict_${c}`)})) AS INTEGER), -1)`;
  });
  const limit = opts.limit !== undefined ? ` LIMIT ${Math.floor(opts.limit)}` : '';
  const countRes = await con.runAndReadAll(`SELECT count(*) FROM (SELECT 1 FROM ${reader}${limit})`);
  const total = Number(countRes.getRows()[0]![0]);
  const columns: Column[] = names.map((n) => {
    const t = types.get(n)!;
    if (isNumeric(t) || isTime(t)) return { kind: 'num', data: new Float64Array(total) };
    const dict = dicts.get(n)!;
    return { kind: 'dict', codes: new Int32Array(total), dict, index: new Map(dict.map((v, i) => [v, i])) };
  });
  const ts = new Float64Array(total);
  let waiters: Array<() => void> = [];
  const ds: LoadedDataset = {
    total,
    loaded: 0,
    done: total === 0,
    error: undefined,
    names,
    columns,
    ts,
    progress() {
      if (ds.done) return Promise.resolve();
      return new Promise<void>((r) => waiters.push(r));
    },
    row: compiledRow(names, columns) ?? function row(i: number) {
      const o: Record<string, unknown> = {};
      for (let c = 0; c < names.length; c++) {
        const col = columns[c]!;
        if (col.kind === 'num') {
          const v = col.data[i]!;
          o[names[c]!] = Number.isNaN(v) ? null : v;
        } else if (col.kind === 'dict') {
          const code = col.codes[i]!;
          o[names[c]!] = code < 0 ? null : col.dict[code];
        } else o[names[c]!] = col.data[i];
      }
      return o;
    },
  };
  const wake = () => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };
  // Rows of equal event time are ordered by every column after it (strings by their sorted ENUM
  // code), or by their row number in a Parquet file: DuckDB's ORDER BY is not stable (parallel sort), and a savepoint keeps positions (rows read
  // per split), so the order must be the same at every load or a restore in a new process skips some
  // rows and reads others twice (seen on flights-3m, where many flights share a minute: 373 of 3M
  // rows at other positions between two loads). Identical rows are interchangeable.
  // A Parquet file numbers its rows (`file_row_number`), a unique tie-break that sorts faster than
  // every column (about 200 ms less on flights-3m, measured by bench/runtime.ts).
  const sortFrom = opts.format === 'parquet' ? `read_parquet(${sqlString(opts.path)}, file_row_number = true)` : reader;
  const tieBreak = opts.format === 'parquet' ? ', file_row_number' : exprs.map((_, i) => `, ${i + 2}`).join('');
  const sql = `SELECT coalesce(${tsExpr}, 0), ${exprs.join(', ')} FROM ${sortFrom} ORDER BY ${ident(opts.eventTime)}${tieBreak}${limit}`;
  void (async () => {
    try {
      const result = await con.stream(sql);
      let row = 0;
      for (;;) {
        const chunk = await result.fetchChunk();
        if (!chunk || chunk.rowCount === 0) break;
        const n = chunk.rowCount;
        ts.set(vectorItems(chunk, 0, Float64Array, n), row);
        for (let c = 0; c < names.length; c++) {
          const col = columns[c]!;
          if (col.kind === 'num') col.data.set(vectorItems(chunk, c + 1, Float64Array, n), row);
          else if (col.kind === 'dict') col.codes.set(vectorItems(chunk, c + 1, Int32Array, n), row);
        }
        row += n;
        ds.loaded = row;
        wake();
      }
      ds.done = true;
    } catch (err) {
      ds.error = err as Error;
      ds.done = true;
    } finally {
      wake();
      con.closeSync();
      instance.closeSync();
    }
  })();
  return ds;
}
