/**
 * Lag status on a real Flink job (issue 15): flight-delays on a real Flink 1.20 cluster reads a real
 * Kafka 3.9.1 broker with steady traffic it keeps up with, committing its offsets when a checkpoint
 * completes; streamtune's collector polls the group's lag and the read model evaluates it after
 * every poll (test/helpers/flink-lag.ts), Burrow 1.2.1 beside it on the same commits.
 *
 * The check is 60 s checkpoints for 10 minutes with polls every 5 s: that is
 * `npm run bench -- flink-lag` (BENCHMARKS.md). Here the same at a 6× faster clock, in 2 minutes:
 * checkpoints every 10 s, polls every 1 s (so every commit is polled about 10 times, as at 60 s / 5 s,
 * which is what read as STALL when polls were counted as commits), a 50 s window (5 min) and STOP after
 * 20 s without a commit (120 s). Asserted: OK at every evaluation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flinkLagCourse, runFlinkLagCheck } from './helpers/flink-lag.ts';

test('a real Flink job committing on checkpoints, with steady traffic, is OK at every evaluation for 2 minutes (10 s checkpoints, 1 s polls)', { timeout: 900_000 }, async (t) => {
  const r = await runFlinkLagCheck({
    checkpointIntervalMs: 10_000,
    pollMs: 1_000,
    durationMs: 120_000,
    ratePerSecond: 200,
    streamtune: { windowMs: 50_000, evaluate: { minStopSilenceMs: 20_000 } },
    burrow: { offsetRefreshS: 2, topicRefreshS: 2, intervals: 10, minDistanceS: 1, expireCacheS: 1 },
    progress: (l) => t.diagnostic(l),
  });
  t.diagnostic(`Kafka ${r.kafkaVersion}, Flink ${r.flinkVersion}: ${r.checkpointsCompleted} checkpoints, commits seen per partition ${r.commitsSeen.join('/')}, ${r.produced} records produced`);
  t.diagnostic(`streamtune: ${flinkLagCourse(r.samples, 'streamtune')}`);
  t.diagnostic(`Burrow 1.2.1: ${flinkLagCourse(r.samples, 'burrow')}`);
  assert.ok(r.samples.length >= 60, `evaluations: ${r.samples.length}`);
  // the job committed on its checkpoints and the polls saw each commit move the offset
  assert.ok(r.checkpointsCompleted >= 8, `checkpoints completed: ${r.checkpointsCompleted}`);
  assert.equal(r.commitsSeen.length, 4);
  assert.ok(r.commitsSeen.every((n) => n >= 8), `commits seen per partition: ${r.commitsSeen.join('/')}`);
  const notOk = r.samples.filter((s) => s.streamtune !== 'OK');
  assert.deepEqual(notOk.map((s) => `${Math.round(s.t / 1000)} s: ${s.streamtune}`), [], flinkLagCourse(r.samples, 'streamtune'));
});
