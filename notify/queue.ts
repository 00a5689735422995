/**
 * An in-process delivery queue so that sending never blocks diagnosis: `notify()` returns at once;
 * each notifier has its own lane, delivered in order, with retries (exponential backoff from
 * `core/retry.ts`) and a log line for every failed attempt and for every notification given up on
 * (Burrow users' complaint: notifications silently not sent).
 */
import { errorMessage, type Logger, type LogMeta, retry, type RetryOptions, silentLogger, StreamtuneError } from '../core/index.ts';
import type { Notification, Notifier } from './types.ts';

/** Retry policy of deliveries (see `core/retry.ts`). Default: 8 retries, 1 s initial, 60 s cap. */
export type DeliveryRetryOptions = Pick<RetryOptions, 'retries' | 'initialMs' | 'maxMs' | 'factor' | 'jitter'>;

/** Options of {@link NotificationQueue}. */
export interface NotificationQueueOptions {
  notifiers: Notifier[];
  logger?: Logger;
  retry?: DeliveryRetryOptions;
  /**
   * Called once per notification and notifier when it is delivered (`ok`) or given up on (with the
   * error's message); a throwing listener is logged and ignored.
   */
  onDelivery?: (n: Notification, notifier: string, result: { ok: true } | { ok: false; error: string }) => void;
}

/** Counters of a queue since it was created. */
export interface QueueStats {
  /** deliveries that succeeded (one per notifier per notification) */
  delivered: number;
  /** deliveries given up on after the last retry or a non-retriable error */
  failed: number;
  /** failed attempts that were retried */
  retried: number;
}

const DEFAULT_RETRY: DeliveryRetryOptions = { retries: 8, initialMs: 1_000, maxMs: 60_000, factor: 2, jitter: 0.2 };

/** Fields identifying a notification in logs (never secrets). */
export function notificationLogMeta(n: Notification): LogMeta {
  return n.type === 'digest'
    ? { type: n.type, periodStart: n.digest.periodStart, periodEnd: n.digest.periodEnd }
    : { type: n.type, incident: n.incident.id, job_id: n.incident.job_id, diagnosis: n.diagnosis.id };
}

class Lane {
  readonly items: Notification[] = [];
  running = false;
  private idleWaiters: Array<() => void> = [];
  constructor(readonly notifier: Notifier) {}
  idle(): Promise<void> {
    if (!this.running && this.items.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
  settle(): void {
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const r of w) r();
  }
}

/**
 * Delivers notifications to every notifier in the background.
 * `notify()` never throws and never waits; `drain()` waits until every lane is empty;
 * `close()` stops retrying and drops what is still queued (logged).
 */
export class NotificationQueue {
  private readonly lanes: Lane[];
  private readonly log: Logger;
  private readonly retryOpts: DeliveryRetryOptions;
  private readonly abort = new AbortController();
  private readonly onDelivery: NotificationQueueOptions['onDelivery'];
  private closed = false;
  /** Counters since creation. */
  readonly stats: QueueStats = { delivered: 0, failed: 0, retried: 0 };

  constructor(options: NotificationQueueOptions) {
    this.lanes = options.notifiers.map((n) => new Lane(n));
    this.log = (options.logger ?? silentLogger).namespace('notify');
    this.retryOpts = { ...DEFAULT_RETRY, ...options.retry };
    this.onDelivery = options.onDelivery;
  }

  private delivered(n: Notification, notifier: string, result: { ok: true } | { ok: false; error: string }): void {
    try {
      this.onDelivery?.(n, notifier, result);
    } catch (err) {
      this.log.warn('delivery listener failed', { notifier, error: errorMessage(err) });
    }
  }

  /** Queues `n` for every notifier and returns at once. After `close()`, logs and drops it. */
  notify(n: Notification): void {
    if (this.closed) {
      this.log.error('notification dropped: queue closed', notificationLogMeta(n));
      return;
    }
    for (const lane of this.lanes) {
      lane.items.push(n);
      if (!lane.running) {
        lane.running = true;
        void this.run(lane);
      }
    }
  }

  /** Number of notifications waiting or being delivered, over all notifiers. */
  get pending(): number {
    return this.lanes.reduce((s, l) => s + l.items.length + (l.running ? 1 : 0), 0);
  }

  /** Resolves when every queued notification has been delivered or given up on. */
  async drain(): Promise<void> {
    while (this.lanes.some((l) => l.running || l.items.length > 0)) {
      await Promise.all(this.lanes.map((l) => l.idle()));
    }
  }

  /** Stops retries in progress (their notifications count as failed) and drops queued ones; logs what was dropped. */
  async close(): Promise<void> {
    this.closed = true;
    this.abort.abort(new StreamtuneError('NOTIFY_FAILED', 'notification queue closed'));
    for (const lane of this.lanes) {
      for (const n of lane.items.splice(0)) {
        this.log.error('notification dropped: queue closed', { notifier: lane.notifier.name, ...notificationLogMeta(n) });
        this.stats.failed++;
        this.delivered(n, lane.notifier.name, { ok: false, error: 'dropped: the queue closed' });
      }
    }
    await this.drain();
  }

  private async run(lane: Lane): Promise<void> {
    try {
      for (let n = lane.items.shift(); n !== undefined; n = lane.items.shift()) {
        await this.deliver(lane.notifier, n);
      }
    } finally {
      lane.running = false;
      lane.settle();
    }
  }

  private async deliver(notifier: Notifier, n: Notification): Promise<void> {
    const meta = { notifier: notifier.name, ...notificationLogMeta(n) };
    let attempts = 0;
    try {
      await retry(
        async () => {
          attempts++;
          await notifier.send(n);
        },
        {
          ...this.retryOpts,
          signal: this.abort.signal,
          isRetriable: (err) => !(err instanceof StreamtuneError) || err.retriable,
          onRetry: (attempt, err, delayMs) => {
            this.stats.retried++;
            this.log.warn('notification send failed; will retry', { ...meta, attempt, retryInMs: delayMs, error: errorMessage(err) });
          },
        },
      );
      this.stats.delivered++;
      this.log.info('notification sent', { ...meta, attempts });
      this.delivered(n, notifier.name, { ok: true });
    } catch (err) {
      this.stats.failed++;
      this.log.error('notification not sent; giving up', {
        ...meta,
        attempts,
        error: errorMessage(err),
        code: err instanceof StreamtuneError ? err.code : undefined,
      });
      this.delivered(n, notifier.name, { ok: false, error: errorMessage(err) });
    }
  }
}
