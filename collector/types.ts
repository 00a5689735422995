/**
 * The running collector (`collector/collector.ts`): every interval (default 5,000 ms) it pulls the
 * metric points of each watched bundled job, polls Kafka consumer-group lag from the broker and the
 * dataset-replay backlog of bundled jobs, and hands points and log events to a BufferedWriter over
 * the store. Health counters come from the writer.
 */
import type { CollectorHealth } from './health.ts';
import type { ManagedJob } from '../platform/index.ts';
import type { LogEvent, MetricPoint } from '../core/index.ts';

/** A job the collector pulls from in process (the bundled runtime's LocalJob satisfies it). */
export interface CollectableJob {
  readonly id: string;
  readonly name: string;
  /** all metric points now (Flink-named), `now` ms */
  metricPoints(now?: number): MetricPoint[];
  /** log events as they happen; returns unsubscribe */
  onLog(listener: (e: LogEvent) => void): () => void;
  /**
   * Optional: per-split offsets of dataset-replay sources at `now` (ms), reported by the collector
   * as consumer-group lag (group = job name, topic = vertex, partition = split; docs/METRICS.md).
   * The bundled runtime's `LocalJob.sourceOffsets` satisfies it.
   */
  sourceOffsets?(now?: number): SourceSplitOffset[];
}

/** Position of one dataset-replay split, seen as a Kafka partition (see {@link CollectableJob.sourceOffsets}). */
export interface SourceSplitOffset {
  /** source vertex name (reported as the topic) */
  vertex: string;
  /** split index (reported as the partition) */
  split: number;
  /** records of the split read (the committed offset) */
  readOffset: number;
  /** records of the split arrived by now (the log-end offset) */
  arrivedOffset: number;
  /** arrival rate of the split, records/s; 0 or absent = all records arrived at `startedAt` */
  arrivalRate?: number;
  /** ms epoch the split's arrival clock started; absent = unknown (lag seconds then 0) */
  startedAt?: number;
}

/** The running collector. */
export interface Collector {
  /** Starts pulling from `job` (replaces a job of the same id, e.g. after a restart). */
  watchJob(job: CollectableJob, managed?: ManagedJob): void;
  unwatchJob(jobId: string): void;
  /** Starts measuring the lag of a consumer group on `topics` from the broker (needs brokers configured). */
  watchGroup(group: string, topics: string[]): void;
  /** One collection round now (tests, benchmarks); resolves when its points are handed to the writer. */
  collectOnce(now?: number): Promise<void>;
  /** Writes everything buffered; resolves when the store acknowledged it or the retry budget ran out. */
  flush(): Promise<void>;
  health(): CollectorHealth;
  start(): void;
  stop(): Promise<void>;
}
