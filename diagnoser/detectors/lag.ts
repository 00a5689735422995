/**
 * Consumer-group lag evaluation in the manner of LinkedIn Burrow's evaluator
 * (`core/internal/evaluator/caching.go`): no lag thresholds, a per-partition status from the shape
 * of a sliding window of committed-offset observations. Pure: plain data in, plain data out, `now`
 * passed in.
 */
import type { Series } from '../../collector/index.ts';
import type { Finding, GroupLagStatus, PartitionLagStatus } from '../types.ts';
import type { ConsumerLagWindow } from '../window.ts';
import { StreamtuneError } from '../../core/index.ts';

/** One committed-offset observation of a partition. */
export interface OffsetObservation {
  /** committed offset (the next offset the group will read) */
  offset: number;
  /** ms since epoch, when the offset was committed (or sampled, see {@link lagInputsFromSeries}) */
  timestamp: number;
  /** records: log-end offset − committed offset at that time, floored at 0 */
  lag: number;
}

/** Input of one partition. */
export interface PartitionLagInput {
  topic: string;
  partition: number;
  /** observations oldest first; only the last `windowSize` are used. Empty = never committed. */
  offsets: OffsetObservation[];
  /** the latest log-end offset of the partition; null/absent when unknown */
  logEndOffset?: number | null;
  /** seconds, the latest lag in seconds when known (passed through) */
  lagSeconds?: number;
  /** records, the lag the collector measured last (from the earliest offset when there is no
   * committed offset); used only when the current lag cannot be computed from log-end and commit */
  sampledLag?: number;
}

/** The rule that decided a partition's status, in the order they are checked. */
export type LagRule =
  | 'no-committed-offset'
  | 'not-enough-observations'
  | 'within-allowed-lag'
  | 'stop'
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
  /** observations per partition window. Default 10 (Burrow `intervals`). */
  windowSize?: number;
}

const SEVERITY: Record<PartitionLagStatus, number> = { OK: 0, WARN: 1, STOP: 2, STALL: 2, REWIND: 2 };

/**
 * Evaluates one partition. Rules, checked in this order (Burrow's order, docs/PRIOR-ART.md);
 * the first that matches decides:
 * 0. No observation (the group never committed) → OK, 'no-committed-offset' (Burrow: nothing to
 *    judge; the lag from the earliest offset is still reported in `currentLag`). One observation →
 *    OK, 'not-enough-observations' (a deviation from Burrow, whose rule 3 turns every lone commit
 *    into STOP as soon as time passes: "not enough data yet" is not an error).
 * 1. current lag ≤ allowedLag → OK, 'within-allowed-lag'. Quiet caught-up topics end here.
 * 2. STOP, 'stop': now − last observation > last − first observation (no commit for longer than
 *    the window covers) AND no observation in the window had lag ≤ allowedLag (the consumer was not
 *    caught up recently: a quiet topic that receives a record is not a false STOP).
 * 3. REWIND, 'rewind': some committed offset is lower than the one before it.
 * 4. OK, 'caught-up-in-window': some observation had lag ≤ allowedLag.
 * 5. STALL, 'stall': every observation has the same offset while lag is non-zero (rule 1 passed).
 * 6. WARN, 'lag-not-decreasing': lag never decreases between consecutive observations.
 * 7. OK, 'lag-decreasing'.
 * Current lag = max(0, logEndOffset − last committed offset) at evaluation time, so a consumer
 * that died shows its lag growing rather than frozen at its last commit (Burrow#126/#127); without
 * a log-end offset it falls back to `sampledLag`, then to the last observation's lag.
 */
export function evaluatePartitionLag(input: PartitionLagInput, opts: EvaluateLagOptions): PartitionLagResult {
  const allowed = opts.allowedLag ?? 0;
  const windowSize = opts.windowSize ?? 10;
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
    growthRate,
    catchUpMs,
    complete: obs.length >= windowSize,
    completeness: Math.min(1, obs.length / windowSize),
    ...(first ? { start: first } : {}),
    ...(last ? { end: last } : {}),
  };
  const res = (status: PartitionLagStatus, rule: LagRule): PartitionLagResult => ({ ...base, status, rule });

  if (!first || !last) return res('OK', 'no-committed-offset');
  if (obs.length < 2) return res('OK', 'not-enough-observations');
  if (currentLag <= allowed) return res('OK', 'within-allowed-lag');
  const caughtUpRecently = obs.some((o) => o.lag <= allowed);
  if (!caughtUpRecently && opts.now - last.timestamp > last.timestamp - first.timestamp) return res('STOP', 'stop');
  for (let i = 1; i < obs.length; i++) {
    if (obs[i]!.offset < obs[i - 1]!.offset) return res('REWIND', 'rewind');
  }
  if (caughtUpRecently) return res('OK', 'caught-up-in-window');
  if (obs.every((o) => o.offset === first.offset)) return res('STALL', 'stall');
  let decreased = false;
  for (let i = 1; i < obs.length; i++) {
    if (obs[i]!.lag < obs[i - 1]!.lag) { decreased = true; break; }
  }
  if (!decreased) return res('WARN', 'lag-not-decreasing');
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
}

/**
 * Builds {@link PartitionLagInput}s from store series (raw points, no window) of one group, keyed by
 * the `topic` and `partition` tags.
 *
 * How broker sampling maps onto Burrow's commit window: the collector samples the committed offset
 * at every poll (10 s), whether or not the consumer committed in between. Every sample is one
 * observation; an offset that did not change between polls is that observation repeated, as if the
 * consumer had committed the same offset again. Consequences, by design:
 * - a consumer that stopped making progress (dead, or alive but stuck) shows as STALL: the same
 *   offset in every observation while lag is non-zero, with the current lag still growing from the
 *   latest log-end offset;
 * - STOP means the observations themselves stopped: the committed offset was no longer reported
 *   (offsets expired by the broker's offset retention, group deleted, or the collector lost it) for
 *   longer than the window covers;
 * - the window covers `windowSize` polls (100 s at the defaults), not `windowSize` commits.
 * The lag of an observation is the `_lag` point at the same timestamp, else log-end − committed
 * from the `_logEndOffset` point at the same timestamp (floored at 0); a committed-offset point with
 * neither is dropped (a missing point). `logEndOffset`, `lagSeconds` and `sampledLag` are the latest
 * points of their series. Partitions that have `_lag` or `_logEndOffset` points but no committed
 * offset get an input with no observations. Only the last `windowSize` observations are kept
 * (default 10). Output is sorted by topic, then partition.
 * @throws StreamtuneError INVALID_ARGUMENT when a series lacks the `topic` or `partition` tag, or
 *   `partition` is not an integer.
 */
export function lagInputsFromSeries(series: LagSeriesInput, opts: { windowSize?: number } = {}): PartitionLagInput[] {
  const windowSize = opts.windowSize ?? 10;
  type Acc = { topic: string; partition: number; committed: Map<number, number>; lag: Map<number, number>; leo: Map<number, number>; secs: Map<number, number> };
  const byKey = new Map<string, Acc>();
  const add = (list: Series[] | undefined, field: 'committed' | 'lag' | 'leo' | 'secs', name: string): void => {
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
        acc = { topic, partition, committed: new Map(), lag: new Map(), leo: new Map(), secs: new Map() };
        byKey.set(key, acc);
      }
      for (const p of s.points) if (Number.isFinite(p.v)) acc[field].set(p.t, p.v);
    }
  };
  add(series.committedOffset, 'committed', 'committedOffset');
  add(series.lag, 'lag', 'lag');
  add(series.logEndOffset, 'leo', 'logEndOffset');
  add(series.lagSeconds, 'secs', 'lagSeconds');

  const latest = (m: Map<number, number>): number | undefined => {
    let bestT = -Infinity;
    let v: number | undefined;
    for (const [t, val] of m) if (t > bestT) { bestT = t; v = val; }
    return v;
  };
  const out: PartitionLagInput[] = [];
  for (const acc of byKey.values()) {
    const offsets: OffsetObservation[] = [];
    for (const t of [...acc.committed.keys()].sort((a, b) => a - b)) {
      const offset = acc.committed.get(t)!;
      const lagAt = acc.lag.get(t);
      const leoAt = acc.leo.get(t);
      const lag = lagAt !== undefined ? Math.max(0, lagAt) : leoAt !== undefined ? Math.max(0, leoAt - offset) : undefined;
      if (lag === undefined) continue;
      offsets.push({ offset, timestamp: t, lag });
    }
    const input: PartitionLagInput = { topic: acc.topic, partition: acc.partition, offsets: offsets.slice(-windowSize) };
    const leo = latest(acc.leo);
    if (leo !== undefined) input.logEndOffset = leo;
    const secs = latest(acc.secs);
    if (secs !== undefined) input.lagSeconds = secs;
    const sampled = latest(acc.lag);
    if (sampled !== undefined) input.sampledLag = sampled;
    out.push(input);
  }
  return out.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
}

/**
 * {@link lagInputsFromSeries} for the diagnoser's loaded window (`JobWindow.consumer`, one
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
      + (max && max.lagSeconds !== undefined ? `, max lag ${Math.round(max.lagSeconds)} s` : ''),
    help: result.status === 'ERR'
      ? 'STOP: the group stopped committing offsets; STALL: its committed offsets do not move while lag grows; REWIND: an offset was reset backwards. Check that the job is running and its checkpoints complete (offsets are committed on checkpoint completion).'
      : 'Lag has not decreased over the window: the consumer is slower than the input rate. Check backpressure and busy time and consider more parallelism (up to the number of partitions).',
    evidence: {
      group: groupId,
      status: result.status,
      totalLag: result.totalLag,
      maxLag: max?.currentLag ?? 0,
      ...(max?.lagSeconds !== undefined ? { maxLagSeconds: max.lagSeconds } : {}),
      complete: result.complete,
      partitions: bad.map((p) => ({
        topic: p.topic, partition: p.partition, status: p.status, rule: p.rule, lag: p.currentLag,
        growthRate: p.growthRate, catchUpMs: p.catchUpMs,
      })),
    },
  };
}
