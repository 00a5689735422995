/**
 * The bundled runtime's Prometheus reporter: the jobs' metrics in the Prometheus text format, named
 * and labelled exactly as Flink's PrometheusReporter exposes the same metrics (the rule is in
 * core/prometheus-names.ts; compared with a real Flink 1.20.3 scrape in
 * test/prometheus-bundled.test.ts), so a Prometheus that scrapes Flink's TaskManagers scrapes
 * bundled jobs the same way. Like Flink's reporter: every metric is a gauge (a counter's count, a
 * meter's rate, a gauge's value, Booleans as 1/0 and other strings as 0), `# HELP` is
 * `<metric name> (scope: <logical scope>)`, label values go through Flink's character filter.
 * streamtune's own measurements (topology, key-group counts, checkpoint config) are not exposed:
 * Flink has no such metrics, and the collector writes them to streamtune's own store.
 *
 * The text is made with prom-client (a fresh registry per scrape, gauges set from the points); the
 * endpoint is a plain `node:http` server answering `GET /metrics`, like Flink's reporter port.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Gauge, Registry } from 'prom-client';
import {
  errorMessage,
  flinkExportedField,
  isStreamtuneMeasurement,
  type Logger,
  type MetricPoint,
  prometheusMetricName,
  prometheusSanitize,
  silentLogger,
  StreamtuneError,
} from '../../core/index.ts';

/** Options of {@link prometheusExposition}. */
export interface ExpositionOptions {
  /**
   * Filter label values as Flink's reporter does by default (`filterLabelValueCharacters: true`):
   * every character outside `[a-zA-Z0-9:_]` becomes `_`. Default true.
   */
  filterLabelValues?: boolean;
}

/** Content type of the text format (prom-client's, version 0.0.4). */
export const PROMETHEUS_TEXT_CONTENT_TYPE = new Registry().contentType;

/** A point's exported number the way Flink's `gaugeFrom` turns a gauge value into a double. */
function exportedValue(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (s === 'true') return 1;
    if (s === 'false') return 0;
    const n = Number(s);
    return s !== '' && Number.isFinite(n) ? n : 0; // Flink: an unsupported gauge type reads 0
  }
  return 0;
}

/**
 * The metric points (as `LocalJob.metricPoints()` gives them) in the Prometheus text format, as
 * Flink's PrometheusReporter would expose them. Points of streamtune's own measurements are left
 * out; a series reported twice (a TaskManager's heap in the points of two jobs) appears once, with
 * the last value.
 */
export async function prometheusExposition(points: readonly MetricPoint[], opts: ExpositionOptions = {}): Promise<string> {
  const filter = opts.filterLabelValues ?? true;
  const families = new Map<string, { help: string; labelNames: Set<string>; samples: Array<{ labels: Record<string, string>; value: number }> }>();
  for (const p of points) {
    if (isStreamtuneMeasurement(p.measurement)) continue;
    const field = flinkExportedField(p.fields);
    if (!field) continue;
    const name = prometheusMetricName(p.measurement, field);
    if (!name) continue;
    let fam = families.get(name);
    if (!fam) {
      const cut = p.measurement.lastIndexOf('_');
      const metric = cut < 0 ? p.measurement : p.measurement.slice(cut + 1);
      const scope = cut < 0 ? '' : prometheusSanitize(p.measurement.slice(0, cut));
      fam = { help: `${metric} (scope: ${scope})`, labelNames: new Set(), samples: [] };
      families.set(name, fam);
    }
    const labels: Record<string, string> = {};
    for (const [k, v] of Object.entries(p.tags)) {
      const ln = prometheusSanitize(k);
      labels[ln] = filter ? prometheusSanitize(v) : v;
      fam.labelNames.add(ln);
    }
    fam.samples.push({ labels, value: exportedValue(p.fields[field]) });
  }
  const registry = new Registry();
  for (const [name, fam] of families) {
    const g = new Gauge({ name, help: fam.help, labelNames: [...fam.labelNames], registers: [registry] });
    for (const s of fam.samples) g.set(s.labels, s.value);
  }
  return registry.metrics();
}

/** Options of {@link startPrometheusReporter}. */
export interface PrometheusReporterOptions extends ExpositionOptions {
  /** TCP port; 0 picks a free one. Flink's reporter default is 9249. */
  port: number;
  /** Interface to listen on. Default '127.0.0.1'. */
  host?: string;
  /** The points to expose, read at every scrape (e.g. every running job's `metricPoints(now)`). */
  points: () => readonly MetricPoint[] | Promise<readonly MetricPoint[]>;
  logger?: Logger;
}

/** A listening reporter endpoint. */
export interface PrometheusReporter {
  /** 'http://HOST:PORT/metrics' */
  readonly url: string;
  readonly port: number;
  /** Stops listening; resolves when the server is closed. */
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics` (any other path: 404) with {@link prometheusExposition} of `points()`.
 * A failing `points()` answers 500 and is logged (warn).
 * @throws StreamtuneError INVALID_CONFIG when the port cannot be listened on (in use, no permission).
 */
export async function startPrometheusReporter(opts: PrometheusReporterOptions): Promise<PrometheusReporter> {
  const log = (opts.logger ?? silentLogger).namespace('prometheus-reporter');
  const host = opts.host ?? '127.0.0.1';
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found: GET /metrics\n');
      return;
    }
    Promise.resolve()
      .then(() => opts.points())
      .then((points) => prometheusExposition(points, opts))
      .then(
        (text) => res.writeHead(200, { 'Content-Type': PROMETHEUS_TEXT_CONTENT_TYPE }).end(text),
        (err: unknown) => {
          log.warn('metrics exposition failed', { error: errorMessage(err) });
          res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`${errorMessage(err)}\n`);
        },
      );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new StreamtuneError('INVALID_CONFIG', `cannot listen for Prometheus scrapes on ${host}:${opts.port}: ${err.code === 'EADDRINUSE' ? 'the port is in use' : err.message}`, { details: { field: 'prometheusReporter.port' }, cause: err })),
    );
    server.listen(opts.port, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/metrics`;
  log.info('serving Prometheus scrapes', { url });
  return {
    url,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
