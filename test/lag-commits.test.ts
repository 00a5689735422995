/**
 * Burrow's rule order on commits, and broker polls turned into commits (issues 15 and 17): a Flink
 * job commits its Kafka offsets when a checkpoint completes, so polling the committed offset every
 * 5 s sees the same offset twelve times a minute. Those repeats are not commits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateGroupLag, evaluatePartitionLag, lagInputsFromSeries, type OffsetObservation } from '../diagnoser/detectors/lag.ts';
import type { Series } from '../collector/store/types.ts';

const obs = (offsets: number[], lags: number[], step = 60_000): OffsetObservation[] => offsets.map((offset, i) => ({ offset, lag: lags[i]!, timestamp: i * step }));

test('Burrow order: a consumer that caught up and then died is STOP although a commit in its window had zero lag', () => {
  // commits every 60 s, the last ones caught up (lag 0); then nothing while records keep arriving
  const offsets = obs([100, 200, 300, 400, 500], [50, 20, 0, 0, 0]);
  const input = { topic: 't', partition: 0, offsets, logEndOffset: 9000, recentLogEndOffsets: [8000, 8500, 9000] };
  const r = evaluatePartitionLag(input, { now: 240_000 + 300_000 });
  assert.equal(r.status, 'STOP');
  assert.equal(r.rule, 'stop');
  // the STOP grace: while one of the recent log-end offsets is at the last commit, it is not stopped
  const grace = evaluatePartitionLag({ ...input, recentLogEndOffsets: [500, 8500, 9000] }, { now: 240_000 + 300_000 });
  assert.equal(grace.status, 'OK');
  assert.equal(grace.rule, 'caught-up-in-window');
});

test('REWIND only while the committed offset stays below where it was: a rebalance that climbs back past it is no rewind', () => {
  const recovered = evaluatePartitionLag({ topic: 't', partition: 0, offsets: obs([100, 200, 150, 250], [40, 40, 90, 30]), logEndOffset: 280 }, { now: 190_000 });
  assert.notEqual(recovered.status, 'REWIND');
  assert.equal(recovered.rule, 'lag-decreasing');
  const stays = evaluatePartitionLag({ topic: 't', partition: 0, offsets: obs([100, 200, 150, 180], [40, 40, 90, 80]), logEndOffset: 260 }, { now: 190_000 });
  assert.equal(stays.status, 'REWIND');
});

/**
 * A synthetic Flink job on `partitions` partitions, 200 records/s each, polled every 5 s for
 * `minutes`: checkpoint k starts at 60·k + 7 s and completes 1–5 s later (jittered), committing the
 * offset the reader had at the barrier (`readShare` of the log-end offset then: 1 keeps up). The
 * job commits nothing after `diesAt` s.
 */
function flinkSeries(o: { minutes: number; partitions?: number; readShare?: number; diesAt?: number }) {
  const rate = 200;
  const parts = o.partitions ?? 4;
  const polls: number[] = [];
  for (let t = 0; t <= o.minutes * 60; t += 5) polls.push(t * 1000);
  const leo = (p: number, s: number) => Math.floor(rate * s) + p * 1_000_000;
  const commits = (p: number) => {
    const out: Array<{ at: number; offset: number }> = [];
    for (let k = 1; 60 * k + 7 <= o.minutes * 60; k++) {
      const barrier = 60 * k + 7;
      if (o.diesAt !== undefined && barrier >= o.diesAt) break;
      const duration = 1 + ((k * 7 + p) % 5);
      out.push({ at: (barrier + duration) * 1000, offset: p * 1_000_000 + Math.floor(rate * barrier * (o.readShare ?? 1)) });
    }
    return out;
  };
  const series = (f: (p: number, t: number) => number | undefined): Series[] =>
    Array.from({ length: parts }, (_, p) => ({
      tags: { topic: 'flights', partition: String(p) },
      points: polls.flatMap((t) => {
        const v = f(p, t);
        return v === undefined ? [] : [{ t, v }];
      }),
    }));
  const committedAt = (p: number, t: number) => commits(p).filter((c) => c.at <= t).at(-1)?.offset;
  const committedOffset = series(committedAt);
  const logEndOffset = series((p, t) => leo(p, t / 1000));
  const lag = series((p, t) => {
    const c = committedAt(p, t);
    return c === undefined ? undefined : Math.max(0, leo(p, t / 1000) - c);
  });
  /** the series as a store read at `now` returns them: points up to `now` */
  const upTo = (list: Series[], now: number): Series[] => list.map((s) => ({ tags: s.tags, points: s.points.filter((x) => x.t <= now) }));
  return { polls, at: (now: number) => ({ committedOffset: upTo(committedOffset, now), lag: upTo(lag, now), logEndOffset: upTo(logEndOffset, now) }) };
}

test('a Flink job committing every 60 s with steady traffic stays OK for 10 minutes, evaluated at every 5 s poll', () => {
  const f = flinkSeries({ minutes: 10 });
  const seen = new Map<string, number>();
  for (const now of f.polls) {
    const g = evaluateGroupLag(lagInputsFromSeries(f.at(now)), { now });
    for (const p of g.partitions) seen.set(p.rule, (seen.get(p.rule) ?? 0) + 1);
    assert.equal(g.status, 'OK', `at ${now / 1000} s: ${JSON.stringify(g.partitions.map((p) => ({ p: p.partition, status: p.status, rule: p.rule, commits: p.completeness * 10 })))}`);
  }
  // the window holds the checkpoints' commits, not the polls: 9 commits after 10 min
  const last = lagInputsFromSeries(f.at(600_000));
  assert.equal(last[0]!.offsets.length, 9);
  assert.ok((seen.get('not-enough-observations') ?? 0) > 0 && (seen.get('caught-up-in-window') ?? 0) + (seen.get('lag-decreasing') ?? 0) > 0, JSON.stringify([...seen]));
});

test('the same job stopped at minute 6 while records keep arriving: STOP once the silence is longer than its commits span', () => {
  const f = flinkSeries({ minutes: 14, diesAt: 360 });
  const status = (now: number) => evaluateGroupLag(lagInputsFromSeries(f.at(now)), { now });
  assert.equal(status(420_000).status, 'OK', 'one missed checkpoint is no STOP');
  const g = status(840_000);
  assert.equal(g.status, 'ERR');
  assert.ok(g.partitions.every((p) => p.status === 'STOP'), JSON.stringify(g.partitions.map((p) => p.rule)));
});

/** One partition polled every 5 s up to `until` s: log-end and committed offsets as functions of s. */
function everyPoll(until: number, leo: (s: number) => number, committed: (s: number) => number) {
  const polls: number[] = [];
  for (let t = 5; t <= until; t += 5) polls.push(t * 1000);
  const ser = (f: (s: number) => number, now: number): Series[] => [{ tags: { topic: 't', partition: '0' }, points: polls.filter((t) => t <= now).map((t) => ({ t, v: f(t / 1000) })) }];
  return { polls, at: (now: number) => ({ committedOffset: ser(committed, now), logEndOffset: ser(leo, now), lag: ser((s) => leo(s) - committed(s), now) }) };
}

test('a caught-up consumer committing every 5 s, polled every 5 s, its commits drifting 0.2 s a commit against the polls, is OK at every poll', () => {
  // seen beside Burrow on a real broker: the lag at the polls grew by a second of input at every
  // commit (the commit moved away from the poll that saw it), and read as WARN
  const rate = 50;
  const commitAt = (k: number) => 5 * k - ((k * 0.2) % 5);
  const f = everyPoll(120, (s) => Math.floor(rate * s), (s) => {
    let c = 0;
    for (let k = 1; commitAt(k) <= s; k++) c = Math.floor(rate * commitAt(k));
    return c;
  });
  for (const now of f.polls) {
    const g = evaluateGroupLag(lagInputsFromSeries(f.at(now)), { now });
    assert.equal(g.status, 'OK', `at ${now / 1000} s: ${g.partitions[0]!.rule}`);
  }
  // each commit was made after the poll before, whose log-end offset was below it: it may have been made with no lag
  const last = lagInputsFromSeries(f.at(120_000))[0]!.offsets.at(-1)!;
  assert.equal(last.lagLow, 0);
  assert.ok(last.lag > 0);
});

test('a consumer committing at every poll and reading 80% of its input is WARN once its lag grew by more than a poll interval of input across the window', () => {
  // 1,000 records/s, committed offset 80 % of the log-end offset at every poll: lag 200 records/s
  const f = everyPoll(120, (s) => 1000 * s, (s) => 800 * s);
  const status = (now: number) => evaluateGroupLag(lagInputsFromSeries(f.at(now)), { now }).partitions[0]!;
  // at 15 s the lag (3,000) is less than the 5,000 records a poll interval brings: each commit may
  // have been made with no lag right after the poll before
  assert.equal(status(15_000).status, 'OK');
  // from 35 s the lag at the last commit, however late in its poll interval it was made, is above
  // the lag at the first commit of the window
  for (const now of f.polls.filter((t) => t >= 35_000)) assert.equal(status(now).status, 'WARN', `at ${now / 1000} s`);
  assert.equal(status(30_000).status, 'OK');
});

test('a job reading 80% of its input, committing every 60 s, is WARN (lag grows at every commit by more than a poll of input)', () => {
  const f = flinkSeries({ minutes: 10, readShare: 0.8 });
  const g = evaluateGroupLag(lagInputsFromSeries(f.at(600_000)), { now: 600_000 });
  assert.equal(g.status, 'WARN', JSON.stringify(g.partitions.map((p) => p.rule)));
  assert.ok(g.partitions.every((p) => p.rule === 'lag-not-decreasing'));
});

/**
 * A caught-up Flink job on a quiet topic: it commits the same offset at every checkpoint (60 s), so
 * the polls (every 5 s) see one commit, long ago. One record arrives right after a checkpoint; the
 * next checkpoint commits it. `commitsFrom` s: when the job first committed; `diesAt` s: no commit
 * from then on.
 */
function quietFlinkSeries(o: { recordAt: number; until: number; diesAt?: number }) {
  const polls: number[] = [];
  for (let t = 0; t <= o.until; t += 5) polls.push(t * 1000);
  const leo = (s: number) => 50 + (s >= o.recordAt ? 1 : 0);
  // checkpoint k completes at 60·k + 3 s and commits the log-end offset of its barrier (60·k s)
  const committed = (s: number) => {
    let c: number | undefined;
    for (let k = 0; 60 * k + 3 <= s; k++) if (o.diesAt === undefined || 60 * k < o.diesAt) c = leo(60 * k);
    return c;
  };
  const ser = (f: (s: number) => number | undefined): Series[] => [{
    tags: { topic: 'sparse', partition: '0' },
    points: polls.flatMap((t) => { const v = f(t / 1000); return v === undefined ? [] : [{ t, v }]; }),
  }];
  const upTo = (list: Series[], now: number): Series[] => list.map((s) => ({ tags: s.tags, points: s.points.filter((x) => x.t <= now) }));
  const all = { committedOffset: ser(committed), logEndOffset: ser(leo), lag: ser((s) => { const c = committed(s); return c === undefined ? undefined : leo(s) - c; }) };
  return { polls, at: (now: number) => ({ committedOffset: upTo(all.committedOffset, now), logEndOffset: upTo(all.logEndOffset, now), lag: upTo(all.lag, now) }) };
}

test('a caught-up Flink job on a quiet topic that gets one record stays OK until its next checkpoint commits it (no false STOP)', () => {
  // quiet for 10 minutes, the record at 604 s (right after the checkpoint at 600 s), committed by the
  // checkpoint at 660 s (completes 663 s)
  const f = quietFlinkSeries({ recordAt: 604, until: 700 });
  const seen: string[] = [];
  for (const now of f.polls.filter((t) => t >= 300_000)) {
    const g = evaluateGroupLag(lagInputsFromSeries(f.at(now)), { now });
    seen.push(`${now / 1000}:${g.partitions[0]!.rule}`);
    assert.equal(g.status, 'OK', `at ${now / 1000} s: ${g.partitions[0]!.rule}`);
  }
  // the poll at 600 s saw it caught up; the 10 polls after the record (50 s) are all past the commit
  const at655 = lagInputsFromSeries(f.at(655_000))[0]!;
  assert.equal(at655.caughtUpAt, 600_000);
  assert.ok(at655.recentLogEndOffsets!.every((o) => o > at655.offsets.at(-1)!.offset));
  // counted by polls alone (Burrow's grace, 10 log-end offsets) it was a STOP from 655 s to the commit
  const { caughtUpAt: _, ...withoutGrace } = at655;
  assert.equal(evaluatePartitionLag(withoutGrace, { now: 655_000 }).status, 'STOP');
});

test('a Flink job that died on a quiet topic is STOP once records arrive and minStopSilenceMs passed since it was last seen caught up', () => {
  const f = quietFlinkSeries({ recordAt: 604, until: 900, diesAt: 300 });
  const status = (now: number) => evaluateGroupLag(lagInputsFromSeries(f.at(now)), { now });
  assert.equal(status(700_000).status, 'OK', '100 s after the last caught-up poll');
  const g = status(730_000);
  assert.equal(g.status, 'ERR');
  assert.equal(g.partitions[0]!.rule, 'stop');
});
