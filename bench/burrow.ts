/**
 * Lag status beside Burrow (suite 'burrow', issue 15): the scenarios of test/lag-vs-burrow.test.ts
 * (test/helpers/lag-scenarios.ts: caught up, lagging and growing, stalled, stopped, caught up on a
 * quiet topic, a quiet topic read by a checkpointing consumer) on one Kafka 3.9.1 broker, at the
 * real intervals instead of the test's scaled clock:
 * - the consumers commit every 5 s (the Kafka consumer's `auto.commit.interval.ms` default); the
 *   checkpointing one every 60 s (a Flink job's checkpoint interval);
 * - Burrow 1.2.1 with its defaults: `offset-refresh` 10 s, `intervals` 10, `min-distance` 0,
 *   `expire-cache` 10 s (`topic-refresh` 10 s instead of 60 s: only how soon it lists the topics);
 * - streamtune with its defaults: lag polled every 5 s (collector interval), the read model's 5-minute
 *   window, Burrow's parameters of rules/detectors.yaml (STOP after 2 min without a commit);
 * - 2 minutes of commits before the consumers stop, 3 minutes observed after; both asked every 5 s.
 * Prints the scenario table (both statuses at the end and over the run, for BENCHMARKS.md) to
 * stdout; rows: per scenario, the share of evaluations after the first minute at which both give
 * the same group status. About 6 minutes.
 * Run: `npm run bench -- burrow`.
 */
import { fileURLToPath } from 'node:url';
import { startKafkaBroker, KAFKA_3_VERSION } from '../platform/local/kafka.ts';
import { LAG_SCENARIO_TITLES, lagScenarioTable, runLagScenarios, type LagScenarioTiming } from '../test/helpers/lag-scenarios.ts';
import type { BenchRow } from './types.ts';

/** The real intervals (see the module comment). */
export const REAL_TIMING: LagScenarioTiming = {
  commitEveryMs: 5_000,
  checkpointEveryMs: 60_000,
  pollMs: 5_000,
  warmupMs: 120_000,
  observeMs: 180_000,
  sampleEveryMs: 5_000,
  ratePerPartition: 50,
  laggingShare: 0.25,
  burrow: { offsetRefreshS: 10, topicRefreshS: 10, intervals: 10, minDistanceS: 0, expireCacheS: 10 },
  streamtune: {},
};

/** Runs the scenarios once (about 6 minutes) and prints their table. */
export async function run(): Promise<BenchRow[]> {
  const broker = await startKafkaBroker({ version: KAFKA_3_VERSION, numPartitions: 2 });
  try {
    const r = await runLagScenarios({
      bootstrap: broker.bootstrap,
      kafkaVersion: broker.version,
      timing: REAL_TIMING,
      progress: (l) => process.stderr.write(`bench burrow: ${l}\n`),
    });
    const from = -REAL_TIMING.warmupMs + 60_000;
    process.stdout.write(`\nLag status beside Burrow 1.2.1, Kafka ${r.kafkaVersion} (times in s from the consumers' stop; from ${Math.round(from / 1000)} s):\n\n${lagScenarioTable(r, from)}\n\n`);
    return r.results.map((x) => {
      const s = x.samples.filter((p) => p.t >= from);
      const same = s.filter((p) => p.burrow === p.streamtune).length;
      return { suite: 'burrow', name: `${LAG_SCENARIO_TITLES[x.id]}: evaluations where Burrow and streamtune agree (group status)`, value: s.length ? (100 * same) / s.length : Number.NaN, unit: '%' };
    });
  } finally {
    await broker.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rows = await run();
  for (const r of rows) process.stdout.write(`${r.name}: ${Number.isFinite(r.value) ? r.value.toFixed(0) : 'n/a'} ${r.unit}\n`);
}
