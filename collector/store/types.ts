/**
 * The metric store interface: the collector writes through it; the diagnoser and the dashboards
 * read through it. Two implementations pass one shared contract suite: the embedded DuckDB store
 * (default, no server) and InfluxDB (`@influxdata/influxdb-client` writes, InfluxQL reads).
 */
import type { LogEvent, LogLevel, MetricPoint } from '../../core/index.ts';

/** How points inside one window are combined. `rate` is the per-second rate of a counter,
 * with resets (a counter going down after a restart) handled: a decrease counts from zero. */
export type Aggregate = 'mean' | 'max' | 'min' | 'last' | 'sum' | 'rate';

/** A read of one field of one measurement over [start, end] (ms, both inclusive). */
export interface SeriesQuery {
  /** e.g. 'taskmanager_job_task_busyTimeMsPerSecond' */
  measurement: string;
  /** e.g. 'value', 'count', 'rate'. Non-numeric values (Flink's boolean gauges) are read as 1/0. */
  field: string;
  /** ms since epoch, inclusive */
  start: number;
  /** ms since epoch, inclusive */
  end: number;
  /** Tag equality filters; an array means any of these values. */
  where?: Record<string, string | readonly string[]>;
  /** Tags to split series by; the tags of each returned series hold exactly these keys. */
  groupBy?: readonly string[];
  /** Window length in ms. Without it, raw points are returned and `aggregate` must be absent. */
  window?: number;
  /** Required with `window`. */
  aggregate?: Aggregate;
}

/** One series: points sorted by time. With a window, `t` is the window start (ms), and windows
 * with no points are left out. */
export interface Series {
  tags: Record<string, string>;
  points: Array<{ t: number; v: number }>;
}

/** A search of log events. */
export interface LogQuery {
  job_id?: string;
  /** ms, inclusive */
  start: number;
  /** ms, inclusive */
  end: number;
  /** case-insensitive substring of message, exception class or stack */
  keyword?: string;
  /** minimum level */
  level?: LogLevel;
  /** default 1000 */
  limit?: number;
}

/** The metric store. Every method may throw a StreamtuneError with code STORE_UNAVAILABLE
 * (retriable) when the backend cannot be reached, or STORE_REJECTED for bad input. */
export interface MetricStore {
  /** Writes points; resolves when they are durable in the backend. */
  write(points: readonly MetricPoint[]): Promise<void>;
  /** Writes log events. */
  writeLogs(events: readonly LogEvent[]): Promise<void>;
  /** Reads series; see {@link SeriesQuery}. */
  query(q: SeriesQuery): Promise<Series[]>;
  /** Distinct values of a tag of a measurement in [start, end] (e.g. all job_ids). */
  tagValues(measurement: string, tag: string, start: number, end: number, where?: SeriesQuery['where']): Promise<string[]>;
  /** Log events, newest first. */
  queryLogs(q: LogQuery): Promise<LogEvent[]>;
  /** Releases connections and files. */
  close(): Promise<void>;
}
