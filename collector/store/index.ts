/**
 * The metric store's public surface: the two implementations and the settings factory that picks
 * one from the environment.
 */
import { type Logger, StreamtuneError } from '../../core/index.ts';
import { createEmbeddedStore, defaultEmbeddedPath } from './embedded.ts';
import { createInfluxStore } from './influx.ts';
import type { MetricStore } from './types.ts';

export type { Aggregate, LogQuery, MetricStore, Series, SeriesQuery } from './types.ts';
export { createEmbeddedStore, defaultEmbeddedPath, type EmbeddedStore, type EmbeddedStoreOptions } from './embedded.ts';
export { createInfluxStore, LOG_MEASUREMENT, type InfluxStoreOptions } from './influx.ts';
export { counterRate, aggregateWindows, toNumeric, windowStart } from './aggregate.ts';
export { invalidPointReason, invalidLogReason } from './validate.ts';

/**
 * Store settings; every field overrides the matching environment variable.
 * With no InfluxDB URL the embedded DuckDB store is used.
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
  logger?: Logger;
}

/** Resolved settings (what {@link createStoreFromEnv} would open), for display and tests. */
export type ResolvedStoreSettings =
  | { kind: 'embedded'; path: string; retentionDays: number }
  | { kind: 'influxdb'; url: string; org: string; bucket: string; writeApi: 'v1' | 'v2'; hasToken: boolean };

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
  if (!url) {
    const dataDir = config.dataDir ?? pick(env.STREAMTUNE_DATA_DIR);
    const path = config.embeddedPath ?? defaultEmbeddedPath({ STREAMTUNE_DATA_DIR: dataDir });
    return { kind: 'embedded', path, retentionDays };
  }
  const urlVar = config.influxUrl !== undefined ? 'config.influxUrl' : 'STREAMTUNE_INFLUXDB_URL';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new StreamtuneError('INVALID_CONFIG', `${urlVar} is not a URL: "${url}"`, { details: { variable: urlVar } });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new StreamtuneError('INVALID_CONFIG', `${urlVar} must be an http:// or https:// URL, got "${parsed.protocol}"`, { details: { variable: urlVar } });
  }
  if (parsed.username || parsed.password) {
    throw new StreamtuneError('INVALID_CONFIG', `${urlVar} must not carry credentials; use STREAMTUNE_INFLUXDB_TOKEN`, { details: { variable: urlVar } });
  }
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
  const out: ResolvedStoreSettings & { token?: string } = {
    kind: 'influxdb', url: parsed.toString().replace(/\/$/, ''), org, bucket, writeApi: writeApiRaw, hasToken: !!token,
  };
  if (token) out.token = token;
  return out;
}

/**
 * Opens the store the settings name: InfluxDB when `STREAMTUNE_INFLUXDB_URL` (or `config.influxUrl`)
 * is set, else the embedded DuckDB store at `${STREAMTUNE_DATA_DIR ?? './data'}/metrics.duckdb`.
 * @throws StreamtuneError INVALID_CONFIG (see {@link resolveStoreSettings}); STORE_UNAVAILABLE when the file cannot be opened.
 */
export async function createStoreFromEnv(env: NodeJS.ProcessEnv = process.env, config: StoreConfig = {}): Promise<MetricStore> {
  const s = resolveStoreSettings(env, config);
  if (s.kind === 'embedded') {
    const opts: Parameters<typeof createEmbeddedStore>[0] = { path: s.path, retentionDays: s.retentionDays };
    if (config.logger) opts.logger = config.logger;
    return createEmbeddedStore(opts);
  }
  const opts: Parameters<typeof createInfluxStore>[0] = { url: s.url, org: s.org, bucket: s.bucket, writeApi: s.writeApi };
  if (s.token) opts.token = s.token;
  if (config.logger) opts.logger = config.logger;
  return createInfluxStore(opts);
}
