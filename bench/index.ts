/**
 * `npm run bench`: runs every benchmark module under bench/ that exports `run(): Promise<BenchRow[]>`,
 * prints one table, and puts its rows into BENCHMARKS.md's table of all rows (see {@link mergeRows}):
 * the rows of each suite that ran replace that suite's rows; the rest of the file is left as it is.
 * Usage: `npm run bench [-- NAME ...]` to run only the named modules (e.g. `store runtime`, `accuracy`).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { basename } from 'node:path';
import { mergeRows, TABLE_HEAD } from './_rows.ts';
import type { BenchRow } from './types.ts';

const only = process.argv.slice(2);
const dir = new URL('.', import.meta.url);
const modules = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && !['index.ts', 'types.ts'].includes(f) && !f.startsWith('_'))
  .map((f) => basename(f, '.ts'))
  .filter((n) => only.length === 0 || only.includes(n))
  .sort();

const rows: BenchRow[] = [];
for (const name of modules) {
  const mod = (await import(new URL(`./${name}.ts`, dir).href)) as { run?: () => Promise<BenchRow[]> };
  if (typeof mod.run !== 'function') continue;
  process.stderr.write(`bench: ${name}...\n`);
  try {
    rows.push(...(await mod.run()));
  } catch (err) {
    rows.push({ suite: name, name: `FAILED: ${(err as Error).message}`, value: Number.NaN, unit: '' });
  }
}

const fmt = (v: number) => (Number.isFinite(v) ? (Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(2)) : 'n/a');
const today = new Date().toISOString().slice(0, 10);
const line = (r: BenchRow) => `| ${r.suite} | ${r.name} | ${fmt(r.value)} | ${r.unit} | ${r.target ?? ''} | ${today} |`;
process.stdout.write(`${[TABLE_HEAD, ...rows.map(line)].join('\n')}\n`);

const file = new URL('../BENCHMARKS.md', import.meta.url);
const cpu = cpus();
writeFileSync(file, mergeRows(readFileSync(file, 'utf8'), rows.map((r) => ({ suite: r.suite, line: line(r) })), `${today}, ${cpu.length} × ${cpu[0]?.model ?? 'cpu'}, Node ${process.version}`));
