/**
 * Prometheus as the metric source beside a writable store: one {@link MetricStore} whose reads and
 * writes are routed by measurement name.
 *
 * - **Flink's metrics** (every measurement that is not streamtune's own, core/prometheus-names.ts
 *   `isStreamtuneMeasurement`) are read from Prometheus, in the names and labels of Flink's
 *   PrometheusReporter: what Prometheus scraped from Flink's reporters and from the bundled runtime's
 *   `/metrics` endpoint (runtime/metrics/prometheus.ts). Written points of Flink metrics (the
 *   collector's points of bundled jobs, the Flink REST collector's) are sent by remote write with
 *   `remoteWrite: 'job-metrics'` or `'all'`; with `'none'` they are dropped (counted, logged once):
 *   Prometheus scrapes them, and writing them too would count them twice.
 * - **streamtune's own measurements** (consumer-group lag, `streamtune_job_vertex`, checkpoint config,
 *   key-group counts, collector health) go to the writable `local` store (embedded DuckDB or
 *   InfluxDB) and are read from it; with `remoteWrite: 'all'` they go to Prometheus by remote write
 *   and are read from there (string fields, which Prometheus cannot hold, are dropped: the edges of
 *   `streamtune_job_vertex` stay readable from its `inputs` tag).
 * - **Log events** always go to and come from `local`.
 *
 * A batch is checked whole first (a malformed point rejects it, nothing written); then the
 * Prometheus part is written, then the local part, and a failure of either rejects the batch. The
 * BufferedWriter retries it whole: the Prometheus part is sent again, which Prometheus takes as the
 * same samples (a sample equal to the one it has at that time is no error), and the local part is
 * written only once it succeeded.
 */
import { isStreamtuneMeasurement, type LogEvent, type Logger, type MetricPoint, silentLogger, StreamtuneError } from '../../core/index.ts';
import type { PrometheusStore } from './prometheus.ts';
import type { LogQuery, MetricStore, Series, SeriesQuery } from './types.ts';
import { invalidPointReason } from './validate.ts';

/**
 * What is written to Prometheus by remote write (see the module comment): 'none'; 'own' (streamtune's
 * own measurements, e.g. the consumer-group lag for a Grafana over Prometheus, while Prometheus scrapes
 * the jobs' metrics); 'job-metrics' (the jobs' Flink metrics, for a Prometheus that scrapes nothing);
 * 'all' (both).
 */
export const PROMETHEUS_REMOTE_WRITE_MODES = ['none', 'own', 'job-metrics', 'all'] as const;
/** One of {@link PROMETHEUS_REMOTE_WRITE_MODES}. */
export type PrometheusRemoteWrite = (typeof PROMETHEUS_REMOTE_WRITE_MODES)[number];

/** Options of {@link createPrometheusRoutedStore}. */
export interface PrometheusRoutedOptions {
  /** Where Flink's metrics are read (and written by remote write unless `remoteWrite` is 'none'). */
  prometheus: PrometheusStore;
  /** The writable store of streamtune's own measurements and log events. */
  local: MetricStore;
  /** Default 'none'. */
  remoteWrite?: PrometheusRemoteWrite;
  logger?: Logger;
}

/** The routed store, with the count of Flink metric points it dropped ('none' mode). */
export interface PrometheusRoutedStore extends MetricStore {
  readonly prometheus: PrometheusStore;
  readonly local: MetricStore;
  readonly remoteWrite: PrometheusRemoteWrite;
  /** Flink metric points dropped on write since creation ('none' and 'own': they come to Prometheus by scrape). */
  droppedPoints(): number;
}

/** Creates the routed store over `prometheus` and `local` (both owned: `close()` closes both). */
export function createPrometheusRoutedStore(opts: PrometheusRoutedOptions): PrometheusRoutedStore {
  const log = (opts.logger ?? silentLogger).namespace('store.routed');
  const mode = opts.remoteWrite ?? 'none';
  if (!(PROMETHEUS_REMOTE_WRITE_MODES as readonly string[]).includes(mode)) {
    throw new StreamtuneError('INVALID_CONFIG', `prometheusRemoteWrite must be one of ${PROMETHEUS_REMOTE_WRITE_MODES.join(', ')}, got "${String(mode)}"`);
  }
  const { prometheus, local } = opts;
  const ownInPrometheus = mode === 'all' || mode === 'own';
  const jobMetricsWritten = mode === 'all' || mode === 'job-metrics';
  const readerOf = (measurement: string): MetricStore => (isStreamtuneMeasurement(measurement) && !ownInPrometheus ? local : prometheus);
  let dropped = 0;
  let warned = false;
  return {
    prometheus,
    local,
    remoteWrite: mode,
    droppedPoints: () => dropped,
    async write(points: readonly MetricPoint[]): Promise<void> {
      for (let i = 0; i < points.length; i++) {
        const why = invalidPointReason(points[i]);
        if (why) throw new StreamtuneError('STORE_REJECTED', `point ${i} rejected: ${why}`, { details: { index: i } });
      }
      const toLocal: MetricPoint[] = [];
      const toProm: MetricPoint[] = [];
      for (const p of points) {
        if (isStreamtuneMeasurement(p.measurement)) (ownInPrometheus ? toProm : toLocal).push(p);
        else if (!jobMetricsWritten) dropped++;
        else toProm.push(p);
      }
      if (dropped > 0 && !warned) {
        warned = true;
        log.info(`Flink metric points are not written to Prometheus (prometheusRemoteWrite '${mode}'): it reads them by scraping the reporters`);
      }
      // Prometheus first: a batch retried after the local write failed sends the same samples again, which it takes
      if (toProm.length) await prometheus.write(toProm);
      if (toLocal.length) await local.write(toLocal);
    },
    writeLogs: (events: readonly LogEvent[]) => local.writeLogs(events),
    queryLogs: (q: LogQuery) => local.queryLogs(q),
    query: (q: SeriesQuery): Promise<Series[]> => readerOf(q.measurement).query(q),
    tagValues: (measurement, tag, start, end, where) => readerOf(measurement).tagValues(measurement, tag, start, end, where),
    async close(): Promise<void> {
      await Promise.all([prometheus.close(), local.close()]);
    },
  };
}
