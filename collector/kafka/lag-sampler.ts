/**
 * Kafka consumer-group lag collection from the broker (Burrow's and kafka-lag-exporter's broker
 * poll): every interval, for each watched consumer group and its topics, read the log-end offsets
 * and the committed offsets with the kafkajs admin client, compute lag in records and in seconds,
 * and hand MetricPoints to an injected sink.
 */
import { createKafka, errorMessage, type Logger, type MetricPoint, resolveKafkaBrokers, silentLogger, StreamtuneError } from '../../core/index.ts';
import { LagTable, type LagSecondsKind } from './lag-table.ts';

/** Measurement names written by {@link KafkaLagCollector} (see docs/METRICS.md). */
export const KAFKA_LAG_MEASUREMENTS = {
  /** per partition, int: the offset the next produced record gets */
  logEndOffset: 'streamtune_kafka_partition_logEndOffset',
  /** per partition, int: the group's committed offset; absent when the group never committed */
  committedOffset: 'streamtune_kafka_partition_committedOffset',
  /** per partition, int records: log-end − committed, floored at 0 (log-end − earliest when none) */
  lag: 'streamtune_kafka_partition_lag',
  /** per partition, float s: age of the oldest unconsumed record (see LagTable.lagSeconds); int
   * field `lowerBound` 1 when that age is a lower bound (the record is older than the collector's
   * first sample of the partition), else 0 */
  lagSeconds: 'streamtune_kafka_partition_lagSeconds',
  /** per group, int records: sum of partition lags */
  groupTotalLag: 'streamtune_kafka_group_totalLag',
  /** per group, int records: largest partition lag */
  groupMaxLag: 'streamtune_kafka_group_maxLag',
  /** per group, float s: largest partition lag in seconds; `lowerBound` as for the partition */
  groupMaxLagSeconds: 'streamtune_kafka_group_maxLagSeconds',
} as const;

/** A consumer group to watch and the topics it reads. */
export interface WatchedGroup {
  groupId: string;
  topics: string[];
}

/** Where points go (the collector's buffered writer). Called once per poll with all its points. */
export type PointSink = (points: MetricPoint[]) => void;

/**
 * The part of kafkajs' `Admin` the collector uses; a real admin satisfies it. Offsets are kafkajs'
 * int64 decimal strings.
 */
export interface LagAdmin {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  /** `high` = log-end offset, `low` = earliest offset */
  fetchTopicOffsets(topic: string): Promise<Array<{ partition: number; offset: string; high: string; low: string }>>;
  /** committed offsets; '-1' = none */
  fetchOffsets(options: { groupId: string; topics: string[] }): Promise<Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }>>;
}

/** Options of {@link KafkaLagCollector}; all optional but `sink`. */
export interface KafkaLagCollectorOptions {
  /** Receives the points of each poll. */
  sink: PointSink;
  /** Bootstrap brokers. Default `STREAMTUNE_KAFKA_BROKERS` (comma-separated). Not needed with `admin`. */
  brokers?: string[];
  /** Groups watched from the start. Default none; see {@link KafkaLagCollector.watch}. */
  groups?: WatchedGroup[];
  /** ms between polls. Default 10 000 (Burrow's broker offset poll). */
  intervalMs?: number;
  /** Samples kept per partition for lag seconds (the table thins old ones, see LagTable). Default 120. */
  tableSize?: number;
  /** ms since epoch. Default Date.now. */
  clock?: () => number;
  /** Default silent. */
  logger?: Logger;
  /** kafkajs client id. Default 'streamtune-lag'. */
  clientId?: string;
  /** A ready-made admin client (tests, or a shared kafkajs client). Default: one built from `brokers`. */
  admin?: LagAdmin;
}

/** Lag of one partition for one group at one poll. */
export interface PartitionLagSample {
  group: string;
  topic: string;
  partition: number;
  /** log-end offset (`high`) */
  logEndOffset: number;
  /** earliest offset still in the log (`low`) */
  earliestOffset: number;
  /** null when the group never committed an offset for this partition */
  committedOffset: number | null;
  /** records: log-end − committed floored at 0; log-end − earliest when no committed offset */
  lag: number;
  /** true when `lag` was measured from the earliest offset because there is no committed offset */
  lagFromEarliest: boolean;
  /** seconds, finite, ≥ 0 */
  lagSeconds: number;
  lagSecondsKind: LagSecondsKind;
  /** true when the real lag in seconds is at least `lagSeconds` */
  lagSecondsLowerBound: boolean;
}

/** Lag of one group at one poll. */
export interface GroupLagSample {
  group: string;
  partitions: PartitionLagSample[];
  /** records */
  totalLag: number;
  /** records */
  maxLag: number;
  /** seconds */
  maxLagSeconds: number;
  /** false when some topic or the committed offsets could not be read this poll */
  complete: boolean;
}

/** What one poll saw. */
export interface LagPollResult {
  /** ms since epoch, the timestamp of every point */
  timestamp: number;
  groups: GroupLagSample[];
  /** failures of this poll (a topic or a group that could not be read) */
  errors: Array<{ group?: string; topic?: string; message: string }>;
  /** the points handed to the sink */
  points: MetricPoint[];
}

/** Counters of the collector's health. */
export interface KafkaLagCollectorStats {
  polls: number;
  /** polls with at least one error */
  failedPolls: number;
  /** polls in a row that had errors; 0 after a clean poll */
  consecutiveFailures: number;
  /** timer ticks skipped because the previous poll was still running */
  skippedTicks: number;
  lastError?: string;
  /** ms since epoch of the last poll without errors */
  lastSuccessAt?: number;
}

/**
 * Polls consumer-group lag from the brokers. Lifecycle: `start()` polls now and then every
 * `intervalMs`; `stop()` ends the loop and disconnects. `pollOnce(now)` runs one poll directly.
 * Groups without active members are reported like any other (that is when they are stuck): the
 * committed offsets come from the group coordinator, not from members.
 * A broker that cannot be reached is logged (warn), counted in {@link stats} and retried at the next
 * interval; polls never throw and never crash the process.
 * @throws StreamtuneError INVALID_CONFIG from the constructor when no brokers are configured and no
 *   `admin` is given, or INVALID_ARGUMENT for a bad interval.
 */
export class KafkaLagCollector {
  private readonly sink: PointSink;
  private readonly intervalMs: number;
  private readonly tableSize: number;
  private readonly clock: () => number;
  private readonly log: Logger;
  private readonly makeAdmin: () => LagAdmin;
  private admin: LagAdmin | undefined;
  private connected = false;
  private readonly groups = new Map<string, string[]>();
  /** key `topic\u0000partition` */
  private readonly tables = new Map<string, LagTable>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private inFlight: Promise<LagPollResult> | undefined;
  private readonly counters: KafkaLagCollectorStats = { polls: 0, failedPolls: 0, consecutiveFailures: 0, skippedTicks: 0 };

  constructor(options: KafkaLagCollectorOptions) {
    this.sink = options.sink;
    this.intervalMs = options.intervalMs ?? 10_000;
    if (!Number.isFinite(this.intervalMs) || this.intervalMs <= 0) {
      throw new StreamtuneError('INVALID_ARGUMENT', `intervalMs must be a positive number of ms, got ${options.intervalMs}`);
    }
    this.tableSize = options.tableSize ?? 120;
    this.clock = options.clock ?? Date.now;
    this.log = (options.logger ?? silentLogger).namespace('kafka-lag');
    if (options.admin) {
      const admin = options.admin;
      this.makeAdmin = () => admin;
    } else {
      const brokers = resolveKafkaBrokers(options.brokers);
      const clientId = options.clientId ?? 'streamtune-lag';
      this.makeAdmin = () => createKafka({ brokers, clientId, logger: this.log }).admin();
    }
    for (const g of options.groups ?? []) this.watch(g);
  }

  /** Adds (or replaces the topics of) a watched group; takes effect at the next poll.
   * @throws StreamtuneError INVALID_ARGUMENT when groupId is empty or topics is empty. */
  watch(group: WatchedGroup): void {
    if (!group.groupId) throw new StreamtuneError('INVALID_ARGUMENT', 'watch: groupId must be a non-empty string', { details: { field: 'groupId' } });
    const topics = [...new Set(group.topics.filter(Boolean))];
    if (topics.length === 0) {
      throw new StreamtuneError('INVALID_ARGUMENT', `watch: group ${group.groupId} needs at least one topic`, { details: { field: 'topics' } });
    }
    this.groups.set(group.groupId, topics);
  }

  /** Stops watching a group; returns whether it was watched. Lag tables of topics no other group
   * reads are dropped at the next poll. */
  unwatch(groupId: string): boolean {
    return this.groups.delete(groupId);
  }

  /** The watched groups. */
  watched(): WatchedGroup[] {
    return [...this.groups].map(([groupId, topics]) => ({ groupId, topics: [...topics] }));
  }

  /** Health counters (a copy). */
  stats(): KafkaLagCollectorStats {
    return { ...this.counters };
  }

  /** Starts polling: one poll now, then one every `intervalMs` after the previous ended. Idempotent. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.tick();
  }

  /** Stops polling, waits for a poll in flight, disconnects the admin client. Idempotent. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.inFlight) await this.inFlight.catch(() => undefined);
    await this.disconnect();
  }

  private tick(): void {
    if (!this.running) return;
    if (this.inFlight) {
      this.counters.skippedTicks++;
    } else {
      void this.pollOnce().catch(() => undefined);
    }
    this.timer = setTimeout(() => this.tick(), this.intervalMs);
  }

  /**
   * One poll at `now` (ms, default the clock): fetches log-end offsets per topic and committed
   * offsets per group, updates the lag tables, hands the points to the sink and returns what it saw.
   * Never throws: failures are in `errors`, logged and counted. When a poll is already running,
   * returns that poll's result.
   */
  pollOnce(now: number = this.clock()): Promise<LagPollResult> {
    if (this.inFlight) return this.inFlight;
    const p = this.poll(now).finally(() => { this.inFlight = undefined; });
    this.inFlight = p;
    return p;
  }

  private async disconnect(): Promise<void> {
    const admin = this.admin;
    this.admin = undefined;
    if (admin && this.connected) {
      this.connected = false;
      await admin.disconnect().catch((err: unknown) => this.log.debug('admin disconnect failed', { error: errorMessage(err) }));
    }
    this.connected = false;
  }

  private async connectedAdmin(): Promise<LagAdmin> {
    if (!this.admin) this.admin = this.makeAdmin();
    if (!this.connected) {
      await this.admin.connect();
      this.connected = true;
    }
    return this.admin;
  }

  private table(topic: string, partition: number): LagTable {
    const key = `${topic}\u0000${partition}`;
    let t = this.tables.get(key);
    if (!t) {
      t = new LagTable({ limit: this.tableSize });
      this.tables.set(key, t);
    }
    return t;
  }

  private async poll(now: number): Promise<LagPollResult> {
    const errors: LagPollResult['errors'] = [];
    const groups = [...this.groups].map(([groupId, topics]) => ({ groupId, topics: [...topics] }));
    const topics = [...new Set(groups.flatMap((g) => g.topics))];
    this.dropUnwatchedTables(new Set(topics));
    const result: LagPollResult = { timestamp: now, groups: [], errors, points: [] };
    this.counters.polls++;
    if (groups.length === 0) return this.finish(result);

    let admin: LagAdmin;
    try {
      admin = await this.connectedAdmin();
    } catch (err) {
      errors.push({ message: `cannot connect to Kafka: ${errorMessage(err)}` });
      await this.disconnect();
      return this.finish(result);
    }

    // Log-end offsets once per topic, shared by all groups reading it.
    const logEnd = new Map<string, Array<{ partition: number; high: number; low: number }>>();
    await Promise.all(topics.map(async (topic) => {
      try {
        const offsets = await admin.fetchTopicOffsets(topic);
        const parts = offsets
          .map((o) => ({ partition: o.partition, high: Number(o.high), low: Number(o.low) }))
          .sort((a, b) => a.partition - b.partition);
        for (const p of parts) this.addSample(topic, p.partition, p.high, now);
        logEnd.set(topic, parts);
      } catch (err) {
        errors.push({ topic, message: `log-end offsets of ${topic}: ${errorMessage(err)}` });
      }
    }));

    await Promise.all(groups.map(async ({ groupId, topics: groupTopics }) => {
      const readable = groupTopics.filter((t) => logEnd.has(t));
      // No topic of this group could be read: report nothing rather than a false zero lag.
      if (readable.length === 0) return;
      const complete = readable.length === groupTopics.length;
      const committed = new Map<string, number>();
      {
        try {
          const res = await admin.fetchOffsets({ groupId, topics: readable });
          for (const t of res) {
            for (const p of t.partitions) {
              const off = Number(p.offset);
              if (Number.isFinite(off) && off >= 0) committed.set(`${t.topic}\u0000${p.partition}`, off);
            }
          }
        } catch (err) {
          errors.push({ group: groupId, message: `committed offsets of group ${groupId}: ${errorMessage(err)}` });
          return;
        }
      }
      const partitions: PartitionLagSample[] = [];
      for (const topic of readable) {
        for (const p of logEnd.get(topic)!) {
          const c = committed.get(`${topic}\u0000${p.partition}`);
          const committedOffset = c === undefined ? null : c;
          const lag = committedOffset === null ? Math.max(0, p.high - p.low) : Math.max(0, p.high - committedOffset);
          // A partition with nothing to read is caught up whether or not the group ever committed.
          const secs = lag === 0
            ? { seconds: 0, kind: 'caught-up' as const, lowerBound: false }
            : this.table(topic, p.partition).lagSeconds(committedOffset, now);
          partitions.push({
            group: groupId,
            topic,
            partition: p.partition,
            logEndOffset: p.high,
            earliestOffset: p.low,
            committedOffset,
            lag,
            lagFromEarliest: committedOffset === null,
            lagSeconds: secs.seconds,
            lagSecondsKind: secs.kind,
            lagSecondsLowerBound: secs.lowerBound,
          });
        }
      }
      result.groups.push({
        group: groupId,
        partitions,
        totalLag: partitions.reduce((s, p) => s + p.lag, 0),
        maxLag: partitions.reduce((m, p) => Math.max(m, p.lag), 0),
        maxLagSeconds: partitions.reduce((m, p) => Math.max(m, p.lagSeconds), 0),
        complete,
      });
    }));
    result.groups.sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
    result.points = toPoints(result.groups, now);

    if (errors.length > 0 && logEnd.size === 0) {
      // Nothing answered: drop the client so the next poll reconnects from scratch.
      await this.disconnect();
    }
    return this.finish(result);
  }

  private addSample(topic: string, partition: number, high: number, now: number): void {
    const table = this.table(topic, partition);
    const r = table.add(high, now);
    if (r === 'rejected-decreasing') {
      this.log.info('log-end offset went down; topic recreated or truncated, lag table reset', {
        topic, partition, logEndOffset: high, previous: table.latest()?.offset,
      });
      table.reset();
      table.add(high, now);
    }
  }

  private dropUnwatchedTables(topics: Set<string>): void {
    for (const key of this.tables.keys()) {
      if (!topics.has(key.slice(0, key.indexOf('\u0000')))) this.tables.delete(key);
    }
  }

  private finish(result: LagPollResult): LagPollResult {
    if (result.errors.length > 0) {
      this.counters.failedPolls++;
      this.counters.consecutiveFailures++;
      this.counters.lastError = result.errors[0]!.message;
      this.log.warn('Kafka lag poll had errors; retrying next interval', {
        errors: result.errors.length,
        first: result.errors[0]!.message,
        consecutiveFailures: this.counters.consecutiveFailures,
      });
    } else {
      this.counters.consecutiveFailures = 0;
      this.counters.lastSuccessAt = result.timestamp;
    }
    if (result.points.length > 0) {
      try {
        this.sink(result.points);
      } catch (err) {
        this.log.error('lag point sink threw', { error: errorMessage(err) });
      }
    }
    return result;
  }
}

/**
 * The MetricPoints of one poll: per partition `logEndOffset`, `committedOffset` (only when the
 * group committed), `lag`, `lagSeconds` with tags {group, topic, partition}; per group `totalLag`,
 * `maxLag`, `maxLagSeconds` with tag {group}. Field `value`; offsets and lags are integers
 * (`intFields: ['value']`), seconds are floats. The seconds points also carry the int field
 * `lowerBound`: 1 when the value is a lower bound (`lagSecondsLowerBound`; for the group, that of
 * the partition with the largest lag in seconds), else 0.
 */
export function toPoints(groups: readonly GroupLagSample[], timestamp: number): MetricPoint[] {
  const M = KAFKA_LAG_MEASUREMENTS;
  const INT = ['value'] as const;
  const LOWER = ['lowerBound'] as const;
  const points: MetricPoint[] = [];
  for (const g of groups) {
    for (const p of g.partitions) {
      const tags = { group: g.group, topic: p.topic, partition: String(p.partition) };
      points.push({ measurement: M.logEndOffset, tags, fields: { value: p.logEndOffset }, timestamp, intFields: INT });
      if (p.committedOffset !== null) {
        points.push({ measurement: M.committedOffset, tags, fields: { value: p.committedOffset }, timestamp, intFields: INT });
      }
      points.push({ measurement: M.lag, tags, fields: { value: p.lag }, timestamp, intFields: INT });
      points.push({ measurement: M.lagSeconds, tags, fields: { value: p.lagSeconds, lowerBound: p.lagSecondsLowerBound ? 1 : 0 }, timestamp, intFields: LOWER });
    }
    const tags = { group: g.group };
    points.push({ measurement: M.groupTotalLag, tags, fields: { value: g.totalLag }, timestamp, intFields: INT });
    points.push({ measurement: M.groupMaxLag, tags, fields: { value: g.maxLag }, timestamp, intFields: INT });
    const oldest = g.partitions.reduce<PartitionLagSample | undefined>((m, p) => (!m || p.lagSeconds > m.lagSeconds ? p : m), undefined);
    points.push({ measurement: M.groupMaxLagSeconds, tags, fields: { value: g.maxLagSeconds, lowerBound: oldest?.lagSecondsLowerBound ? 1 : 0 }, timestamp, intFields: LOWER });
  }
  return points;
}
