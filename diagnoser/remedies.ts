/**
 * Remedies that are more than a parallelism change, as plain data in, a recommendation out (pure):
 * - {@link checkpointRemedy}: checkpoint interval, timeout, min pause and unaligned checkpoints from
 *   the checkpoint durations, alignment time and size (a `set-checkpointing` action);
 * - {@link skewRemedy}: what to change in the job when a keyed vertex is skewed — the hot key
 *   groups, the remedies that fit the operator (local pre-aggregation / two-phase aggregation, key
 *   salting) — as advice, never an applicable action (the job's code must change).
 */
import type { Recommendation, TuningAction } from './types.ts';
import type { CheckpointStats } from './detectors/checkpoint.ts';
import type { SkewResult } from './detectors/skew.ts';
import type { CheckpointWindow } from './window.ts';
import { round } from './series.ts';

/** A recommendation before diagnose() gives it its id. */
export type RecommendationDraft = Omit<Recommendation, 'id' | 'lagUnderOneMinuteMs'>;

/** What {@link checkpointRemedy} reads. */
export interface CheckpointRemedyInput {
  /** the checkpoint detectors' numbers (durations ms, failures, alignment ms, size growth) */
  stats: CheckpointStats;
  /** the job's checkpoint configuration (interval, timeout, min pause: ms) */
  config: NonNullable<CheckpointWindow['config']>;
  /** rule ids and summaries of the checkpoint findings (the first one is the recommendation's rule) */
  findings: Array<{ ruleId: string; summary: string }>;
  /** some vertex is back-pressured above the symptom threshold */
  backpressured: boolean;
  /** a checkpoint taking this share of the interval gets a longer interval (rule param `intervalShare`, default 0.5) */
  intervalShare?: number;
}

const ceilSecond = (ms: number): number => Math.ceil(ms / 1000) * 1000;

/**
 * The checkpoint settings that relieve the trouble the findings describe, or undefined when no
 * setting would change. Rules (each one a reason in the rationale):
 * - expected duration D = the slowest checkpoint × (1 + size growth over the window, when the size
 *   grows and the checkpoints are not mostly alignment): a checkpoint's write time follows its
 *   size, so a growing state makes the next ones slower;
 * - interval: when D ≥ `intervalShare` × interval, interval = D / `intervalShare` (rounded up to a
 *   second): checkpoints back to back leave the job no time to process (Flink starts the next one
 *   as soon as the interval and the min pause allow);
 * - timeout: when the slowest checkpoint takes ≥ half the timeout or some failed, twice the basis
 *   (D, or the timeout the failed checkpoints ran into, whichever is larger);
 * - min pause: when D is more than half the (new) interval, at least D;
 * - unaligned: when the alignment finding fired, or under back-pressure when alignment is at least
 *   half of a checkpoint's time or a checkpoint takes half its timeout (barriers queue behind full
 *   buffers; unaligned checkpoints let them overtake). Not when alignment is a small share (< 20%)
 *   of the time: then the duration comes from the state size, and unaligned checkpoints would only
 *   add the in-flight buffers to it — the rationale says so.
 * Flink's settings: `execution.checkpointing.interval`, `.timeout`, `.min-pause`, `.unaligned.enabled`.
 */
export function checkpointRemedy(input: CheckpointRemedyInput): RecommendationDraft | undefined {
  const { stats, config: cfg, findings, backpressured } = input;
  const share = input.intervalShare !== undefined && input.intervalShare > 0 ? input.intervalShare : 0.5;
  if (findings.length === 0) return undefined;
  const act: Extract<TuningAction, { type: 'set-checkpointing' }> = { type: 'set-checkpointing' };
  const why: string[] = [];
  const notes: string[] = [];
  const maxDur = stats.maxDuration ?? 0;
  const alignShare = maxDur > 0 && stats.maxAlignment !== undefined ? Math.min(1, stats.maxAlignment / maxDur) : undefined;
  const growth = stats.sizeGrowth !== undefined && stats.sizeGrowth > 0 && (alignShare ?? 0) < 0.5 ? stats.sizeGrowth : 0;
  const expected = maxDur * (1 + growth);
  if (growth > 0) notes.push(`the checkpoint size grew ${Math.round(growth * 100)}% in the window, so the next checkpoints are expected to take about ${Math.round(expected)} ms (a state that keeps growing needs a state TTL, or windows that fire)`);

  let interval = cfg.interval;
  if (cfg.interval > 0 && expected >= share * cfg.interval) {
    interval = Math.max(cfg.interval, ceilSecond(expected / share));
    if (interval > cfg.interval) {
      act.interval = interval;
      why.push(`interval ${cfg.interval} → ${interval} ms (checkpoints take up to ${Math.round(expected)} ms, ${Math.round((expected / cfg.interval) * 100)}% of the interval: at most ${Math.round(share * 100)}% leaves the job time to process)`);
    }
  }
  if ((stats.durationRatio ?? 0) >= 0.5 || stats.failures > 0) {
    // a failed checkpoint expired at the timeout: it would have taken at least that long, and
    // failed ones report no duration, so the slowest known duration alone can understate it
    const basis = Math.max(expected, stats.failures > 0 ? cfg.timeout : 0);
    const timeout = Math.max(cfg.timeout, ceilSecond(basis * 2));
    if (timeout > cfg.timeout) {
      act.timeout = timeout;
      why.push(`timeout ${cfg.timeout} → ${timeout} ms (twice ${basis > expected ? 'the timeout the failed checkpoints ran into' : 'the slowest checkpoint'}, ${Math.round(basis)} ms)`);
    }
  }
  if (interval > 0 && expected > interval / 2) {
    const minPause = Math.max(cfg.minPause ?? 0, ceilSecond(expected));
    if (minPause > (cfg.minPause ?? 0)) {
      act.minPause = minPause;
      why.push(`min pause ${minPause} ms so the job gets time to process between checkpoints`);
    }
  }
  const alignmentFinding = findings.some((f) => f.ruleId === 'checkpoint.alignment');
  if (!cfg.unaligned) {
    if (alignmentFinding || (backpressured && ((alignShare ?? 0) >= 0.5 || ((stats.durationRatio ?? 0) >= 0.5 && (alignShare === undefined || alignShare >= 0.2))))) {
      act.unaligned = true;
      why.push(`unaligned checkpoints, so barriers overtake back-pressured buffers${alignShare !== undefined ? ` (alignment is ${Math.round(alignShare * 100)}% of a checkpoint's time)` : ''}`);
    } else if (backpressured && alignShare !== undefined && alignShare < 0.2 && maxDur > 0) {
      notes.push(`alignment is only ${Math.round(alignShare * 100)}% of a checkpoint's time: the duration comes from writing the state, and unaligned checkpoints would add the in-flight buffers to it`);
    }
  }
  if (why.length === 0) return undefined;
  const after = act.timeout ?? cfg.timeout;
  const afterInterval = act.interval ?? cfg.interval;
  const expectedOut: Record<string, number> = {
    durationToTimeoutAfter: after > 0 ? round(expected / after, 3) : 0,
    failedCheckpointsInWindow: stats.failures,
    expectedCheckpointDurationMs: Math.round(expected),
  };
  if (afterInterval > 0) expectedOut.durationToIntervalAfter = round(expected / afterInterval, 3);
  return {
    ruleId: findings[0]!.ruleId,
    title: `Change checkpointing: ${why.map((x) => x.split(' (')[0]).join('; ')}`,
    rationale: `${findings.map((f) => f.summary).join('; ')}. Set ${why.join('; ')}.` + (notes.length ? ` Note: ${notes.join('; ')}.` : '') +
      ' (Flink: execution.checkpointing.interval, .timeout, .min-pause, .unaligned.enabled.)',
    expected: expectedOut,
    actions: [act],
  };
}

/** The kind of operator a vertex runs, guessed from its name (Flink names vertices after their operators). */
export type OperatorKind = 'aggregation' | 'join' | 'other';

/**
 * Guesses the operator kind from a vertex name: 'aggregation' for window / aggregate / reduce /
 * count / sum / avg / min / max / group-by names (Flink's `Window(...)`, `GroupAggregate`,
 * `LocalWindowAggregate`, the bundled runtime's `window-aggregate` vertices named by the user),
 * 'join' for join / lookup-join names, else 'other'. A heuristic: the name is all the metrics carry.
 */
export function operatorKind(name: string): OperatorKind {
  if (/join/i.test(name)) return 'join';
  if (/window|aggregat|reduce|count|sum\b|avg|\bmin\b|\bmax\b|group|agg\b|-by-|\bby[-_ ]/i.test(name)) return 'aggregation';
  return 'other';
}

/** What {@link skewRemedy} reads. */
export interface SkewRemedyInput {
  skew: SkewResult;
  /** the vertex's parallelism and max parallelism (key groups) */
  parallelism: number;
  maxParallelism: number;
  /** records/s one subtask processes at full busy time, when known */
  trueRatePerSubtask?: number;
}

/**
 * Advice for a skewed keyed vertex, never an action. It names the hot key groups (share of the
 * records, owning subtask) from the per-key-group record counts — keys themselves are not
 * reported: Flink has no per-key metric and the bundled runtime counts records per key group
 * only, so the rationale says how to find the keys of a key group (Flink's
 * `KeyGroupRangeAssignment.assignToKeyGroup`: murmurHash(key.hashCode()) % maxParallelism) — and
 * the remedies that fit the operator ({@link operatorKind}): an aggregation → local
 * pre-aggregation before the keyBy (two-phase / local-global aggregation; Flink SQL
 * `table.optimizer.agg-phase-strategy: TWO_PHASE` with mini-batch), then key salting; a join →
 * salting the hot keys on the large side and replicating the matching rows of the other; other
 * keyed operators → key salting with a second step that merges the partial results, or a key with
 * more distinct values. More parallelism is not among them: a key stays on one subtask.
 */
export function skewRemedy(input: SkewRemedyInput): RecommendationDraft {
  const { skew: s, parallelism, maxParallelism } = input;
  const kind = operatorKind(s.vertexName);
  const hot = s.hotKeyGroups.slice(0, 5);
  const groups = hot.length
    ? `Hot key groups (of ${maxParallelism}): ${hot.map((h) => `${h.keyGroup} (${Math.round(h.share * 100)}% of the records, on subtask ${h.subtask})`).join(', ')}. ` +
      'The metrics count records per key group, not per key, so the keys are not named here: the keys of key group g are those with ' +
      `murmurHash(key.hashCode()) % ${maxParallelism} = g (Flink KeyGroupRangeAssignment.assignToKeyGroup); count the keys of a sample of the input that fall in them to name the hot ones. `
    : `The per-key-group record counts are not reported for this vertex (Flink's own metrics have none), so neither the hot key groups nor the keys can be named: subtask ${s.hotSubtask} is the hot one. `;
  const fits: Record<OperatorKind, string> = {
    aggregation: `${s.vertexName} looks like an aggregation: pre-aggregate per key before the keyBy (local-global / two-phase aggregation: partial results per upstream subtask, so a hot key sends one record per subtask and flush instead of every record; Flink SQL: table.optimizer.agg-phase-strategy TWO_PHASE with mini-batch), or salt the hot keys (key + random suffix in [0, n)) and merge the n partial results in a second keyBy on the key.`,
    join: `${s.vertexName} looks like a join: salt the hot keys on the large side (key + random suffix in [0, n)) and replicate the matching rows of the other side n times, or broadcast the smaller side if it fits in memory.`,
    other: `Salt the hot keys (key + random suffix in [0, n)) and merge the partial results in a second keyBy on the key, or key by a field with more distinct values; if ${s.vertexName} aggregates, pre-aggregate before the keyBy (two-phase aggregation).`,
  };
  const title = kind === 'join'
    ? `Remove the key skew of ${s.vertexName}: salt the hot keys — not more parallelism`
    : `Remove the key skew of ${s.vertexName}: ${kind === 'aggregation' ? 'two-phase (local-global) aggregation or key salting' : 'key salting (or two-phase aggregation)'} — not more parallelism`;
  const expected: Record<string, number> = {
    hotSubtaskShare: round(s.hotSubtaskShare, 3),
    evenShare: round(1 / Math.max(1, parallelism), 3),
  };
  if (hot[0]) expected.hottestKeyGroupShare = round(hot[0].share, 4);
  if (input.trueRatePerSubtask) expected.throughputIfEvenRecordsPerSecond = Math.round(input.trueRatePerSubtask * parallelism);
  return {
    ruleId: 'skew.keyed',
    title,
    rationale: `Subtask ${s.hotSubtask} of ${s.vertexName} receives ${Math.round(s.hotSubtaskShare * 100)}% of its records (max/min ${Number.isFinite(s.maxMinRatio) ? round(s.maxMinRatio, 1) : '∞'}, skew ${Math.round(s.skew * 100)}%). ` +
      groups +
      `Keys stay on one subtask whatever the parallelism, so scaling up adds idle subtasks and leaves the hot one as slow. ${fits[kind]} This is advice: the job's code must change, streamtune cannot apply it.`,
    expected,
    actions: [],
  };
}
