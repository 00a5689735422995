/**
 * Collector benchmark (suite 'collector'), every run in its own child process
 * (bench/_collector-child.ts):
 * - the flights job (jobs/flight-delays.yaml, no rate, to its end) once without and once with the
 *   running collector at the default 5 s interval into a temporary embedded DuckDB file: records/s of
 *   both and the overhead (1 − with/without, target ≤ 3 %, issue 3). Runs alternate off/on; with
 *   `STREAMTUNE_BENCH_REPEAT` > 1 the medians are compared. One run each is noisy on a shared machine,
 *   so the time the collector itself took (its rounds plus the store writes, wall ms, an upper bound)
 *   as a share of the run's wall time is reported too: a direct measure of the overhead that load
 *   on the machine does not swamp.
 * - memory bounded by the buffer: a collector whose store is down (an InfluxDB URL with nothing
 *   listening) runs 2,000 rounds back to back over a small generator job with `maxBufferedPoints`
 *   1,000: points buffered (≤ the bound), points dropped, heap and RSS growth after a GC.
 * `STREAMTUNE_BENCH_COLLECTOR_LIMIT` (rows, default 0 = all 3,000,000) cuts the flights runs to a slice.
 * Run: `node --import tsx bench/collector.ts`, or through bench/index.ts via `run()`.
 * No assertions on speed; throws when a child run fails.
 */
import { fileURLToPath } from 'node:url';
import type { CollectorChildResult } from './_collector-child.ts';
import type { BenchRow } from './types.ts';
import { median, runBenchChild } from './_child.ts';

const CHILD = fileURLToPath(new URL('./_collector-child.ts', import.meta.url));
const OUTAGE_ROUNDS = 2000;
const OUTAGE_BOUND = 1000;

/** Runs one measured child in its own process; resolves with its result. */
const child = (args: string[]): Promise<CollectorChildResult> => runBenchChild<CollectorChildResult>(CHILD, args, { nodeArgs: ['--expose-gc'] });


const rate = (r: CollectorChildResult): number => (r.records ?? 0) / ((r.wallMs ?? Number.NaN) / 1000);

/** Runs the collector benchmark (two flights runs, about 1–2 minutes on 2 cores, plus the outage run). */
export async function run(): Promise<BenchRow[]> {
  const repeat = Math.max(1, Number(process.env.STREAMTUNE_BENCH_REPEAT ?? 1));
  const limit = String(Math.max(0, Number(process.env.STREAMTUNE_BENCH_COLLECTOR_LIMIT ?? 0)));
  const off: CollectorChildResult[] = [];
  const on: CollectorChildResult[] = [];
  // warm-up (not counted): the dataset file in the page cache, tsx's compile cache, so the first
  // measured run is not the slow one
  await child(['flights', 'off', '1000']);
  for (let i = 0; i < repeat; i++) {
    for (const [mode, list] of [['off', off], ['on', on]] as const) {
      const r = await child(['flights', mode, limit]);
      process.stderr.write(`bench collector: flights collector ${mode}: ${Math.round(rate(r)).toLocaleString('en-US')} records/s, ${Math.round(r.wallMs ?? 0)} ms${r.rounds !== undefined ? `, ${r.rounds} rounds, ${r.pointsWritten} points written, ${Math.round(r.collectorMs ?? 0)} ms in the collector` : ''}\n`);
      list.push(r);
    }
  }
  const rOff = median(off.map(rate));
  const rOn = median(on.map(rate));
  const outage = await child(['outage', String(OUTAGE_ROUNDS), String(OUTAGE_BOUND)]);
  const suite = 'collector';
  return [
    { suite, name: 'flights records/s without collector', value: rOff, unit: 'records/s' },
    { suite, name: 'flights records/s with collector (5 s interval, embedded store)', value: rOn, unit: 'records/s' },
    { suite, name: 'collector overhead on flights throughput (1 − with/without)', value: (1 - rOn / rOff) * 100, unit: '%', target: '<= 3 %' },
    { suite, name: 'collector time during the flights run (rounds + store writes) / wall time', value: median(on.map((r) => ((r.collectorMs ?? 0) / (r.wallMs ?? Number.NaN)) * 100)), unit: '%', target: '<= 3 %' },
    { suite, name: 'points written during the flights run', value: median(on.map((r) => r.pointsWritten ?? 0)), unit: 'points' },
    { suite, name: `store down, ${OUTAGE_ROUNDS} rounds: points buffered (bound ${OUTAGE_BOUND})`, value: outage.pointsBuffered ?? Number.NaN, unit: 'points', target: `<= ${OUTAGE_BOUND}` },
    { suite, name: `store down, ${OUTAGE_ROUNDS} rounds: points dropped`, value: outage.pointsDropped ?? Number.NaN, unit: 'points' },
    { suite, name: `store down, ${OUTAGE_ROUNDS} rounds: heap used growth after GC`, value: outage.heapGrowthBytes ?? Number.NaN, unit: 'bytes', target: 'bounded by the buffer' },
    { suite, name: `store down, ${OUTAGE_ROUNDS} rounds: RSS growth`, value: outage.rssGrowthBytes ?? Number.NaN, unit: 'bytes' },
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rows = await run();
  for (const r of rows) process.stdout.write(`${r.name}: ${Number.isFinite(r.value) ? r.value.toFixed(2) : 'n/a'} ${r.unit}${r.target ? ` (target ${r.target})` : ''}\n`);
}
