/**
 * The collector's write path: a bounded buffer in front of a {@link MetricStore}.
 *
 * - `add(points)` / `addLogs(events)` are synchronous: they validate (a malformed point is
 *   rejected and counted, never written half) and queue.
 * - A flush starts every `flushIntervalMs` and as soon as `batchSize` items wait; batches of at
 *   most `batchSize` are written in order, one at a time.
 * - A failed write keeps its points and is retried with exponential backoff (`core/retry.ts`)
 *   until the store is back: nothing is lost while the buffer holds at most `maxBufferedPoints`.
 *   Beyond that bound the OLDEST points are dropped and counted (`pointsDropped`). A batch the
 *   store rejects as bad input (a non-retriable StreamtuneError such as STORE_REJECTED) is dropped
 *   and counted, so it cannot block the queue; any other error (including non-streamtune errors)
 *   is retried.
 * - `close()` stops the timer and the backoff, makes a last attempt (`closeRetries` retries) and
 *   counts what is still left as dropped. It does not close the store.
 * Memory: at most `maxBufferedPoints` points plus one batch being written (a batch already sent
 * stays referenced until its request ends).
 */
import { errorMessage, type LogEvent, type Logger, type MetricPoint, retry, RETRY_DEFAULTS, type RetryOptions, silentLogger, StreamtuneError } from '../core/index.ts';
import type { MetricStore } from './store/types.ts';
import { invalidLogReason, invalidPointReason } from './store/validate.ts';
import { emptyHealth, healthToPoints, type CollectorHealth } from './health.ts';

/** Options of {@link BufferedWriter}; every field but `store` is optional. */
export interface BufferedWriterOptions {
  store: MetricStore;
  /** Flush period, ms. Default 1000. */
  flushIntervalMs?: number;
  /** Items per write call; reaching it starts a flush. Default 5000. */
  batchSize?: number;
  /** Bound of buffered points; beyond it the oldest are dropped. Default 100,000. */
  maxBufferedPoints?: number;
  /** Bound of buffered log events. Default 10,000. */
  maxBufferedLogs?: number;
  /** Backoff between failed writes. Default: RETRY_DEFAULTS delays, retries = Infinity (until close). */
  retry?: Omit<RetryOptions, 'signal' | 'onRetry' | 'isRetriable'>;
  /** Retries of the last flush made by `close()`. Default 2. */
  closeRetries?: number;
  logger?: Logger;
  /** Clock (ms) for `lastSuccessfulWrite` and health points. Default Date.now. */
  now?: () => number;
}

/** A FIFO with a bound that drops its oldest entries; entries carry sequence numbers. */
class BoundedQueue<T> {
  private items: T[] = [];
  private head = 0;
  /** sequence number of items[head] */
  headSeq = 0;
  constructor(readonly max: number) {}
  get size(): number {
    return this.items.length - this.head;
  }
  /** Appends; returns how many of the oldest were dropped to stay within the bound. */
  push(values: readonly T[]): number {
    for (const v of values) this.items.push(v);
    const over = this.size - this.max;
    return over > 0 ? this.remove(over) : 0;
  }
  /** The first `n` entries and the sequence number of the first. */
  peek(n: number): { seq: number; items: T[] } {
    return { seq: this.headSeq, items: this.items.slice(this.head, this.head + n) };
  }
  /** Removes every entry with a sequence number below `seqEnd`; returns how many. */
  ackBefore(seqEnd: number): number {
    return this.remove(Math.min(this.size, Math.max(0, seqEnd - this.headSeq)));
  }
  /** Removes the `n` oldest entries. */
  remove(n: number): number {
    this.head += n;
    this.headSeq += n;
    if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return n;
  }
}

/** The buffered writer; see the module comment for its guarantees. */
export class BufferedWriter {
  private readonly store: MetricStore;
  private readonly batchSize: number;
  private readonly closeRetries: number;
  private readonly retryOpts: Omit<RetryOptions, 'signal' | 'onRetry' | 'isRetriable'>;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly points: BoundedQueue<MetricPoint>;
  private readonly logs: BoundedQueue<LogEvent>;
  private readonly h: CollectorHealth = emptyHealth();
  private readonly timer: NodeJS.Timeout;
  private abort = new AbortController();
  private draining: Promise<void> | null = null;
  private closed = false;
  private failing = false;

  /** @throws StreamtuneError INVALID_CONFIG for a non-positive interval, batch size or bound. */
  constructor(options: BufferedWriterOptions) {
    const positive = (name: string, v: number): number => {
      if (!Number.isFinite(v) || v <= 0) throw new StreamtuneError('INVALID_CONFIG', `BufferedWriter ${name} must be a positive number, got ${v}`, { details: { field: name } });
      return v;
    };
    this.store = options.store;
    const flushIntervalMs = positive('flushIntervalMs', options.flushIntervalMs ?? 1000);
    this.batchSize = Math.floor(positive('batchSize', options.batchSize ?? 5000));
    this.points = new BoundedQueue(Math.floor(positive('maxBufferedPoints', options.maxBufferedPoints ?? 100_000)));
    this.logs = new BoundedQueue(Math.floor(positive('maxBufferedLogs', options.maxBufferedLogs ?? 10_000)));
    this.closeRetries = options.closeRetries ?? 2;
    this.retryOpts = { ...RETRY_DEFAULTS, retries: Number.POSITIVE_INFINITY, ...options.retry };
    this.log = (options.logger ?? silentLogger).namespace('collector.buffer');
    this.now = options.now ?? Date.now;
    this.timer = setInterval(() => this.kick(), flushIntervalMs);
    this.timer.unref();
  }

  /**
   * Queues points. Malformed ones are rejected (counted in `pointsRejected`, logged), the rest
   * kept. Returns how many were accepted and rejected. After close() everything is rejected.
   */
  add(points: readonly MetricPoint[]): { accepted: number; rejected: number } {
    if (this.closed) {
      this.h.pointsRejected += points.length;
      return { accepted: 0, rejected: points.length };
    }
    const good: MetricPoint[] = [];
    let firstReason: string | null = null;
    for (const p of points) {
      const why = invalidPointReason(p);
      if (why) firstReason ??= why;
      else good.push(p);
    }
    const rejected = points.length - good.length;
    if (rejected) {
      this.h.pointsRejected += rejected;
      this.log.warn('malformed points rejected', { rejected, reason: firstReason });
    }
    const dropped = this.points.push(good);
    if (dropped) this.noteDropped('points', dropped);
    if (this.points.size >= this.batchSize) this.kick();
    return { accepted: good.length, rejected };
  }

  /** Queues log events, like {@link add} (counters `logs*`). */
  addLogs(events: readonly LogEvent[]): { accepted: number; rejected: number } {
    if (this.closed) {
      this.h.logsRejected += events.length;
      return { accepted: 0, rejected: events.length };
    }
    const good: LogEvent[] = [];
    let firstReason: string | null = null;
    for (const e of events) {
      const why = invalidLogReason(e);
      if (why) firstReason ??= why;
      else good.push(e);
    }
    const rejected = events.length - good.length;
    if (rejected) {
      this.h.logsRejected += rejected;
      this.log.warn('malformed log events rejected', { rejected, reason: firstReason });
    }
    const dropped = this.logs.push(good);
    if (dropped) this.noteDropped('logs', dropped);
    if (this.logs.size >= this.batchSize) this.kick();
    return { accepted: good.length, rejected };
  }

  private noteDropped(kind: 'points' | 'logs', n: number): void {
    if (kind === 'points') {
      this.h.pointsDropped += n;
      this.h.lastPointsDropped = this.now();
    } else this.h.logsDropped += n;
    this.log.warn(`buffer full: oldest ${kind} dropped`, { dropped: n, totalDropped: kind === 'points' ? this.h.pointsDropped : this.h.logsDropped });
  }

  /** Current counters (a copy). */
  health(): CollectorHealth {
    return { ...this.h, pointsBuffered: this.points.size, logsBuffered: this.logs.size, maxBufferedPoints: this.points.max };
  }

  /** The counters as `streamtune_collector_<name>` points (field `value`) at `now` (ms). */
  healthPoints(tags: Record<string, string> = {}, now: number = this.now()): MetricPoint[] {
    return healthToPoints(this.health(), now, tags);
  }

  /**
   * Writes everything buffered. Resolves when the buffer is empty, or when close() stops the
   * retrying; during an outage it waits (retrying with backoff) until the store is back.
   */
  flush(): Promise<void> {
    this.kick();
    return this.draining ?? Promise.resolve();
  }

  /** Starts a drain unless one runs. */
  private kick(): void {
    if (this.draining || (this.points.size === 0 && this.logs.size === 0)) return;
    const run = this.drain(this.abort.signal, this.retryOpts.retries ?? Number.POSITIVE_INFINITY).finally(() => {
      this.draining = null;
    });
    this.draining = run;
  }

  /** Writes batches until both queues are empty, `signal` aborts or a batch stays unwritten after `retries`. Never rejects. */
  private async drain(signal: AbortSignal, retries: number): Promise<void> {
    while (!signal.aborted && (this.points.size > 0 || this.logs.size > 0)) {
      if (this.points.size > 0 && !(await this.writeBatch(this.points, 'points', (b) => this.store.write(b), signal, retries))) break;
      if (signal.aborted) break;
      if (this.logs.size > 0 && !(await this.writeBatch(this.logs, 'logs', (b) => this.store.writeLogs(b), signal, retries))) break;
    }
  }

  private async writeBatch<T>(
    queue: BoundedQueue<T>,
    kind: 'points' | 'logs',
    write: (batch: T[]) => Promise<void>,
    signal: AbortSignal,
    retries: number,
  ): Promise<boolean> {
    let seqEnd = queue.headSeq;
    let sent = 0;
    try {
      await retry(
        async () => {
          // re-read the head each attempt: drops during an outage move it
          const { seq, items } = queue.peek(this.batchSize);
          seqEnd = seq + items.length;
          sent = items.length;
          if (!items.length) return;
          try {
            await write(items);
          } catch (err) {
            this.h.writeErrors++;
            if (!this.failing) {
              this.failing = true;
              this.log.warn(`writing ${kind} failed; keeping them and retrying`, { error: errorMessage(err), buffered: queue.size });
            }
            throw err;
          }
        },
        {
          ...this.retryOpts,
          retries,
          signal,
          isRetriable: (err) => !(err instanceof StreamtuneError) || err.retriable,
        },
      );
      queue.ackBefore(seqEnd);
      if (kind === 'points') this.h.pointsWritten += sent;
      else this.h.logsWritten += sent;
      this.h.lastSuccessfulWrite = this.now();
      if (this.failing) {
        this.failing = false;
        this.log.info('writes succeed again', { buffered: this.points.size + this.logs.size });
      }
      return true;
    } catch (err) {
      // kept for later: retries ran out (close) or close() aborted the backoff
      if (signal.aborted || (err instanceof StreamtuneError && err.retriable) || !(err instanceof StreamtuneError)) return false;
      // the store refused this batch as bad input: drop it so it cannot block the queue
      const removed = queue.ackBefore(seqEnd);
      if (kind === 'points') {
        this.h.pointsDropped += removed;
        this.h.lastPointsDropped = this.now();
      } else this.h.logsDropped += removed;
      this.log.error(`store rejected a batch of ${kind}; dropped`, { dropped: removed, error: errorMessage(err) });
      return true;
    }
  }

  /**
   * Stops the timer and any backoff, tries once more to write what is buffered (with
   * `closeRetries` retries), and counts what is left as dropped. Idempotent. Does not close the store.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.abort.abort(new StreamtuneError('OPERATION_FAILED', 'buffered writer closed'));
    if (this.draining) await this.draining;
    this.abort = new AbortController();
    await this.drain(this.abort.signal, this.closeRetries);
    const left = { points: this.points.size, logs: this.logs.size };
    if (left.points || left.logs) {
      this.h.pointsDropped += this.points.remove(left.points);
      if (left.points) this.h.lastPointsDropped = this.now();
      this.h.logsDropped += this.logs.remove(left.logs);
      this.log.error('closed with unwritten data; dropped', left);
    }
  }
}
