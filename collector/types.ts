/**
 * The running collector (`collector/collector.ts`): every interval (default 5,000 ms) it pulls the
 * metric points of each watched bundled job, polls Kafka consumer-group lag from the broker and the
 * dataset-replay backlog of bundled jobs, and hands points and log events to a BufferedWriter over
 * the store. Health counters come from the writer.
 */
import type { CollectorHealth } from './health.ts';
import type { ManagedJob } from '../tuner/catalog.ts';

/** A job the collector pulls from in process (the bundled runtime's LocalJob satisfies it). */
export interface CollectableJob {
  readonly id: string;
  readonly name: string;
  /** all metric points now (Flink-named), `now` ms */
  metricPoints(now?: number): import('../core/points.ts').MetricPoint[];
  /** log events as they happen; returns unsubscribe */
  onLog(listener: (e: import('../core/points.ts').LogEvent) => void): () => void;
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
