/**
 * The metric store's public surface: the two implementations and the settings factory that picks
 * one from the environment.
 */
import { type Logger, StreamtuneError } from '../../core/index.ts';
import { createEmbeddedStore, defaultEmbeddedPath } from './embedded.ts';
import { createInfluxStore } from './influx.ts';
import { createPrometheusStore } from './prometheus.ts';
import { createPrometheusRoutedStore, PROMETHEUS_REMOTE_WRITE_MODES, type PrometheusRemoteWrite } from './routed.ts';
import type { MetricStore } from './types.ts';

export type { Aggregate, LogQuery, MetricStore, Series, SeriesQuery } from './types.ts';
export { createEmbeddedStore, defaultEmbeddedPath, type EmbeddedStore, type EmbeddedStoreOptions } from './embedded.ts';
export { createInfluxStore, LOG_MEASUREMENT, type InfluxStoreOptions } from './influx.ts';
export { counterRate, aggregateWindows, toNumeric, windowStart } from './aggregate.ts';
export { invalidPointReason, invalidLogReason } from './validate.ts';
export { createPrometheusStore, promSelector, type PrometheusStore, type PrometheusStoreOptions, type PromData, type PromResult } from './prometheus.ts';
export { createPrometheusRoutedStore, PROMETHEUS_REMOTE_WRITE_MODES, type PrometheusRemoteWrite, type PrometheusRoutedOptions, type PrometheusRoutedStore } from './routed.ts';
export { toRemoteSeries, encodeWriteRequest, remoteWriteBody, REMOTE_WRITE_HEADERS, type RemoteSeries } from './remote-write.ts';
export { snappyCompress, snappyUncompress } from './snappy.ts';

/**
 * Store settings; every field overrides the matching environment variable.
 * With no InfluxDB URL the embedded DuckDB store is used. With a Prometheus URL, Flink's metrics are
 * read from Prometheus and that store keeps streamtune's own measurements and log events
 * (collector/store/routed.ts).
 */
export interface StoreConfig {
  /** `STREAMTUNE_INFLUXDB_URL`, e.g. 'http://127.0.0.1:8086'. Unset → embedded store. */
  influxUrl?: string;
  /** `STREAMTUNE_INFLUXDB_TOKEN`. Default none. Never logged. */
  influxToken?: string;
  /** `STREAMTUNE_INFLUXDB_ORG`. Default 'streamtune'. */
  influxOrg?: string;
  /** `STREAMTUNE_INFLUXDB_BUCKET` (the database on 1.x). Default 'streamtune'. */
  influxBucket?: string;
  /** `STREAMTUNE_INFLUXDB_WRITE_API`: 'v2' (default) or 'v1' (InfluxDB <= 1.7). */
  influxWriteApi?: 'v1' | 'v2';
  /** `STREAMTUNE_DATA_DIR`: folder of the embedded store's `metrics.duckdb`. Default './data'. */
  dataDir?: string;
  /** Embedded store file (overrides dataDir), or ':memory:'. */
  embeddedPath?: string;
  /** Embedded store retention, days. Default 7. */
  retentionDays?: number;
  /**
   * `STREAMTUNE_STORE_HEAD_MINUTES`: minutes of recent points the embedded store also keeps in
   * memory and answers reads of from there (collector/store/head.ts). Default 65; 0 turns it off.
   */
  headMinutes?: number;
  /** Most points the embedded store's head holds (oldest dropped first). Default 20,000,000 (~0.6 GB). */
  headMaxPoints?: number;
  /**
   * `STREAMTUNE_PROMETHEUS_URL`, e.g. 'http://prometheus:9090': Flink's metrics are read from this
   * Prometheus (or VictoriaMetrics) in the names of Flink's PrometheusReporter. Unset → they are read
   * from the store above.
   */
  prometheusUrl?: string;
  /**
   * `STREAMTUNE_PROMETHEUS_REMOTE_WRITE`: what streamtune writes to Prometheus by remote write:
   * 'none' (default: Prometheus scrapes Flink's reporters and the bundled runtime's `/metrics`;
   * streamtune's own measurements go to the store above), 'own' (streamtune's own measurements, e.g.
   * the consumer-group lag, go to Prometheus; it still scrapes the jobs), 'job-metrics' (the bundled
   * and REST-collected jobs' Flink metrics go to Prometheus, streamtune's own to the store above),
   * 'all' (both; log events always stay in the store above).
   */
  prometheusRemoteWrite?: PrometheusRemoteWrite;
  logger?: Logger;
}

/** Where Flink's metrics are read when a Prometheus URL is set. */
export interface ResolvedPrometheusSettings {
  url: string;
  remoteWrite: PrometheusRemoteWrite;
}

/** Resolved settings (what {@link createStoreFromEnv} would open), for display and tests. */
export type ResolvedStoreSettings = (
  | { kind: 'embedded'; path: string; retentionDays: number; headMinutes?: number; headMaxPoints?: number }
  | { kind: 'influxdb'; url: string; org: string; bucket: string; writeApi: 'v1' | 'v2'; hasToken: boolean }
) & { prometheus?: ResolvedPrometheusSettings };

/** A validated http(s) URL without credentials, trailing '/' removed. @throws StreamtuneError INVALID_CONFIG naming `variable`. */
function checkedUrl(url: string, variable: string, credentialsHint: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new StreamtuneError('INVALID_CONFIG', `${variable} is not a URL: "${url}"`, { details: { variable } });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new StreamtuneError('INVALID_CONFIG', `${variable} must be an http:// or https:// URL, got "${parsed.protocol}"`, { details: { variable } });
  }
  if (parsed.username || parsed.password) {
    throw new StreamtuneError('INVALID_CONFIG', `${variable} must not carry credentials${credentialsHint}`, { details: { variable } });
  }
  return parsed.toString().replace(/\/$/, '');
}

/**
 * The Prometheus part of the settings, or undefined without a Prometheus URL.
 * @throws StreamtuneError INVALID_CONFIG naming the variable for a bad URL or remote write mode.
 */
function resolvePrometheus(env: NodeJS.ProcessEnv, config: StoreConfig, pick: (v: string | undefined) => string | undefined): ResolvedPrometheusSettings | undefined {
  const url = config.prometheusUrl ?? pick(env.STREAMTUNE_PROMETHEUS_URL);
  const modeVar = config.prometheusRemoteWrite !== undefined ? 'config.prometheusRemoteWrite' : 'STREAMTUNE_PROMETHEUS_REMOTE_WRITE';
  const mode = config.prometheusRemoteWrite ?? pick(env.STREAMTUNE_PROMETHEUS_REMOTE_WRITE) ?? 'none';
  if (!(PROMETHEUS_REMOTE_WRITE_MODES as readonly string[]).includes(mode)) {
    throw new StreamtuneError('INVALID_CONFIG', `${modeVar} must be one of ${PROMETHEUS_REMOTE_WRITE_MODES.map((m) => `"${m}"`).join(', ')}, got "${mode}"`, { details: { variable: modeVar } });
  }
  if (!url) {
    if (mode !== 'none') throw new StreamtuneError('INVALID_CONFIG', `${modeVar} "${mode}" needs a Prometheus URL (store.prometheusUrl or STREAMTUNE_PROMETHEUS_URL)`, { details: { variable: modeVar } });
    return undefined;
  }
  const urlVar = config.prometheusUrl !== undefined ? 'config.prometheusUrl' : 'STREAMTUNE_PROMETHEUS_URL';
  return { url: checkedUrl(url, urlVar, ''), remoteWrite: mode as PrometheusRemoteWrite };
}

/**
 * Fills defaults and validates store settings from `env` and `config` (config wins).
 * @throws StreamtuneError INVALID_CONFIG naming the variable for a bad URL, write API, bucket or retention.
 */
export function resolveStoreSettings(env: NodeJS.ProcessEnv = process.env, config: StoreConfig = {}): ResolvedStoreSettings & { token?: string } {
  const pick = (v: string | undefined): string | undefined => (v === undefined || v.trim() === '' ? undefined : v.trim());
  const url = config.influxUrl ?? pick(env.STREAMTUNE_INFLUXDB_URL);
  const retentionDays = config.retentionDays ?? 7;
  if (!Number.isFinite(retentionDays) || retentionDays < 0) {
    throw new StreamtuneError('INVALID_CONFIG', `retentionDays must be a number >= 0, got ${retentionDays}`, { details: { field: 'retentionDays' } });
  }
  const prometheus = resolvePrometheus(env, config, pick);
  const withProm = <T extends object>(s: T): T & { prometheus?: ResolvedPrometheusSettings } => (prometheus ? { ...s, prometheus } : s);
  if (!url) {
    const dataDir = config.dataDir ?? pick(env.STREAMTUNE_DATA_DIR);
    const path = config.embeddedPath ?? defaultEmbeddedPath({ STREAMTUNE_DATA_DIR: dataDir });
    const headRaw = config.headMinutes ?? pick(env.STREAMTUNE_STORE_HEAD_MINUTES);
    const headVar = config.headMinutes !== undefined ? 'config.headMinutes' : 'STREAMTUNE_STORE_HEAD_MINUTES';
    const headMinutes = headRaw === undefined ? undefined : Number(headRaw);
    if (headMinutes !== undefined && !(Number.isFinite(headMinutes) && headMinutes >= 0)) {
      throw new StreamtuneError('INVALID_CONFIG', `${headVar} must be a number of minutes >= 0 (0: no in-memory head), got "${String(headRaw)}"`, { details: { variable: headVar } });
    }
    const headMaxPoints = config.headMaxPoints;
    if (headMaxPoints !== undefined && !(Number.isFinite(headMaxPoints) && headMaxPoints >= 1)) {
      throw new StreamtuneError('INVALID_CONFIG', `config.headMaxPoints must be a number >= 1, got ${headMaxPoints}`, { details: { variable: 'config.headMaxPoints' } });
    }
    return withProm({
      kind: 'embedded' as const, path, retentionDays,
      ...(headMinutes !== undefined ? { headMinutes } : {}),
      ...(headMaxPoints !== undefined ? { headMaxPoints } : {}),
    });
  }
  const urlVar = config.influxUrl !== undefined ? 'config.influxUrl' : 'STREAMTUNE_INFLUXDB_URL';
  const influxUrl = checkedUrl(url, urlVar, '; use STREAMTUNE_INFLUXDB_TOKEN');
  const writeApiRaw = config.influxWriteApi ?? pick(env.STREAMTUNE_INFLUXDB_WRITE_API) ?? 'v2';
  if (writeApiRaw !== 'v1' && writeApiRaw !== 'v2') {
    const v = config.influxWriteApi !== undefined ? 'config.influxWriteApi' : 'STREAMTUNE_INFLUXDB_WRITE_API';
    throw new StreamtuneError('INVALID_CONFIG', `${v} must be "v1" or "v2", got "${writeApiRaw}"`, { details: { variable: v } });
  }
  const bucket = config.influxBucket ?? pick(env.STREAMTUNE_INFLUXDB_BUCKET) ?? 'streamtune';
  if (!/^[^\s"\\]+$/.test(bucket)) {
    const v = config.influxBucket !== undefined ? 'config.influxBucket' : 'STREAMTUNE_INFLUXDB_BUCKET';
    throw new StreamtuneError('INVALID_CONFIG', `${v} must be a name without spaces, quotes or backslashes, got "${bucket}"`, { details: { variable: v } });
  }
  const org = config.influxOrg ?? pick(env.STREAMTUNE_INFLUXDB_ORG) ?? 'streamtune';
  const token = config.influxToken ?? pick(env.STREAMTUNE_INFLUXDB_TOKEN);
  const out: ResolvedStoreSettings & { token?: string } = withProm({
    kind: 'influxdb' as const, url: influxUrl, org, bucket, writeApi: writeApiRaw, hasToken: !!token,
  });
  if (token) out.token = token;
  return out;
}

/**
 * Opens the store the settings name: InfluxDB when `STREAMTUNE_INFLUXDB_URL` (or `config.influxUrl`)
 * is set, else the embedded DuckDB store at `${STREAMTUNE_DATA_DIR ?? './data'}/metrics.duckdb`; with
 * `STREAMTUNE_PROMETHEUS_URL` (or `config.prometheusUrl`) that store is routed beside Prometheus
 * (collector/store/routed.ts).
 * @throws StreamtuneError INVALID_CONFIG (see {@link resolveStoreSettings}); STORE_UNAVAILABLE when the file cannot be opened.
 */
export async function createStoreFromEnv(env: NodeJS.ProcessEnv = process.env, config: StoreConfig = {}): Promise<MetricStore> {
  const s = resolveStoreSettings(env, config);
  let local: MetricStore;
  if (s.kind === 'embedded') {
    const opts: Parameters<typeof createEmbeddedStore>[0] = {
      path: s.path, retentionDays: s.retentionDays,
      ...(s.headMinutes !== undefined ? { headMinutes: s.headMinutes } : {}),
      ...(s.headMaxPoints !== undefined ? { headMaxPoints: s.headMaxPoints } : {}),
    };
    if (config.logger) opts.logger = config.logger;
    local = await createEmbeddedStore(opts);
  } else {
    const opts: Parameters<typeof createInfluxStore>[0] = { url: s.url, org: s.org, bucket: s.bucket, writeApi: s.writeApi };
    if (s.token) opts.token = s.token;
    if (config.logger) opts.logger = config.logger;
    local = await createInfluxStore(opts);
  }
  if (!s.prometheus) return local;
  const prometheus = createPrometheusStore({ url: s.prometheus.url, remoteWrite: s.prometheus.remoteWrite !== 'none', ...(config.logger ? { logger: config.logger } : {}) });
  return createPrometheusRoutedStore({ prometheus, local, remoteWrite: s.prometheus.remoteWrite, ...(config.logger ? { logger: config.logger } : {}) });
}
