/**
 * The operator contract inside a subtask. Operators are plain objects driven by the subtask loop:
 * batches in, records out through an {@link Output}; state out through `snapshot` and back in
 * through `open(ctx, restored)`.
 */
import type { Logger } from '../../core/index.ts';
import type { TaskMetrics } from '../metrics/task-metrics.ts';

/** A record: a plain JSON-like object. */
export type Rec = Record<string, unknown>;

/** Where an operator emits records. Emitting never blocks; the subtask flushes after each call. */
export interface Output {
  /** Emits `value` with event timestamp `ts` (ms). */
  emit(value: Rec, ts: number): void;
}

/**
 * Records in flight at an unaligned checkpoint: not yet processed by `vertex` (its input), arriving
 * over edge `edge` (index in the job spec's edges). Restored into whichever subtask of `vertex` owns
 * them then (by key group over a hash edge, else dealt round-robin).
 */
export interface InflightBatch {
  vertex: string;
  edge: number;
  values: Rec[];
  /** event timestamps, ms */
  ts: number[];
}

/** State of one subtask as written into a checkpoint. */
export interface OperatorSnapshot {
  /** Redistributable list state (Flink's union list state): source splits, pending files, ... */
  list?: unknown[];
  /** Keyed state by key group. */
  keyed?: Map<number, unknown>;
  /** unaligned checkpoints: channel state (overtaken output buffers, pre-barrier input) */
  inflight?: InflightBatch[];
}

/** State handed to a subtask when the job restores: the union of every old subtask's list state and
 * the key groups this subtask now owns. */
export interface RestoredState {
  list: unknown[];
  keyed: Map<number, unknown>;
  /** parallelism the state was written with */
  oldParallelism: number;
  /** in-flight records of an unaligned checkpoint this subtask owns: processed before any input */
  inflight?: { values: Rec[]; ts: number[] };
}

/** What an operator knows about where it runs. */
export interface OperatorContext {
  jobId: string;
  jobName: string;
  vertex: string;
  subtask: number;
  parallelism: number;
  maxParallelism: number;
  /** restart attempt (numRestarts at start) */
  attempt: number;
  /** key groups this subtask owns, inclusive */
  keyGroupRange: { start: number; end: number };
  /** base directory for relative paths (the spec's folder) */
  baseDir: string;
  logger: Logger;
  metrics: TaskMetrics;
  /** records handed to collect sinks */
  collected: Rec[];
}

/** A processing operator or sink. */
export interface Operator {
  open?(ctx: OperatorContext, restored: RestoredState | undefined): Promise<void> | void;
  /**
   * Processes one buffer: `values[i]` has event timestamp `ts[i]`. Return nothing when done
   * synchronously; a promise only for real waits (the subtask counts them as its busy time).
   */
  processBatch(values: Rec[], ts: number[], out: Output): Promise<unknown> | void;
  /** The combined input watermark advanced to `wm` (ms). Return the output watermark (default `wm`). */
  processWatermark?(wm: number, out: Output): Promise<number | void> | number | void;
  /** No more input: flush (windows fire). */
  endInput?(out: Output): Promise<void> | void;
  /** State at a checkpoint barrier (after alignment). */
  snapshot?(checkpointId: number): Promise<OperatorSnapshot> | OperatorSnapshot;
  /** The checkpoint `checkpointId` completed (sinks commit, sources commit offsets). */
  notifyCheckpointComplete?(checkpointId: number): Promise<void> | void;
  /** Releases resources; `committed` false when the attempt is being abandoned after a failure. */
  close?(): Promise<void> | void;
}
