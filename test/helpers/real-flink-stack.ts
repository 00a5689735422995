/**
 * Test harness: streamtune against a REAL Flink job, start to finish. Once per test FILE (in
 * `before`; ~30–60 s on a loaded 2-core machine, ~1.3 GB of memory) it starts
 *
 * - a Kafka broker (platform/local/kafka.ts; records kept forever: the flights carry 2001 dates),
 *   with the topic {@link FLIGHTS_TOPIC} (`flights`, 8 partitions);
 * - the test InfluxDB 1.6.7 (test/helpers/influxdb.ts) with the database Flink reports into;
 * - a Flink 1.20 session cluster (one JobManager, one TaskManager, `slots` slots) with Flink's own
 *   InfluxDB reporter (every 2 s) and Prometheus reporter;
 * - and uploads the flight-delays job jar (flink-jobs/flight-delays, built once into the cache).
 *
 * Then a test
 * - produces flights in the background at a rate it can change ({@link RealFlinkStack.produce});
 * - submits flight-delays jobs with the job's knobs ({@link RealFlinkStack.submit}: per-record
 *   enrich latency, hot-key share, poison record, checkpoint interval, parallelism);
 * - builds streamtune's control plane (`createControlPlane`) with a `flink` section pointing at the
 *   cluster, the InfluxDB store and the broker ({@link RealFlinkStack.controlPlane}).
 *
 * Everything is stopped by {@link RealFlinkStack.close} (control planes, producers, Flink, InfluxDB,
 * Kafka; every JVM by its PID). A missing Java, Maven, influxd or Kafka artifact fails the test; it
 * never skips. Jobs of one file share the cluster: give each its own name, consumer group and, when
 * they must not see each other's records, its own topic ({@link RealFlinkStack.createTopic}).
 *
 * Example:
 * ```ts
 * let stack: RealFlinkStack;
 * before(async () => { stack = await startRealFlinkStack(); });
 * after(() => stack?.close());
 * test('...', async () => {
 *   const producer = stack.produce({ rate: 1000 });
 *   const jid = await stack.submit({ name: 'lagging', lookupLatencyMs: 2 });
 *   const cp = await stack.controlPlane({ influxReporter: true });
 *   await waitFor(() => cp.jobs.get(jid)?.consumerGroup);
 *   const d = await cp.diagnoser.diagnoseNow(jid);
 *   await producer.stop();
 * });
 * ```
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { createControlPlane, type AssembledControlPlane } from '../../control-plane/assemble.ts';
import { loadConfig } from '../../control-plane/config.ts';
import { type Logger, silentLogger } from '../../core/index.ts';
import { produceFlights, type FlightKeying } from '../../platform/kafka/produce-flights.ts';
import { startFlinkCluster, type FlinkCluster } from '../../platform/local/flink.ts';
import { buildFlightDelaysJob } from '../../platform/local/flink-job.ts';
import { startKafkaBroker, type KafkaBroker } from '../../platform/local/kafka.ts';
import { flightDelaysArgs, outputDir, runJar } from './flink-cluster.ts';
import { startInfluxDB, type InfluxServer } from './influxdb.ts';
import { tempDir } from './wait.ts';

/** The topic the stack creates and produces to by default. */
export const FLIGHTS_TOPIC = 'flights';
/** Partitions of {@link FLIGHTS_TOPIC} (and the default of {@link RealFlinkStack.createTopic}). */
export const FLIGHTS_PARTITIONS = 8;
/** The flight-delays job's entry class (flink-jobs/flight-delays). */
export const FLIGHT_DELAYS_ENTRY_CLASS = 'streamtune.jobs.FlightDelaysJob';

/** Options of {@link startRealFlinkStack}; all optional. */
export interface RealFlinkStackOptions {
  /** TaskManager slots (`taskmanager.numberOfTaskSlots`). Default 8. */
  slots?: number;
  /** `taskmanager.memory.process.size`. Default the launcher's (1536m). */
  taskManagerMemory?: string;
  /** Flink's InfluxDB reporter interval, s. Default 2. */
  reporterIntervalSeconds?: number;
  /** Further Flink config keys (they win). */
  flinkConfig?: Record<string, string | number | boolean>;
  /** `jobmanager.scheduler`. Default 'default'; 'adaptive' for in-place rescales. */
  scheduler?: 'default' | 'adaptive';
  logger?: Logger;
}

/** A flight-delays job to submit (the job's arguments, FlightDelaysJob.usage()). */
export interface StackJob {
  /** `--job-name`: unique within the file; also names the default consumer group and output folder */
  name: string;
  /** `--topic`. Default {@link FLIGHTS_TOPIC}. */
  topic?: string;
  /** `--group-id`. Default `<name>-group`. */
  groupId?: string;
  /** `--parallelism` (every operator). Default 1. */
  parallelism?: number;
  /** `--lookup-latency-ms`: per-record latency of enrich, ms (fractional allowed). Default 0. */
  lookupLatencyMs?: number;
  /** `--hot-key-share`: share of flights rewritten to one origin (ORD). Default 0. */
  hotKeyShare?: number;
  /**
   * `--checkpoint-interval-ms`. Default 10,000 (the job's own default). The KafkaSource commits its
   * offsets when a checkpoint completes, so the group appears on the broker after the first one; a
   * shorter interval makes a 1 s checkpoint on a loaded machine half the interval (a checkpoint finding).
   */
  checkpointIntervalMs?: number;
  /** More arguments, e.g. `['--window-parallelism', '2', '--poison-after', '500']`. */
  extra?: string[];
  /** Wait until every vertex is RUNNING (`runJar`). Default true; false returns the JobID at once. */
  waitRunning?: boolean;
}

/** A background producer of flights (platform/kafka/produce-flights.ts). */
export interface FlightProducer {
  readonly topic: string;
  /** records/s now */
  readonly rate: number;
  /** records sent so far */
  sent(): number;
  /** Continues at `rate` records/s from the next flight (event-time order kept). */
  changeRate(rate: number): Promise<void>;
  /** Stops (between two sends) and resolves with the records sent. Idempotent. */
  stop(): Promise<number>;
}

/** Options of {@link RealFlinkStack.controlPlane}. */
export interface StackControlPlaneOptions {
  /**
   * true: Flink's InfluxDB reporter is the metric source (`flink.influxReporter: true`, the store is
   * the database the reporter writes). false: the REST collector writes its points to a database of
   * its own, so nothing of the reporter is seen.
   */
  influxReporter: boolean;
  /** `flink.jobs`: consumer group/topics per job name or JobID (default none: discovered from the
   * broker), and the program a savepoint restart runs (default: what {@link RealFlinkStack.submit} used). */
  jobs?: Record<string, { consumerGroup?: string; topics?: string[]; programArgs?: string[] }>;
  /** `flink.scheduler`: 'adaptive' on a stack started with `scheduler: 'adaptive'`. Default 'default'. */
  scheduler?: 'default' | 'adaptive';
  /** A rules folder laid over the built-in rules (see {@link writeRules}). Default none. */
  rulesDir?: string;
  /** `collector.intervalMs`. Default 2,000. */
  collectorIntervalMs?: number;
  /** `flink.pollIntervalMs`. Default 1,000. */
  pollIntervalMs?: number;
  /** `diagnoser.windowMs` / `stepMs`. Default 2 min / 2 s. */
  diagnoserWindowMs?: number;
  diagnoserStepMs?: number;
  /** `flink.restartTimeMs`. Default 10 s (what a restart of this small job takes here). */
  restartTimeMs?: number;
  /** Further top-level config sections (e.g. `tuner`, `roles`); merged over the above. */
  config?: Record<string, unknown>;
  logger?: Logger;
}

/** What {@link startRealFlinkStack} started. */
export interface RealFlinkStack {
  readonly kafka: KafkaBroker;
  /** `kafka.bootstrap.join(',')` */
  readonly brokers: string;
  readonly influx: InfluxServer;
  /** the database Flink's InfluxDB reporter writes to */
  readonly influxDb: string;
  readonly flink: FlinkCluster;
  /** the job jar (cache) and its id on the cluster */
  readonly jobJar: string;
  readonly jarId: string;
  /** Creates a topic with `partitions` (default 8) and waits for its leaders. */
  createTopic(name: string, partitions?: number): Promise<void>;
  /**
   * Produces flights to `topic` (default `flights`) at `rate` records/s in the background, from
   * flight `offset` (default 0) in event-time order, unkeyed by default (`key: 'round-robin'`:
   * even partitions; 'origin' puts each airport on one partition), paced 'steady' by default (never
   * above the rate, no catch-up bursts after a late send: platform/kafka/produce-flights.ts).
   */
  produce(opts: { rate: number; topic?: string; offset?: number; key?: FlightKeying; pacing?: 'steady' | 'catch-up' }): FlightProducer;
  /** Submits the flight-delays job (`POST /jars/:jarid/run`); resolves with its JobID. */
  submit(job: StackJob): Promise<string>;
  /** The job's program arguments as {@link submit} passes them. */
  jobArgs(job: StackJob): string[];
  /**
   * Builds and starts a control plane against this stack; closed by {@link close} (or by the caller).
   * Its `flink.jobs` carries the program arguments of every job submitted before (so a savepoint
   * restart runs the job's jar with them), with `opts.jobs` laid over.
   */
  controlPlane(opts: StackControlPlaneOptions): Promise<AssembledControlPlane>;
  /** Stops control planes, producers, Flink, InfluxDB and Kafka. Idempotent; safe after a failed start. */
  close(): Promise<void>;
}

/**
 * Writes `rules.yaml` into a new folder under `parent` and returns the folder, for
 * {@link StackControlPlaneOptions.rulesDir}. `yaml` is a rules file (planner, detectors, alerts;
 * rules/detectors.yaml shows the format).
 */
export function writeRules(parent: string, yaml: string): string {
  const dir = join(parent, `rules-${Math.random().toString(36).slice(2, 8)}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'rules.yaml'), yaml);
  return dir;
}

/**
 * Starts Kafka, InfluxDB and Flink (reporters on), uploads the job jar and creates `flights`.
 * @throws whatever a launcher throws (StreamtuneError ARTIFACT_UNAVAILABLE, INTERNAL, ...); what
 *   started is stopped first
 */
export async function startRealFlinkStack(opts: RealFlinkStackOptions = {}): Promise<RealFlinkStack> {
  const logger = opts.logger ?? silentLogger;
  const closers: Array<() => Promise<void>> = [];
  const producers = new Set<FlightProducer>();
  /** job name → the program arguments it was submitted with */
  const submitted = new Map<string, string[]>();
  const planes = new Set<AssembledControlPlane>();
  let closed: Promise<void> | undefined;
  const closeAll = (): Promise<void> =>
    (closed ??= (async () => {
      for (const cp of planes) await cp.close().catch(() => undefined);
      for (const p of producers) await p.stop().catch(() => undefined);
      for (const c of closers.reverse()) await c().catch(() => undefined);
    })());
  try {
    const jobJar = await buildFlightDelaysJob({ logger });
    const kafka = await startKafkaBroker({ numPartitions: FLIGHTS_PARTITIONS, properties: { 'log.retention.ms': -1 }, logger });
    closers.push(() => kafka.close());
    const influx = await startInfluxDB();
    closers.push(() => influx.close());
    const influxDb = await influx.createDatabase('flink');
    const flink = await startFlinkCluster({
      slots: opts.slots ?? 8,
      ...(opts.scheduler ? { scheduler: opts.scheduler } : {}),
      ...(opts.taskManagerMemory ? { taskManagerMemory: opts.taskManagerMemory } : {}),
      influxdb: { url: influx.url, db: influxDb, intervalSeconds: opts.reporterIntervalSeconds ?? 2 },
      prometheus: true,
      // the JobManager's REST metric store refreshes every 10 s by default; streamtune reads it every 2 s
      config: { 'metrics.fetcher.update-interval': '2 s', ...opts.flinkConfig },
      logger,
    });
    closers.push(() => flink.stop());
    const jarId = await flink.uploadJar(jobJar);
    await kafka.createTopic(FLIGHTS_TOPIC, FLIGHTS_PARTITIONS);
    const brokers = kafka.bootstrap.join(',');
    const kafkaClient = new Kafka({ clientId: 'real-flink-stack', brokers: kafka.bootstrap, logLevel: logLevel.NOTHING });

    const jobArgs = (job: StackJob): string[] =>
      flightDelaysArgs({
        brokers,
        topic: job.topic ?? FLIGHTS_TOPIC,
        groupId: job.groupId ?? `${job.name}-group`,
        output: outputDir(flink, job.name),
        parallelism: job.parallelism ?? 1,
        checkpointIntervalMs: job.checkpointIntervalMs ?? 10_000,
        ...(job.lookupLatencyMs !== undefined ? { lookupLatencyMs: job.lookupLatencyMs } : {}),
        extra: ['--job-name', job.name, ...(job.hotKeyShare !== undefined ? ['--hot-key-share', String(job.hotKeyShare)] : []), ...(job.extra ?? [])],
      });

    const produce = (p: { rate: number; topic?: string; offset?: number; key?: FlightKeying; pacing?: 'steady' | 'catch-up' }): FlightProducer => {
      const topic = p.topic ?? FLIGHTS_TOPIC;
      let rate = p.rate;
      let base = p.offset ?? 0;
      let sentInRun = 0;
      let producer: Producer | undefined;
      let abort = new AbortController();
      let run: Promise<void> = Promise.resolve();
      let failure: unknown;
      let stopped: Promise<number> | undefined;
      const startRun = (): void => {
        const ac = new AbortController();
        abort = ac;
        sentInRun = 0;
        run = (async () => {
          if (!producer) {
            producer = kafkaClient.producer({ idempotent: true });
            await producer.connect();
          }
          const r = await produceFlights({ producer, topic, rate, offset: base, key: p.key ?? 'round-robin', pacing: p.pacing ?? 'steady', signal: ac.signal, onProgress: (n) => (sentInRun = n), logger });
          sentInRun = r.records;
        })().catch((err: unknown) => {
          failure = err;
        });
      };
      startRun();
      const h: FlightProducer = {
        topic,
        get rate() {
          return rate;
        },
        sent: () => {
          if (failure) throw failure;
          return base + sentInRun - (p.offset ?? 0);
        },
        async changeRate(next: number) {
          abort.abort();
          await run;
          if (failure) throw failure;
          base += sentInRun;
          rate = next;
          startRun();
        },
        stop() {
          return (stopped ??= (async () => {
            abort.abort();
            await run;
            producers.delete(h);
            await producer?.disconnect().catch(() => undefined);
            if (failure) throw failure;
            return base + sentInRun - (p.offset ?? 0);
          })());
        },
      };
      producers.add(h);
      return h;
    };

    const stack: RealFlinkStack = {
      kafka,
      brokers,
      influx,
      influxDb,
      flink,
      jobJar,
      jarId,
      createTopic: (name, partitions = FLIGHTS_PARTITIONS) => kafka.createTopic(name, partitions),
      produce,
      jobArgs,
      async submit(job) {
        const args = jobArgs(job);
        submitted.set(job.name, args);
        if (job.waitRunning === false) {
          const res = await fetch(`${flink.restUrl}/jars/${jarId}/run`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ programArgsList: args }) });
          const text = await res.text();
          if (res.status !== 200) throw new Error(`POST /jars/${jarId}/run: ${res.status} ${text.slice(0, 2000)}`);
          return (JSON.parse(text) as { jobid: string }).jobid;
        }
        return runJar(flink, jarId, args);
      },
      async controlPlane(o) {
        const dir = tempDir('streamtune-real-flink-cp-');
        // the REST collector writes to a database of its own: the reporter's points stay out of sight
        const storeDb = o.influxReporter ? influxDb : await influx.createDatabase();
        const config = loadConfig({
          env: {},
          overrides: {
            dataDir: dir,
            server: { port: 0, apiToken: 'real-flink-stack-token-0123456789abcdef' },
            store: { influxUrl: influx.url, influxBucket: storeDb, influxWriteApi: 'v1' },
            kafka: { brokers: kafka.bootstrap },
            collector: { intervalMs: o.collectorIntervalMs ?? 2000 },
            rules: { watch: false, ...(o.rulesDir ? { dir: o.rulesDir } : {}) },
            diagnoser: { windowMs: o.diagnoserWindowMs ?? 120_000, stepMs: o.diagnoserStepMs ?? 2000, sweepCron: 'off', alertIntervalMs: 2000, rediagnoseMs: 10_000 },
            flink: {
              url: flink.restUrl,
              jarId,
              entryClass: FLIGHT_DELAYS_ENTRY_CLASS,
              influxReporter: o.influxReporter,
              pollIntervalMs: o.pollIntervalMs ?? 1000,
              restartTimeMs: o.restartTimeMs ?? 10_000,
              ...(o.scheduler ? { scheduler: o.scheduler } : {}),
              // the program of every job submitted so far, for savepoint restarts (the REST API does not keep it)
              jobs: Object.fromEntries(
                [...new Set([...submitted.keys(), ...Object.keys(o.jobs ?? {})])].map((name) => [name, { ...(submitted.has(name) ? { programArgs: submitted.get(name)! } : {}), ...(o.jobs?.[name] ?? {}) }]),
              ),
            },
            ...(o.config ?? {}),
          },
        });
        const cp = await createControlPlane(config, { logger: o.logger ?? logger });
        planes.add(cp);
        const close = cp.close.bind(cp);
        cp.close = async () => {
          planes.delete(cp);
          await close();
        };
        return cp;
      },
      close: closeAll,
    };
    return stack;
  } catch (err) {
    await closeAll();
    throw err;
  }
}
