/**
 * `JobWindow`: everything the diagnoser knows about one job over one window, as plain data.
 * `loadJobWindow` (diagnoser/load.ts) fills it from the metric store; tests and benchmarks build it
 * by hand. Every series is a list of `{t, v}` points (t in ms since the epoch) sorted by time;
 * a series may be empty (Flink drops NaN points, metrics register lazily) and detectors cope.
 */
import type { LogEvent } from '../core/index.ts';

/** One point of a series: `t` ms since the epoch, `v` the value in the series' unit. */
export interface TimePoint {
  t: number;
  v: number;
}

/** A time series sorted by `t`. */
export type Points = TimePoint[];

/** The series of one subtask of one vertex (Flink task metrics, `taskmanager_job_task_*`). */
export interface SubtaskSeries {
  /** `subtask_index` */
  subtask: number;
  /** numRecordsInPerSecond, records/s */
  recordsInPerSecond: Points;
  /** numRecordsOutPerSecond, records/s */
  recordsOutPerSecond: Points;
  /** busyTimeMsPerSecond, ms/s (0..1000) */
  busyTimeMsPerSecond: Points;
  /** backPressuredTimeMsPerSecond, ms/s (0..1000) */
  backPressuredTimeMsPerSecond: Points;
  /** idleTimeMsPerSecond, ms/s (0..1000) */
  idleTimeMsPerSecond: Points;
  /** Shuffle_Netty_Input_Buffers_inPoolUsage, ratio 0..1 */
  inPoolUsage?: Points;
  /** Shuffle_Netty_Output_Buffers_outPoolUsage, ratio 0..1 */
  outPoolUsage?: Points;
  /** checkpointAlignmentTime converted to ms (Flink reports ns) */
  checkpointAlignmentMs?: Points;
  /**
   * numRecordsIn counter, records (cumulative; back to 0 when the subtask restarts): the input rate
   * is derived from it where the `recordsInPerSecond` meter has no points (a reporter filter, an
   * older Flink, a gap). Absent or empty when the loader did not need it.
   */
  numRecordsIn?: Points;
  /** numRecordsOut counter, records: the output rate where `recordsOutPerSecond` has no points */
  numRecordsOut?: Points;
}

/** One vertex (Flink JobVertex / task) of the job's topology and its series. */
export interface VertexWindow {
  /** task_id (JobVertexID in Flink, the vertex id in the bundled runtime) */
  id: string;
  /** task_name */
  name: string;
  /** current parallelism (number of subtasks) */
  parallelism: number;
  /** max parallelism = number of key groups */
  maxParallelism: number;
  /** ids of the upstream vertices; empty for sources */
  inputs: string[];
  /** true when the vertex reads Kafka (a source) */
  isSource: boolean;
  /** Kafka partitions read, sources only (caps the source's useful parallelism) */
  partitions?: number;
  /** true when the input edge is keyed (hash-partitioned by key group) */
  keyedInput: boolean;
  /** per subtask series, ordered by subtask index */
  subtasks: SubtaskSeries[];
  /** sources: pendingRecords summed over subtasks (records not yet fetched: the backlog) */
  pendingRecords?: Points;
  /** records per key group received in the window (`keyGroupRecords` counter increase), index = key group */
  keyGroupRecords?: Record<number, number>;
}

/** Checkpoint series of the job (`jobmanager_job_*`) and the checkpoint configuration. */
export interface CheckpointWindow {
  /** lastCheckpointDuration, ms */
  lastCheckpointDuration: Points;
  /** numberOfFailedCheckpoints, a count (resets on JobManager failover) */
  numberOfFailedCheckpoints: Points;
  /** numberOfCompletedCheckpoints, a count */
  numberOfCompletedCheckpoints: Points;
  /** lastCheckpointSize, bytes */
  lastCheckpointSize: Points;
  /** checkpoint alignment time, ms, max over all subtasks at each time */
  alignmentMs: Points;
  /** checkpoint config, when known: interval, timeout, minPause in ms */
  config?: { interval: number; timeout: number; minPause?: number; unaligned?: boolean };
}

/** JVM series of one TaskManager (`taskmanager_Status_JVM_*`, tags host, tm_id). */
export interface JvmWindow {
  tmId: string;
  /** Heap_Used, bytes */
  heapUsed: Points;
  /** Heap_Committed, bytes */
  heapCommitted: Points;
  /** Heap_Max, bytes */
  heapMax: Points;
  /** GarbageCollector_All_TimeMsPerSecond (rate), ms/s */
  gcTimeMsPerSecond: Points;
  /**
   * Other jobs whose subtasks ran on this TaskManager in the window (task metrics with this
   * `tm_id` and another `job_id`): its heap and GC time are then not this job's alone. Absent or
   * empty when the TaskManager ran only this job (or the loader did not look).
   */
  otherJobs?: Array<{ jobId: string; jobName?: string }>;
}

/** Lag observations of one partition of the consumer group (`streamtune_kafka_partition_*`). */
export interface PartitionLagSeries {
  topic: string;
  partition: number;
  /** committed offset of the group at each observation (empty when the group never committed) */
  committedOffset: Points;
  /** log-end offset at each observation */
  logEndOffset: Points;
  /** lag (log-end offset − committed offset, floored at 0), records */
  lag: Points;
  /** lag in seconds (kafka-lag-exporter style), s */
  lagSeconds?: Points;
  /** 1 where `lagSeconds` is a lower bound (the record is older than the collector's history of
   * the partition), 0 where it is exact; absent when not recorded */
  lagSecondsLowerBound?: Points;
}

/** The consumer group of the job and its partitions. */
export interface ConsumerLagWindow {
  group: string;
  partitions: PartitionLagSeries[];
}

/** The rate series of one vertex's subtasks in a {@link LoadHistory}, one point per history step. */
export interface VertexLoadHistory {
  /** task_id, as {@link VertexWindow.id} */
  id: string;
  subtasks: Array<Pick<SubtaskSeries, 'subtask' | 'recordsInPerSecond' | 'recordsOutPerSecond' | 'numRecordsIn' | 'numRecordsOut'>>;
}

/**
 * The load of the job's vertices over a span longer than the window (the planner's scale-down
 * interval, Flink autoscaler `scale-down.interval`), at a coarser step: a scale-down waits until the
 * load has been observed that long and plans for the highest load within it.
 */
export interface LoadHistory {
  /** ms since the epoch: start of the span read (inclusive); it ends at the window's `end` */
  start: number;
  /** ms between points (each point stands for the step starting at its timestamp) */
  stepMs: number;
  vertices: VertexLoadHistory[];
}

/** All the data of one job over one window. See the module comment. */
export interface JobWindow {
  jobId: string;
  jobName?: string;
  /** window start, ms since the epoch (inclusive) */
  start: number;
  /** window end, ms since the epoch (inclusive) */
  end: number;
  /** evaluation time, ms since the epoch (≥ end) */
  now: number;
  /** read resolution, ms, when the window was read from a store: each point stands for the step
   * window starting at its timestamp (epoch-aligned), so the last one may cover less than a step */
  stepMs?: number;
  /**
   * True when the topology was inferred from task metrics (Flink InfluxDB data has no plan):
   * see `inferTopology` in diagnoser/load.ts for the heuristic.
   */
  topologyInferred: boolean;
  /** vertices in topological order (sources first) */
  vertices: VertexWindow[];
  checkpoints: CheckpointWindow;
  /** jobmanager_job_numRestarts, a count (may reset when the JobManager fails over) */
  numRestarts: Points;
  /** one entry per TaskManager running the job */
  jvm: JvmWindow[];
  /** warnings and errors of the job in the window */
  logs: LogEvent[];
  /** the job's consumer group, when known */
  consumerLag?: ConsumerLagWindow;
  /** the vertices' load over the scale-down interval, when read (no scale-down without it) */
  loadHistory?: LoadHistory;
}

/** An empty checkpoint window, for builders. */
export function emptyCheckpoints(): CheckpointWindow {
  return { lastCheckpointDuration: [], numberOfFailedCheckpoints: [], numberOfCompletedCheckpoints: [], lastCheckpointSize: [], alignmentMs: [] };
}

/**
 * `w` with its task series (every subtask's points and the sources' `pendingRecords`) and its
 * checkpoint series cut to points at or after `from` (ms since epoch); restarts, JVM, logs and
 * consumer lag keep the whole window. Used for a Flink job whose execution (re)started within the window:
 * its rate meters read low for a minute after a start, but its restarts and exceptions before it are
 * the evidence of a crash loop. Pure: `w` is not changed.
 */
export function trimTaskSeries(w: JobWindow, from: number): JobWindow {
  if (from <= w.start) return w;
  const cut = (p: Points): Points => p.filter((x) => x.t >= from);
  const vertices = w.vertices.map((v) => ({
    ...v,
    subtasks: v.subtasks.map((s) => {
      const out: Record<string, unknown> = { ...s };
      for (const [k, val] of Object.entries(s)) if (Array.isArray(val)) out[k] = cut(val as Points);
      return out as unknown as SubtaskSeries;
    }),
    ...(v.pendingRecords ? { pendingRecords: cut(v.pendingRecords) } : {}),
  }));
  // checkpoint times and counts of a job warming up are no more telling than its meters (a checkpoint
  // taken while the first records fill the channels is slow): cut them too, or a young job's only
  // findings are checkpoint ones and it gets a checkpoint change instead of "not enough data yet"
  const c = w.checkpoints;
  const checkpoints = { ...c, lastCheckpointDuration: cut(c.lastCheckpointDuration), numberOfFailedCheckpoints: cut(c.numberOfFailedCheckpoints), numberOfCompletedCheckpoints: cut(c.numberOfCompletedCheckpoints), lastCheckpointSize: cut(c.lastCheckpointSize), alignmentMs: cut(c.alignmentMs) };
  return { ...w, vertices, checkpoints };
}

