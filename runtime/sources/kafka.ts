/**
 * The Kafka source, after Flink's `KafkaSource` (FLIP-27): the topic's partitions are the splits —
 * subtask i of p owns the partitions with `partition % p == i` — and the reader keeps, per owned
 * partition, the next offset to read in its checkpoint state (union list state
 * `[{topic, partition, offset}]`), so a restore with another parallelism re-deals the partitions.
 * Offsets are committed to the consumer group `groupId` only when a checkpoint completes, and it is
 * the offsets of that checkpoint that are committed, never the current position (Flink's
 * `commit.offsets.on.checkpoint`). Without restored state a partition starts from the group's
 * committed offset (`startFrom: 'committed'`, falling back to the earliest offset), the earliest or
 * the latest offset.
 *
 * Fetching: kafkajs has no `assign()`, so all subtasks of one source vertex (in this single-process
 * runtime) share one kafkajs consumer that joins `groupId` as its only member, subscribes to the
 * topic and gets every partition. Partitions no subtask owns yet are paused; a subtask that opens
 * seeks its partitions to their start offsets and resumes them. The consumer never commits on its
 * own (`autoCommit: false`); checkpointed offsets are committed through it with
 * `consumer.commitOffsets` (metadata `chk-<id>`). Unlike Flink, the job therefore shows up as one
 * active member of its consumer group while it runs. A batch whose fetch offset is not the next
 * offset the reader expects (after a rebalance kafkajs restarts from the committed offsets) is
 * dropped and the partition sought back, so no record is read twice or skipped.
 *
 * Records: the message value parsed as JSON; a JSON object is the record itself, any other JSON
 * value `v` becomes `{value: v}`, a value that is not JSON `{value: '<the string>'}`, a tombstone
 * `{value: null}`. No Kafka metadata (key, partition, offset) is added to the record. Event time is
 * the `eventTime` field (epoch ms, or a string `Date.parse` understands such as ISO-8601) or, without
 * that setting or when the field is missing or unparsable (counted and logged once), the message
 * timestamp.
 *
 * Watermark: per partition the highest event time emitted, minus `outOfOrderness`, minus 1; the
 * reader's watermark is the minimum over its owned partitions that are not idle. A partition is
 * idle (Flink's `withIdleness`) when nothing is buffered for it, its position has reached the
 * log-end offset and no record arrived or was emitted for `idleTimeout` (default {@link IDLE_TIMEOUT_MS}). When every owned partition is
 * idle the watermark holds. Records of a partition that wakes up after others moved the watermark
 * on can be late, as in Flink.
 *
 * Backpressure: fetched messages wait in a per-partition buffer; a partition whose buffer holds
 * {@link BUFFER_HIGH} records or more is paused in the consumer (so the backlog stays in Kafka) and
 * resumed once it drains below {@link BUFFER_LOW}. `poll()` never blocks.
 *
 * Metrics: `pendingRecords` = Σ over owned partitions of (log-end offset − current offset), the
 * log-end offsets refreshed with `admin.fetchTopicOffsets` every {@link LEO_REFRESH_MS} and from
 * every fetch response; `ctx.metrics.kafkaOffsets` holds the current and committed offset of every
 * owned partition (Flink's `KafkaSourceReader.topic.<t>.partition.<p>.currentOffset` /
 * `committedOffset`; committed is -1 until the group has an offset).
 *
 * The topic is unbounded: `poll()` never returns 'end'. Runs end with stop-with-savepoint.
 */
import type { Admin, Consumer, Kafka, KafkaMessage } from 'kafkajs';
import { createKafka, errorMessage, type Logger, resolveKafkaBrokers, StreamtuneError } from '../../core/index.ts';
import { parseDuration, type KafkaSourceSpec } from '../spec.ts';
import type { OperatorContext, OperatorSnapshot, Rec, RestoredState } from '../operators/types.ts';
import { assignedSplits, type PollResult, type SourceReader } from './types.ts';

/** ms an OffsetFetch is retried while the group coordinator is being created or loaded. */
const COORDINATOR_WAIT_MS = 30_000;

/**
 * Runs `fn` again while it fails with a retriable Kafka error, for up to
 * {@link COORDINATOR_WAIT_MS}: kafkajs' admin does not retry OffsetFetch, and a real broker answers
 * NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS for a moment while it creates `__consumer_offsets`
 * (the first group of a new cluster) or loads it (after a restart).
 */
async function retryWhileCoordinatorMoves<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + COORDINATOR_WAIT_MS;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if ((err as { retriable?: boolean }).retriable !== true || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** A partition with no record for this long (ms) that is caught up is idle (Flink's idleness), unless the spec sets `idleTimeout`. */
export const IDLE_TIMEOUT_MS = 1000;
/** Log-end offsets are refreshed through the admin client at this period, ms. */
export const LEO_REFRESH_MS = 1000;
/** Buffered records per partition at which fetching of that partition is paused. */
export const BUFFER_HIGH = 8192;
/** Buffered records per partition below which a paused partition is resumed. */
export const BUFFER_LOW = 2048;

/** One entry of the reader's checkpointed list state: `offset` is the next offset to read. */
export interface KafkaPartitionOffset {
  topic: string;
  partition: number;
  offset: number;
}

/** Per-partition state of a reader. */
interface PartitionState {
  partition: number;
  /** next offset to emit (the checkpointed position) */
  current: number;
  /** next offset the fetcher is expected to deliver (current + buffered) */
  fetchPos: number;
  buffer: KafkaMessage[];
  /** index of the first unread message in `buffer` */
  head: number;
  /** highest event time emitted, ms */
  maxTs: number;
  /** Date.now() of the last arrival or emission (or of open) */
  lastDataAt: number;
  /** paused in the consumer because the buffer is full */
  paused: boolean;
  /** last offset committed to the group, -1 = none */
  committed: number;
  /** the reader to wake when data arrives */
  owner: KafkaReader;
}

/** What the shared fetcher knows about the topic when it starts. */
interface TopicInfo {
  partitions: number[];
  /** partition → earliest offset */
  low: Map<number, number>;
  /** partition → log-end offset (grows as refreshed) */
  leo: Map<number, number>;
  /** partition → the group's committed offset, -1 = none */
  committed: Map<number, number>;
}

/**
 * One kafkajs consumer shared by the subtasks of one source vertex in one job attempt. Reference
 * counted: the first reader to open creates it, the last to close disconnects it.
 */
class SharedFetcher {
  private readonly kafka: Kafka;
  private readonly admin: Admin;
  private consumer: Consumer | undefined;
  readonly info: Promise<TopicInfo>;
  private topic: TopicInfo | undefined;
  private readonly owners = new Map<number, PartitionState>();
  private readonly staged: Array<{ partition: number; fetchedOffset: string; lastOffset: string; highWatermark: string; messages: KafkaMessage[] }> = [];
  private stagedScheduled = false;
  private refreshTimer: NodeJS.Timeout | undefined;
  private refreshing = false;
  private refreshFailures = 0;
  failure: Error | undefined;
  refs = 0;
  private closing: Promise<void> | undefined;

  constructor(
    readonly key: string,
    private readonly spec: KafkaSourceSpec,
    brokers: string[],
    private readonly logger: Logger,
  ) {
    this.kafka = createKafka({ brokers, clientId: `streamtune-${spec.name}`, logger, retries: 3 });
    this.admin = this.kafka.admin();
    this.info = this.init();
    this.info.catch(() => {}); // observed by every reader's open()
  }

  private async init(): Promise<TopicInfo> {
    const { topic, groupId } = this.spec;
    try {
      await this.admin.connect();
      const offsets = await this.admin.fetchTopicOffsets(topic);
      if (offsets.length === 0) throw new Error(`topic '${topic}' has no partitions`);
      const committedList = await retryWhileCoordinatorMoves(() => this.admin.fetchOffsets({ groupId, topics: [topic] }));
      const info: TopicInfo = {
        partitions: offsets.map((o) => o.partition).sort((a, b) => a - b),
        low: new Map(offsets.map((o) => [o.partition, Number(o.low)])),
        leo: new Map(offsets.map((o) => [o.partition, Number(o.high)])),
        committed: new Map((committedList[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)])),
      };
      this.topic = info;
      this.startConsumer(info);
      this.refreshTimer = setInterval(() => void this.refreshLeo(), LEO_REFRESH_MS);
      this.refreshTimer.unref();
      return info;
    } catch (err) {
      throw new StreamtuneError('KAFKA_ERROR', `source '${this.spec.name}': cannot read topic '${topic}' / consumer group '${groupId}': ${errorMessage(err)}`, {
        retriable: true,
        cause: err,
        details: { topic, groupId },
      });
    }
  }

  private startConsumer(info: TopicInfo): void {
    const { topic, groupId } = this.spec;
    const consumer = this.kafka.consumer({
      groupId,
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
      maxWaitTimeInMs: 250,
      allowAutoTopicCreation: false,
      // failures go to the job (restart strategy, restore from the last checkpoint), not to kafkajs' restart
      retry: { retries: 3, restartOnFailure: async () => false },
    });
    this.consumer = consumer;
    consumer.on(consumer.events.CRASH, (e) => {
      this.joined = false;
      this.fail(new StreamtuneError('KAFKA_ERROR', `source '${this.spec.name}': the Kafka consumer of group '${groupId}' crashed: ${errorMessage(e.payload.error)}`, { retriable: true, cause: e.payload.error }));
    });
    consumer.on(consumer.events.REBALANCING, () => (this.joined = false));
    consumer.on(consumer.events.STOP, () => (this.joined = false));
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      this.joined = true;
      const assigned = new Set(e.payload.memberAssignment[topic] ?? []);
      const missing = [...this.owners.keys()].filter((p) => !assigned.has(p));
      if (missing.length > 0) {
        this.logger.warn(`consumer group '${groupId}' has other members: partitions ${missing.join(', ')} of '${topic}' are assigned elsewhere and will not be read until they come back`, { topic, groupId });
      }
      // after a (re)join kafkajs restarts from the group's committed offsets: seek back to ours
      for (const [p, st] of this.owners) if (assigned.has(p)) consumer.seek({ topic, partition: p, offset: String(st.fetchPos) });
    });
    this.runCalled = consumer
      .connect()
      .then(() => consumer.subscribe({ topics: [topic], fromBeginning: true }))
      .then(() => {
        const running = consumer.run({
          autoCommit: false,
          eachBatchAutoResolve: true,
          eachBatch: async ({ batch, isStale }) => {
            if (isStale()) return;
            this.staged.push({
              partition: batch.partition,
              // the offset this fetch asked for (kafkajs sets it on every Batch; its typings omit it)
              fetchedOffset: String((batch as unknown as { fetchedOffset: string }).fetchedOffset),
              lastOffset: batch.lastOffset(),
              highWatermark: batch.highWatermark,
              messages: batch.messages,
            });
            // deliver all batches of one fetch response together, so that no partition looks idle
            // while its data sits in the same response as another partition's
            if (!this.stagedScheduled) {
              this.stagedScheduled = true;
              setImmediate(() => this.deliver());
            }
          },
        });
        // kafkajs creates the consumer group synchronously in run(): from here on pause/seek work
        // (they apply once the group is joined). Pause what nobody owns yet, seek what is owned.
        this.runStarted = true;
        const unowned = info.partitions.filter((p) => !this.owners.has(p));
        if (unowned.length > 0) consumer.pause([{ topic, partitions: unowned }]);
        for (const [p, st] of this.owners) consumer.seek({ topic, partition: p, offset: String(st.fetchPos) });
        running.catch((err: unknown) => this.fail(new StreamtuneError('KAFKA_ERROR', `source '${this.spec.name}': the Kafka consumer of group '${groupId}' failed: ${errorMessage(err)}`, { retriable: true, cause: err })));
      });
    this.runCalled = this.runCalled.catch((err: unknown) => {
      const e = new StreamtuneError('KAFKA_ERROR', `source '${this.spec.name}': starting the Kafka consumer of group '${groupId}' failed: ${errorMessage(err)}`, { retriable: true, cause: err });
      this.fail(e);
      throw e;
    });
    this.runCalled.catch(() => {}); // observed by register() and commit()
  }

  /** Resolves once consumer.run() was called; rejects when connecting or subscribing failed. */
  private runCalled: Promise<void> = new Promise(() => {});
  private runStarted = false;
  /** the consumer is a member of the group now (kafkajs silently skips commits while it is not) */
  private joined = false;

  private fail(err: Error): void {
    if (this.failure || this.closing) return;
    this.failure = err;
    this.logger.error(err.message, { topic: this.spec.topic, groupId: this.spec.groupId });
    for (const st of this.owners.values()) st.owner.wake();
  }

  /** Adds the reader's partitions: seek to their positions and resume fetching them. */
  async register(states: PartitionState[]): Promise<void> {
    for (const st of states) this.owners.set(st.partition, st);
    await this.ensureRunCalled();
    const c = this.consumer!;
    const topic = this.spec.topic;
    for (const st of states) c.seek({ topic, partition: st.partition, offset: String(st.fetchPos) });
    c.resume([{ topic, partitions: states.map((s) => s.partition) }]);
  }

  private async ensureRunCalled(): Promise<void> {
    await this.info;
    await this.runCalled;
    if (this.failure) throw this.failure;
  }

  /** Pauses the reader's partitions; the last reader out disconnects. */
  async release(states: PartitionState[]): Promise<void> {
    for (const st of states) if (this.owners.get(st.partition) === st) this.owners.delete(st.partition);
    if (this.runStarted && states.length > 0 && !this.failure) {
      try {
        this.consumer!.pause([{ topic: this.spec.topic, partitions: states.map((s) => s.partition) }]);
      } catch {
        /* consumer already stopped */
      }
    }
    this.refs--;
    if (this.refs <= 0) await this.close();
  }

  /** Backpressure: stop or restart fetching one partition. */
  setPaused(st: PartitionState, paused: boolean): void {
    if (st.paused === paused || !this.runStarted || this.failure) return;
    st.paused = paused;
    this.logger.debug(`${paused ? 'pausing' : 'resuming'} fetching of ${this.spec.topic}-${st.partition}: ${st.buffer.length - st.head} records buffered`);
    const tp = [{ topic: this.spec.topic, partitions: [st.partition] }];
    if (paused) this.consumer!.pause(tp);
    else this.consumer!.resume(tp);
  }

  private deliver(): void {
    this.stagedScheduled = false;
    const batches = this.staged.splice(0);
    const now = Date.now();
    const woken = new Set<KafkaReader>();
    for (const b of batches) {
      const st = this.owners.get(b.partition);
      if (!st) continue; // nobody owns it (closing): it is paused
      const hw = Number(b.highWatermark);
      if (hw > (this.topic!.leo.get(b.partition) ?? -1)) this.topic!.leo.set(b.partition, hw);
      if (b.fetchedOffset !== String(st.fetchPos)) {
        // fetched from another position (a rebalance reset kafkajs to the committed offsets, or a
        // batch fetched before our seek): drop it and fetch from where we are
        this.logger.debug(`dropping a batch of partition ${b.partition} fetched at ${b.fetchedOffset}, expecting ${st.fetchPos}`);
        if (this.runStarted && !this.failure) this.consumer!.seek({ topic: this.spec.topic, partition: b.partition, offset: String(st.fetchPos) });
        continue;
      }
      let n = 0;
      for (const m of b.messages) {
        if (Number(m.offset) < st.fetchPos) continue;
        st.buffer.push(m);
        n++;
      }
      st.fetchPos = Math.max(st.fetchPos, Number(b.lastOffset) + 1);
      if (n > 0) st.lastDataAt = now;
      if (st.buffer.length - st.head >= BUFFER_HIGH) this.setPaused(st, true);
      woken.add(st.owner);
    }
    for (const r of woken) r.wake();
  }

  /** Log-end offset of `partition`, or undefined before it is known. */
  leo(partition: number): number | undefined {
    return this.topic?.leo.get(partition);
  }

  private async refreshLeo(): Promise<void> {
    if (this.refreshing || this.closing) return;
    this.refreshing = true;
    try {
      const offsets = await this.admin.fetchTopicOffsets(this.spec.topic);
      for (const o of offsets) {
        const h = Number(o.high);
        if (h > (this.topic!.leo.get(o.partition) ?? -1)) this.topic!.leo.set(o.partition, h);
      }
      this.refreshFailures = 0;
    } catch (err) {
      if (++this.refreshFailures === 3) this.logger.warn(`source '${this.spec.name}': cannot refresh the log-end offsets of '${this.spec.topic}': ${errorMessage(err)}`);
    } finally {
      this.refreshing = false;
    }
  }

  /**
   * Commits `offsets` to the group through the consumer (a member of the group). Resolves false
   * without committing while the consumer is not in the group (joining, rebalancing): kafkajs would
   * skip the commit silently; the next completed checkpoint commits newer offsets.
   */
  async commit(offsets: KafkaPartitionOffset[], checkpointId: number): Promise<boolean> {
    await this.ensureRunCalled();
    if (!this.joined) return false;
    await this.consumer!.commitOffsets(
      offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: String(o.offset), metadata: `chk-${checkpointId}` })),
    );
    return true;
  }

  private close(): Promise<void> {
    if (this.closing) return this.closing;
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    fetchers.delete(this.key);
    this.closing = (async () => {
      await this.info.catch(() => {});
      if (this.consumer) await this.runCalled.catch(() => {});
      await this.consumer?.disconnect().catch((err: unknown) => this.logger.warn(`disconnecting the Kafka consumer failed: ${errorMessage(err)}`));
      await this.admin.disconnect().catch(() => {});
    })();
    return this.closing;
  }
}

/** Fetchers by `${jobId}|${attempt}|${vertex}`. */
const fetchers = new Map<string, SharedFetcher>();

function acquireFetcher(ctx: OperatorContext, spec: KafkaSourceSpec, logger: Logger): SharedFetcher {
  const key = `${ctx.jobId}|${ctx.attempt}|${ctx.vertex}`;
  let f = fetchers.get(key);
  if (!f) {
    f = new SharedFetcher(key, spec, resolveKafkaBrokers(spec.brokers), logger);
    fetchers.set(key, f);
  }
  f.refs++;
  return f;
}

/** Parses a message value into a record (see the module comment). */
export function decodeKafkaValue(value: Buffer | null): Rec {
  if (value === null) return { value: null };
  const s = value.toString('utf8');
  try {
    const v: unknown = JSON.parse(s);
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v as Rec;
    return { value: v };
  } catch {
    return { value: s };
  }
}

/** Event time of a field value, ms, or undefined when it is neither epoch ms nor a parsable date string. */
export function parseEventTime(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && v.length > 0) {
    const t = Date.parse(v);
    if (Number.isFinite(t)) return t;
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  if (v instanceof Date) return v.getTime();
  return undefined;
}

class KafkaReader implements SourceReader {
  private ctx!: OperatorContext;
  private logger!: Logger;
  private fetcher: SharedFetcher | undefined;
  private parts: PartitionState[] = [];
  private next = 0;
  private waiter: (() => void) | undefined;
  private readonly ooo: number;
  /** ms without a record after which a caught-up partition is idle (`idleTimeout`, default {@link IDLE_TIMEOUT_MS}) */
  private readonly idleMs: number;
  /** checkpoint id → offsets snapshotted for it, committed on completion */
  private readonly pendingCommits = new Map<number, KafkaPartitionOffset[]>();
  private badEventTime = 0;
  private closed = false;

  constructor(private readonly spec: KafkaSourceSpec) {
    this.ooo = parseDuration(spec.outOfOrderness, `vertex '${spec.name}' outOfOrderness`, 0);
    this.idleMs = parseDuration(spec.idleTimeout, `vertex '${spec.name}' idleTimeout`, IDLE_TIMEOUT_MS);
  }

  async open(ctx: OperatorContext, restored: RestoredState | undefined): Promise<void> {
    this.ctx = ctx;
    this.logger = ctx.logger.namespace('kafka-source');
    const spec = this.spec;
    const fetcher = acquireFetcher(ctx, spec, this.logger);
    this.fetcher = fetcher;
    const info = await fetcher.info;
    const total = info.partitions.length;
    if (ctx.parallelism > total) {
      throw new StreamtuneError('INVALID_ARGUMENT', `source '${spec.name}': topic '${spec.topic}' has ${total} partitions; the parallelism ${ctx.parallelism} cannot exceed them`);
    }
    const restoredOffsets = new Map<number, number>();
    let foreign = 0;
    for (const x of restored?.list ?? []) {
      const e = x as Partial<KafkaPartitionOffset>;
      if (typeof e?.partition !== 'number' || typeof e.offset !== 'number') continue;
      if (e.topic !== spec.topic) {
        foreign++;
        continue;
      }
      restoredOffsets.set(e.partition, e.offset);
    }
    if (foreign > 0) this.logger.warn(`source '${spec.name}': ignoring ${foreign} restored offsets of other topics (the source reads '${spec.topic}')`);
    const mine = assignedSplits(total, ctx.subtask, ctx.parallelism).map((i) => info.partitions[i]!);
    const now = Date.now();
    const metrics = new Map<string, { topic: string; partition: number; current: number; committed: number }>();
    for (const p of mine) {
      const low = info.low.get(p) ?? 0;
      const high = info.leo.get(p) ?? low;
      const committed = info.committed.get(p) ?? -1;
      let start: number;
      const r = restoredOffsets.get(p);
      if (r !== undefined) {
        start = r;
        if (start < low || start > high) {
          const to = start < low ? low : high;
          this.logger.warn(`source '${spec.name}': restored offset ${start} of ${spec.topic}-${p} is outside [${low}, ${high}]; starting at ${to}`);
          start = to;
        }
      } else {
        const from = spec.startFrom ?? 'committed';
        start = from === 'latest' ? high : from === 'earliest' ? low : committed >= low && committed <= high ? committed : low;
      }
      const st: PartitionState = { partition: p, current: start, fetchPos: start, buffer: [], head: 0, maxTs: Number.NEGATIVE_INFINITY, lastDataAt: now, paused: false, committed, owner: this };
      this.parts.push(st);
      metrics.set(`${spec.topic}\u0000${p}`, { topic: spec.topic, partition: p, current: start, committed });
    }
    ctx.metrics.kafkaOffsets = metrics;
    this.logger.info(`source '${spec.name}' subtask ${ctx.subtask} reads ${spec.topic} partitions [${mine.join(', ')}]`, {
      offsets: Object.fromEntries(this.parts.map((s) => [s.partition, s.current])),
      restored: restoredOffsets.size > 0,
    });
    await fetcher.register(this.parts);
  }

  /** Wakes a pending {@link waitForData}. */
  wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  poll(max: number): PollResult {
    const f = this.fetcher!;
    if (f.failure) throw f.failure;
    const values: Rec[] = [];
    const ts: number[] = [];
    const n = this.parts.length;
    const per = Math.max(1, Math.ceil(max / Math.max(1, n)));
    const field = this.spec.eventTime;
    const metrics = this.ctx.metrics.kafkaOffsets!;
    const now = Date.now();
    for (let k = 0; k < n; k++) {
      const st = this.parts[(this.next + k) % n]!;
      let take = Math.min(per, st.buffer.length - st.head);
      if (take <= 0) continue;
      st.lastDataAt = now; // idleness counts from the last record emitted, as Flink's
      while (take-- > 0) {
        const m = st.buffer[st.head++]!;
        const rec = decodeKafkaValue(m.value);
        let t: number | undefined;
        if (field !== undefined) {
          t = parseEventTime(rec[field]);
          if (t === undefined && this.badEventTime++ === 0) {
            this.logger.warn(`source '${this.spec.name}': record at ${this.spec.topic}-${st.partition}@${m.offset} has no usable event time in field '${field}'; using the message timestamp (logged once)`);
          }
        }
        if (t === undefined) t = Number(m.timestamp);
        values.push(rec);
        ts.push(t);
        if (t > st.maxTs) st.maxTs = t;
        st.current = Number(m.offset) + 1;
      }
      if (st.head >= st.buffer.length) {
        st.buffer = [];
        st.head = 0;
        st.current = st.fetchPos; // skipped control records count as read
      } else if (st.head > 4096 && st.head * 2 > st.buffer.length) {
        st.buffer = st.buffer.slice(st.head);
        st.head = 0;
      }
      if (st.paused && st.buffer.length - st.head < BUFFER_LOW) f.setPaused(st, false);
      metrics.get(`${this.spec.topic}\u0000${st.partition}`)!.current = st.current;
    }
    this.next = (this.next + 1) % Math.max(1, n);
    return values.length > 0 ? { values, ts } : null;
  }

  waitForData(): Promise<void> {
    if (this.fetcher?.failure || this.parts.some((s) => s.head < s.buffer.length)) return Promise.resolve();
    return new Promise<void>((r) => (this.waiter = r));
  }

  watermark(): number {
    const now = Date.now();
    let wm = Number.POSITIVE_INFINITY;
    for (const st of this.parts) {
      const leo = this.fetcher!.leo(st.partition);
      const idle = st.head >= st.buffer.length && leo !== undefined && st.current >= leo && now - st.lastDataAt > this.idleMs;
      if (idle) continue;
      if (st.maxTs < wm) wm = st.maxTs;
    }
    if (wm === Number.POSITIVE_INFINITY || wm === Number.NEGATIVE_INFINITY) return wm;
    return wm - this.ooo - 1;
  }

  pending(): number {
    let p = 0;
    for (const st of this.parts) {
      const leo = this.fetcher?.leo(st.partition);
      p += leo !== undefined ? Math.max(0, leo - st.current, st.buffer.length - st.head) : st.buffer.length - st.head;
    }
    return p;
  }

  snapshot(checkpointId: number): OperatorSnapshot {
    const list: KafkaPartitionOffset[] = this.parts.map((s) => ({ topic: this.spec.topic, partition: s.partition, offset: s.current }));
    this.pendingCommits.set(checkpointId, list);
    return { list };
  }

  async notifyCheckpointComplete(checkpointId: number): Promise<void> {
    const offsets = this.pendingCommits.get(checkpointId);
    for (const id of [...this.pendingCommits.keys()]) if (id <= checkpointId) this.pendingCommits.delete(id);
    if (!offsets || offsets.length === 0 || !this.fetcher || this.closed) return;
    try {
      if (!(await this.fetcher.commit(offsets, checkpointId))) {
        this.logger.debug(`source '${this.spec.name}': not committing checkpoint ${checkpointId}: the consumer is not in group '${this.spec.groupId}' right now (joining or rebalancing)`);
        return;
      }
      const metrics = this.ctx.metrics.kafkaOffsets!;
      for (const o of offsets) {
        const st = this.parts.find((s) => s.partition === o.partition);
        if (st) st.committed = o.offset;
        const m = metrics.get(`${o.topic}\u0000${o.partition}`);
        if (m) m.committed = o.offset;
      }
    } catch (err) {
      // as Flink: a failed commit does not fail the checkpoint; the next completed checkpoint commits newer offsets
      this.logger.warn(`source '${this.spec.name}': committing the offsets of checkpoint ${checkpointId} to consumer group '${this.spec.groupId}' failed: ${errorMessage(err)}`, { checkpoint_id: checkpointId });
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wake();
    const f = this.fetcher;
    this.fetcher = undefined;
    if (f) await f.release(this.parts);
  }
}

/**
 * Creates a Kafka source reader for `spec` (see the module comment for the contract).
 * `open()` throws StreamtuneError KAFKA_ERROR (retriable) when the topic or the group cannot be
 * read, and INVALID_ARGUMENT naming the source when its parallelism exceeds the partition count;
 * `poll()` throws KAFKA_ERROR once the shared consumer crashed (the job restarts from its last
 * checkpoint). Brokers: `spec.brokers`, else `STREAMTUNE_KAFKA_BROKERS`.
 */
export function createKafkaSource(spec: KafkaSourceSpec): SourceReader {
  return new KafkaReader(spec);
}
