/**
 * Tuner benchmark: how many tuning steps the diagnose → apply loop needs to fix an under-provisioned
 * vertex on the bundled runtime, how close the parallelism it lands on is to the smallest one that
 * keeps up (found by trying each), and the downtime of each stop-with-savepoint → restore.
 *
 * Three bottleneck sizes: `enrich` spends {@link LATENCIES_MS} ms per record (a blocking remote
 * call) while the source replays the flights dataset at 1,000 records/s: 1.6, 3 and 5.6 subtasks'
 * worth of work, so at least 2, 3 and 6 subtasks are needed (what `smallest` finds; the planner,
 * sizing with headroom, lands one above in the two larger cases). For each size, in separate child processes (bench/_tuner-child.ts, see there for the
 * method): `smallest` (each parallelism tried for 14 s), then the loop with the built-in rules
 * ('shipped': the built-in rules with the bundled runtime's restart time, as the control plane runs
 * them) and, for comparison, with the Flink autoscaler's defaults ('flink-defaults': restart time
 * 5 min, target utilisation 0.7).
 *
 * Targets (issue 5): one step in each case, final parallelism ≤ smallest + 1, downtime ≤ 2,000 ms.
 * Run: `node --import tsx bench/tuner.ts` (prints the table), or through bench/index.ts via `run()`.
 * Takes about 8 minutes on 2 shared cores. Throws when a child run fails.
 */
import { fileURLToPath } from 'node:url';
import type { TunerChildResult } from './_tuner-child.ts';
import type { BenchRow } from './types.ts';
import { runBenchChild } from './_child.ts';

const CHILD = fileURLToPath(new URL('./_tuner-child.ts', import.meta.url));

/** ms per record in `enrich` for the three bottleneck sizes (1.6, 3 and 5.6 subtasks' worth of work at 1,000 records/s). */
export const LATENCIES_MS = [1.6, 3.0, 5.6] as const;
/** planner settings the loop runs with; see the module comment. */
export const PLANNERS = ['shipped', 'flink-defaults'] as const;

/** Runs one measured child in its own process; resolves with its result. */
const child = (args: string[]): Promise<TunerChildResult> => runBenchChild<TunerChildResult>(CHILD, args, { echoStderr: true });

/** Runs the tuner benchmark; see the module comment. */
export async function run(): Promise<BenchRow[]> {
  const suite = 'tuner';
  const rows: BenchRow[] = [];
  for (const latency of LATENCIES_MS) {
    const sm = await child(['smallest', String(latency)]);
    const smallest = sm.smallest ?? Number.NaN;
    const size = `enrich ${latency} ms/record`;
    rows.push({ suite, name: `${size}: smallest parallelism that keeps up (tried each)`, value: smallest, unit: 'subtasks' });
    for (const planner of PLANNERS) {
      const r = await child(['loop', String(latency), planner]);
      const steps = r.steps ?? [];
      const label = `${size}, ${planner} planner`;
      rows.push({ suite, name: `${label}: tuning steps (${r.stopReason})`, value: steps.length, unit: 'steps', target: '1' });
      rows.push({ suite, name: `${label}: final parallelism (1 → ${steps.map((s) => s.to).join(' → ') || 'unchanged'})`, value: r.finalParallelism ?? Number.NaN, unit: 'subtasks', target: `<= ${smallest + 1} (smallest + 1)` });
      rows.push({ suite, name: `${label}: downtime per operation, max`, value: steps.length ? Math.max(...steps.map((s) => s.downtimeMs)) : Number.NaN, unit: 'ms', target: '<= 2000 ms' });
      rows.push({ suite, name: `${label}: stop-with-savepoint per operation, max`, value: steps.length ? Math.max(...steps.map((s) => s.stopMs)) : Number.NaN, unit: 'ms' });
    }
  }
  return rows;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { formatTable } = await import('./runtime.ts');
  process.stdout.write(`${formatTable(await run())}\n`);
}
