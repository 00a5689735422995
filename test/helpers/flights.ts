/** Ground truth for the flights job from DuckDB, and reading committed JSONL output. */
import { DuckDBInstance } from '@duckdb/node-api';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveDataPath } from '../../runtime/paths.ts';

/** Path of flights-3m.parquet in the installed vega-datasets package. */
export const FLIGHTS_3M = resolveDataPath('pkg:vega-datasets/data/flights-3m.parquet', process.cwd());

/**
 * The first `limit` rows in the order the runtime's dataset source reads them
 * (runtime/sources/dataset-loader.ts): by event time, ties broken by the row's number in the
 * Parquet file (`file_row_number`).
 */
export function flightsInReadOrder(limit: number): string {
  return `(SELECT * EXCLUDE (file_row_number) FROM read_parquet('${FLIGHTS_3M}', file_row_number = true) ORDER BY date, file_row_number LIMIT ${Math.floor(limit)})`;
}

/** Per-origin count and sum of delay over the first `limit` rows in the dataset source's order (all rows when absent). */
export async function groundTruth(limit?: number): Promise<Map<string, { count: number; sumDelay: number }>> {
  const inst = await DuckDBInstance.create(':memory:');
  const con = await inst.connect();
  const src = limit === undefined ? `'${FLIGHTS_3M}'` : flightsInReadOrder(limit);
  const r = await con.runAndReadAll(`SELECT origin, count(*)::DOUBLE, sum(delay)::DOUBLE FROM ${src} GROUP BY origin`);
  const m = new Map<string, { count: number; sumDelay: number }>();
  for (const row of r.getRows()) m.set(String(row[0]), { count: Number(row[1]), sumDelay: Number(row[2]) });
  con.closeSync();
  inst.closeSync();
  return m;
}

/** Committed JSONL records of a sink directory (visible part files only). */
export function committedRecords(dir: string): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const f of readdirSync(dir).sort()) {
    if (!f.endsWith('.jsonl') || f.startsWith('.')) continue;
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) if (line) out.push(JSON.parse(line) as Record<string, unknown>);
  }
  return out;
}

/** Per-origin sums of `count` and `sumDelay` over window results. */
export function sumsByOrigin(records: Array<Record<string, unknown>>): Map<string, { count: number; sumDelay: number }> {
  const m = new Map<string, { count: number; sumDelay: number }>();
  for (const r of records) {
    const e = m.get(String(r.origin)) ?? { count: 0, sumDelay: 0 };
    e.count += Number(r.count);
    e.sumDelay += Number(r.sumDelay);
    m.set(String(r.origin), e);
  }
  return m;
}

/** Window results must be unique per (origin, windowStart): returns the duplicates. */
export function duplicateWindows(records: Array<Record<string, unknown>>): string[] {
  const seen = new Set<string>();
  const dup: string[] = [];
  for (const r of records) {
    const k = `${String(r.origin)}|${String(r.windowStart)}`;
    if (seen.has(k)) dup.push(k);
    seen.add(k);
  }
  return dup;
}
