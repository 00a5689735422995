/**
 * Dataset-replay lag: a bundled job whose sources replay a dataset (runtime/sources/dataset.ts) is
 * reported as a consumer group reading a topic, so the whole lag pipeline (Burrow evaluation,
 * dashboards, alerts) works on the demo with no broker. Pure: plain data in, points out, `now` given.
 *
 * Mapping (docs/METRICS.md, "Dataset-replay lag"):
 * - group = the job name, topic = the source vertex name, partition = the split index;
 * - log-end offset = records of the split arrived by `now` (at the configured rate; all of them
 *   without a rate), committed offset = records of the split read, lag = the difference;
 * - lag in seconds = age of the oldest unread record, from its known arrival time: with a rate R
 *   per split, record j arrives at `startedAt + j / R` s (the dataset source's own arrival clock),
 *   so the value is exact rather than interpolated; without a rate every record arrived at
 *   `startedAt`. 0 when caught up; always finite, never NaN.
 * The points are exactly those of {@link toPoints} (`streamtune_kafka_partition_*`,
 * `streamtune_kafka_group_*`) with the extra tag `source=dataset`.
 */
import type { MetricPoint } from '../core/index.ts';
import { toPoints, type GroupLagSample, type PartitionLagSample } from './kafka/lag-sampler.ts';
import type { SourceSplitOffset } from './types.ts';

/** Value of the `source` tag on dataset-replay lag points. */
export const DATASET_LAG_SOURCE_TAG = 'dataset';

/**
 * The consumer-group view of a job's dataset splits at `now` (ms epoch). Returns null when there
 * are no splits (no dataset source, or not opened yet). Offsets that are not finite numbers are
 * skipped. Partitions are sorted by topic, then partition.
 */
export function datasetLagSample(group: string, offsets: readonly SourceSplitOffset[], now: number): GroupLagSample | null {
  const partitions: PartitionLagSample[] = [];
  for (const o of offsets) {
    if (!Number.isFinite(o.readOffset) || !Number.isFinite(o.arrivedOffset)) continue;
    const committed = Math.max(0, Math.floor(o.readOffset));
    const logEnd = Math.max(committed, Math.floor(o.arrivedOffset));
    const lag = logEnd - committed;
    let seconds = 0;
    if (lag > 0) {
      const rate = o.arrivalRate ?? 0;
      const startedAt = o.startedAt ?? now;
      // arrival time of record `committed` (the oldest unread one), ms
      const arrivedAt = rate > 0 ? startedAt + (committed * 1000) / rate : startedAt;
      seconds = Math.max(0, (now - arrivedAt) / 1000);
      if (!Number.isFinite(seconds)) seconds = 0;
    }
    partitions.push({
      group,
      topic: o.vertex,
      partition: o.split,
      logEndOffset: logEnd,
      earliestOffset: 0,
      committedOffset: committed,
      lag,
      lagFromEarliest: false,
      lagSeconds: seconds,
      lagSecondsKind: lag > 0 ? 'interpolated' : 'caught-up',
      lagSecondsLowerBound: false,
    });
  }
  if (partitions.length === 0) return null;
  partitions.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  return {
    group,
    partitions,
    totalLag: partitions.reduce((s, p) => s + p.lag, 0),
    maxLag: partitions.reduce((m, p) => Math.max(m, p.lag), 0),
    maxLagSeconds: partitions.reduce((m, p) => Math.max(m, p.lagSeconds), 0),
    complete: true,
  };
}

/**
 * The lag points of a job's dataset splits at `now` (ms epoch): {@link toPoints} of
 * {@link datasetLagSample}, every point tagged `source=dataset`. [] when there are no splits.
 */
export function datasetLagPoints(group: string, offsets: readonly SourceSplitOffset[], now: number): MetricPoint[] {
  const sample = datasetLagSample(group, offsets, now);
  if (!sample) return [];
  return toPoints([sample], now).map((p) => ({ ...p, tags: { ...p.tags, source: DATASET_LAG_SOURCE_TAG } }));
}
