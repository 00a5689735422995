/** Lookup join against a CSV dimension table, with a per-record latency standing for a remote lookup. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'csv-parse/sync';
import { StreamtuneError } from '../../core/index.ts';
import type { LookupSpec } from '../spec.ts';
import { LatencyDebt } from './sleep.ts';
import type { Operator, OperatorContext, Output, Rec } from './types.ts';
import { resolveDataPath } from '../paths.ts';
import { compileFieldCopy } from './codegen.ts';

/** Loads a CSV table (header row) into a map by `keyColumn`. Throws INVALID_SPEC naming the file. */
export function loadCsvTable(file: string, keyColumn: string): Map<string, Record<string, string>> {
  let rows: Record<string, string>[];
  try {
    rows = parse(readFileSync(file), { columns: true, skip_empty_lines: true, bom: true }) as Record<string, string>[];
  } catch (err) {
    throw new StreamtuneError('INVALID_SPEC', `cannot read lookup table ${file}: ${(err as Error).message}`, { cause: err });
  }
  if (rows.length > 0 && !(keyColumn in rows[0]!)) {
    throw new StreamtuneError('INVALID_SPEC', `lookup table ${file} has no column '${keyColumn}' (columns: ${Object.keys(rows[0]!).join(', ')})`);
  }
  const m = new Map<string, Record<string, string>>();
  for (const r of rows) m.set(r[keyColumn]!, r);
  return m;
}

const tables = new Map<string, Map<string, Record<string, string>>>();

/** Lookup operator: copies `columns` of the matching table row into each record. */
export function createLookup(spec: LookupSpec): Operator {
  let table: Map<string, Record<string, string>>;
  const cols = Object.entries(spec.columns);
  const latency = spec.latencyMs ?? 0;
  const debt = new LatencyDebt();
  const drop = spec.onMissing === 'drop';
  const keyField = spec.key;
  const copy =
    compileFieldCopy(cols) ??
    ((r: Rec, row: Record<string, string> | undefined) => {
      for (const [field, col] of cols) r[field] = row ? row[col] ?? null : null;
    });
  return {
    open(ctx: OperatorContext) {
      const file = resolveDataPath(spec.table, ctx.baseDir);
      const cacheKey = `${resolve(file)}|${spec.tableKey}`;
      table = tables.get(cacheKey) ?? loadCsvTable(file, spec.tableKey);
      tables.set(cacheKey, table);
    },
    processBatch(values: Rec[], ts: number[], out: Output): Promise<unknown> | undefined {
      for (let i = 0; i < values.length; i++) {
        const r = values[i]!;
        const k = r[keyField];
        const row = table.get(typeof k === 'string' ? k : String(k));
        if (!row && drop) continue;
        copy(r, row);
        out.emit(r, ts[i]!);
      }
      if (latency <= 0) return undefined;
      // a promise only when a sleep is due: the subtask counts its wait as the lookup's busy time
      debt.add(latency * values.length);
      return debt.pay();
    },
  };
}
