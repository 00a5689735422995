/**
 * The Grafana dashboards for teams that live in Grafana, in `dashboards/grafana/`:
 * - `streamtune-lag.json`: the same lag panels as the job page (total lag per consumer group, lag per
 *   partition, lag in seconds, produced vs consumed records/s) over an InfluxDB (InfluxQL) datasource,
 *   using the measurement names of docs/METRICS.md; a `group` variable (consumer group);
 * - `streamtune-lag-prometheus.json`: the same panels in PromQL over a Prometheus datasource, on the
 *   lag measurements streamtune remote-writes (`store.prometheusRemoteWrite: own` or `all`);
 * - `streamtune-job-prometheus.json`: a job's vertices (busy, back-pressured and idle time, records
 *   in/out per second, source backlog), checkpoints, restarts and TaskManager heap in PromQL over
 *   Flink's PrometheusReporter names, for Flink jobs and bundled ones alike; a `job` variable.
 * Import one in Grafana (Dashboards → Import); it asks for the datasource (`${datasource}`).
 * Served by the dashboard at `GET /grafana/<file>`.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { StreamtuneError } from '../core/index.ts';

/** Path of the InfluxQL lag dashboard's JSON file. */
export const GRAFANA_DASHBOARD_PATH = fileURLToPath(new URL('./grafana/streamtune-lag.json', import.meta.url));

/** The dashboard files (`dashboards/grafana/`) by name, with their datasource type. */
export const GRAFANA_DASHBOARDS = {
  'streamtune-lag.json': 'influxdb',
  'streamtune-lag-prometheus.json': 'prometheus',
  'streamtune-job-prometheus.json': 'prometheus',
} as const;
/** One of the names of {@link GRAFANA_DASHBOARDS}. */
export type GrafanaDashboardFile = keyof typeof GRAFANA_DASHBOARDS;

/** One query of a panel, as Grafana's InfluxDB datasource stores a raw InfluxQL query. */
export interface GrafanaTarget {
  refId: string;
  query: string;
  rawQuery: boolean;
  alias?: string;
  datasource?: { type: string; uid: string };
}

/** The parts of a Grafana dashboard model streamtune reads (the file holds the full model). */
export interface GrafanaDashboard {
  uid: string;
  title: string;
  panels: Array<{ id: number; type: string; title: string; datasource?: { type: string; uid: string }; targets: GrafanaTarget[] }>;
  templating: { list: Array<{ name: string; type: string; query?: string }> };
  [key: string]: unknown;
}

/** One query of a panel, as Grafana's Prometheus datasource stores PromQL. */
export interface GrafanaPromTarget {
  refId: string;
  expr: string;
  legendFormat?: string;
  datasource?: { type: string; uid: string };
}

/** The parts of a PromQL dashboard model streamtune reads. */
export interface GrafanaPromDashboard {
  uid: string;
  title: string;
  panels: Array<{ id: number; type: string; title: string; datasource?: { type: string; uid: string }; targets: GrafanaPromTarget[] }>;
  /** query variables carry `{ query }` (the Prometheus datasource's form), e.g. `label_values(metric, label)` */
  templating: { list: Array<{ name: string; type: string; query?: string | { query: string } }> };
  [key: string]: unknown;
}

const cache = new Map<GrafanaDashboardFile, GrafanaDashboard | GrafanaPromDashboard>();

/**
 * A dashboard model, parsed from its file (read once): {@link GrafanaDashboard} for the InfluxQL one,
 * {@link GrafanaPromDashboard} for the PromQL ones (see {@link GRAFANA_DASHBOARDS}).
 * @throws StreamtuneError INVALID_CONFIG when the file is missing or not valid JSON, NOT_FOUND for an unknown name.
 */
export function grafanaDashboardFile(name: string): GrafanaDashboard | GrafanaPromDashboard {
  if (!(name in GRAFANA_DASHBOARDS)) throw new StreamtuneError('NOT_FOUND', `no Grafana dashboard ${name}: ${Object.keys(GRAFANA_DASHBOARDS).join(', ')}`);
  const key = name as GrafanaDashboardFile;
  const hit = cache.get(key);
  if (hit) return hit;
  const path = fileURLToPath(new URL(`./grafana/${key}`, import.meta.url));
  let d: GrafanaDashboard | GrafanaPromDashboard;
  try {
    d = JSON.parse(readFileSync(path, 'utf8')) as GrafanaDashboard | GrafanaPromDashboard;
  } catch (err) {
    throw new StreamtuneError('INVALID_CONFIG', `${path}: cannot read the Grafana dashboard`, { cause: err });
  }
  cache.set(key, d);
  return d;
}

/** A PromQL dashboard by file name. @throws StreamtuneError as {@link grafanaDashboardFile}; NOT_FOUND for the InfluxQL one. */
export function grafanaPromDashboard(name: string): GrafanaPromDashboard {
  if (GRAFANA_DASHBOARDS[name as GrafanaDashboardFile] !== 'prometheus') throw new StreamtuneError('NOT_FOUND', `${name} is not a PromQL dashboard`);
  return grafanaDashboardFile(name) as GrafanaPromDashboard;
}

/** Metric names a PromQL expression reads (the identifiers before a `{` selector). */
export function promQlMetrics(expr: string): string[] {
  return [...expr.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\{/g)].map((m) => m[1]!).filter((n) => !['by', 'on', 'without', 'ignoring'].includes(n));
}

let cached: GrafanaDashboard | undefined;

/**
 * The dashboard model, parsed from {@link GRAFANA_DASHBOARD_PATH} (read once).
 * @throws StreamtuneError INVALID_CONFIG when the file is missing or not valid JSON.
 */
export function grafanaDashboard(): GrafanaDashboard {
  if (cached) return cached;
  try {
    cached = JSON.parse(readFileSync(GRAFANA_DASHBOARD_PATH, 'utf8')) as GrafanaDashboard;
  } catch (err) {
    throw new StreamtuneError('INVALID_CONFIG', `${GRAFANA_DASHBOARD_PATH}: cannot read the Grafana dashboard`, { cause: err });
  }
  return cached;
}

/** Measurement names an InfluxQL query reads (`FROM "name"`, subqueries included). */
export function influxQlMeasurements(query: string): string[] {
  return [...query.matchAll(/\bFROM\s+"([^"]+)"/gi)].map((m) => m[1]!);
}
