/**
 * Runtime benchmark: throughput, memory and savepoint downtime of the bundled runtime on this
 * machine, every job run in its own child process (bench/_runtime-child.ts) so peak RSS and the
 * dataset cache belong to one run. Jobs run with checkpoints every 10 s and `metricPoints()` pulled
 * every 5 s, as the collector would.
 *
 * Rows (suite 'runtime'):
 * - flights job (jobs/flight-delays.yaml, 3,000,000 rows, JSONL output to a temp dir) records/s at
 *   `delay-by-origin` parallelism 1, 2, 4 — wall time start() → done(), median of the repeats;
 * - stateless dataset-source → map → filter → discard-sink records/s;
 * - the same flights aggregation as a plain Node.js stream pipeline, records/s, and runtime/plain
 *   (the plain pipeline's output is checked to be the same result set as the runtime's);
 * - peak RSS of a parallelism-1 flights run (bytes, the highest of the repeats);
 * - savepoint of ~1M keys of window state: bytes, stop-with-savepoint ms, restore ms (new job →
 *   first record processed) and downtime (last record before the stop → first after the restore);
 * - a CPU-bound vertex (a map burning 0.2 ms per record) at parallelism 1 and 2 on 2 TaskManagers,
 *   records/s, and the speed-up (target ≥ 1.7 on 2 cores: the second subtask runs on the worker
 *   TaskManager's own thread);
 * - busy time of a vertex with no fault (a filter) upstream of a CPU-bound map on one TaskManager,
 *   and of the vertex after it (target < 100 ms/s: waiting for the shared event loop is not busy);
 * - with `STREAMTUNE_BENCH_BASELINE` set to another checkout of streamtune (e.g. main's commit in a
 *   temporary worktree, its node_modules installed), the flights job at parallelism 1 run from that
 *   checkout in the same interleaved rounds, and this checkout's records/s over it.
 *
 * Run: `node --import tsx bench/runtime.ts` (prints the table), or through bench/index.ts via `run()`.
 * `STREAMTUNE_BENCH_REPEAT` (default 3) sets how many times each run is repeated.
 * Throws when a child run fails or the plain pipeline's output differs from the runtime's.
 */
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildResult } from './_runtime-child.ts';
import type { BenchRow } from './types.ts';
import { median, runBenchChild } from './_child.ts';

const CHILD = fileURLToPath(new URL('./_runtime-child.ts', import.meta.url));
/** another checkout to compare the flights job at parallelism 1 with (see the module comment) */
const BASELINE = process.env.STREAMTUNE_BENCH_BASELINE ? join(resolve(process.env.STREAMTUNE_BENCH_BASELINE), 'bench', '_runtime-child.ts') : undefined;
const SAVEPOINT_KEYS = 1_000_000;

/** Runs one measured child in its own process; resolves with its result. */
const child = (args: string[], script = CHILD): Promise<ChildResult> => runBenchChild<ChildResult>(script, args);


const rate = (r: ChildResult) => (r.records ?? 0) / ((r.wallMs ?? Number.NaN) / 1000);

/** Runs the runtime benchmark (about 5 minutes with 3 repeats on 2 cores). */
export async function run(): Promise<BenchRow[]> {
  const repeat = Math.max(1, Number(process.env.STREAMTUNE_BENCH_REPEAT ?? 3));
  const kinds: Array<{ key: string; args: string[]; script?: string }> = [
    { key: 'p1', args: ['flights', '1'] },
    { key: 'plain', args: ['plain'] },
    { key: 'p2', args: ['flights', '2'] },
    { key: 'p4', args: ['flights', '4'] },
    { key: 'stateless', args: ['stateless'] },
    { key: 'cpu1', args: ['cpu', '1'] },
    { key: 'cpu2', args: ['cpu', '2'] },
    ...(BASELINE ? [{ key: 'base-p1', args: ['flights', '1'], script: BASELINE }] : []),
  ];
  const results = new Map<string, ChildResult[]>(kinds.map((k) => [k.key, []]));
  // interleaved, so drifting load on the machine touches every kind alike
  for (let i = 0; i < repeat; i++) {
    for (const k of kinds) {
      const r = await child(k.args, k.script);
      process.stderr.write(`bench runtime: ${k.script ? 'baseline ' : ''}${k.args.join(' ')}: ${Math.round(rate(r)).toLocaleString('en-US')} records/s, ${Math.round(r.wallMs ?? 0)} ms, peak RSS ${Math.round(r.maxRssBytes / 2 ** 20)} MiB\n`);
      results.get(k.key)!.push(r);
    }
  }
  const all = (k: string) => results.get(k)!;
  const digests = new Set([...all('p1'), ...all('p2'), ...all('p4'), ...all('plain'), ...(BASELINE ? all('base-p1') : [])].map((r) => r.outputDigest));
  if (digests.size !== 1) throw new Error(`runtime and plain pipeline outputs differ (digests ${[...digests].join(', ')})`);
  const sp: ChildResult[] = [];
  for (let i = 0; i < repeat; i++) {
    const r = await child(['savepoint', String(SAVEPOINT_KEYS)]);
    process.stderr.write(`bench runtime: savepoint: ${r.keysInState} keys, ${r.savepointBytes} bytes, stop ${Math.round(r.stopMs ?? 0)} ms, restore ${Math.round(r.restoreMs ?? 0)} ms, downtime ${Math.round(r.downtimeMs ?? 0)} ms\n`);
    sp.push(r);
  }

  const busyRuns: ChildResult[] = [];
  for (let i = 0; i < repeat; i++) {
    const r = await child(['busy']);
    process.stderr.write(`bench runtime: busy: ${JSON.stringify(r.busyMsPerSecond)} ms/s busy, ${JSON.stringify(r.backPressuredMsPerSecond)} ms/s back-pressured\n`);
    busyRuns.push(r);
  }
  const busyOf = (v: string) => median(busyRuns.map((r) => r.busyMsPerSecond?.[v] ?? Number.NaN));
  const rps = (k: string) => Math.round(median(all(k).map(rate)));
  const p1 = rps('p1');
  const plain = rps('plain');
  const pick = (f: (r: ChildResult) => number | undefined) => median(sp.map((r) => f(r) ?? Number.NaN));
  const keys = Math.round(pick((r) => r.keysInState));
  const suite = 'runtime';
  return [
    { suite, name: 'flights job records/s, delay-by-origin parallelism 1', value: p1, unit: 'records/s', target: '>= 300000 records/s' },
    { suite, name: 'flights job records/s, delay-by-origin parallelism 2', value: rps('p2'), unit: 'records/s' },
    { suite, name: 'flights job records/s, delay-by-origin parallelism 4', value: rps('p4'), unit: 'records/s' },
    { suite, name: 'map -> filter -> discard records/s (flights data)', value: rps('stateless'), unit: 'records/s' },
    { suite, name: 'same aggregation as a plain Node.js stream pipeline', value: plain, unit: 'records/s' },
    { suite, name: 'runtime / plain pipeline (parallelism 1)', value: p1 / plain, unit: 'ratio', target: '>= 1' },
    { suite, name: 'flights job peak RSS, parallelism 1', value: Math.max(...all('p1').map((r) => r.maxRssBytes)), unit: 'bytes', target: '< 1073741824 bytes (1 GiB)' },
    { suite, name: `savepoint size, ${keys.toLocaleString('en-US')} keys of window state`, value: Math.round(pick((r) => r.savepointBytes)), unit: 'bytes' },
    { suite, name: 'stop-with-savepoint (call → savepoint done, job stopped)', value: Math.round(pick((r) => r.stopMs)), unit: 'ms' },
    { suite, name: 'restore from savepoint (new job → first record processed)', value: Math.round(pick((r) => r.restoreMs)), unit: 'ms' },
    { suite, name: 'stop + restore downtime (last record → first record)', value: Math.round(pick((r) => r.downtimeMs)), unit: 'ms', target: '<= 2000 ms' },
    { suite, name: 'savepoint job peak RSS (both jobs, one process)', value: Math.max(...sp.map((r) => r.maxRssBytes)), unit: 'bytes' },
    { suite, name: 'CPU-bound map (0.2 ms/record) records/s, parallelism 1, 2 TaskManagers', value: rps('cpu1'), unit: 'records/s' },
    { suite, name: 'CPU-bound map (0.2 ms/record) records/s, parallelism 2, 2 TaskManagers', value: rps('cpu2'), unit: 'records/s' },
    { suite, name: 'CPU-bound map speed-up, parallelism 2 / 1 on 2 TaskManagers', value: rps('cpu2') / rps('cpu1'), unit: 'ratio', target: '>= 1.7 (2 cores)' },
    { suite, name: 'busy time of a no-fault filter upstream of a CPU-bound map (one TaskManager)', value: busyOf('keep'), unit: 'ms/s', target: '< 100 ms/s' },
    { suite, name: 'busy time of the keyed count downstream of the CPU-bound map', value: busyOf('count'), unit: 'ms/s', target: '< 100 ms/s' },
    { suite, name: 'busy time of the CPU-bound map itself', value: busyOf('parse'), unit: 'ms/s' },
    ...(BASELINE
      ? [
          { suite, name: 'flights job records/s, parallelism 1, baseline checkout (same rounds)', value: rps('base-p1'), unit: 'records/s' },
          { suite, name: 'flights job parallelism 1: this checkout / baseline', value: p1 / rps('base-p1'), unit: 'ratio', target: '>= 1 (no slower)' },
        ]
      : []),
  ];
}

/** Prints rows as a Markdown table (the format of bench/index.ts). */
export function formatTable(rows: BenchRow[]): string {
  const fmt = (v: number) => (Number.isFinite(v) ? (Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(2)) : 'n/a');
  return ['| suite | measurement | value | unit | target |', '|---|---|---:|---|---|', ...rows.map((r) => `| ${r.suite} | ${r.name} | ${fmt(r.value)} | ${r.unit} | ${r.target ?? ''} |`)].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.stdout.write(`${formatTable(await run())}\n`);
}
