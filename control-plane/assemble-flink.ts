/**
 * The Flink part of one `streamtune serve` process, from the `flink` section of the config: the
 * {@link FlinkExecutor} the tuner drives for Flink jobs, the {@link FlinkCatalog} of the cluster's
 * jobs, and the collector's remote source that pulls the Flink jobs' data over REST each round.
 *
 * - With `kafka.brokers` in the config the catalog asks the broker for the partition counts of the
 *   jobs' topics (so a source is never planned past its partitions) and discovers each job's
 *   consumer group (collector/kafka/group-discovery.ts); `flink.jobs` overrides both.
 * - The REST source reads every non-terminal job the catalog knows, with the catalog's graph and
 *   checkpoint settings (no `/jobs/:jid` or `/plan` per round), bounded in flight
 *   (collector/flink/rest-collector.ts). With `flink.influxReporter` the cluster's InfluxDB reporter
 *   writes the task, operator and job metrics itself, and the REST source adds only what no reporter
 *   writes: the job graph (`streamtune_job_vertex`), the checkpoint settings and the exceptions.
 *
 * The authorization header is handed to the REST clients only; it is never logged.
 */
import { brokerFactsForFlink, FlinkRestCollector, type RemoteSource } from '../collector/index.ts';
import { createKafka, errorMessage, type LogEvent, type Logger, type MetricPoint } from '../core/index.ts';
import { FlinkCatalog, FlinkExecutor, isTerminalJobState, type FlinkKafkaBroker, type FlinkRestClientOptions } from '../platform/index.ts';
import type { FlinkConfig } from './config.ts';

/** What {@link createFlinkParts} builds. */
export interface FlinkParts {
  executor: FlinkExecutor;
  catalog: FlinkCatalog;
  /** the REST source the collector pulls every round (only graph, checkpoint settings and exceptions with `influxReporter: true`) */
  remoteSource: RemoteSource;
  /** the REST collector behind `remoteSource` (its `requestCount` says how many requests a round made) */
  restCollector: FlinkRestCollector;
  /**
   * Late binding of the measured restart time: the tuner is created after the catalog. `fn` returns
   * the downtime (ms) of the job's last operation, when known.
   */
  setLastDowntime(fn: (jobId: string) => number | undefined): void;
  /** First poll of the cluster (failure logged), then polling every `pollIntervalMs`. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/** Options of {@link createFlinkParts}. */
export interface FlinkPartsOptions {
  logger: Logger;
  /** the config's `kafka` section: partition counts and consumer-group discovery. Default none. */
  kafka?: { brokers: string[]; clientId?: string };
}

/** Builds the Flink executor, catalog and collector source; nothing runs until `start()`. */
export function createFlinkParts(config: FlinkConfig, opts: FlinkPartsOptions): FlinkParts {
  const log = opts.logger.namespace('flink');
  const rest: FlinkRestClientOptions = { baseUrl: config.url, logger: log, ...(config.authorization ? { authorization: config.authorization } : {}) };
  const executor = new FlinkExecutor({
    rest,
    scheduler: config.scheduler,
    pollIntervalMs: Math.min(config.pollIntervalMs, 1000),
    logger: log,
    ...(config.jarId ? { jarId: config.jarId } : {}),
    ...(config.entryClass ? { entryClass: config.entryClass } : {}),
    ...(config.programArgs ? { programArgs: config.programArgs } : {}),
    jobs: Object.fromEntries(
      Object.entries(config.jobs).map(([k, j]) => [k, { ...(j.jarId ? { jarId: j.jarId } : {}), ...(j.entryClass ? { entryClass: j.entryClass } : {}), ...(j.programArgs ? { programArgs: j.programArgs } : {}) }]),
    ),
  });
  const broker = opts.kafka ? kafkaFacts(opts.kafka, log) : undefined;
  let lastDowntime: ((jobId: string) => number | undefined) | undefined;
  const catalog = new FlinkCatalog({
    executor,
    jobs: config.jobs,
    pollIntervalMs: config.pollIntervalMs,
    lastDowntimeMs: (id) => lastDowntime?.(id),
    logger: log,
    ...(broker ? { kafka: broker.facts } : {}),
    ...(config.restartTimeMs !== undefined ? { restartTimeMs: config.restartTimeMs } : {}),
  });
  const collector = new FlinkRestCollector({
    rest,
    writePoints: async () => {},
    writeLogs: async () => {},
    metrics: !config.influxReporter,
    // backPressuredTimeMsPerSecond per subtask says the same; /backpressure would add a request per vertex
    backpressure: false,
    logger: log,
  });
  const collected = new Set<string>();
  const remoteSource: RemoteSource = {
    name: 'flink',
    async collect(now: number) {
      const jobs = catalog.list().filter((j) => !isTerminalJobState(j.state));
      const ids = new Set(jobs.map((j) => j.job_id));
      for (const id of collected) if (!ids.has(id)) collector.forget(id);
      const results = await Promise.all(jobs.map(async (job) => {
        collected.add(job.job_id);
        try {
          return await collector.collectJob(job.job_id, now, { name: job.name, vertices: job.topology, ...(job.checkpointing ? { checkpointing: job.checkpointing } : {}) });
        } catch (err) {
          log.warn('collecting a Flink job over REST failed', { job_id: job.job_id, error: errorMessage(err) });
          return { points: [] as MetricPoint[], logs: [] as LogEvent[] };
        }
      }));
      return { points: results.flatMap((r) => r.points), logs: results.flatMap((r) => r.logs) };
    },
  };
  return {
    executor,
    catalog,
    remoteSource,
    restCollector: collector,
    setLastDowntime(fn) {
      lastDowntime = fn;
    },
    start: () => catalog.start(),
    async close() {
      await catalog.close();
      await broker?.close();
    },
  };
}

/**
 * The broker facts of the catalog over one kafkajs admin, connected on first use (and again after
 * a failure), disconnected by `close()`.
 */
function kafkaFacts(kafka: { brokers: string[]; clientId?: string }, log: Logger): { facts: FlinkKafkaBroker; close(): Promise<void> } {
  const admin = createKafka({ brokers: kafka.brokers, clientId: `${kafka.clientId ?? 'streamtune'}-flink-catalog`, logger: log }).admin();
  let connected: Promise<void> | undefined;
  const ready = async (): Promise<void> => {
    connected ??= admin.connect().catch((err: unknown) => {
      connected = undefined;
      throw err;
    });
    await connected;
  };
  const facts = brokerFactsForFlink({
    listTopics: async () => (await ready(), admin.listTopics()),
    listGroups: async () => (await ready(), admin.listGroups()),
    describeGroups: async (ids) => (await ready(), admin.describeGroups(ids)),
    fetchOffsets: async (o) => (await ready(), admin.fetchOffsets(o)),
    fetchTopicMetadata: async (o) => (await ready(), admin.fetchTopicMetadata(o)),
  });
  return {
    facts,
    async close() {
      if (connected) await admin.disconnect().catch(() => undefined);
    },
  };
}
