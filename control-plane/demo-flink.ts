/**
 * The demo on real Apache Flink (`streamtune demo --flink`): the same lag → diagnosis → Apply story
 * as `npm start`, with the flight-delays job running on a local Flink 1.20 session cluster and
 * reading a local Kafka broker, both started from the cached artifacts (platform/local: Kafka's jars
 * from Maven Central, Flink's distribution from PyPI, the job jar built by Maven from
 * `flink-jobs/flight-delays`; the first run fetches and builds them, about 2 minutes; Java 17,
 * Maven and pip are needed).
 *
 * What runs: Kafka with the topic `flights` (8 partitions; records kept forever, they carry 2001
 * dates), a Flink cluster (one JobManager, one TaskManager with 8 slots), the job `flight-delays`
 * submitted at parallelism 1 with `enrich` at {@link FLINK_DEMO_LOOKUP_MS} ms per record, flights
 * produced at {@link FLINK_DEMO_RATE} records/s: enrich keeps up with at most ~400 records/s at
 * parallelism 1, so the job lags. streamtune watches the cluster over REST (`flink` section; the
 * embedded store), with the demo rules (the lag alert after 15 s). Apply stops the job with a
 * savepoint and runs the jar from it with the new parallelism (under a new JobID).
 *
 * Everything lives in `<data dir>/demo-flink/` (emptied at each start, like the demo's), and
 * `close()` stops the producer, then Flink and Kafka (every JVM by its PID).
 */
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { errorMessage, type Logger, silentLogger, StreamtuneError } from '../core/index.ts';
import { buildFlightDelaysJob, flightsParquetPath, produceFlights, startFlinkCluster, startKafkaBroker, type FlinkCluster, type KafkaBroker } from '../platform/index.ts';
import { loadConfig, type ServerConfig } from './config.ts';
import { DEMO_MARKER, DEMO_RULES } from './demo.ts';

/** records/s the demo produces. */
export const FLINK_DEMO_RATE = 600;
/** ms per record `enrich` spends (a remote lookup): at most ~400 records/s per subtask. */
export const FLINK_DEMO_LOOKUP_MS = 2.5;
/** The demo job's name, consumer group and topic. */
export const FLINK_DEMO_JOB = 'flight-delays';
export const FLINK_DEMO_GROUP = 'flight-delays-demo';
export const FLINK_DEMO_TOPIC = 'flights';
/** The flight-delays job's entry class. */
export const FLIGHT_DELAYS_MAIN = 'streamtune.jobs.FlightDelaysJob';

/** What {@link startFlinkDemo} started. */
export interface FlinkDemo {
  kafka: KafkaBroker;
  flink: FlinkCluster;
  /** the demo job's JobID as first submitted */
  jobId: string;
  /** the control-plane configuration to serve with */
  config: ServerConfig;
  /** records produced so far */
  produced(): number;
  /** Stops the producer, the Flink cluster and Kafka. Idempotent. */
  close(): Promise<void>;
}

/** Options of {@link startFlinkDemo}. */
export interface FlinkDemoOptions {
  /** the demo's folder; default `<STREAMTUNE_DATA_DIR or ./data>/demo-flink` */
  dataDir?: string;
  env?: NodeJS.ProcessEnv;
  /** `--port`. Default STREAMTUNE_PORT or 8080. */
  port?: number;
  /** records/s. Default {@link FLINK_DEMO_RATE}. */
  rate?: number;
  /** Further config sections laid over the demo's (tests: faster alerting). */
  overrides?: Record<string, unknown>;
  logger?: Logger;
  /** progress lines */
  out?: (line: string) => void;
}

/** `<STREAMTUNE_DATA_DIR or ./data>/demo-flink`, absolute. */
export function flinkDemoDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.STREAMTUNE_DATA_DIR?.trim() || './data', 'demo-flink');
}

function resetDir(dir: string): void {
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    if (!existsSync(join(dir, DEMO_MARKER))) {
      throw new StreamtuneError('INVALID_CONFIG', `${dir} is not empty and was not made by the demo (no ${DEMO_MARKER}); not deleting it. Move it away or set STREAMTUNE_DATA_DIR.`, { details: { file: dir } });
    }
    rmSync(dir, { recursive: true, force: true });
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, DEMO_MARKER), 'made by `streamtune demo --flink`; emptied at every start\n');
}

/**
 * Starts Kafka and Flink, submits the lagging job, produces flights and returns the control-plane
 * configuration that watches it. On a failure half-way, what started is stopped again.
 * @throws StreamtuneError ARTIFACT_UNAVAILABLE (Java, Maven or pip missing, a download failed),
 *   INTERNAL (a server did not start), INVALID_CONFIG (the data folder is not the demo's), FLINK_API
 */
export async function startFlinkDemo(opts: FlinkDemoOptions = {}): Promise<FlinkDemo> {
  const log = (opts.logger ?? silentLogger).namespace('demo-flink');
  const out = opts.out ?? (() => undefined);
  const dataDir = opts.dataDir ?? flinkDemoDataDir(opts.env);
  resetDir(dataDir);
  const closers: Array<() => Promise<void>> = [];
  let producer: Producer | undefined;
  const abort = new AbortController();
  let sent = 0;
  let producing: Promise<void> = Promise.resolve();
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closed ??= (async () => {
      abort.abort();
      await producing;
      await producer?.disconnect().catch(() => undefined);
      for (const c of closers.reverse()) await c().catch((err: unknown) => log.warn('stopping a demo server failed', { error: errorMessage(err) }));
    })());
  try {
    out('streamtune: building the flight-delays job jar (cached after the first run)...');
    const jar = await buildFlightDelaysJob({ logger: opts.logger });
    out('streamtune: starting Kafka...');
    const kafka = await startKafkaBroker({ numPartitions: 8, properties: { 'log.retention.ms': -1 }, logger: opts.logger });
    closers.push(() => kafka.close());
    await kafka.createTopic(FLINK_DEMO_TOPIC, 8);
    out('streamtune: starting Flink...');
    const flink = await startFlinkCluster({ slots: 8, dir: join(dataDir, 'flink'), keepDir: true, config: { 'metrics.fetcher.update-interval': '2 s' }, logger: opts.logger });
    closers.push(() => flink.stop());
    const jarId = await flink.uploadJar(jar);
    const programArgs = [
      '--brokers', kafka.bootstrap.join(','),
      '--topic', FLINK_DEMO_TOPIC,
      '--group-id', FLINK_DEMO_GROUP,
      '--job-name', FLINK_DEMO_JOB,
      '--output', join(dataDir, 'output'),
      // airports.csv sits beside flights-3m.parquet in vega-datasets
      '--airports', join(dirname(flightsParquetPath()), 'airports.csv'),
      '--lookup-latency-ms', String(FLINK_DEMO_LOOKUP_MS),
      '--checkpoint-interval-ms', '5000',
      '--parallelism', '1',
    ];
    const res = await fetch(`${flink.restUrl}/jars/${jarId}/run`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ entryClass: FLIGHT_DELAYS_MAIN, programArgsList: programArgs }) });
    const text = await res.text();
    if (res.status !== 200) throw new StreamtuneError('FLINK_API', `POST /jars/${jarId}/run: ${res.status} ${text.slice(0, 2000)}`);
    const jobId = (JSON.parse(text) as { jobid: string }).jobid;
    out(`streamtune: Flink ${flink.version} at ${flink.restUrl}, job ${FLINK_DEMO_JOB} ${jobId}; producing ${opts.rate ?? FLINK_DEMO_RATE} flights/s to Kafka ${kafka.bootstrap.join(',')}`);

    producer = new Kafka({ clientId: 'streamtune-demo-flink', brokers: kafka.bootstrap, logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    const p = producer;
    producing = produceFlights({ producer: p, topic: FLINK_DEMO_TOPIC, rate: opts.rate ?? FLINK_DEMO_RATE, key: 'round-robin', signal: abort.signal, onProgress: (n) => (sent = n), logger: opts.logger })
      .then(() => undefined)
      .catch((err: unknown) => log.error('producing flights failed', { error: errorMessage(err) }));

    const env = opts.env ?? process.env;
    const config = loadConfig({
      env,
      defaults: {
        rules: { dir: DEMO_RULES },
        collector: { intervalMs: '5s' },
        diagnoser: { windowMs: '3m', stepMs: '5s', rediagnoseMs: '20s', alertIntervalMs: '5s', sweepCron: '*/2 * * * *' },
        // Flink's rate meters span 60 s: verify over more than that after the restart
        tuner: { policies: { '*': { mode: 'recommend', verifyAfterMs: '75s', cooldownMs: '1m' } } },
      },
      overrides: {
        dataDir: join(dataDir, 'streamtune'),
        jobs: [],
        kafka: { brokers: kafka.bootstrap },
        flink: {
          url: flink.restUrl, jarId, entryClass: FLIGHT_DELAYS_MAIN, pollIntervalMs: '2s', restartTimeMs: '20s',
          jobs: { [FLINK_DEMO_JOB]: { consumerGroup: FLINK_DEMO_GROUP, topics: [FLINK_DEMO_TOPIC], programArgs } },
        },
        ...(opts.port !== undefined ? { server: { port: opts.port } } : {}),
        ...(opts.overrides ?? {}),
      },
    });
    return { kafka, flink, jobId, config, produced: () => sent, close };
  } catch (err) {
    await close();
    throw err;
  }
}
