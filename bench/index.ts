/**
 * `npm run bench`: runs every benchmark module under bench/ that exports `run(): Promise<BenchRow[]>`,
 * prints one table, and writes it to BENCHMARKS.md with the date, machine and Node version.
 * Usage: `npm run bench [-- NAME ...]` to run only the named modules (e.g. `store runtime`, `accuracy`).
 * A full run rewrites BENCHMARKS.md and keeps the accuracy section (bench/accuracy.ts writes it).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { basename } from 'node:path';
import type { BenchRow } from './types.ts';

/** Markers of the section bench/accuracy.ts writes (kept when this rewrites BENCHMARKS.md). */
const ACCURACY_START = '<!-- accuracy:start -->';
const ACCURACY_END = '<!-- accuracy:end -->';

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
const lines = ['| suite | measurement | value | unit | target |', '|---|---|---:|---|---|', ...rows.map((r) => `| ${r.suite} | ${r.name} | ${fmt(r.value)} | ${r.unit} | ${r.target ?? ''} |`)];
const table = lines.join('\n');
process.stdout.write(`${table}\n`);
if (only.length === 0) {
  const cpu = cpus();
  const file = new URL('../BENCHMARKS.md', import.meta.url);
  // the accuracy benchmark's own section (confusion matrix, misclassified runs) is kept
  const previous = readFileSync(file, 'utf8');
  const a = previous.indexOf(ACCURACY_START);
  const b = previous.indexOf(ACCURACY_END);
  const accuracy = a >= 0 && b > a ? `\n${previous.slice(a, b + ACCURACY_END.length)}\n` : '';
  writeFileSync(
    file,
    `# Benchmarks\n\nLatest \`npm run bench\`, ${new Date().toISOString().slice(0, 10)}, ${cpu.length} × ${cpu[0]?.model ?? 'cpu'}, Node ${process.version}. Whole-process figures on a shared machine: compare medians of repeated runs, not single numbers.\n\n${table}\n${accuracy}`,
  );
}
