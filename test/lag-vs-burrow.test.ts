/**
 * streamtune's lag status side by side with Burrow 1.2.1 on the same consumer groups of one real
 * Kafka 3.9.1 broker (issue 15): caught up, lagging and growing, stalled, stopped, caught up on a
 * quiet topic, and a quiet topic read by a checkpointing consumer that gets one record
 * (test/helpers/lag-scenarios.ts). streamtune's real Kafka lag collector writes into the embedded
 * store and the read model's `lagNowOfJobs` evaluates it; commits come from a Flink-like committer.
 *
 * The clock is scaled down about 5 times from the defaults so the file runs in about 2 minutes:
 * commits every 2 s (the benchmark: 5 s), checkpoints every 12 s (60 s), streamtune polls every
 * 1 s (5 s) and evaluates a 60 s window (5 min) with STOP after 24 s without a commit (120 s);
 * Burrow refreshes log-end offsets every 2 s (10 s) and keeps 10 commits (its default).
 * `npm run bench -- burrow` runs the same scenarios at the real intervals (BENCHMARKS.md).
 *
 * Asserted: streamtune's status, the behaviour it promises. Burrow's is recorded and printed beside
 * it (and must have been read), not asserted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KAFKA_3_VERSION } from '../platform/local/kafka.ts';
import { testKafkaBroker } from './helpers/kafka-broker.ts';
import { course, label, lagScenarioTable, runLagScenarios, type LagScenarioId, type LagScenarioTiming, type StatusSample } from './helpers/lag-scenarios.ts';

const TIMING: LagScenarioTiming = {
  commitEveryMs: 2_000,
  checkpointEveryMs: 12_000,
  pollMs: 1_000,
  warmupMs: 30_000,
  observeMs: 45_000,
  sampleEveryMs: 1_000,
  ratePerPartition: 50,
  laggingShare: 0.25,
  burrow: { offsetRefreshS: 2, topicRefreshS: 2, intervals: 10, minDistanceS: 1, expireCacheS: 1 },
  streamtune: { windowMs: 60_000, evaluate: { minStopSilenceMs: 24_000 } },
};

test('lag status on five scenarios (and a quiet checkpointing consumer) beside Burrow 1.2.1, on Kafka 3.9.1', { timeout: 600_000 }, async (t) => {
  const kafka = await testKafkaBroker({ version: KAFKA_3_VERSION, numPartitions: 2 });
  const run = await runLagScenarios({ bootstrap: kafka.bootstrap, kafkaVersion: kafka.version, timing: TIMING, progress: (l) => t.diagnostic(l) });
  for (const line of lagScenarioTable(run).split('\n')) t.diagnostic(line);

  const of = (id: LagScenarioId) => run.results.find((r) => r.id === id)!;
  const last = (id: LagScenarioId): StatusSample => {
    const s = of(id).samples.at(-1);
    assert.ok(s, `${id}: no sample`);
    return s;
  };
  // samples once streamtune has data for the group
  const seen = (id: LagScenarioId): StatusSample[] => of(id).samples.filter((s) => s.streamtune !== 'UNKNOWN');
  const statuses = (xs: StatusSample[]): string[] => [...new Set(xs.map((s) => label(s.streamtune, s.streamtunePartitions)))];
  const explain = (id: LagScenarioId): string => `${id}: streamtune ${course(of(id).samples, 'streamtune')}; Burrow ${course(of(id).samples, 'burrow')}`;

  for (const id of ['caught-up', 'lagging', 'stalled', 'stopped', 'quiet', 'quiet-checkpointing'] as const) {
    assert.ok(seen(id).length >= 30, `${id}: streamtune evaluated the group at least 30 times (${seen(id).length}); ${explain(id)}`);
    // Burrow read the same group (the comparison is real)
    assert.ok(['OK', 'WARN', 'ERR'].includes(last(id).burrow), `${id}: Burrow's status ${last(id).burrow}`);
  }
  // caught up, steady traffic: OK at every evaluation
  assert.deepEqual(statuses(seen('caught-up')), ['OK'], explain('caught-up'));
  // lagging and growing: WARN once the window holds commits, never ERR
  assert.equal(last('lagging').streamtune, 'WARN', explain('lagging'));
  assert.ok(seen('lagging').every((s) => s.streamtune !== 'ERR'), explain('lagging'));
  // stalled: the re-commits of one offset are invisible to OffsetFetch, so streamtune sees one commit
  // and then silence: STOP (group ERR) once the silence passes minStopSilenceMs; Burrow says STALL
  assert.equal(label(last('stalled').streamtune, last('stalled').streamtunePartitions), 'ERR (STOP)', explain('stalled'));
  // stopped: OK while it commits, STOP (ERR) after
  assert.deepEqual(statuses(seen('stopped').filter((s) => s.t < 0)), ['OK'], explain('stopped'));
  assert.equal(label(last('stopped').streamtune, last('stopped').streamtunePartitions), 'ERR (STOP)', explain('stopped'));
  // caught up on a quiet topic, no commits: OK throughout (the current lag is 0)
  assert.deepEqual(statuses(seen('quiet')), ['OK'], explain('quiet'));
  // a checkpointing consumer on a quiet topic gets a record and commits it at its next checkpoint:
  // OK throughout (a poll within minStopSilenceMs saw it caught up)
  assert.deepEqual(statuses(seen('quiet-checkpointing')), ['OK'], explain('quiet-checkpointing'));
});
