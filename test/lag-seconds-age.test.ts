/**
 * Lag in seconds of any age (issue 15): kafka-lag-exporter's table of the last 60 polls stopped at
 * ~295 s with a 5 s poll; the table now spans everything the collector saw, and only records
 * produced before its first sample are a lower bound, stored and shown as such.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LagTable } from '../collector/kafka/lag-table.ts';
import { KafkaLagCollector, KAFKA_LAG_MEASUREMENTS as M, type LagAdmin } from '../collector/kafka/index.ts';
import { evaluateGroupLag, lagFinding, lagInputsFromSeries } from '../diagnoser/detectors/lag.ts';
import type { MetricPoint } from '../core/points.ts';

/** offsets produced at a rate that swings between 200 and 1800 records/s, polled every 5 s */
function produce(seconds: number): { table: LagTable; producedAt: (offset: number) => number; end: number } {
  const table = new LagTable();
  const log: Array<{ offset: number; time: number }> = [];
  let offset = 0;
  for (let s = 0; s <= seconds; s += 5) {
    const rate = 1000 + 800 * Math.sin(s / 600);
    offset += Math.round(rate * 5);
    table.add(offset, s * 1000);
    log.push({ offset, time: s * 1000 });
  }
  // the time the record at `o` existed by: the first poll whose log-end offset is past it
  const producedAt = (o: number) => log.find((x) => x.offset > o)!.time;
  return { table, producedAt, end: seconds * 1000 };
}

test('a consumer stuck for 2 hours, polled every 5 s: its lag in seconds is about 2 h (interpolated), not the ~295 s a 60-poll table allowed', () => {
  const { table, producedAt, end } = produce(3 * 3600);
  const committed = 1_000_000; // produced about an hour in
  const r = table.lagSeconds(committed, end);
  const truth = (end - producedAt(committed)) / 1000;
  assert.equal(r.kind, 'interpolated');
  assert.equal(r.lowerBound, false);
  assert.ok(truth > 6000, `truth ${truth} s`);
  assert.ok(Math.abs(r.seconds - truth) / truth < 0.1, `lag ${r.seconds} s, true ${truth} s`);
  assert.ok(table.size <= 120);
});

test('lag seconds error stays a small share of the lag at every age', () => {
  const { table, producedAt, end } = produce(6 * 3600);
  for (const ageS of [30, 120, 600, 1800, 3600, 3 * 3600, 5.5 * 3600]) {
    const t = end - ageS * 1000;
    // the record produced at about `t`
    const probe = table.points().find((p) => p.time >= t)!.offset;
    const truth = (end - producedAt(probe)) / 1000;
    const r = table.lagSeconds(probe, end);
    assert.ok(Math.abs(r.seconds - truth) <= Math.max(5, 0.1 * truth), `age ${ageS} s: ${r.seconds} vs ${truth}`);
  }
});

/** A kafkajs-like admin serving fixed offsets. */
function admin(high: () => number, committed: () => number): LagAdmin {
  return {
    connect: async () => {},
    disconnect: async () => {},
    fetchTopicOffsets: async () => [{ partition: 0, offset: String(high()), high: String(high()), low: '0' }],
    fetchOffsets: async () => [{ topic: 't', partitions: [{ partition: 0, offset: String(committed()) }] }],
  };
}

test('records older than the collector\'s first sample: a lower bound, stored in the lowerBound field and shown as ≥', async () => {
  let high = 50_000;
  const points: MetricPoint[] = [];
  // the group is stuck at offset 100, produced before the collector started
  const c = new KafkaLagCollector({ admin: admin(() => high, () => 100), sink: (p) => points.push(...p), groups: [{ groupId: 'g', topics: ['t'] }] });
  for (let s = 0; s <= 1200; s += 5) {
    high += 1000;
    await c.pollOnce(1_000_000 + s * 1000);
  }
  const last = points.filter((p) => p.timestamp === 1_000_000 + 1_200_000);
  const secs = last.find((p) => p.measurement === M.lagSeconds)!;
  // at least the 20 minutes the collector has watched, flagged as a lower bound
  assert.equal(secs.fields.value, 1200);
  assert.equal(secs.fields.lowerBound, 1);
  assert.equal(last.find((p) => p.measurement === M.groupMaxLagSeconds)!.fields.lowerBound, 1);
  // the diagnoser reads the flag and says "≥"
  const series = (m: string, field = 'value') => [{ tags: { topic: 't', partition: '0' }, points: points.filter((p) => p.measurement === m).map((p) => ({ t: p.timestamp, v: Number(p.fields[field]) })) }];
  const g = evaluateGroupLag(lagInputsFromSeries({
    committedOffset: series(M.committedOffset), lag: series(M.lag), logEndOffset: series(M.logEndOffset),
    lagSeconds: series(M.lagSeconds), lagSecondsLowerBound: series(M.lagSeconds, 'lowerBound'),
  }), { now: 2_200_000 });
  assert.equal(g.partitions[0]!.lagSecondsLowerBound, true);
  const f = lagFinding('g', g)!;
  assert.match(f.summary, /max lag ≥ 1200 s/);
  assert.equal(f.evidence.maxLagSecondsLowerBound, true);
});
