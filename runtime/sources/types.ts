/**
 * The source contract (after Flink's FLIP-27 SourceReader): a reader owns splits (dataset stripes,
 * Kafka partitions), hands out buffers of records in event-time order per split, tracks a watermark
 * per split, reports its backlog as `pendingRecords`, and keeps its split positions in checkpoints.
 */
import type { OperatorContext, OperatorSnapshot, Rec, RestoredState } from '../operators/types.ts';

/** One poll's worth of records. */
export interface SourceBatch {
  values: Rec[];
  /** event timestamps, ms */
  ts: number[];
}

/** What a poll returns: records, nothing right now, or the end of a bounded source. */
export type PollResult = SourceBatch | null | 'end';

/** A source subtask's reader. */
export interface SourceReader {
  /** Assigns splits from the restored union list state (or fresh ones) for `ctx.subtask`. */
  open(ctx: OperatorContext, restored: RestoredState | undefined): Promise<void>;
  /** Up to `max` records, or null when none is available now, or 'end'. Never blocks. */
  poll(max: number): PollResult;
  /** Resolves when {@link poll} may return data again (rate limit, fetch, loader). */
  waitForData(): Promise<void>;
  /** Current watermark, ms (min over the reader's active splits, minus out-of-orderness, minus 1). */
  watermark(): number;
  /** Backlog in records (Flink's `pendingRecords`). */
  pending(): number;
  /** Split positions at a barrier. */
  snapshot(checkpointId: number): OperatorSnapshot;
  /** The checkpoint completed (Kafka: commit its offsets to the consumer group). */
  notifyCheckpointComplete?(checkpointId: number): Promise<void> | void;
  close(): Promise<void> | void;
}

/** Splits of `total` numbered 0..total-1 that subtask `i` of `p` owns (split % p === i). */
export function assignedSplits(total: number, subtask: number, parallelism: number): number[] {
  const out: number[] = [];
  for (let s = subtask; s < total; s += parallelism) out.push(s);
  return out;
}
