/**
 * The Grafana dashboard for teams that live in Grafana: `dashboards/grafana/streamtune-lag.json`,
 * the same lag panels as the job page (total lag per consumer group, lag per partition, lag in
 * seconds, produced vs consumed records/s) over an InfluxDB (InfluxQL) datasource, using the
 * measurement names of docs/METRICS.md. Import it in Grafana (Dashboards → Import); it asks for the
 * InfluxDB datasource (`${datasource}`) and offers a `group` variable (consumer group).
 * Served by the dashboard at `GET /grafana/streamtune-lag.json`.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { StreamtuneError } from '../core/index.ts';

/** Path of the dashboard JSON file. */
export const GRAFANA_DASHBOARD_PATH = fileURLToPath(new URL('./grafana/streamtune-lag.json', import.meta.url));

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
