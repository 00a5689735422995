/**
 * `npm run bench -- flink` (issues 15 and 16): the benchmarks on a real Flink 1.20 cluster, in one
 * module so that a full `npm run bench` runs each once.
 *
 * - `rest` (suite 'flink-rest', bench/_flink-rest.ts): the REST collection round of 20 jobs against
 *   the 5 s collection interval; about 5 minutes.
 * - `tuning` (suite 'flink-tuning', bench/_flink-tuning.ts): streamtune's auto mode against the Flink
 *   autoscaler on the same lagging job, 3 sizes × 3 tuners × runs; hours (its header lists the
 *   `STREAMTUNE_BENCH_FLINK_SIZES`, `_CONFIGS`, `_RUNS` and `_MAX_RUN_MS` variables that pick a part).
 *
 * `STREAMTUNE_BENCH_FLINK=rest` or `=tuning` (comma-separated; default both) picks the parts; each
 * part also runs alone with `node --import tsx bench/_flink-rest.ts` / `bench/_flink-tuning.ts`.
 * A part that throws becomes one FAILED row and the other part still runs.
 */
import type { BenchRow } from './types.ts';

/** The parts, in the order they run. */
const PARTS = {
  rest: async (): Promise<BenchRow[]> => (await import('./_flink-rest.ts')).run(),
  tuning: async (): Promise<BenchRow[]> => (await import('./_flink-tuning.ts')).run(),
} as const;
type Part = keyof typeof PARTS;

/** Runs the parts `STREAMTUNE_BENCH_FLINK` names (default all); never throws (a failed part is a row). */
export async function run(): Promise<BenchRow[]> {
  const wanted = (process.env.STREAMTUNE_BENCH_FLINK ?? Object.keys(PARTS).join(','))
    .split(',')
    .map((p) => p.trim())
    .filter((p): p is Part => p in PARTS);
  const rows: BenchRow[] = [];
  for (const part of wanted) {
    process.stderr.write(`bench flink: ${part}...\n`);
    try {
      rows.push(...(await PARTS[part]()));
    } catch (err) {
      rows.push({ suite: `flink-${part}`, name: `FAILED: ${(err as Error).message}`, value: Number.NaN, unit: '' });
    }
  }
  return rows;
}
