/**
 * Consumer-group lag evaluation in the manner of LinkedIn Burrow's evaluator
 * (linkedin/Burrow `core/internal/evaluator/caching.go`, `calculatePartitionStatus`): no lag
 * thresholds, a per-partition status from the shape of a sliding window of the last N offset
 * commits and the last N broker log-end offsets (Burrow's in-memory storage keeps both rings,
 * `intervals` long: `core/internal/storage/inmemory.go`). Pure: plain data in, plain data out,
 * `now` passed in.
 *
 * Deliberate differences from Burrow, each for a reason (also listed in the README):
 * - Commits are seen through broker polls (OffsetFetch returns no commit time; Burrow reads the
 *   `__consumer_offsets` topic): {@link lagInputsFromSeries} makes one observation per change of
 *   the committed offset, timed at the poll that first saw it, so a re-commit of an unchanged
 *   offset is invisible. A consumer that stops advancing therefore shows as STOP, never STALL
 *   (STALL needs repeated commits of one offset, which only callers with real commits can give).
 * - STOP needs at least `minStopSilenceMs` (default 2 min) without a new commit, besides Burrow's
 *   "longer than the window spans": with one or two commits in the window (a job that just started
 *   committing every 60 s) the span is a minute or less, and one checkpoint finishing late read as
 *   STOP.
 * - The STOP grace (Burrow: one of the last `intervals` log-end offsets at or below the last commit,
 *   `checkIfRecentLagZero`) also holds while a poll of the last `minStopSilenceMs` saw the consumer
 *   caught up (`caughtUpAt`): a caught-up Flink job on a quiet topic re-commits the same offset at
 *   every checkpoint, which polls cannot see, so its last seen commit is old; when a record arrives,
 *   the last 10 polls (50 s at 5 s) are past the commit before its next checkpoint (60 s) commits
 *   it, and a count of polls alone read that as STOP.
 * - One observation is OK ('not-enough-observations') unless it is a STOP: one commit says nothing
 *   about progress. Burrow's rules make a lone commit with lag STOP as soon as any time has passed,
 *   and STALL while its log-end offset grace holds.
 * - WARN needs the lag to have grown across the window, not only never to have decreased: a Flink
 *   job commits the offset of its checkpoint barrier while records keep arriving, so a job that
 *   keeps up has about the same, never zero, lag at every commit, which Burrow calls WARN. A
 *   poll-detected commit happened somewhere between the poll before and the poll that saw it, so
 *   its lag is known only to within the records that arrived between the two polls (`lag` −
 *   `lagLow`): for the lag-not-decreasing rule a change smaller than that is no change, and so is a
 *   growth across the window. This holds also when the consumer commits as often as it is polled:
 *   a caught-up consumer committing every 5 s, polled every 5 s, whose commits drift against the
 *   polls by 0.2 s each, has a lag at the polls that grows by a second of input at every commit
 *   although it is always caught up when it commits (seen beside Burrow: BENCHMARKS.md).
 */
import type { Series } from '../../collector/index.ts';
import type { Finding, GroupLagStatus, PartitionLagStatus } from '../types.ts';
import type { ConsumerLagWindow } from '../window.ts';
import { StreamtuneError } from '../../core/index.ts';

/** Default of {@link EvaluateLagOptions.minStopSilenceMs}, ms (also rule param `minStopSilenceMs`). */
export const DEFAULT_MIN_STOP_SILENCE_MS = 120_000;

/** One offset commit of a partition (Burrow's `ConsumerOffset`). */
export interface OffsetObservation {
  /** committed offset (the next offset the group will read) */
  offset: number;
  /** ms since epoch, when the offset was committed (or first seen by a poll, see {@link lagInputsFromSeries}) */
  timestamp: number;
  /** records: log-end offset − committed offset at that time, floored at 0 */
  lag: number;
  /**
   * records, ≤ `lag`: the smallest lag the commit may have had when its time is known only to a
   * poll interval (a commit seen by a poll happened after the poll before: log-end offset at that
   * poll − offset, floored at 0). Absent = `lag` (the commit time is exact, or it was the first
   * poll).
   */
  lagLow?: number;
}

/** Input of one partition. */
export interface PartitionLagInput {
  topic: string;
  partition: number;
  /** commits oldest first; only the last `windowSize` are used. Empty = never committed. */
  offsets: OffsetObservation[];
  /** the latest log-end offset of the partition; null/absent when unknown */
  logEndOffset?: number | null;
  /**
   * the recent log-end offsets of the partition, oldest first (Burrow's `BrokerOffsets`: the last
   * `intervals` broker polls); only the last `windowSize` are used. STOP is not called while one of
   * them is ≤ the last committed offset (the consumer was caught up moments ago). Absent = unknown
   * (no grace).
   */
  recentLogEndOffsets?: number[];
  /**
   * ms since epoch: the latest poll at which the log-end offset was at or below the last committed
   * offset (the consumer was caught up then). STOP is not called within `minStopSilenceMs` of it.
   * Absent = unknown (no such grace).
   */
  caughtUpAt?: number;
  /** seconds, the latest lag in seconds when known (passed through) */
  lagSeconds?: number;
  /** true when `lagSeconds` is a lower bound (the true lag is at least that; passed through) */
  lagSecondsLowerBound?: boolean;
  /** records, the lag the collector measured last (from the earliest offset when there is no
   * committed offset); used only when the current lag cannot be computed from log-end and commit */
  sampledLag?: number;
}

/** The rule that decided a partition's status, in the order they are checked. */
export type LagRule =
  | 'no-committed-offset'
  | 'within-allowed-lag'
  | 'stop'
  | 'not-enough-observations'
  | 'rewind'
  | 'caught-up-in-window'
  | 'stall'
  | 'lag-not-decreasing'
  | 'lag-decreasing';

/** Result for one partition. */
export interface PartitionLagResult {
  topic: string;
  partition: number;
  status: PartitionLagStatus;
  rule: LagRule;
  /** records, computed at evaluation time: latest log-end offset − last committed offset, ≥ 0 */
  currentLag: number;
  /** seconds, when given in the input */
  lagSeconds?: number;
  /** true when `lagSeconds` is a lower bound */
  lagSecondsLowerBound?: boolean;
  /** records/s: change of lag from the first to the last observation of the window; null with
   * fewer than 2 observations or no time between them. Negative = draining. */
  growthRate: number | null;
  /** ms until lag reaches 0 at the current drain rate; 0 when there is no lag; null when the lag is
   * not draining (growth ≥ 0 or unknown) */
  catchUpMs: number | null;
  /** true when the window holds `windowSize` observations (Burrow's complete = 1) */
  complete: boolean;
  /** share of the window filled, 0..1 */
  completeness: number;
  /** first and last observation of the window used */
  start?: OffsetObservation;
  end?: OffsetObservation;
}

/** Result for a group. */
export interface GroupLagResult {
  /** worst partition status, STOP/STALL/REWIND shown as ERR; OK when there are no partitions */
  status: GroupLagStatus;
  partitions: PartitionLagResult[];
  /** the partition with the largest current lag, null when there are none */
  maxLag: PartitionLagResult | null;
  /** records, sum of current lags */
  totalLag: number;
  /** share of partitions whose window is full, 0..1 (0 with no partitions) */
  complete: number;
}

/** Options of {@link evaluateGroupLag}. */
export interface EvaluateLagOptions {
  /** ms since epoch, the evaluation time */
  now: number;
  /** records of lag still counted as caught up. Default 0 (Burrow `allowed-lag`; transactional
   * topics never reach 0 because of commit markers: use 1 or more there). */
  allowedLag?: number;
  /** commits per partition window, and recent log-end offsets kept. Default 10 (Burrow `intervals`). */
  windowSize?: number;
  /** ms: STOP needs at least this long since the last commit, whatever the window spans. Default
   * {@link DEFAULT_MIN_STOP_SILENCE_MS} (a difference from Burrow, see the module comment). */
  minStopSilenceMs?: number;
}

const SEVERITY: Record<PartitionLagStatus, number> = { OK: 0, WARN: 1, STOP: 2, STALL: 2, REWIND: 2 };

/**
 * Evaluates one partition. Burrow's `calculatePartitionStatus` (docs/PRIOR-ART.md), in its order; the first rule that
 * matches decides:
 * 0. No commit → OK, 'no-committed-offset' (Burrow: nothing to judge; the lag from the earliest
 *    offset is still reported in `currentLag`).
 * 1. current lag ≤ allowedLag → OK, 'within-allowed-lag'. Quiet caught-up topics end here.
 * 2. STOP, 'stop' (Burrow `checkIfOffsetsStopped` && !`checkIfRecentLagZero`): now − last commit >
 *    max(last − first commit, `minStopSilenceMs`), no recent log-end offset is ≤ the last
 *    committed offset, and the consumer was not seen caught up (`caughtUpAt`) within
 *    `minStopSilenceMs`. Checked before the zero-lag rule: a consumer that caught up and then died
 *    has commits with zero lag in its window, and is still stopped.
 * 3. One commit → OK, 'not-enough-observations' (a difference from Burrow, see the module comment).
 * 4. REWIND, 'rewind' (Burrow `checkIfOffsetsRewind` && !`checkIfRewindRecovered`): a committed
 *    offset lower than the one before it, and no later commit back at or past that one (a
 *    rebalance that briefly commits an older offset is not a rewind).
 * 5. OK, 'caught-up-in-window' (Burrow `isLagAlwaysNotZero` false): some commit had lag ≤ allowedLag.
 * 6. STALL, 'stall' (Burrow `checkIfOffsetsStalled`): every commit has the same offset.
 * 7. WARN, 'lag-not-decreasing' (Burrow `checkIfLagNotDecreasing`): no commit's lag is below the
 *    lag of the commit before it, and the last commit's lag is above the first's (both beyond the
 *    jitter of a poll-detected commit: `lag` − `lagLow`).
 * 8. OK, 'lag-decreasing' (also a lag that stays the same at every commit).
 * Current lag = max(0, logEndOffset − last committed offset) at evaluation time, so a consumer
 * that died shows its lag growing rather than frozen at its last commit (Burrow#126/#127); without
 * a log-end offset it falls back to `sampledLag`, then to the last observation's lag.
 * @throws StreamtuneError INVALID_ARGUMENT for a windowSize that is not a positive integer.
 */
export function evaluatePartitionLag(input: PartitionLagInput, opts: EvaluateLagOptions): PartitionLagResult {
  const allowed = opts.allowedLag ?? 0;
  const windowSize = opts.windowSize ?? 10;
  const minSilence = opts.minStopSilenceMs ?? DEFAULT_MIN_STOP_SILENCE_MS;
  if (!Number.isInteger(windowSize) || windowSize < 1) {
    throw new StreamtuneError('INVALID_ARGUMENT', `windowSize must be a positive integer, got ${opts.windowSize}`, { details: { field: 'windowSize' } });
  }
  const obs = input.offsets.slice(-windowSize);
  const first = obs[0];
  const last = obs[obs.length - 1];
  const leo = input.logEndOffset ?? null;
  let currentLag: number;
  if (last && leo !== null) currentLag = Math.max(0, leo - last.offset);
  else if (input.sampledLag !== undefined) currentLag = Math.max(0, input.sampledLag);
  else currentLag = last ? last.lag : 0;

  let growthRate: number | null = null;
  if (first && last && last.timestamp > first.timestamp) {
    growthRate = (last.lag - first.lag) / ((last.timestamp - first.timestamp) / 1000);
  }
  let catchUpMs: number | null;
  if (currentLag === 0) catchUpMs = 0;
  else if (growthRate !== null && growthRate < 0) catchUpMs = (currentLag / -growthRate) * 1000;
  else catchUpMs = null;

  const base = {
    topic: input.topic,
    partition: input.partition,
    currentLag,
    ...(input.lagSeconds !== undefined ? { lagSeconds: input.lagSeconds } : {}),
    ...(input.lagSecondsLowerBound ? { lagSecondsLowerBound: true } : {}),
    growthRate,
    catchUpMs,
    complete: obs.length >= windowSize,
    completeness: Math.min(1, obs.length / windowSize),
    ...(first ? { start: first } : {}),
    ...(last ? { end: last } : {}),
  };
  const res = (status: PartitionLagStatus, rule: LagRule): PartitionLagResult => ({ ...base, status, rule });

  if (!first || !last) return res('OK', 'no-committed-offset');
  if (currentLag <= allowed) return res('OK', 'within-allowed-lag');
  const silence = opts.now - last.timestamp;
  const recentlyCaughtUp = (input.recentLogEndOffsets ?? []).slice(-windowSize).some((o) => o <= last.offset)
    || (input.caughtUpAt !== undefined && opts.now - input.caughtUpAt <= minSilence);
  if (silence > Math.max(last.timestamp - first.timestamp, minSilence) && !recentlyCaughtUp) return res('STOP', 'stop');
  if (obs.length < 2) return res('OK', 'not-enough-observations');
  const low = (o: OffsetObservation): number => Math.min(o.lag, o.lagLow ?? o.lag);
  const rewindAt = obs.findIndex((o, i) => i > 0 && o.offset < obs[i - 1]!.offset);
  if (rewindAt > 0 && !obs.slice(rewindAt).some((o) => o.offset >= obs[rewindAt - 1]!.offset)) return res('REWIND', 'rewind');
  if (obs.some((o) => o.lag <= allowed)) return res('OK', 'caught-up-in-window');
  if (obs.every((o) => o.offset === first.offset)) return res('STALL', 'stall');
  // the records that arrived between the two polls bracketing a poll-detected commit: its lag is
  // known only to within that many records (0 for an exact commit time)
  const jitter = (o: OffsetObservation): number => o.lag - low(o);
  const decreased = obs.some((o, i) => i > 0 && o.lag < obs[i - 1]!.lag - jitter(o));
  if (!decreased && last.lag - first.lag > jitter(last)) return res('WARN', 'lag-not-decreasing');
  return res('OK', 'lag-decreasing');
}

/**
 * Burrow's group evaluation: every partition through {@link evaluatePartitionLag}; the group status
 * is the worst partition status with STOP/STALL/REWIND shown as ERR; plus max lag (the partition
 * with the largest current lag), total lag (records) and completeness (share of partitions with a
 * full window). Partitions are returned sorted by topic, then partition.
 * @throws StreamtuneError INVALID_ARGUMENT for a bad windowSize.
 */
export function evaluateGroupLag(partitions: PartitionLagInput[], opts: EvaluateLagOptions): GroupLagResult {
  const results = partitions
    .map((p) => evaluatePartitionLag(p, opts))
    .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  let worst: PartitionLagStatus = 'OK';
  let maxLag: PartitionLagResult | null = null;
  let totalLag = 0;
  let full = 0;
  for (const r of results) {
    if (SEVERITY[r.status] > SEVERITY[worst]) worst = r.status;
    if (!maxLag || r.currentLag > maxLag.currentLag) maxLag = r;
    totalLag += r.currentLag;
    if (r.complete) full++;
  }
  const status: GroupLagStatus = worst === 'OK' ? 'OK' : worst === 'WARN' ? 'WARN' : 'ERR';
  return { status, partitions: results, maxLag, totalLag, complete: results.length === 0 ? 0 : full / results.length };
}

/** Store series of one consumer group, each grouped by `topic` and `partition` (field `value`). */
export interface LagSeriesInput {
  /** `streamtune_kafka_partition_committedOffset` */
  committedOffset: Series[];
  /** `streamtune_kafka_partition_lag` */
  lag?: Series[];
  /** `streamtune_kafka_partition_logEndOffset` */
  logEndOffset?: Series[];
  /** `streamtune_kafka_partition_lagSeconds` */
  lagSeconds?: Series[];
  /** `streamtune_kafka_partition_lagSeconds` field `lowerBound` (1 = the seconds are a lower bound) */
  lagSecondsLowerBound?: Series[];
}

/**
 * Builds {@link PartitionLagInput}s from store series (raw points, or one point per read step) of
 * one group, keyed by the `topic` and `partition` tags.
 *
 * How broker polls map onto Burrow's window of commits: the collector reads the committed offset
 * at every poll, whether or not the consumer committed in between, and the broker does not say
 * when a commit happened. An observation (a commit) is made where the committed offset differs from
 * the poll before: timed at the poll that saw it, with its lag there (`lag`) and the lag at the
 * poll before (`lagLow`: the commit happened between the two). The first point of a series is an
 * observation too (the offset committed at or before it; no `lagLow`). So a Flink job that commits
 * on each checkpoint every 60 s, polled every 5 s, has one observation per checkpoint, not twelve
 * of the same offset (which Burrow's rules read as STALL). Consequences, by design:
 * - a consumer that stops advancing (dead, or alive and stuck re-committing one offset) makes no
 *   new observation: STOP once the silence exceeds the window span and `minStopSilenceMs`, unless a
 *   recent log-end offset shows it caught up (`recentLogEndOffsets`, and `caughtUpAt`: the latest
 *   point whose log-end offset, or committed offset + `_lag`, is at or below the last committed
 *   offset);
 * - the window covers the last `windowSize` commits found in the series given (the diagnoser's
 *   window), however long that took.
 * The lag of a point is the `_lag` point at the same timestamp, else log-end − committed from the
 * `_logEndOffset` point at the same timestamp (floored at 0); a committed-offset point with
 * neither is skipped (a missing point). `recentLogEndOffsets` are the last `windowSize` log-end
 * offset points; `logEndOffset`, `lagSeconds` (and its lower-bound flag) and `sampledLag` the
 * latest points. Partitions that have `_lag` or `_logEndOffset` points but no committed offset get
 * an input with no observations. Only the last `windowSize` observations are kept (default 10).
 * Output is sorted by topic, then partition.
 * @throws StreamtuneError INVALID_ARGUMENT when a series lacks the `topic` or `partition` tag, or
 *   `partition` is not an integer.
 */
export function lagInputsFromSeries(series: LagSeriesInput, opts: { windowSize?: number } = {}): PartitionLagInput[] {
  const windowSize = opts.windowSize ?? 10;
  type Field = 'committed' | 'lag' | 'leo' | 'secs' | 'lower';
  type Acc = { topic: string; partition: number } & Record<Field, Map<number, number>>;
  const byKey = new Map<string, Acc>();
  const add = (list: Series[] | undefined, field: Field, name: string): void => {
    for (const s of list ?? []) {
      const topic = s.tags.topic;
      const partStr = s.tags.partition;
      if (topic === undefined || partStr === undefined) {
        throw new StreamtuneError('INVALID_ARGUMENT', `lagInputsFromSeries: ${name} series must be grouped by topic and partition, got tags ${JSON.stringify(s.tags)}`, {
          details: { field: name },
        });
      }
      const partition = Number(partStr);
      if (!Number.isInteger(partition) || partition < 0) {
        throw new StreamtuneError('INVALID_ARGUMENT', `lagInputsFromSeries: ${name} series has partition '${partStr}', not an integer`, { details: { field: name } });
      }
      const key = `${topic}\u0000${partition}`;
      let acc = byKey.get(key);
      if (!acc) {
        acc = { topic, partition, committed: new Map(), lag: new Map(), leo: new Map(), secs: new Map(), lower: new Map() };
        byKey.set(key, acc);
      }
      for (const p of s.points) if (Number.isFinite(p.v)) acc[field].set(p.t, p.v);
    }
  };
  add(series.committedOffset, 'committed', 'committedOffset');
  add(series.lag, 'lag', 'lag');
  add(series.logEndOffset, 'leo', 'logEndOffset');
  add(series.lagSeconds, 'secs', 'lagSeconds');
  add(series.lagSecondsLowerBound, 'lower', 'lagSecondsLowerBound');

  const latest = (m: Map<number, number>): number | undefined => {
    let bestT = -Infinity;
    let v: number | undefined;
    for (const [t, val] of m) if (t > bestT) { bestT = t; v = val; }
    return v;
  };
  const out: PartitionLagInput[] = [];
  for (const acc of byKey.values()) {
    const offsets: OffsetObservation[] = [];
    // log-end offset at a point: the _logEndOffset point, else committed + _lag
    const leoAt = (t: number, offset: number): number | undefined => acc.leo.get(t) ?? (acc.lag.has(t) ? offset + acc.lag.get(t)! : undefined);
    let prev: { t: number; offset: number } | undefined;
    for (const t of [...acc.committed.keys()].sort((a, b) => a - b)) {
      const offset = acc.committed.get(t)!;
      const lagAt = acc.lag.get(t);
      const leoNow = acc.leo.get(t);
      const lag = lagAt !== undefined ? Math.max(0, lagAt) : leoNow !== undefined ? Math.max(0, leoNow - offset) : undefined;
      if (lag === undefined) continue;
      if (prev === undefined) offsets.push({ offset, timestamp: t, lag });
      else if (offset !== prev.offset) {
        const o: OffsetObservation = { offset, timestamp: t, lag };
        // where between the last two polls it committed is unknown, and so is its lag then
        const leoBefore = leoAt(prev.t, prev.offset);
        if (leoBefore !== undefined) o.lagLow = Math.min(lag, Math.max(0, leoBefore - offset));
        offsets.push(o);
      }
      prev = { t, offset };
    }
    const input: PartitionLagInput = { topic: acc.topic, partition: acc.partition, offsets: offsets.slice(-windowSize) };
    const lastOffset = offsets.at(-1)?.offset;
    if (lastOffset !== undefined) {
      let caughtUpAt: number | undefined;
      for (const t of new Set([...acc.leo.keys(), ...acc.committed.keys()])) {
        const l = acc.leo.get(t) ?? (acc.committed.has(t) && acc.lag.has(t) ? acc.committed.get(t)! + acc.lag.get(t)! : undefined);
        if (l !== undefined && l <= lastOffset && (caughtUpAt === undefined || t > caughtUpAt)) caughtUpAt = t;
      }
      if (caughtUpAt !== undefined) input.caughtUpAt = caughtUpAt;
    }
    const leo = latest(acc.leo);
    if (leo !== undefined) input.logEndOffset = leo;
    if (acc.leo.size > 0) input.recentLogEndOffsets = [...acc.leo.entries()].sort((a, b) => a[0] - b[0]).slice(-windowSize).map(([, v]) => v);
    const secs = latest(acc.secs);
    if (secs !== undefined) input.lagSeconds = secs;
    if (secs !== undefined && latest(acc.lower) === 1) input.lagSecondsLowerBound = true;
    const sampled = latest(acc.lag);
    if (sampled !== undefined) input.sampledLag = sampled;
    out.push(input);
  }
  return out.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
}

/**
 * {@link lagInputsFromSeries} for the diagnoser's loaded window (`JobWindow.consumerLag`, one
 * `PartitionLagSeries` per partition): the same mapping, same rules. Empty for an absent window.
 */
export function lagInputsFromWindow(c: ConsumerLagWindow | undefined, opts: { windowSize?: number } = {}): PartitionLagInput[] {
  if (!c) return [];
  const tags = (p: { topic: string; partition: number }): Record<string, string> => ({ topic: p.topic, partition: String(p.partition) });
  return lagInputsFromSeries({
    committedOffset: c.partitions.map((p) => ({ tags: tags(p), points: p.committedOffset })),
    lag: c.partitions.map((p) => ({ tags: tags(p), points: p.lag })),
    logEndOffset: c.partitions.map((p) => ({ tags: tags(p), points: p.logEndOffset })),
    lagSeconds: c.partitions.filter((p) => p.lagSeconds).map((p) => ({ tags: tags(p), points: p.lagSeconds! })),
    lagSecondsLowerBound: c.partitions.filter((p) => p.lagSecondsLowerBound).map((p) => ({ tags: tags(p), points: p.lagSecondsLowerBound! })),
  }, opts);
}

/**
 * A {@link Finding} (rule id 'lag.burrow') for a group result, or null when the group is OK.
 * WARN → severity 'moderate' (the consumer keeps up too slowly); ERR → 'severe' (stopped, stalled
 * or rewound). Evidence: status, total and max lag, lag seconds and the non-OK partitions with the
 * rule that fired.
 */
export function lagFinding(groupId: string, result: GroupLagResult): Finding | null {
  if (result.status === 'OK') return null;
  const bad = result.partitions.filter((p) => p.status !== 'OK');
  const kinds = [...new Set(bad.map((p) => p.status))].join('/');
  const max = result.maxLag;
  return {
    ruleId: 'lag.burrow',
    severity: result.status === 'ERR' ? 'severe' : 'moderate',
    summary: `consumer group ${groupId}: ${result.status} (${kinds} on ${bad.length} of ${result.partitions.length} partitions), total lag ${result.totalLag} records`
      + (max && max.lagSeconds !== undefined ? `, max lag ${max.lagSecondsLowerBound ? '≥ ' : ''}${Math.round(max.lagSeconds)} s` : ''),
    help: result.status === 'ERR'
      ? 'STOP: the group stopped committing offsets; STALL: its committed offsets do not move while lag grows; REWIND: an offset was reset backwards. Check that the job is running and its checkpoints complete (offsets are committed on checkpoint completion).'
      : 'Lag has not decreased over the window: the consumer is slower than the input rate. Check backpressure and busy time and consider more parallelism (up to the number of partitions).',
    evidence: {
      group: groupId,
      status: result.status,
      totalLag: result.totalLag,
      maxLag: max?.currentLag ?? 0,
      ...(max?.lagSeconds !== undefined ? { maxLagSeconds: max.lagSeconds } : {}),
      ...(max?.lagSecondsLowerBound ? { maxLagSecondsLowerBound: true } : {}),
      complete: result.complete,
      partitions: bad.map((p) => ({
        topic: p.topic, partition: p.partition, status: p.status, rule: p.rule, lag: p.currentLag,
        growthRate: p.growthRate, catchUpMs: p.catchUpMs,
      })),
    },
  };
}
