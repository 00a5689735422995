/**
 * The data model shared by the runtime, the collector, the store and the diagnoser. It is exactly
 * the shape Flink's InfluxDB reporter writes (see `docs/METRICS.md` and Flink's `MetricMapper`):
 * measurement = logical scope + '_' + metric name (e.g. `taskmanager_job_task_busyTimeMsPerSecond`),
 * tags = scope variables (`job_id`, `job_name`, `task_id`, `task_name`, `subtask_index`,
 * `operator_id`, `operator_name`, `host`, `tm_id`, ...), fields by metric type:
 * Counter → `count`; Gauge → `value`; Meter → `count` + `rate`; Histogram → `count,min,max,mean,
 * stddev,p50,p75,p95,p98,p99,p999`.
 */

/** A field value: integers and floats are numbers; Flink writes Boolean gauges as strings. */
export type FieldValue = number | string | boolean;

/** One metric point. `timestamp` is in milliseconds since the epoch (line protocol carries ns). */
export interface MetricPoint {
  measurement: string;
  tags: Record<string, string>;
  fields: Record<string, FieldValue>;
  /** ms since epoch */
  timestamp: number;
  /**
   * Names of fields that are integers (written `123i` in line protocol). Fields not listed are
   * written as floats. Optional: when absent, whole numbers in `count`/`value` of counters are floats.
   */
  intFields?: readonly string[];
}

/** Log levels kept as log events (the collector stores warnings and above by default). */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** A log event from a job: a warning, an error or an exception. */
export interface LogEvent {
  /** ms since epoch */
  timestamp: number;
  level: LogLevel;
  job_id: string;
  job_name?: string;
  /** vertex (task) name, when the line came from a subtask */
  vertex?: string;
  subtask_index?: number;
  /** restart attempt the subtask belonged to (numRestarts at the time) */
  attempt?: number;
  message: string;
  /** exception class, e.g. 'PoisonRecordError' */
  exception_class?: string;
  stack?: string;
}
