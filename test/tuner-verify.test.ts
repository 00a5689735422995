import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MetricPoint } from '../core/points.ts';
import { createEmbeddedStore } from '../collector/store/index.ts';
import type { TuningAction } from '../diagnoser/types.ts';
import type { Points } from '../diagnoser/window.ts';
import type { ManagedJob } from '../platform/index.ts';
import type { Operation } from '../tuner/types.ts';
import { loadVerifyInput, timeUntilUnder, verifyOperation, VERIFY_SETTLE_MS, type VerifyInput } from '../tuner/verify.ts';

const T0 = 1_700_000_000_000;
const S = 1000;
const W = { from: T0, to: T0 + 60 * S };
const up: TuningAction = { type: 'set-parallelism', vertex: { id: 'enrich', name: 'enrich' }, from: 2, to: 4 };
const down: TuningAction = { type: 'set-parallelism', vertex: { id: 'enrich', name: 'enrich' }, from: 4, to: 2 };
const ckpt: TuningAction = { type: 'set-checkpointing', interval: 30_000 };

/** n points every 5 s from t0, value f(i) */
function series(t0: number, n: number, f: (i: number) => number): Points {
  return Array.from({ length: n }, (_, i) => ({ t: t0 + i * 5 * S, v: f(i) }));
}
const flat = (v: number, n = 12, t0 = T0) => series(t0, n, () => v);
const before = { throughput: flat(1000, 12, T0 - 120 * S), lag: series(T0 - 120 * S, 12, (i) => 5000 + i * 1000) }; // lag +200/s

function input(over: Partial<VerifyInput>): VerifyInput {
  return { before, after: { throughput: flat(1500), lag: series(T0, 12, (i) => 16000 - i * 1200) }, actions: [up], ...over };
}

test('scale-up: throughput rose and lag falls → effective, reason with numbers', () => {
  const v = verifyOperation(input({ expected: { throughputRecordsPerSecond: 1600 } }), W);
  assert.equal(v.effective, true, v.reason);
  assert.equal(v.from, W.from);
  assert.equal(v.to, W.to);
  assert.equal(v.throughputBefore, 1000);
  assert.equal(v.throughputAfter, 1500);
  assert.equal(v.throughputPredicted, 1600);
  assert.ok(Math.abs(v.lagTrendBefore! - 200) < 1e-6);
  assert.ok(Math.abs(v.lagTrendAfter! + 240) < 1e-6);
  assert.equal(v.lagAfter, 16000 - 11 * 1200);
  assert.match(v.reason, /^effective scale-up: throughput 1000 → 1500 records\/s \(\+500, \+50%, predicted 1600\)/);
  assert.doesNotMatch(v.reason, /\n/);
});

test('scale-up that did not raise throughput → ineffective (Flink autoscaler rule)', () => {
  // throughput +3%, lag flat and far from zero
  const v = verifyOperation(input({ after: { throughput: flat(1030), lag: flat(20000) } }), W);
  assert.equal(v.effective, false);
  assert.match(v.reason, /^ineffective scale-up: throughput did not rise: throughput 1000 → 1030/);
  assert.match(v.reason, /needs ≥ 100 records\/s/);
});

test('scale-up: ≥ 10% of the predicted gain counts even when below 10% of before', () => {
  // before 1000, predicted 1400 → need 40 records/s; got +60 (6%) and lag falls
  const after = { throughput: flat(1060), lag: series(T0, 12, (i) => 20000 - i * 500) };
  assert.equal(verifyOperation(input({ after, expected: { throughputRecordsPerSecond: 1400 } }), W).effective, true);
  // without a prediction 6% is not enough
  const v = verifyOperation(input({ after }), W);
  assert.equal(v.effective, false);
  assert.match(v.reason, /did not rise/);
  // a prediction with a large gain: +60 is below 10% of +4000 and below 10% of before
  assert.equal(verifyOperation(input({ after, expected: { throughputRecordsPerSecond: 5000 } }), W).effective, false);
});

test('scale-up: throughput rose but lag still grows → effective and insufficient (kept, not blocked: the next step can follow)', () => {
  const v = verifyOperation(input({ after: { throughput: flat(1300), lag: series(T0, 12, (i) => 20000 + i * 1000) } }), W);
  assert.equal(v.effective, true);
  assert.equal(v.insufficient, true);
  assert.match(v.reason, /^effective scale-up, not enough: throughput 1000 → 1300 records\/s .*lag still grows: lag trend \+200 records\/s after \(\+200 before\)/);
  // the same lag with throughput up only 3%: ineffective
  const u = verifyOperation(input({ after: { throughput: flat(1030), lag: series(T0, 12, (i) => 20000 + i * 1000) } }), W);
  assert.equal(u.effective, false);
  assert.equal(u.insufficient, undefined);
  assert.match(u.reason, /^ineffective scale-up: lag still grows and throughput did not rise enough/);
});

test('scale-up: throughput rose, but at a steady input rate the lag\'s growth did not fall with it → ineffective (the rise is not confirmed)', () => {
  // before: 1000 records/s processed, lag +200/s (input 1200); after: 1100 (+10%), lag +195/s (input 1295, steady within 10%)
  const v = verifyOperation(input({ after: { throughput: flat(1100), lag: series(T0, 12, (i) => 20000 + i * 975) } }), W);
  assert.equal(v.effective, false, v.reason);
  assert.equal(v.insufficient, undefined);
  assert.match(v.reason, /^ineffective scale-up: lag still grows and its growth fell by 5 records\/s, less than the 100 records\/s/);
  // the same throughput with the lag's growth down by the gain (+100/s): confirmed, effective and insufficient
  const w = verifyOperation(input({ after: { throughput: flat(1100), lag: series(T0, 12, (i) => 20000 + i * 500) } }), W);
  assert.equal(w.effective, true, w.reason);
  assert.equal(w.insufficient, true);
});

test('scale-up: throughput rose and the lag stopped growing but does not fall → effective and insufficient', () => {
  const v = verifyOperation(input({ after: { throughput: flat(1300), lag: flat(20000) } }), W);
  assert.equal(v.effective, true);
  assert.equal(v.insufficient, true);
  assert.match(v.reason, /^effective scale-up, not enough: .*the lag no longer grows but does not fall/);
});

test('scale-up: lag cleared counts even though throughput only matches the input rate', () => {
  // caught up: throughput now = arrival rate (1040, +4%), lag ~0 (saw-tooth under 1 s of records)
  const v = verifyOperation(input({ after: { throughput: flat(1040), lag: series(T0, 12, (i) => (i % 2 ? 800 : 20)) } }), W);
  assert.equal(v.effective, true, v.reason);
  assert.match(v.reason, /lag cleared/);
  // but with no lag before either, a scale-up that did not raise throughput was pointless
  const idle = { throughput: flat(1000, 12, T0 - 120 * S), lag: flat(10, 12, T0 - 120 * S) };
  const w = verifyOperation(input({ before: idle, after: { throughput: flat(1000), lag: flat(10) } }), W);
  assert.equal(w.effective, false);
  assert.match(w.reason, /did not rise/);
});

test('scale-down: effective while lag does not grow, ineffective when it grows', () => {
  const ok = verifyOperation(input({ actions: [down], after: { throughput: flat(900), lag: flat(0) } }), W);
  assert.equal(ok.effective, true);
  assert.match(ok.reason, /^lag does not grow/);
  const bad = verifyOperation(input({ actions: [down], after: { throughput: flat(900), lag: series(T0, 12, (i) => i * 500) } }), W);
  assert.equal(bad.effective, false);
  assert.match(bad.reason, /^lag grows after the change: lag trend \+100 records\/s/);
});

test('set-checkpointing: judged on lag growth only', () => {
  assert.equal(verifyOperation(input({ actions: [ckpt], after: { throughput: flat(1000), lag: series(T0, 12, (i) => 5000 - i * 10) } }), W).effective, true);
  assert.equal(verifyOperation(input({ actions: [ckpt], after: { throughput: flat(1000), lag: series(T0, 12, (i) => 5000 + i * 400) } }), W).effective, false);
});

test('not enough data → effective false with a reason saying so', () => {
  const one = verifyOperation(input({ after: { throughput: flat(1500), lag: flat(0, 1) } }), W);
  assert.equal(one.effective, false);
  assert.match(one.reason, /^not enough data: 1 lag point\(s\) after the restart, need 2/);
  const none = verifyOperation(input({ before: { throughput: [], lag: [] }, after: { throughput: [], lag: [] } }), W);
  assert.equal(none.effective, false);
  assert.match(none.reason, /^not enough data: .*no throughput before, no throughput after/);
  assert.equal(none.throughputBefore, 0);
  assert.equal(none.lagTrendAfter, undefined);
  // NaN points are dropped, not averaged
  const nan = verifyOperation(input({ after: { throughput: [{ t: T0, v: Number.NaN }], lag: flat(0) } }), W);
  assert.match(nan.reason, /^not enough data: no throughput after/);
  // scale-down needs no throughput
  assert.equal(verifyOperation(input({ actions: [down], before: { throughput: [], lag: [] }, after: { throughput: [], lag: flat(0, 3) } }), W).effective, true);
});

test('forecast check: time from applying until the lag is under one minute of input and stays there, beside the forecast', () => {
  // points every 5 s from T0; one minute of input at 1,000 records/s is 60,000 records
  const drain = series(T0, 12, (i) => 90_000 - i * 6000); // 90k → 24k: under 60k from i = 5 (T0 + 25 s)
  assert.equal(timeUntilUnder(drain, 60_000, T0 - 3 * S), 28 * S, 'counted from applying (3 s before the first point)');
  assert.equal(timeUntilUnder(flat(100), 60_000, T0), 0, 'under from the start');
  assert.equal(timeUntilUnder(series(T0, 6, (i) => (i === 2 ? 70_000 : 1000)), 60_000, T0), 15 * S, 'back under and stayed: after the last point above');
  assert.equal(timeUntilUnder(flat(70_000), 60_000, T0), null, 'not within the points');
  assert.equal(timeUntilUnder([], 60_000, T0), undefined);
  assert.equal(timeUntilUnder(flat(100, 3, T0 - 20 * S), 60_000, T0), undefined, 'points before applying do not count');

  // verifyOperation: input rate = throughput after + lag trend after; one minute of input is 60 s of it
  const after = { throughput: flat(7000), lag: series(T0, 12, (i) => 90_000 - i * 6000) }; // trend −1200/s → input 5,800/s → minute 348,000
  const v = verifyOperation(input({ after, expected: { lagUnderOneMinuteMs: 20_000 }, sinceApply: { appliedAt: T0 - 10 * S, lag: [...series(T0 - 10 * S, 2, () => 400_000), ...after.lag] } }), W);
  assert.equal(v.lagUnderOneMinuteForecastMs, 20_000);
  assert.equal(v.inputRecordsPerSecond, 5800);
  assert.equal(v.lagUnderOneMinuteMs, 10 * S, 'the first point after the two above 348,000');
  assert.equal(v.lagUnderOneMinuteCheckedMs, W.to - (T0 - 10 * S));
  // never under within the window: null, with how long it was watched
  const stuck = verifyOperation(input({ after: { throughput: flat(1000), lag: flat(200_000) }, sinceApply: { appliedAt: T0, lag: flat(200_000) } }), W);
  assert.equal(stuck.lagUnderOneMinuteMs, null);
  assert.equal(stuck.lagUnderOneMinuteCheckedMs, 60 * S);
  assert.equal(stuck.lagUnderOneMinuteForecastMs, undefined, 'no forecast given');
  // no lag since applying: not measured
  assert.equal(verifyOperation(input({}), W).lagUnderOneMinuteMs, undefined);
});

// --- loadVerifyInput against the embedded store ----------------------------------------------

const JOB = '0123456789abcdef0123456789abcdef';
const job: ManagedJob = {
  job_id: JOB, name: 'flights', executor: 'bundled', state: 'RUNNING', consumerGroup: 'flights',
  topology: [
    { id: 'src', name: 'flights', inputs: [], parallelism: 2, maxParallelism: 128 },
    { id: 'enrich', name: 'enrich', inputs: ['src'], parallelism: 2, maxParallelism: 128 },
  ],
};

function taskPoint(t: number, task: string, subtask: number, rate: number, jobId = JOB): MetricPoint {
  return {
    measurement: 'taskmanager_job_task_numRecordsOutPerSecond',
    tags: { job_id: jobId, job_name: 'flights', task_id: task, task_name: task, subtask_index: String(subtask), host: 'h', tm_id: 'tm' },
    fields: { count: Math.round((rate * (t - T0)) / 1000), rate },
    timestamp: t,
  };
}
const lagPoint = (t: number, v: number, group = 'flights'): MetricPoint => ({ measurement: 'streamtune_kafka_group_totalLag', tags: { group }, fields: { value: v }, timestamp: t, intFields: ['value'] });

test('loadVerifyInput reads source throughput summed over subtasks and the group lag around the restart', async () => {
  const store = await createEmbeddedStore({ path: ':memory:', retentionDays: 0 });
  try {
    const stopAt = T0 + 120 * S;
    const runningAt = T0 + 130 * S;
    const firstRecordAt = T0 + 135 * S;
    const now = T0 + 240 * S;
    const pts: MetricPoint[] = [];
    for (let t = T0; t <= now; t += S) {
      const stopped = t > stopAt && t < firstRecordAt;
      if (t <= stopAt) {
        for (const st of [0, 1]) pts.push(taskPoint(t, 'flights', st, 500)); // 1000 records/s in total
        pts.push(taskPoint(t, 'enrich', 0, 9999)); // not a source: must be ignored
        pts.push(lagPoint(t, 1000 + ((t - T0) / S) * 100)); // +100/s
      } else if (!stopped) {
        for (const st of [0, 1, 2, 3]) pts.push(taskPoint(t, 'flights', st, 400)); // 1600 in total
        pts.push(lagPoint(t, Math.max(0, 13000 - ((t - firstRecordAt) / S) * 100)));
      } else {
        pts.push(lagPoint(t, 13000));
      }
      pts.push(lagPoint(t, 777, 'other-group'));
      pts.push(taskPoint(t, 'flights', 0, 12345, 'f'.repeat(32))); // another job
    }
    await store.write(pts);
    const op: Operation = {
      id: 'op-1', job_id: JOB, origin: 'user', actions: [up], previous: { parallelism: { enrich: 2 } }, state: 'VERIFYING',
      expected: { throughputRecordsPerSecond: 1800 },
      steps: [
        { name: 'savepoint', status: 'succeeded', startedAt: stopAt, finishedAt: stopAt + 2 * S },
        { name: 'start', status: 'succeeded', startedAt: stopAt + 3 * S, finishedAt: stopAt + 5 * S },
        { name: 'wait-running', status: 'succeeded', startedAt: stopAt + 5 * S, finishedAt: runningAt },
      ],
      createdAt: stopAt - S, updatedAt: runningAt,
    };
    const input = await loadVerifyInput(store, job, op, now);
    const afterFrom = firstRecordAt + VERIFY_SETTLE_MS;
    assert.deepEqual(input.afterWindow, { from: afterFrom, to: now });
    assert.deepEqual(input.expected, { throughputRecordsPerSecond: 1800 });
    assert.deepEqual(input.actions, [up]);
    // before: [stop − max(now − afterFrom, 60 s), stop] = [stopAt − 95 s, stopAt]
    assert.ok(input.before.throughput.length >= 15, `before points: ${input.before.throughput.length}`);
    assert.ok(input.before.throughput.every((p) => p.t >= stopAt - 95 * S && p.t <= stopAt));
    for (const p of input.before.throughput) assert.equal(p.v, 1000);
    for (const p of input.after.throughput) assert.equal(p.v, 1600);
    assert.ok(input.after.throughput.every((p) => p.t >= afterFrom && p.t <= now));
    assert.ok(input.after.lag.length >= 15);
    assert.ok(input.before.lag.every((p) => p.v >= 1000 && p.v <= 13000));
    const v = verifyOperation(input, input.afterWindow);
    assert.equal(v.effective, true, v.reason);
    assert.ok(Math.abs(v.lagTrendBefore! - 100) < 1, `trend before ${v.lagTrendBefore}`);
    assert.ok(Math.abs(v.lagTrendAfter! + 100) < 1, `trend after ${v.lagTrendAfter}`);

    // the forecast check reads the lag from the stop on: 1,600 − 100 = 1,500 records/s of input, its
    // minute 90,000 records: the lag (≤ 13,000) was under it from the first point after the stop
    assert.equal(input.sinceApply?.appliedAt, stopAt);
    assert.ok(input.sinceApply!.lag[0]!.t >= stopAt && input.sinceApply!.lag[0]!.t < stopAt + 5 * S);
    assert.ok(v.lagUnderOneMinuteMs !== undefined && v.lagUnderOneMinuteMs !== null && v.lagUnderOneMinuteMs < 5 * S, String(v.lagUnderOneMinuteMs));
    assert.ok(Math.abs(v.inputRecordsPerSecond! - 1500) < 5, String(v.inputRecordsPerSecond));

    // no consumer group and no source backlog reported: no lag, so verification says not enough data
    const noGroup = await loadVerifyInput(store, { ...job, consumerGroup: undefined } as ManagedJob, op, now);
    assert.deepEqual(noGroup.after.lag, []);
    assert.match(verifyOperation(noGroup, noGroup.afterWindow).reason, /^not enough data/);
    // ... with the sources' backlog reported (pendingRecords, summed over source subtasks): that is the lag
    const pending: MetricPoint[] = [];
    for (let t = T0; t <= now; t += S) {
      for (const st of [0, 1]) pending.push({ measurement: 'taskmanager_job_task_operator_pendingRecords', tags: { job_id: JOB, task_id: 'flights', task_name: 'flights', subtask_index: String(st), operator_id: 'flights', operator_name: 'flights' }, fields: { value: t <= stopAt ? 300 : 100 }, timestamp: t, intFields: ['value'] });
    }
    await store.write(pending);
    const backlog = await loadVerifyInput(store, { ...job, consumerGroup: undefined } as ManagedJob, op, now);
    assert.ok(backlog.after.lag.length >= 15);
    for (const p of backlog.after.lag) assert.equal(p.v, 200);
    for (const p of backlog.before.lag) assert.ok(p.v === 600 || p.v === 200, String(p.v));
    // no steps journaled yet: stop = createdAt, restart = stop; still reads without throwing
    const early = await loadVerifyInput(store, job, { ...op, steps: [] }, now);
    assert.ok(early.before.throughput.every((p) => p.t <= op.createdAt));
  } finally {
    await store.close();
  }
});

test('loadVerifyInput: a run that started inside the before window is read from its first record + the settle time, as the after window', async () => {
  const store = await createEmbeddedStore({ path: ':memory:', retentionDays: 0 });
  try {
    const stopAt = T0 + 40 * S; // the run started at T0: 40 s before the stop, inside the 60 s before window
    const now = stopAt + 120 * S;
    const pts: MetricPoint[] = [];
    for (let t = T0; t <= now; t += S) {
      if (t > stopAt && t < stopAt + 10 * S) continue;
      pts.push(taskPoint(t, 'flights', 0, 500));
      // buffers fill in the run's first 10 s (lag 0), then the lag grows +100/s
      pts.push(lagPoint(t, t < T0 + 10 * S ? 0 : ((t - T0 - 10 * S) / S) * 100));
    }
    await store.write(pts);
    const op: Operation = {
      id: 'op-2', job_id: JOB, origin: 'user', actions: [up], previous: { parallelism: { enrich: 2 } }, state: 'VERIFYING',
      steps: [{ name: 'savepoint', status: 'succeeded', startedAt: stopAt, finishedAt: stopAt + S }, { name: 'wait-running', status: 'succeeded', startedAt: stopAt + S, finishedAt: stopAt + 5 * S }],
      createdAt: stopAt, updatedAt: stopAt + 5 * S,
    };
    const input = await loadVerifyInput(store, job, op, now);
    assert.ok(input.before.lag.length >= 3, `before lag points: ${input.before.lag.length}`);
    assert.ok(input.before.lag.every((p) => p.t >= T0 + VERIFY_SETTLE_MS), JSON.stringify(input.before.lag.map((p) => p.t - T0)));
    assert.ok(input.before.throughput.every((p) => p.t >= T0 + VERIFY_SETTLE_MS));
    const v = verifyOperation(input, input.afterWindow);
    // 5 s window means; the last window holds only the stop's second, hence not exactly 100
    assert.ok(Math.abs(v.lagTrendBefore! - 100) < 6, `trend before ${v.lagTrendBefore}: the first 10 s are not read`);
  } finally {
    await store.close();
  }
});

test('worse: the lag grows faster after the change than before (by > 10% of the input rate before) → worse, ineffective', () => {
  // before +200/s at 1,000 records/s (input 1,200); after a scale-down +400/s: capacity lost
  const w = verifyOperation(input({ actions: [down], after: { throughput: flat(800), lag: series(T0, 12, (i) => 20000 + i * 2000) } }), W);
  assert.equal(w.effective, false);
  assert.equal(w.worse, true);
  assert.match(w.reason, /^worse: the lag grows faster than before the change \(by more than 120 records\/s\): lag trend \+400 records\/s after \(\+200 before\)/);
  // +250/s after: within 10% of the input rate before (120 records/s) of the trend before → not worse
  const n = verifyOperation(input({ actions: [down], after: { throughput: flat(800), lag: series(T0, 12, (i) => 20000 + i * 1250) } }), W);
  assert.equal(n.worse, undefined);
  assert.match(n.reason, /^lag grows after the change/);
  // a scale-up says so in its own words
  const u = verifyOperation(input({ after: { throughput: flat(1000), lag: series(T0, 12, (i) => 20000 + i * 2000) } }), W);
  assert.equal(u.worse, true);
  assert.match(u.reason, /^ineffective scale-up: the lag grows faster than before the change/);
  // a bottleneck doing 100 of 300 records/s: +184 before, +199 after (nothing changed, trend noise) is
  // within 10% of the input rate (28 records/s), so not worse: an ineffective scale-up, not rolled back
  const slow = { throughput: flat(98, 12, T0 - 120 * S), lag: series(T0 - 120 * S, 12, (i) => 5000 + i * 920) };
  const b = verifyOperation(input({ before: slow, after: { throughput: flat(99), lag: series(T0, 12, (i) => 20000 + i * 995) } }), W);
  assert.equal(b.worse, undefined, b.reason);
  assert.equal(b.effective, false);
  assert.match(b.reason, /^ineffective scale-up: lag still grows and throughput did not rise enough/);
});
