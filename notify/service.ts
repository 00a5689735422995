/**
 * The notification service: incident tracker + delivery queue + notifiers + scheduled digest, wired
 * from one {@link NotifyConfig}. Diagnosis code calls `onDiagnosis(d)`, which decides and queues and
 * returns at once.
 */
import { errorMessage, type Logger, silentLogger } from '../core/index.ts';
import type { Diagnosis } from '../diagnoser/index.ts';
import type { Severity } from '../rules/index.ts';
import type { Applicability } from '../tuner/index.ts';
import { DigestScheduler } from './digest.ts';
import { EmailNotifier } from './email.ts';
import { FileIncidentStore, IncidentTracker, MemoryIncidentStore } from './incidents.ts';
import { IncidentBook } from './incident-book.ts';
import { NotificationQueue, type DeliveryRetryOptions, type NotificationQueueOptions } from './queue.ts';
import type { DigestData, Notification, Notifier, RecipientsConfig } from './types.ts';
import { WebhookNotifier } from './webhook.ts';

/** Configuration of notifications. Times in ms. */
export interface NotifyConfig {
  /** Dashboard root for links in mails and webhooks. */
  baseUrl: string;
  /** Email; omitted → no email. `smtpUrl` defaults to STREAMTUNE_SMTP_URL. */
  email?: { smtpUrl?: string; from?: string; recipients: RecipientsConfig; timeoutMs?: number };
  /** Webhooks, each POSTed JSON. */
  webhooks?: Array<{ url: string; headers?: Record<string, string>; name?: string; timeoutMs?: number }>;
  /** Incident rules (Burrow-like). */
  incidents?: { minSeverity?: Severity; reminderIntervalMs?: number; sendOnce?: boolean; sendClose?: boolean };
  /**
   * Directory of the notification state file (and of the incident journal when no book is injected);
   * omitted → state in memory only (resent after restart).
   */
  dataDir?: string;
  /** Scheduled digest; omitted → none. */
  digest?: { cron: string; timezone?: string; sendEmpty?: boolean };
  /** Delivery retries. */
  retry?: DeliveryRetryOptions;
}

/** Injected dependencies of {@link NotificationService}. */
export interface NotifyDeps {
  logger?: Logger;
  /** Clock, ms since epoch. Default Date.now. */
  now?: () => number;
  /** Data of the scheduled digest; required when `config.digest` is set. */
  digestProvider?: () => Promise<DigestData>;
  /** Extra notifiers (tests, other channels), besides those built from the config. */
  notifiers?: Notifier[];
  /**
   * The incidents (the control plane's, shared with the API and pages). Default: a book of the
   * service's own, journaled under `config.dataDir` when given.
   */
  book?: IncidentBook;
  /**
   * Per recommendation of a diagnosis: whether streamtune can apply it, and if not the settings to
   * change by hand (the tuner's `applicability`); shown in the mails. Default: not known (the mails
   * list the actions).
   */
  applicability?: (d: Diagnosis) => Record<string, Applicability>;
}

/**
 * Incidents, delivery and digest together. Construct with {@link createNotificationService} or by hand.
 * Throws `StreamtuneError('INVALID_CONFIG')` (from the parts) on bad configuration.
 */
export class NotificationService {
  readonly tracker: IncidentTracker;
  readonly queue: NotificationQueue;
  readonly digest: DigestScheduler | undefined;
  private readonly log: Logger;

  private readonly applicability: NotifyDeps['applicability'];

  constructor(parts: { tracker: IncidentTracker; queue: NotificationQueue; digest?: DigestScheduler; logger?: Logger; applicability?: NotifyDeps['applicability'] }) {
    this.tracker = parts.tracker;
    this.queue = parts.queue;
    this.digest = parts.digest;
    this.log = (parts.logger ?? silentLogger).namespace('notify');
    this.applicability = parts.applicability;
  }

  /** The incidents (the tracker's book). */
  get book(): IncidentBook {
    return this.tracker.book;
  }

  /** Adds what the mails show about each recommendation, when the service knows it. */
  private withApplicability(n: Notification): Notification {
    if (n.type === 'digest' || !this.applicability) return n;
    try {
      return { ...n, applicability: this.applicability(n.diagnosis) };
    } catch (err) {
      this.log.warn('applicability of the recommendations unknown', { diagnosis: n.diagnosis.id, error: errorMessage(err) });
      return n;
    }
  }

  /**
   * Feeds one diagnosis: the tracker decides (report / reminder / resolved / nothing) and the queue
   * delivers in the background. Returns the queued notifications at once. Never throws: a failure
   * to save incident state is logged and nothing is sent for this diagnosis.
   */
  onDiagnosis(d: Diagnosis): Notification[] {
    let out: Notification[];
    try {
      out = this.tracker.observe(d);
    } catch (err) {
      this.log.error('incident tracking failed; no notification for this diagnosis', { diagnosis: d.id, job_id: d.job_id, error: errorMessage(err) });
      return [];
    }
    out = out.map((n) => this.withApplicability(n));
    for (const n of out) this.queue.notify(n);
    return out;
  }

  /** Queues the reminders due now (for a periodic check without new diagnoses). */
  checkReminders(): Notification[] {
    let out: Notification[];
    try {
      out = this.tracker.remindersDue();
    } catch (err) {
      this.log.error('incident tracking failed; reminders skipped', { error: errorMessage(err) });
      return [];
    }
    out = out.map((n) => this.withApplicability(n));
    for (const n of out) this.queue.notify(n);
    return out;
  }

  /** Starts the digest schedule, if configured. */
  start(): void {
    this.digest?.start();
  }

  /** Waits for every queued notification to be delivered or given up on. */
  drain(): Promise<void> {
    return this.queue.drain();
  }

  /**
   * Stops the digest, waits up to `timeoutMs` (default 10,000 ms) for queued deliveries, then closes
   * the queue: retries still waiting are stopped and what is left is logged as dropped.
   */
  async stop(options: { timeoutMs?: number } = {}): Promise<void> {
    await this.digest?.stop();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.queue.drain(),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, options.timeoutMs ?? 10_000);
      }),
    ]);
    clearTimeout(timer);
    await this.queue.close();
  }
}

/** Builds the service from config: email (if configured), webhooks, tracker (file state under `dataDir`), queue, digest. */
export function createNotificationService(config: NotifyConfig, deps: NotifyDeps = {}): NotificationService {
  const logger = deps.logger ?? silentLogger;
  const inc = config.incidents ?? {};
  const notifiers: Notifier[] = [];
  if (config.email) {
    notifiers.push(
      new EmailNotifier({
        ...config.email,
        baseUrl: config.baseUrl,
        logger,
        render: {
          ...(inc.sendOnce ? {} : { reminderIntervalMs: inc.reminderIntervalMs ?? 3_600_000 }),
          sendClose: inc.sendClose ?? true,
          ...(deps.now ? { now: deps.now } : {}),
        },
      }),
    );
  }
  for (const w of config.webhooks ?? []) notifiers.push(new WebhookNotifier({ ...w, baseUrl: config.baseUrl, logger }));
  notifiers.push(...(deps.notifiers ?? []));
  const book = deps.book ?? new IncidentBook({ logger, ...(deps.now ? { now: deps.now } : {}), ...(config.dataDir ? { dir: config.dataDir } : {}) });
  const tracker = new IncidentTracker({
    ...inc,
    logger,
    book,
    ...(deps.now ? { now: deps.now } : {}),
    store: config.dataDir ? new FileIncidentStore(config.dataDir, { logger }) : new MemoryIncidentStore(),
  });
  // every delivery (or give-up) goes on the incident's timeline
  const onDelivery: NotificationQueueOptions['onDelivery'] = (n, channel, r) => {
    if (n.type === 'digest') return;
    book.recordNotification(n.incident.id, { notification: n.type, status: r.ok ? 'sent' : 'failed', channel, ...(r.ok ? {} : { detail: r.error }) });
  };
  const queue = new NotificationQueue({ notifiers, logger, onDelivery, ...(config.retry ? { retry: config.retry } : {}) });
  let digest: DigestScheduler | undefined;
  if (config.digest) {
    const provider = deps.digestProvider;
    digest = new DigestScheduler({
      ...config.digest,
      provider: provider ?? (() => Promise.reject(new Error('no digest provider injected'))),
      deliver: (n) => queue.notify(n),
      logger,
    });
  }
  return new NotificationService({ tracker, queue, ...(digest ? { digest } : {}), logger, ...(deps.applicability ? { applicability: deps.applicability } : {}) });
}
