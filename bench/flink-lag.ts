/**
 * Lag status on a real Flink job for 10 minutes (suite 'flink-lag', issue 15: "on the real job with
 * a 60 s checkpoint interval and steady traffic the status stays OK for 10 minutes"):
 * flight-delays on a real Flink 1.20 cluster, Kafka 3.9.1, 200 records/s (it keeps up with far
 * more), offsets committed on checkpoints every 60 s; streamtune's collector polls the group's lag
 * every 5 s and the read model evaluates it (shipped window and parameters) after every poll;
 * Burrow 1.2.1 beside it with its defaults (test/helpers/flink-lag.ts). Prints both courses.
 * Rows: evaluations, the share OK for each, checkpoints completed, commits seen. About 13 minutes.
 * Run: `npm run bench -- flink-lag`.
 */
import { fileURLToPath } from 'node:url';
import { flinkLagCourse, runFlinkLagCheck } from '../test/helpers/flink-lag.ts';
import type { BenchRow } from './types.ts';

/** Runs the 10-minute check once. */
export async function run(): Promise<BenchRow[]> {
  const r = await runFlinkLagCheck({
    checkpointIntervalMs: 60_000,
    pollMs: 5_000,
    durationMs: 600_000,
    ratePerSecond: 200,
    progress: (l) => process.stderr.write(`bench flink-lag: ${l}\n`),
  });
  process.stdout.write(`\nflight-delays on Flink ${r.flinkVersion}, Kafka ${r.kafkaVersion}, checkpoints every 60 s, 200 records/s, 10 minutes:\n`
    + `  streamtune (polls every 5 s): ${flinkLagCourse(r.samples, 'streamtune')}\n`
    + `  Burrow 1.2.1 (defaults): ${flinkLagCourse(r.samples, 'burrow')}\n`
    + `  ${r.checkpointsCompleted} checkpoints completed; commits seen per partition ${r.commitsSeen.join('/')}; ${r.produced} records produced\n\n`);
  const share = (side: 'streamtune' | 'burrow'): number => (100 * r.samples.filter((s) => s[side] === 'OK').length) / r.samples.length;
  const suite = 'flink-lag';
  return [
    { suite, name: 'evaluations in 10 minutes (one per 5 s poll)', value: r.samples.length, unit: 'evaluations' },
    { suite, name: 'streamtune group status OK, 60 s checkpoints, steady traffic', value: share('streamtune'), unit: '% of evaluations', target: '100 %' },
    { suite, name: 'Burrow 1.2.1 (defaults) group status OK, same group', value: share('burrow'), unit: '% of evaluations' },
    { suite, name: 'checkpoints completed (offsets committed)', value: r.checkpointsCompleted, unit: 'checkpoints' },
    { suite, name: 'commits streamtune saw, fewest of the 4 partitions', value: Math.min(...r.commitsSeen), unit: 'commits' },
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rows = await run();
  for (const r of rows) process.stdout.write(`${r.name}: ${Number.isFinite(r.value) ? r.value.toFixed(1) : 'n/a'} ${r.unit}${r.target ? ` (target ${r.target})` : ''}\n`);
}
