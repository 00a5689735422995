// test-runner: serial
/**
 * Exactly-once across random stop-with-savepoint / restore-with-new-parallelism cycles of the flights
 * job (3 here; 10 in `npm run bench -- reliability`): every vertex gets a random parallelism at
 * each restore, each run is stopped after a random number of flights; the committed output equals
 * DuckDB's GROUP BY origin (0 lost, 0 duplicated). The seed is printed; replay a failure with
 * STREAMTUNE_RELIABILITY_SEED=<seed>.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reliabilitySeed, runFlightsCycles } from './helpers/flights-cycles.ts';

test('flights-3m: 3 random stop-with-savepoint / restore-with-new-parallelism cycles, 0 lost, 0 duplicated against DuckDB', { timeout: 600_000 }, async (t) => {
  const seed = reliabilitySeed();
  t.diagnostic(`seed ${seed} (replay: STREAMTUNE_RELIABILITY_SEED=${seed})`);
  const r = await runFlightsCycles({ cycles: 3, seed, minRecords: 100_000, maxRecords: 700_000, log: (l) => t.diagnostic(l) });
  assert.equal(r.runs.length, 4);
  assert.deepEqual({ lost: r.lost, duplicated: r.duplicated, sumDelayMismatches: r.sumDelayMismatches, origins: r.origins, flights: r.flights }, { lost: 0, duplicated: 0, sumDelayMismatches: 0, origins: 229, flights: 3_000_000 }, `seed ${seed}`);
});
