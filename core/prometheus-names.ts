/**
 * How streamtune's measurement names (those of Flink's InfluxDB reporter, docs/METRICS.md) map to
 * the metric names and labels of Flink's Prometheus reporter, one rule shared by the bundled
 * runtime's `/metrics` endpoint (which must look exactly like Flink's) and the Prometheus metric
 * store (which reads both).
 *
 * Flink's rule (`AbstractPrometheusReporter`, flink-metrics-prometheus 1.20, checked against a scrape
 * of a real 1.20.3 cluster, `test/fixtures/flink/prometheus-reporter-1.20.3-*.txt`):
 * - name = `flink_` + logical scope + `_` + metric name, every character outside `[a-zA-Z0-9:_]`
 *   replaced by `_` (`records-lag-max` → `records_lag_max`). The InfluxDB reporter's measurement is
 *   the same scope + `_` + metric name unsanitised, so the Prometheus name is `flink_` + the
 *   measurement, sanitised.
 * - Counters, meters and gauges are all Prometheus **gauges**: a counter's count, a meter's rate
 *   (its count is not exported), a gauge's value (Booleans as 1/0). No `_total` suffix.
 * - Labels are the scope variables without the angle brackets (the InfluxDB reporter's tags), with
 *   the values filtered by the same character rule (`filterLabelValueCharacters`, default true):
 *   `Source: flights` → `Source:_flights`, `flight-delays` → `flight_delays`, `127.0.0.1` → `127_0_0_1`.
 * - Histograms are summaries (`quantile` label, `_count`); streamtune reads none.
 *
 * streamtune's own measurements (`streamtune_*`, and Flink-scoped ones with a `_streamtune_` part
 * such as `taskmanager_job_task_streamtune_keyGroupRecords`) are not Flink's: they keep their name
 * (no `flink_` prefix for `streamtune_*`), and a field other than `value`/`count`/`rate` becomes a
 * suffix (`streamtune_job_vertex` field `parallelism` → `streamtune_job_vertex_parallelism`).
 */

/** Characters Prometheus allows in metric names (Flink's `UNALLOWED_CHAR_PATTERN` is its complement). */
const INVALID = /[^a-zA-Z0-9:_]/g;

/**
 * Flink's Prometheus character filter (`AbstractPrometheusReporter.replaceInvalidChars`): every
 * character outside `[a-zA-Z0-9:_]` becomes `_`. Applied to metric names, label names and (by
 * default) label values.
 */
export function prometheusSanitize(s: string): string {
  return s.replace(INVALID, '_');
}

/** Prefix Flink's Prometheus reporter puts before every metric name. */
export const FLINK_PROMETHEUS_PREFIX = 'flink_';

/**
 * True for measurements streamtune writes itself (Flink has no such metric): names starting with
 * `streamtune_` or holding a `_streamtune_` part. Logs are not measurements.
 */
export function isStreamtuneMeasurement(measurement: string): boolean {
  return measurement.startsWith('streamtune_') || measurement.includes('_streamtune_');
}

/** Fields that are the metric itself in Prometheus (a gauge's value, a counter's count, a meter's rate). */
const MAIN_FIELDS = new Set(['value', 'count', 'rate']);

/**
 * The Prometheus metric name of one field of a measurement, or undefined when there is none: a
 * meter's `count` (a measurement ending in `PerSecond` with field `count`) is not exported by
 * Flink's reporter.
 * @example prometheusMetricName('taskmanager_job_task_busyTimeMsPerSecond', 'value') // 'flink_taskmanager_job_task_busyTimeMsPerSecond'
 * @example prometheusMetricName('taskmanager_job_task_numRecordsInPerSecond', 'rate') // 'flink_taskmanager_job_task_numRecordsInPerSecond'
 * @example prometheusMetricName('streamtune_kafka_partition_lagSeconds', 'lowerBound') // 'streamtune_kafka_partition_lagSeconds_lowerBound'
 */
export function prometheusMetricName(measurement: string, field: string): string | undefined {
  const base = prometheusSanitize(measurement.startsWith('streamtune_') ? measurement : FLINK_PROMETHEUS_PREFIX + measurement);
  if (field === 'count' && measurement.endsWith('PerSecond')) return undefined;
  if (MAIN_FIELDS.has(field)) return base;
  return `${base}_${prometheusSanitize(field)}`;
}

/**
 * The one field a Flink metric point is exported with (Flink's reporter exports one gauge per
 * metric): `rate` for a meter (fields `count` and `rate`), else `value`, else `count`; undefined
 * when the point has none of them.
 */
export function flinkExportedField(fields: Readonly<Record<string, unknown>>): 'value' | 'count' | 'rate' | undefined {
  if ('rate' in fields) return 'rate';
  if ('value' in fields) return 'value';
  if ('count' in fields) return 'count';
  return undefined;
}
