/**
 * The Flink part of one `streamtune serve` process, from the `flink` section of the config: the
 * {@link FlinkExecutor} the tuner drives for Flink jobs, the {@link FlinkCatalog} of the cluster's
 * jobs, and the collector's remote source that pulls every running Flink job's metrics over REST
 * each round (off when the cluster writes to InfluxDB itself: `flink.influxReporter`).
 * The authorization header is handed to the REST clients only; it is never logged.
 */
import { FlinkRestCollector, type RemoteSource } from '../collector/index.ts';
import { errorMessage, type LogEvent, type Logger, type MetricPoint } from '../core/index.ts';
import { FlinkCatalog, FlinkExecutor, type FlinkRestClientOptions } from '../platform/index.ts';
import type { FlinkConfig } from './config.ts';

/** What {@link createFlinkParts} builds. */
export interface FlinkParts {
  executor: FlinkExecutor;
  catalog: FlinkCatalog;
  /** undefined with `influxReporter: true` (the diagnoser reads what the reporter wrote) */
  remoteSource: RemoteSource | undefined;
  /**
   * Late binding of the measured restart time: the tuner is created after the catalog. `fn` returns
   * the downtime (ms) of the job's last operation, when known.
   */
  setLastDowntime(fn: (jobId: string) => number | undefined): void;
  /** First poll of the cluster (failure logged), then polling every `pollIntervalMs`. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/** Builds the Flink executor, catalog and collector source; nothing runs until `start()`. */
export function createFlinkParts(config: FlinkConfig, opts: { logger: Logger }): FlinkParts {
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
  let lastDowntime: ((jobId: string) => number | undefined) | undefined;
  const catalog = new FlinkCatalog({
    executor,
    jobs: config.jobs,
    pollIntervalMs: config.pollIntervalMs,
    lastDowntimeMs: (id) => lastDowntime?.(id),
    logger: log,
    ...(config.restartTimeMs !== undefined ? { restartTimeMs: config.restartTimeMs } : {}),
  });
  let remoteSource: RemoteSource | undefined;
  if (!config.influxReporter) {
    const collector = new FlinkRestCollector({ rest, writePoints: async () => {}, writeLogs: async () => {}, logger: log });
    remoteSource = {
      name: 'flink',
      async collect(now: number) {
        const points: MetricPoint[] = [];
        const logs: LogEvent[] = [];
        for (const job of catalog.list()) {
          if (job.state !== 'RUNNING') continue;
          try {
            const r = await collector.collectJob(job.job_id, now);
            points.push(...r.points);
            logs.push(...r.logs);
          } catch (err) {
            log.warn('collecting a Flink job over REST failed', { job_id: job.job_id, error: errorMessage(err) });
          }
        }
        return { points, logs };
      },
    };
  }
  return {
    executor,
    catalog,
    remoteSource,
    setLastDowntime(fn) {
      lastDowntime = fn;
    },
    start: () => catalog.start(),
    close: () => catalog.close(),
  };
}
