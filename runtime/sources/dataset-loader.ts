/**
 * Loads a dataset file (parquet, JSON lines or CSV) through DuckDB into compact columns, in
 * event-time order, progressively: readers may start on the first rows while the rest loads. One
 * load per (file, columns, limit) is shared by every subtask in the process.
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { existsSync } from 'node:fs';
import { StreamtuneError } from '../../core/errors.ts';

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

function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}
function ident(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
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
  const exprs = names.map((n) => {
    const t = types.get(n)!;
    if (isNumeric(t)) return `CAST(${ident(n)} AS DOUBLE)`;
    if (isTime(t)) return `CAST(epoch_ms(CAST(${ident(n)} AS TIMESTAMP)) AS DOUBLE)`;
    if (t === 'VARCHAR') return ident(n);
    return `CAST(${ident(n)} AS VARCHAR)`;
  });
  const limit = opts.limit !== undefined ? ` LIMIT ${Math.floor(opts.limit)}` : '';
  const countRes = await con.runAndReadAll(`SELECT count(*) FROM (SELECT 1 FROM ${reader}${limit})`);
  const total = Number(countRes.getRows()[0]![0]);
  const columns: Column[] = names.map((n) => {
    const t = types.get(n)!;
    if (isNumeric(t) || isTime(t)) return { kind: 'num', data: new Float64Array(total) };
    return { kind: 'dict', codes: new Int32Array(total), dict: [], index: new Map() };
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
    row(i: number) {
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
  const sql = `SELECT ${tsExpr}, ${exprs.join(', ')} FROM ${reader} ORDER BY ${ident(opts.eventTime)}${limit}`;
  void (async () => {
    try {
      const result = await con.stream(sql);
      let row = 0;
      for (;;) {
        const chunk = await result.fetchChunk();
        if (!chunk || chunk.rowCount === 0) break;
        const cols = chunk.getColumns();
        const n = chunk.rowCount;
        const tcol = cols[0]!;
        for (let i = 0; i < n; i++) ts[row + i] = Number(tcol[i]);
        for (let c = 0; c < names.length; c++) {
          const src = cols[c + 1]!;
          const col = columns[c]!;
          if (col.kind === 'num') {
            for (let i = 0; i < n; i++) {
              const v = src[i];
              col.data[row + i] = v === null || v === undefined ? Number.NaN : Number(v);
            }
          } else if (col.kind === 'dict') {
            for (let i = 0; i < n; i++) {
              const v = src[i];
              if (v === null || v === undefined) {
                col.codes[row + i] = -1;
                continue;
              }
              const s = String(v);
              let code = col.index.get(s);
              if (code === undefined) {
                code = col.dict.length;
                col.dict.push(s);
                col.index.set(s, code);
              }
              col.codes[row + i] = code;
            }
          }
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
