/**
 * Reliability benchmark (issue 18, the long part of the Faults section): exactly-once across 10
 * random stop-with-savepoint / restore-with-new-parallelism cycles of the flights job
 * (jobs/flight-delays.yaml, 3,000,000 flights) on the bundled runtime: at each restore every vertex
 * gets a random parallelism (flights 1..4, enrich 1..4, delay-by-origin 1..8, results 1..4; max
 * parallelism 128), each run is stopped after a random 50,000..250,000 flights, the last run goes to
 * the end; the committed output is compared with DuckDB's GROUP BY origin. The short version (3
 * cycles) is test/reliability-flights.test.ts. Seeded: the seed is printed and reported; replay
 * with `STREAMTUNE_RELIABILITY_SEED=<seed> npm run bench -- reliability`. About 3 minutes on 2 cores.
 *
 * Then the long part of the Bad input section: each kind of test/helpers/bad-input/kinds (job specs
 * YAML and JSON, rule files, server config, line protocol, savepoint files) with 20,000 fast-check
 * inputs (`STREAMTUNE_RELIABILITY_FUZZ_RUNS` to change, 0 to skip), reported as inputs tried,
 * refused clearly, valid after all and unclear (target 0) — the `npm test` files run 1,200..1,600.
 * Run: `npm run bench -- reliability`, or `node --import tsx bench/reliability.ts`.
 */
import { runKind } from '../test/helpers/bad-input/run.ts';
import { KINDS, type KindName } from '../test/helpers/bad-input/kinds/index.ts';
import { reliabilitySeed, runFlightsCycles } from '../test/helpers/flights-cycles.ts';
import type { BenchRow } from './types.ts';

/** Stop-with-savepoint / restore cycles per run. */
export const CYCLES = 10;

/** Runs the cycles; see the module comment. Throws when a run fails (not when records are lost: that is the measurement). */
export async function run(): Promise<BenchRow[]> {
  const suite = 'reliability';
  const seed = reliabilitySeed();
  process.stderr.write(`reliability: seed ${seed} (replay: STREAMTUNE_RELIABILITY_SEED=${seed})\n`);
  const r = await runFlightsCycles({ cycles: CYCLES, seed, minRecords: 50_000, maxRecords: 250_000, log: (l) => process.stderr.write(`reliability: ${l}\n`) });
  const rows: BenchRow[] = [
    { suite, name: `flights-3m stop-with-savepoint / restore cycles (seed ${seed})`, value: r.runs.length - 1, unit: 'cycles', target: String(CYCLES) },
    { suite, name: 'flights lost vs DuckDB GROUP BY origin', value: r.lost, unit: 'flights', target: '0' },
    { suite, name: 'flights duplicated vs DuckDB GROUP BY origin', value: r.duplicated, unit: 'flights', target: '0' },
    { suite, name: 'origins whose sum of delay differs from DuckDB', value: r.sumDelayMismatches, unit: 'origins', target: '0' },
    { suite, name: 'flights counted in the committed output', value: r.flights, unit: 'flights', target: '3,000,000' },
  ];
  const fuzzRuns = Number(process.env.STREAMTUNE_RELIABILITY_FUZZ_RUNS ?? 20_000);
  if (fuzzRuns > 0) {
    for (const kind of Object.keys(KINDS) as KindName[]) {
      process.stderr.write(`reliability: bad input ${kind}, ${fuzzRuns} inputs...\n`);
      const k = await runKind(kind, { numRuns: fuzzRuns });
      const name = `bad input ${kind} (seed ${k.seed}${k.hung ? '; HUNG' : ''})`;
      rows.push(
        { suite, name: `${name}: inputs tried`, value: k.tried, unit: 'inputs', target: String(fuzzRuns) },
        { suite, name: `${name}: refused clearly`, value: k.rejected, unit: 'inputs' },
        { suite, name: `${name}: unclear, crashed or hung`, value: k.unclear + (k.hung ? 1 : 0), unit: 'inputs', target: '0' },
      );
    }
  }
  return rows;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const rows = await run();
  for (const r of rows) process.stdout.write(`${r.name}: ${r.value} ${r.unit}\n`);
}
