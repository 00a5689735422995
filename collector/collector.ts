/**
 * The running collector (issue 3): every `intervalMs` (default 5,000 ms) one round
 * - pulls `metricPoints(now)` of every watched bundled job (Flink-named points, docs/METRICS.md);
 * - reports the dataset-replay splits of those jobs as consumer-group lag (collector/dataset-lag.ts,
 *   tag `source=dataset`);
 * - polls the lag of the watched Kafka consumer groups from the broker ({@link KafkaLagCollector});
 * - pulls every {@link RemoteSource} (the jobs of a Flink cluster over its REST API,
 *   `control-plane/assemble-flink.ts`);
 * - adds its own health points (`streamtune_collector_*`, collector/health.ts);
 * and hands everything to one {@link BufferedWriter} over the store (bounded buffer, retry, malformed
 * points rejected and counted). Log events of watched jobs at `warn` and above go to the same writer
 * as they happen.
 *
 * Lifecycle: `start()` runs a round now and then one every `intervalMs` (a round still running
 * makes the next tick skip); `stop()` ends the loop, disconnects from Kafka and closes the writer
 * with a last flush. A stopped collector cannot be started again.
 */
import { hostname } from 'node:os';
import { errorMessage, type LogEvent, type Logger, type LogLevel, type MetricPoint, silentLogger, StreamtuneError } from '../core/index.ts';
import type { ManagedJob } from '../platform/index.ts';
import { BufferedWriter, type BufferedWriterOptions } from './buffer.ts';
import { datasetLagPoints } from './dataset-lag.ts';
import type { CollectorHealth } from './health.ts';
import { KafkaLagCollector, type LagAdmin } from './kafka/lag-sampler.ts';
import type { MetricStore } from './store/types.ts';
import type { CollectableJob, Collector } from './types.ts';

/**
 * Points and log events pulled from outside the process once per round, e.g. a Flink cluster's jobs
 * over its REST API. `collect` may throw: the round logs it and goes on.
 */
export interface RemoteSource {
  /** for logs, e.g. 'flink' */
  name: string;
  /** points stamped `now` (ms) and log events new since the last call */
  collect(now: number): Promise<{ points: MetricPoint[]; logs: LogEvent[] }>;
}

/** Options of {@link createCollector}. Every field but `store` is optional. */
export interface CollectorOptions {
  /** Where points and log events go. */
  store: MetricStore;
  /** ms between collection rounds. Default 5,000 (the interval). */
  intervalMs?: number;
  /**
   * Kafka brokers for consumer-group lag (`watchGroup`). Default none: `watchGroup` then throws.
   * The caller resolves `STREAMTUNE_KAFKA_BROKERS`; this module reads no environment.
   * @example { brokers: ['127.0.0.1:9092'], clientId: 'streamtune-lag' }
   */
  kafka?: { brokers: string[]; clientId?: string };
  /** A ready-made kafkajs-like admin for lag polls (shares a client; tests). Takes the place of `kafka.brokers`. */
  kafkaAdmin?: LagAdmin;
  /** Bound of buffered points while the store is down; beyond it the oldest are dropped and counted. Default 100,000. */
  maxBufferedPoints?: number;
  /** Bound of buffered log events. Default 10,000. */
  maxBufferedLogs?: number;
  /** ms between buffer flushes. Default 1,000. */
  flushIntervalMs?: number;
  /** Retry/backoff of failed writes (see BufferedWriter). Default: core/retry.ts defaults, retried until the store is back. */
  retry?: BufferedWriterOptions['retry'];
  /** Pulled every round after the watched jobs. Default none. */
  remoteSources?: RemoteSource[];
  /** Lowest level of job log events kept. Default 'warn' (warnings, errors, exceptions). */
  minLogLevel?: LogLevel;
  /** Tags on the collector's health points. Default `{ host: os.hostname() }`. */
  healthTags?: Record<string, string>;
  /** Default silent. */
  logger?: Logger;
  /** Clock, ms since epoch: timestamps of every round's points. Default Date.now. */
  now?: () => number;
}

const LEVEL_RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

interface Watched {
  job: CollectableJob;
  managed: ManagedJob | undefined;
  unsubscribe: () => void;
}

/** Options after defaults and validation. */
interface CompiledOptions {
  store: MetricStore;
  intervalMs: number;
  kafka: CollectorOptions['kafka'];
  kafkaAdmin: LagAdmin | undefined;
  remoteSources: RemoteSource[];
  writer: BufferedWriterOptions;
  minLogRank: number;
  healthTags: Record<string, string>;
  log: Logger;
  now: () => number;
}

/** Fills defaults and validates; messages state the rule. */
function compileOptions(o: CollectorOptions): CompiledOptions {
  const bad = (field: string, rule: string): never => {
    throw new StreamtuneError('INVALID_CONFIG', `collector option ${field} ${rule}`, { details: { field } });
  };
  if (!o || typeof o !== 'object') bad('options', 'must be an object');
  const s = o.store as Partial<MetricStore> | undefined;
  if (!s || typeof s.write !== 'function' || typeof s.writeLogs !== 'function') bad('store', 'must be a MetricStore (write, writeLogs, query, ...)');
  const intervalMs = o.intervalMs ?? 5000;
  if (typeof intervalMs !== 'number' || !Number.isFinite(intervalMs) || intervalMs <= 0) bad('intervalMs', `must be a positive number of ms, got ${String(o.intervalMs)}`);
  for (const k of ['maxBufferedPoints', 'maxBufferedLogs'] as const) {
    const v = o[k];
    if (v !== undefined && (!Number.isInteger(v) || v <= 0)) bad(k, `must be a positive integer, got ${String(v)}`);
  }
  if (o.flushIntervalMs !== undefined && (!Number.isFinite(o.flushIntervalMs) || o.flushIntervalMs <= 0)) bad('flushIntervalMs', `must be a positive number of ms, got ${String(o.flushIntervalMs)}`);
  if (o.kafka !== undefined) {
    const b = o.kafka?.brokers;
    if (!Array.isArray(b) || b.length === 0 || b.some((x) => typeof x !== 'string' || x.trim() === '')) {
      bad('kafka.brokers', 'must be a non-empty list of host:port strings');
    }
  }
  const minLogLevel = o.minLogLevel ?? 'warn';
  if (!(minLogLevel in LEVEL_RANK)) bad('minLogLevel', `must be one of debug, info, warn, error, got ${String(minLogLevel)}`);
  const log = (o.logger ?? silentLogger).namespace('collector');
  const now = o.now ?? Date.now;
  const writer: BufferedWriterOptions = { store: o.store, logger: log, now };
  if (o.maxBufferedPoints !== undefined) writer.maxBufferedPoints = o.maxBufferedPoints;
  if (o.maxBufferedLogs !== undefined) writer.maxBufferedLogs = o.maxBufferedLogs;
  if (o.flushIntervalMs !== undefined) writer.flushIntervalMs = o.flushIntervalMs;
  if (o.retry !== undefined) writer.retry = o.retry;
  return {
    store: o.store,
    intervalMs,
    kafka: o.kafka,
    kafkaAdmin: o.kafkaAdmin,
    remoteSources: [...(o.remoteSources ?? [])],
    writer,
    minLogRank: LEVEL_RANK[minLogLevel],
    healthTags: o.healthTags ?? { host: hostname() },
    log,
    now,
  };
}

/**
 * Creates the running collector (not started: call `start()`, or `collectOnce()` per round).
 * @throws StreamtuneError INVALID_CONFIG naming the option: no store, a non-positive interval,
 *   buffer bound or flush interval, empty `kafka.brokers`, an unknown `minLogLevel`.
 */
export function createCollector(options: CollectorOptions): Collector {
  return new RunningCollector(compileOptions(options));
}

class RunningCollector implements Collector {
  private readonly writer: BufferedWriter;
  private readonly jobs = new Map<string, Watched>();
  private lag: KafkaLagCollector | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopped = false;
  private inFlight: Promise<void> | undefined;

  constructor(private readonly o: CompiledOptions) {
    this.writer = new BufferedWriter(o.writer);
  }

  watchJob(job: CollectableJob, managed?: ManagedJob): void {
    if (!job || typeof job.id !== 'string' || job.id === '' || typeof job.metricPoints !== 'function' || typeof job.onLog !== 'function') {
      throw new StreamtuneError('INVALID_ARGUMENT', 'watchJob: job must have an id, metricPoints() and onLog()', { details: { field: 'job' } });
    }
    const old = this.jobs.get(job.id);
    if (old) old.unsubscribe();
    const unsubscribe = job.onLog((e) => this.onJobLog(e));
    this.jobs.set(job.id, { job, managed, unsubscribe });
    this.o.log.info(old ? 'job replaced' : 'watching job', { job_id: job.id, job_name: job.name });
  }

  unwatchJob(jobId: string): void {
    const w = this.jobs.get(jobId);
    if (!w) return;
    w.unsubscribe();
    this.jobs.delete(jobId);
    this.o.log.info('stopped watching job', { job_id: jobId });
  }

  /** @throws StreamtuneError INVALID_CONFIG when no Kafka brokers were configured; INVALID_ARGUMENT for an empty group or topic list. */
  watchGroup(group: string, topics: string[]): void {
    if (!this.o.kafka && !this.o.kafkaAdmin) {
      throw new StreamtuneError('INVALID_CONFIG', `watchGroup(${group}): no Kafka brokers configured (collector option kafka.brokers, e.g. from STREAMTUNE_KAFKA_BROKERS)`, {
        details: { field: 'kafka.brokers' },
      });
    }
    this.lagCollector().watch({ groupId: group, topics });
  }

  private lagCollector(): KafkaLagCollector {
    if (!this.lag) {
      const opts: ConstructorParameters<typeof KafkaLagCollector>[0] = {
        sink: (points) => this.add(points),
        intervalMs: this.o.intervalMs,
        clock: this.o.now,
        logger: this.o.log,
      };
      if (this.o.kafkaAdmin) opts.admin = this.o.kafkaAdmin;
      else {
        opts.brokers = this.o.kafka!.brokers;
        if (this.o.kafka!.clientId) opts.clientId = this.o.kafka!.clientId;
      }
      this.lag = new KafkaLagCollector(opts);
    }
    return this.lag;
  }

  private onJobLog(e: LogEvent): void {
    if ((LEVEL_RANK[e.level] ?? -1) < this.o.minLogRank) return;
    this.writer.addLogs([e]);
  }

  private add(points: MetricPoint[]): void {
    if (points.length) this.writer.add(points);
  }

  collectOnce(now: number = this.o.now()): Promise<void> {
    if (this.inFlight) return this.inFlight;
    const p = this.round(now).finally(() => {
      this.inFlight = undefined;
    });
    this.inFlight = p;
    return p;
  }

  /** One round; never throws: a job that fails to report is logged and skipped. */
  private async round(now: number): Promise<void> {
    if (this.stopped) return;
    for (const { job } of [...this.jobs.values()]) {
      try {
        this.add(job.metricPoints(now));
      } catch (err) {
        this.o.log.warn('metricPoints failed', { job_id: job.id, error: errorMessage(err) });
      }
      if (typeof job.sourceOffsets === 'function') {
        try {
          this.add(datasetLagPoints(job.name, job.sourceOffsets(now), now));
        } catch (err) {
          this.o.log.warn('sourceOffsets failed', { job_id: job.id, error: errorMessage(err) });
        }
      }
    }
    for (const src of this.o.remoteSources) {
      try {
        const r = await src.collect(now);
        this.add(r.points);
        for (const e of r.logs) this.onJobLog(e);
      } catch (err) {
        this.o.log.warn(`remote source ${src.name} failed`, { error: errorMessage(err) });
      }
    }
    if (this.lag && this.lag.watched().length > 0) {
      // never throws; its points reach the writer through the sink
      await this.lag.pollOnce(now);
    }
    this.add(this.writer.healthPoints(this.o.healthTags, now));
  }

  flush(): Promise<void> {
    return this.writer.flush();
  }

  health(): CollectorHealth {
    return this.writer.health();
  }

  start(): void {
    if (this.stopped) throw new StreamtuneError('INVALID_ARGUMENT', 'collector was stopped; create a new one');
    if (this.running) return;
    this.running = true;
    this.tick();
  }

  private tick(): void {
    if (!this.running) return;
    if (!this.inFlight) {
      void this.collectOnce().catch((err: unknown) => this.o.log.error('collection round failed', { error: errorMessage(err) }));
    }
    this.timer = setTimeout(() => this.tick(), this.o.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.inFlight) await this.inFlight.catch(() => undefined);
    this.stopped = true;
    for (const w of this.jobs.values()) w.unsubscribe();
    this.jobs.clear();
    if (this.lag) await this.lag.stop();
    await this.writer.close();
  }
}
