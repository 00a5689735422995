/**
 * Test helper: a real Apache Flink 1.20 session cluster (platform/local/flink.ts: JobManager and
 * TaskManager as separate JVMs) with a real Kafka broker (platform/local/kafka.ts) and, on demand, a
 * real InfluxDB 1.x for Flink's InfluxDB reporter and Flink's Prometheus reporter; plus the
 * flight-delays job jar (flink-jobs/flight-delays) uploaded, and the REST calls the tests make.
 * Start it once per test FILE (in `before`): a cluster takes 7–25 s to start and ~1 GB of memory (RSS).
 * A missing Java, Maven or influxd fails the test (it never skips).
 */
import { join, resolve } from 'node:path';
import { REPO_ROOT } from '../../platform/local/cache.ts';
import { startFlinkCluster, type FlinkCluster, type FlinkClusterOptions } from '../../platform/local/flink.ts';
import { buildFlightDelaysJob } from '../../platform/local/flink-job.ts';
import { startKafkaBroker, type KafkaBroker } from '../../platform/local/kafka.ts';
import { startInfluxDB, type InfluxServer } from './influxdb.ts';
import { waitFor } from './wait.ts';

/** What {@link startRealFlink} started. */
export interface RealFlink {
  flink: FlinkCluster;
  kafka: KafkaBroker;
  /** present when started with `influxdb: true` */
  influx?: InfluxServer;
  /** the database Flink's InfluxDB reporter writes to */
  influxDb?: string;
  /** the flight-delays job jar (built into the cache) and its id on the cluster */
  jobJar: string;
  jarId: string;
  /** Stops everything (Flink first); safe to call after a failed start. */
  close(): Promise<void>;
}

/** Options of {@link startRealFlink}. */
export interface RealFlinkOptions {
  /** Start InfluxDB and Flink's InfluxDB reporter (interval 2 s). Default false. */
  influxdb?: boolean;
  /** Flink's Prometheus reporter. Default false. */
  prometheus?: boolean;
  /** Default partitions of new topics; default 4. */
  kafkaPartitions?: number;
  /** Kafka release of the broker; default platform/local/kafka.ts' DEFAULT_KAFKA_VERSION (4.1.1). Burrow beside it needs 3.9.1. */
  kafkaVersion?: string;
  /** Further options of the cluster (slots, scheduler, config). */
  cluster?: Omit<FlinkClusterOptions, 'influxdb' | 'prometheus'>;
}

/** airports.csv of vega-datasets, the lookup table of the flight-delays job. */
export const AIRPORTS_CSV = resolve(REPO_ROOT, 'node_modules', 'vega-datasets', 'data', 'airports.csv');

/**
 * Starts Kafka, optionally InfluxDB, and a Flink cluster; builds (once, cached) and uploads the
 * flight-delays job jar. Kafka keeps records forever (`log.retention.ms=-1`): the flights carry their
 * 2001 dates as record timestamps, which the default 7-day retention would delete within a minute.
 */
export async function startRealFlink(opts: RealFlinkOptions = {}): Promise<RealFlink> {
  const started: Array<{ close(): Promise<void> }> = [];
  const closeAll = async (): Promise<void> => {
    for (const s of started.reverse()) await s.close().catch(() => undefined);
  };
  try {
    const jobJar = await buildFlightDelaysJob();
    const kafka = await startKafkaBroker({
      numPartitions: opts.kafkaPartitions ?? 4,
      properties: { 'log.retention.ms': -1 },
      ...(opts.kafkaVersion ? { version: opts.kafkaVersion } : {}),
    });
    started.push(kafka);
    let influx: InfluxServer | undefined;
    let influxDb: string | undefined;
    if (opts.influxdb) {
      influx = await startInfluxDB();
      started.push(influx);
      influxDb = await influx.createDatabase('flink');
    }
    const flink = await startFlinkCluster({
      ...opts.cluster,
      ...(influx && influxDb ? { influxdb: { url: influx.url, db: influxDb, intervalSeconds: 2 } } : {}),
      prometheus: opts.prometheus ?? false,
      // the JobManager's REST metric store refreshes every 10 s by default; tests read it sooner
      config: { 'metrics.fetcher.update-interval': '2 s', ...opts.cluster?.config },
    });
    started.push({ close: () => flink.stop() });
    const jarId = await flink.uploadJar(jobJar);
    return { flink, kafka, influx, influxDb, jobJar, jarId, close: closeAll };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/** GET a JSON document of the REST API; throws on a status other than 200. */
export async function flinkGet<T = unknown>(flink: FlinkCluster, path: string): Promise<T> {
  const res = await fetch(`${flink.restUrl}${path}`, { signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${text.slice(0, 2000)}`);
  return JSON.parse(text) as T;
}

async function flinkPost<T = unknown>(flink: FlinkCluster, path: string, body: unknown): Promise<T> {
  const res = await fetch(`${flink.restUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  });
  const text = await res.text();
  if (res.status !== 200 && res.status !== 202) throw new Error(`POST ${path}: ${res.status} ${text.slice(0, 4000)}`);
  return JSON.parse(text) as T;
}

/** Arguments of the flight-delays job (see flink-jobs/flight-delays FlightDelaysJob.usage()). */
export interface FlightDelaysArgs {
  brokers: string;
  topic: string;
  groupId: string;
  output: string;
  lookupLatencyMs?: number;
  checkpointIntervalMs?: number;
  parallelism?: number;
  extra?: string[];
}

/** The job's program arguments. */
export function flightDelaysArgs(a: FlightDelaysArgs): string[] {
  return [
    '--brokers', a.brokers,
    '--topic', a.topic,
    '--group-id', a.groupId,
    '--output', a.output,
    '--airports', AIRPORTS_CSV,
    '--checkpoint-interval-ms', String(a.checkpointIntervalMs ?? 2000),
    ...(a.lookupLatencyMs !== undefined ? ['--lookup-latency-ms', String(a.lookupLatencyMs)] : []),
    ...(a.parallelism !== undefined ? ['--parallelism', String(a.parallelism)] : []),
    ...(a.extra ?? []),
  ];
}

/** A job vertex as GET /jobs/:jid lists it (the fields the tests read). */
export interface JobVertex {
  id: string;
  name: string;
  parallelism: number;
  status: string;
  metrics: { 'read-records': number; 'write-records': number };
}

/** GET /jobs/:jid (the fields the tests read). */
export interface JobDetails {
  jid: string;
  name: string;
  state: string;
  vertices: JobVertex[];
}

/**
 * POST /jars/:jarid/run and waits until every vertex of the job is RUNNING.
 * @returns the job id
 */
export async function runJar(
  flink: FlinkCluster,
  jarId: string,
  programArgsList: string[],
  opts: { savepointPath?: string; flinkConfiguration?: Record<string, string>; parallelism?: number } = {},
): Promise<string> {
  const body: Record<string, unknown> = { programArgsList };
  if (opts.savepointPath) body.savepointPath = opts.savepointPath;
  if (opts.flinkConfiguration) body.flinkConfiguration = opts.flinkConfiguration;
  if (opts.parallelism) body.parallelism = opts.parallelism;
  const { jobid } = await flinkPost<{ jobid: string }>(flink, `/jars/${jarId}/run`, body);
  await waitFor(
    async () => {
      const j = await flinkGet<JobDetails>(flink, `/jobs/${jobid}`);
      if (j.state === 'FAILED') throw new Error(`job ${jobid} failed: ${JSON.stringify(await flinkGet(flink, `/jobs/${jobid}/exceptions`)).slice(0, 3000)}`);
      return j.state === 'RUNNING' && j.vertices.length > 0 && j.vertices.every((v) => v.status === 'RUNNING');
    },
    { timeoutMs: 120_000, intervalMs: 250, what: `job ${jobid} RUNNING with all vertices` },
  );
  return jobid;
}

/**
 * Stops a job with a savepoint (POST /jobs/:jid/stop; `drain: true` first emits MAX_WATERMARK, which
 * fires every event-time window) and waits until the savepoint is written and the job FINISHED.
 * @returns the savepoint's path
 */
export async function stopWithSavepoint(flink: FlinkCluster, jid: string, drain: boolean): Promise<string> {
  const { 'request-id': rid } = await flinkPost<{ 'request-id': string }>(flink, `/jobs/${jid}/stop`, { drain });
  const location = await waitFor(
    async () => {
      const s = await flinkGet<{ status: { id: string }; operation?: { location?: string; 'failure-cause'?: { 'stack-trace'?: string } } }>(
        flink,
        `/jobs/${jid}/savepoints/${rid}`,
      );
      if (s.status.id !== 'COMPLETED') return undefined;
      if (!s.operation?.location) throw new Error(`stop-with-savepoint of ${jid} failed: ${(s.operation?.['failure-cause']?.['stack-trace'] ?? '').slice(0, 3000)}`);
      return s.operation.location;
    },
    { timeoutMs: 120_000, intervalMs: 250, what: `stop-with-savepoint of job ${jid}` },
  );
  await waitFor(async () => (await flinkGet<JobDetails>(flink, `/jobs/${jid}`)).state === 'FINISHED', {
    timeoutMs: 60_000,
    intervalMs: 250,
    what: `job ${jid} FINISHED`,
  });
  return location;
}

/** Waits until the job's source vertex has emitted at least `records` records (REST vertex metrics). */
export async function waitSourceRecords(flink: FlinkCluster, jid: string, records: number, timeoutMs = 180_000): Promise<void> {
  await waitFor(
    async () => {
      const j = await flinkGet<JobDetails>(flink, `/jobs/${jid}`);
      if (j.state !== 'RUNNING') throw new Error(`job ${jid} is ${j.state}`);
      const src = j.vertices.find((v) => v.name.startsWith('Source: '));
      return (src?.metrics['write-records'] ?? 0) >= records;
    },
    { timeoutMs, intervalMs: 500, what: `job ${jid}'s source to emit ${records} records` },
  );
}

/** The job's output directory inside the cluster's directory. */
export function outputDir(flink: FlinkCluster, name: string): string {
  return join(flink.dir, 'output', name);
}
