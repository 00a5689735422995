/**
 * Produces the flights of `flights-3m.parquet` (npm package vega-datasets: 3,000,000 U.S. flights of
 * January–June 2001, Bureau of Transportation Statistics) into a Kafka topic, in event-time order,
 * for a real Flink job (flink-jobs/flight-delays) to read: the input side of the real-cluster tests
 * and of `streamtune produce-flights`.
 *
 * Each record: value JSON `{date, delay, distance, origin, destination}` (date ISO-8601 UTC, delay in
 * minutes, distance in miles, IATA codes), record timestamp = the flight's date (ms since the epoch),
 * so a consumer's event time needs no parsing. Key: the origin airport by default, so every flight of
 * one airport lands on one partition in order (a keyed topic as a real producer writes it: the
 * partitions carry the airports' skew, and a hot origin makes a hot partition); or none
 * (`key: 'round-robin'`): kafkajs's default partitioner spreads unkeyed records evenly over the
 * partitions.
 *
 * Rows are read by DuckDB in a total order (date, then origin, destination, delay, distance), so
 * `limit`/`offset` select the same rows on every run and {@link flightsSliceSql} gives a test the
 * exact rows for its ground truth.
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { existsSync } from 'node:fs';
import type { Message, Producer } from 'kafkajs';
import { errorMessage, type Logger, silentLogger, StreamtuneError } from '../../core/index.ts';
import { resolveDataPath } from '../../runtime/index.ts';

/** The dataset's path in the installed vega-datasets package. */
export function flightsParquetPath(baseDir: string = process.cwd()): string {
  return resolveDataPath('pkg:vega-datasets/data/flights-3m.parquet', baseDir);
}

/** How records are keyed: by origin airport, or unkeyed (spread round-robin over partitions). */
export type FlightKeying = 'origin' | 'round-robin';

/** Options of {@link produceFlights}. */
export interface ProduceFlightsOptions {
  /** A connected kafkajs producer (the caller owns it: connects and disconnects it). */
  producer: Producer;
  topic: string;
  /** Parquet file; default flights-3m.parquet of vega-datasets. */
  path?: string;
  /** records/s; undefined or 0: as fast as the producer takes them. */
  rate?: number;
  /**
   * How `rate` is kept. 'catch-up' (default): against the wall clock from the first send, so sends
   * that came late are made up for by sending faster (the average over the run is the rate).
   * 'steady': each batch at least batch / rate after the previous one started, so the rate is never
   * exceeded (a late send is not made up for): steady input for a diagnosis window on a loaded
   * machine, where catching up comes in bursts.
   */
  pacing?: 'catch-up' | 'steady';
  /** Rows to produce; default all (from `offset`). */
  limit?: number;
  /** Rows to skip first (in event-time order); default 0. */
  offset?: number;
  /** Default 'origin'. */
  key?: FlightKeying;
  /** Records per `producer.send`; default min(1000, max(1, rate / 20)) (about 20 sends per second at a rate). */
  batchSize?: number;
  /** `acks` of each send; default -1 (all in-sync replicas). */
  acks?: number;
  /** Stops producing (between two sends); the result then counts what was sent. */
  signal?: AbortSignal;
  /** Called after each send with the number of records sent so far. */
  onProgress?: (sent: number) => void;
  logger?: Logger;
}

/** What {@link produceFlights} sent. */
export interface ProduceFlightsResult {
  /** records sent */
  records: number;
  /** event time of the first and last record sent, ms since the epoch (NaN when none) */
  firstTimestamp: number;
  lastTimestamp: number;
  /** wall time, ms */
  elapsedMs: number;
  /** true when `signal` stopped it before the end */
  aborted: boolean;
}

function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

function nonNegativeInt(v: number | undefined, field: string): number | undefined {
  if (v === undefined) return undefined;
  if (!Number.isInteger(v) || v < 0) throw new StreamtuneError('INVALID_ARGUMENT', `${field} must be a non-negative integer, got ${v}`, { details: { field } });
  return v;
}

/**
 * The SQL selecting the produced rows, in the order they are produced: columns date, delay,
 * distance, origin, destination of the parquet file, ordered by date, origin, destination, delay,
 * distance, with LIMIT/OFFSET. Ground truths wrap it (`SELECT origin, count(*) FROM (<this>) GROUP BY origin`).
 */
export function flightsSliceSql(opts: { path?: string; limit?: number; offset?: number } = {}): string {
  const path = opts.path ?? flightsParquetPath();
  const limit = nonNegativeInt(opts.limit, 'limit');
  const offset = nonNegativeInt(opts.offset, 'offset') ?? 0;
  return (
    `SELECT date, delay, distance, origin, destination FROM read_parquet(${sqlString(path)}) ` +
    `ORDER BY date, origin, destination, delay, distance` +
    (limit !== undefined ? ` LIMIT ${limit}` : '') +
    (offset > 0 ? ` OFFSET ${offset}` : '')
  );
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/**
 * Produces flights in event-time order at `rate` records/s (by default paced against the wall
 * clock from the first send, so a slow send is caught up on, never ahead; see `pacing`) or as fast
 * as possible.
 * @throws StreamtuneError INVALID_ARGUMENT for a bad rate, limit, offset or batch size, or a missing
 *   file; KAFKA_ERROR (retriable) when a send fails
 */
export async function produceFlights(opts: ProduceFlightsOptions): Promise<ProduceFlightsResult> {
  const log = (opts.logger ?? silentLogger).namespace('produce-flights');
  const rate = opts.rate ?? 0;
  if (!Number.isFinite(rate) || rate < 0) throw new StreamtuneError('INVALID_ARGUMENT', `rate must be records/s ≥ 0 (0: as fast as possible), got ${rate}`, { details: { field: 'rate' } });
  const batchSize = opts.batchSize ?? (rate > 0 ? Math.min(1000, Math.max(1, Math.floor(rate / 20))) : 1000);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new StreamtuneError('INVALID_ARGUMENT', `batchSize must be a positive integer, got ${batchSize}`, { details: { field: 'batchSize' } });
  const path = opts.path ?? flightsParquetPath();
  if (!existsSync(path)) throw new StreamtuneError('INVALID_ARGUMENT', `flights file not found: ${path}`, { details: { field: 'path' } });
  const keying = opts.key ?? 'origin';
  if (opts.pacing !== undefined && opts.pacing !== 'catch-up' && opts.pacing !== 'steady') throw new StreamtuneError('INVALID_ARGUMENT', `pacing must be 'catch-up' or 'steady', got '${String(opts.pacing)}'`, { details: { field: 'pacing' } });
  const sql = flightsSliceSql({ path, limit: opts.limit, offset: opts.offset });

  const instance = await DuckDBInstance.create(':memory:');
  const con = await instance.connect();
  const started = Date.now();
  let sent = 0;
  let first = Number.NaN;
  let last = Number.NaN;
  let aborted = false;
  let batch: Message[] = [];
  let batchStarted = Date.now();
  const send = async (): Promise<void> => {
    if (batch.length === 0) return;
    const n = batch.length;
    try {
      await opts.producer.send({ topic: opts.topic, messages: batch, acks: opts.acks ?? -1 });
    } catch (err) {
      throw new StreamtuneError('KAFKA_ERROR', `producing flights to topic '${opts.topic}' failed after ${sent} records: ${errorMessage(err)}`, { retriable: true, cause: err });
    }
    sent += batch.length;
    if (Number.isNaN(first)) first = Number(batch[0]!.timestamp);
    last = Number(batch[batch.length - 1]!.timestamp);
    batch = [];
    opts.onProgress?.(sent);
    if (rate > 0) {
      const due = opts.pacing === 'steady' ? batchStarted + (n / rate) * 1000 : started + (sent / rate) * 1000;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait, opts.signal);
    }
    batchStarted = Date.now();
  };
  try {
    const result = await con.stream(
      `SELECT CAST(epoch_ms(date) AS DOUBLE) AS ts, CAST(delay AS DOUBLE), CAST(distance AS DOUBLE), origin, destination FROM (${sql})`,
    );
    log.info('producing flights', { topic: opts.topic, rate, limit: opts.limit, offset: opts.offset, key: keying });
    outer: for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      for (const row of chunk.getRows()) {
        if (opts.signal?.aborted) {
          aborted = true;
          break outer;
        }
        const ts = Number(row[0]);
        const origin = row[3] === null ? null : String(row[3]);
        const value = {
          date: new Date(ts).toISOString(),
          delay: row[1] === null ? null : Number(row[1]),
          distance: row[2] === null ? null : Number(row[2]),
          origin,
          destination: row[4] === null ? null : String(row[4]),
        };
        batch.push({ key: keying === 'origin' ? origin : null, value: JSON.stringify(value), timestamp: String(ts) });
        if (batch.length >= batchSize) await send();
      }
    }
    if (!aborted) await send();
  } finally {
    con.closeSync();
    instance.closeSync();
  }
  const elapsedMs = Date.now() - started;
  log.info('flights produced', { topic: opts.topic, records: sent, elapsedMs, aborted });
  return { records: sent, firstTimestamp: first, lastTimestamp: last, elapsedMs, aborted };
}
