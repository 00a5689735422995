import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateGroupLag, evaluatePartitionLag, lagInputsFromSeries, lagInputsFromWindow, lagFinding, type OffsetObservation, type PartitionLagInput } from '../diagnoser/detectors/lag.ts';
import type { Series } from '../collector/store/types.ts';

/** observations every 10 s from t0, offsets and lags given */
function obs(offsets: number[], lags: number[], t0 = 0, step = 10_000): OffsetObservation[] {
  return offsets.map((offset, i) => ({ offset, lag: lags[i]!, timestamp: t0 + i * step }));
}
function part(offsets: OffsetObservation[], logEndOffset: number | null, extra: Partial<PartitionLagInput> = {}): PartitionLagInput {
  return { topic: 't', partition: 0, offsets, logEndOffset, ...extra };
}
const NOW = 95_000; // 5 s after the 10th observation at 90 s

test('caught up now → OK by rule within-allowed-lag; allowedLag lets transactional topics pass', () => {
  const r = evaluatePartitionLag(part(obs([10, 20, 30], [5, 5, 0]), 30), { now: NOW });
  assert.equal(r.status, 'OK');
  assert.equal(r.rule, 'within-allowed-lag');
  assert.equal(r.currentLag, 0);
  assert.equal(r.catchUpMs, 0);
  const tx = evaluatePartitionLag(part(obs([10, 20, 30], [1, 1, 1]), 31), { now: 31_000, allowedLag: 1 });
  assert.equal(tx.rule, 'within-allowed-lag');
  // without allowedLag a transactional topic's constant lag of 1 is no WARN either: a lag that stays
  // the same at every commit is a consumer keeping up (a difference from Burrow, which says WARN)
  const tx0 = evaluatePartitionLag(part(obs([10, 20, 30], [1, 1, 1]), 31), { now: 31_000 });
  assert.equal(tx0.status, 'OK');
  assert.equal(tx0.rule, 'lag-decreasing');
  const growing = evaluatePartitionLag(part(obs([10, 20, 30], [1, 1, 2]), 32), { now: 31_000 });
  assert.equal(growing.status, 'WARN');
});

test('zero traffic: a quiet caught-up topic is OK even when the last commit is old (no false STOP)', () => {
  const r = evaluatePartitionLag(part(obs([50, 50, 50], [0, 0, 0]), 50), { now: 10_000_000 });
  assert.equal(r.status, 'OK');
  // a record arrives after a long quiet spell: lag 1, last commit long ago, but the recent log-end
  // offsets show the consumer caught up moments ago (Burrow's checkIfRecentLagZero): no STOP
  const r2 = evaluatePartitionLag(part(obs([50, 50, 50], [0, 0, 0]), 51, { recentLogEndOffsets: [50, 50, 50, 51] }), { now: 10_000_000 });
  assert.equal(r2.status, 'OK');
  assert.equal(r2.rule, 'caught-up-in-window');
  assert.equal(r2.currentLag, 1);
  // once every recent log-end offset is past the last commit, the silence is a STOP
  const r3 = evaluatePartitionLag(part(obs([50, 50, 50], [0, 0, 0]), 60, { recentLogEndOffsets: [51, 55, 60] }), { now: 10_000_000 });
  assert.equal(r3.status, 'STOP');
});

test('stop: consumer died; lag is computed now from the latest log-end offset, not frozen at the last commit', () => {
  // 10 commits from 0 to 90 s with lag 100..100; evaluated at 300 s, log-end has grown to 5000
  const o = obs([100, 200, 300, 400, 500, 600, 700, 800, 900, 1000], Array(10).fill(100));
  const r = evaluatePartitionLag(part(o, 5000), { now: 300_000 });
  assert.equal(r.status, 'STOP');
  assert.equal(r.rule, 'stop');
  assert.equal(r.currentLag, 4000);
  assert.notEqual(r.currentLag, o[9]!.lag);
  // the same window evaluated right after the last commit is not STOP
  assert.notEqual(evaluatePartitionLag(part(o, 1100), { now: 95_000 }).status, 'STOP');
});

test('rewind: a committed offset going backwards', () => {
  const r = evaluatePartitionLag(part(obs([100, 200, 50, 150], [10, 10, 160, 60]), 210), { now: 31_000 });
  assert.equal(r.status, 'REWIND');
  assert.equal(r.rule, 'rewind');
});

test('stall: the same offset in every observation while there is lag', () => {
  const r = evaluatePartitionLag(part(obs([70, 70, 70, 70], [30, 40, 50, 60]), 140), { now: 31_000 });
  assert.equal(r.status, 'STALL');
  assert.equal(r.currentLag, 70);
  assert.equal(r.catchUpMs, null);
});

test('warn: offsets advance but lag never decreases; growth rate in records/s', () => {
  const r = evaluatePartitionLag(part(obs([0, 100, 200, 300], [50, 60, 60, 80]), 380), { now: 31_000 });
  assert.equal(r.status, 'WARN');
  assert.equal(r.rule, 'lag-not-decreasing');
  assert.equal(r.growthRate, 1); // (80 − 50) records / 30 s
  assert.equal(r.catchUpMs, null);
});

test('lag decreasing → OK with a time to catch up at the current rate', () => {
  const r = evaluatePartitionLag(part(obs([0, 100, 200, 300], [90, 80, 70, 60]), 360, { lagSeconds: 12.5 }), { now: 31_000 });
  assert.equal(r.status, 'OK');
  assert.equal(r.rule, 'lag-decreasing');
  assert.equal(r.growthRate, -1);
  assert.equal(r.catchUpMs, 60_000);
  assert.equal(r.lagSeconds, 12.5);
});

test('window: only the last windowSize observations count, complete when full', () => {
  // an old rewind outside a window of 3 is forgotten
  const o = obs([100, 50, 60, 70, 80], [0, 50, 45, 40, 35]);
  const r = evaluatePartitionLag(part(o, 115), { now: 41_000, windowSize: 3 });
  assert.equal(r.status, 'OK');
  assert.equal(r.complete, true);
  assert.deepEqual(r.start, o[2]);
  const partial = evaluatePartitionLag(part(o.slice(0, 2), 100), { now: 11_000 });
  assert.equal(partial.complete, false);
  assert.equal(partial.completeness, 0.2);
  assert.throws(() => evaluatePartitionLag(part(o, 1), { now: 0, windowSize: 0 }), { code: 'INVALID_ARGUMENT' });
});

test('no committed offset, and a single recent commit, are OK (not enough data) with the lag still reported; a single old one is STOP', () => {
  const none = evaluatePartitionLag(part([], 500, { sampledLag: 500 }), { now: NOW });
  assert.equal(none.status, 'OK');
  assert.equal(none.rule, 'no-committed-offset');
  assert.equal(none.currentLag, 500);
  assert.equal(none.complete, false);
  const one = evaluatePartitionLag(part(obs([10], [90]), 100), { now: 100_000 });
  assert.equal(one.rule, 'not-enough-observations');
  assert.equal(one.currentLag, 90);
  // no new commit for 1000 s while the lag is 90: STOP (minStopSilenceMs 120 s)
  const old = evaluatePartitionLag(part(obs([10], [90]), 100), { now: 1_000_000 });
  assert.equal(old.status, 'STOP');
  assert.equal(evaluatePartitionLag(part(obs([10], [90]), 100), { now: 1_000_000, minStopSilenceMs: 2_000_000 }).rule, 'not-enough-observations');
});

test('group: worst status with STOP/STALL/REWIND as ERR, max and total lag, completeness share', () => {
  const full = obs([0, 10, 20, 30, 40, 50, 60, 70, 80, 90], [5, 5, 5, 5, 5, 5, 5, 5, 5, 0]);
  const inputs: PartitionLagInput[] = [
    { topic: 'a', partition: 1, offsets: obs([70, 70, 70], [10, 20, 30]), logEndOffset: 110 }, // STALL, lag 40
    { topic: 'a', partition: 0, offsets: full, logEndOffset: 90 }, // OK, lag 0, complete
    { topic: 'b', partition: 0, offsets: obs([0, 100, 200], [50, 60, 70]), logEndOffset: 270 }, // WARN, lag 70
  ];
  const g = evaluateGroupLag(inputs, { now: 25_000 });
  assert.equal(g.status, 'ERR');
  assert.deepEqual(g.partitions.map((p) => `${p.topic}/${p.partition}:${p.status}`), ['a/0:OK', 'a/1:STALL', 'b/0:WARN']);
  assert.equal(g.totalLag, 110);
  assert.equal(g.maxLag?.topic, 'b');
  assert.equal(g.maxLag?.currentLag, 70);
  assert.equal(g.complete, 1 / 3);
  const warnOnly = evaluateGroupLag([inputs[1]!, inputs[2]!], { now: 25_000 });
  assert.equal(warnOnly.status, 'WARN');
  assert.equal(evaluateGroupLag([], { now: 0 }).status, 'OK');
  assert.equal(evaluateGroupLag([], { now: 0 }).maxLag, null);
});

test('single partition group', () => {
  const g = evaluateGroupLag([part(obs([0, 10, 20], [30, 20, 10]), 25)], { now: 21_000 });
  assert.equal(g.status, 'OK');
  assert.equal(g.totalLag, 5);
  assert.equal(g.partitions.length, 1);
});

function s(topic: string, partition: number, points: Array<[number, number]>): Series {
  return { tags: { topic, partition: String(partition) }, points: points.map(([t, v]) => ({ t, v })) };
}

test('lagInputsFromSeries: a poll that sees a new committed offset is a commit, repeats of it are not; a missing point is skipped; no-commit partitions kept', () => {
  const inputs = lagInputsFromSeries({
    committedOffset: [s('t', 0, [[10_000, 100], [20_000, 100], [30_000, 100], [40_000, 100]]), s('t', 1, [[10_000, 5], [20_000, 9]])],
    lag: [s('t', 0, [[10_000, 10], [20_000, 20], [40_000, 40]]), s('t', 2, [[40_000, 33]])],
    logEndOffset: [s('t', 0, [[10_000, 110], [20_000, 120], [40_000, 140]]), s('t', 1, [[10_000, 9], [20_000, 9]])],
    lagSeconds: [s('t', 0, [[40_000, 30.5]])],
  });
  assert.deepEqual(inputs.map((i) => i.partition), [0, 1, 2]);
  const p0 = inputs[0]!;
  // one commit: the offset 100 polled four times (the 30 s point has neither lag nor log-end)
  assert.deepEqual(p0.offsets, [{ offset: 100, timestamp: 10_000, lag: 10 }]);
  assert.equal(p0.logEndOffset, 140);
  assert.deepEqual(p0.recentLogEndOffsets, [110, 120, 140]);
  assert.equal(p0.lagSeconds, 30.5);
  // lag computed from log-end when there is no _lag point; the commit seen at 20 s happened after
  // the poll at 10 s, when the log-end offset was 9 already: its lag was 0 whenever it happened
  assert.deepEqual(inputs[1]!.offsets, [{ offset: 5, timestamp: 10_000, lag: 4 }, { offset: 9, timestamp: 20_000, lag: 0, lagLow: 0 }]);
  assert.deepEqual(inputs[2]!.offsets, []);
  assert.equal(inputs[2]!.sampledLag, 33);
  // evaluated at 45 s: the unchanged offset of t/0 is one commit 35 s ago (not yet a STOP)
  const g = evaluateGroupLag(inputs, { now: 45_000 });
  assert.deepEqual(g.partitions.map((p) => `${p.status}:${p.rule}`), ['OK:not-enough-observations', 'OK:within-allowed-lag', 'OK:no-committed-offset']);
  assert.equal(g.partitions[2]!.currentLag, 33);
  // 3 min without a new commit while the lag grows: STOP
  assert.equal(evaluateGroupLag(inputs, { now: 200_000 }).partitions[0]!.status, 'STOP');
});

test('lagInputsFromSeries keeps the last windowSize observations and rejects series without topic/partition tags', () => {
  const pts: Array<[number, number]> = Array.from({ length: 15 }, (_, i) => [i * 1000, i]);
  const [p] = lagInputsFromSeries({ committedOffset: [s('t', 0, pts)], lag: [s('t', 0, pts)], logEndOffset: [s('t', 0, pts.map(([t, v]) => [t, 2 * v]))] }, { windowSize: 4 });
  assert.deepEqual(p!.offsets.map((o) => o.offset), [11, 12, 13, 14]);
  assert.deepEqual(p!.recentLogEndOffsets, [22, 24, 26, 28]);
  assert.throws(() => lagInputsFromSeries({ committedOffset: [{ tags: { topic: 't' }, points: [] }] }), { code: 'INVALID_ARGUMENT' });
  assert.throws(() => lagInputsFromSeries({ committedOffset: [{ tags: { topic: 't', partition: 'x' }, points: [] }] }), { code: 'INVALID_ARGUMENT' });
});

test('lagInputsFromSeries: sampled committed offset disappears (offsets expired) → STOP, lag from the latest log-end', () => {
  const committed = s('t', 0, [[0, 10], [10_000, 20], [20_000, 30]]);
  const lag = s('t', 0, [[0, 90], [10_000, 90], [20_000, 90], [30_000, 200], [90_000, 500]]);
  const leo = s('t', 0, [[0, 100], [10_000, 110], [20_000, 120], [30_000, 230], [90_000, 530]]);
  const inputs = lagInputsFromSeries({ committedOffset: [committed], lag: [lag], logEndOffset: [leo] });
  const r = evaluateGroupLag(inputs, { now: 150_000 });
  assert.equal(r.partitions[0]!.status, 'STOP');
  assert.equal(r.partitions[0]!.currentLag, 500);
  // 70 s after the last commit, less than minStopSilenceMs: not yet
  assert.notEqual(evaluateGroupLag(inputs, { now: 90_000 }).partitions[0]!.status, 'STOP');
});

test('lagFinding: null when OK, severe for ERR with the partitions that fired', () => {
  const ok = evaluateGroupLag([part(obs([0, 10], [0, 0]), 10)], { now: 11_000 });
  assert.equal(lagFinding('g', ok), null);
  const err = evaluateGroupLag([part(obs([70, 70, 70], [10, 20, 30]), 110, { lagSeconds: 42 })], { now: 25_000 });
  const f = lagFinding('g', err)!;
  assert.equal(f.ruleId, 'lag.burrow');
  assert.equal(f.severity, 'severe');
  assert.match(f.summary, /STALL/);
  assert.equal((f.evidence.partitions as Array<{ rule: string }>)[0]!.rule, 'stall');
  assert.equal(f.evidence.maxLagSeconds, 42);
});

test('lagInputsFromWindow maps the diagnoser window like the store series', () => {
  const pts = (xs: Array<[number, number]>) => xs.map(([t, v]) => ({ t, v }));
  const inputs = lagInputsFromWindow({
    group: 'g',
    partitions: [{
      topic: 't', partition: 3,
      committedOffset: pts([[0, 70], [10_000, 70], [20_000, 70]]),
      lag: pts([[0, 10], [10_000, 20], [20_000, 30]]),
      logEndOffset: pts([[0, 80], [10_000, 90], [20_000, 100]]),
    }],
  });
  assert.equal(inputs.length, 1);
  assert.equal(inputs[0]!.partition, 3);
  assert.equal(inputs[0]!.offsets.length, 1, 'one commit polled three times');
  assert.deepEqual(inputs[0]!.recentLogEndOffsets, [80, 90, 100]);
  assert.equal(evaluateGroupLag(inputs, { now: 21_000 }).partitions[0]!.rule, 'not-enough-observations');
  assert.equal(evaluateGroupLag(inputs, { now: 200_000 }).partitions[0]!.status, 'STOP');
  assert.deepEqual(lagInputsFromWindow(undefined), []);
});
