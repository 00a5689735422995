/**
 * The scheduled digest: on a cron schedule (node-cron v4, with seconds as an optional sixth field,
 * e.g. '0 9 * * *' = every day at 09:00), pull the period's data from an injected provider and hand a
 * `digest` notification to the delivery queue.
 */
import cron from 'node-cron';
import type { ScheduledTask } from 'node-cron';
import { errorMessage, type Logger, silentLogger, StreamtuneError } from '../core/index.ts';
import type { DigestData, Notification } from './types.ts';

/** Options of {@link DigestScheduler}. */
export interface DigestSchedulerOptions {
  /** Cron expression, 5 fields or 6 with seconds first. */
  cron: string;
  /** IANA time zone the expression is read in, e.g. 'Europe/Berlin'. Default: the process's. */
  timezone?: string;
  /** Data for the digest; called once per firing. */
  provider: () => Promise<DigestData>;
  /** Where the digest goes, e.g. `queue.notify`; must not block. */
  deliver: (n: Notification) => void;
  /** Also send when the period had no lagging job, diagnosis or operation. Default true. */
  sendEmpty?: boolean;
  logger?: Logger;
}

/**
 * Fires the digest on its schedule. Throws `StreamtuneError('INVALID_CONFIG')` from the constructor
 * for an invalid cron expression (field `digest.cron`) or time zone (field `digest.timezone`).
 * A provider failure is logged as an error and the digest of that firing is skipped.
 */
export class DigestScheduler {
  private task: ScheduledTask | undefined;
  private readonly log: Logger;

  constructor(private readonly options: DigestSchedulerOptions) {
    this.log = (options.logger ?? silentLogger).namespace('digest');
    if (!cron.validate(options.cron)) {
      throw new StreamtuneError('INVALID_CONFIG', `digest.cron is not a valid cron expression: '${options.cron}'`, { details: { field: 'digest.cron' } });
    }
    if (options.timezone !== undefined) {
      try {
        new Intl.DateTimeFormat('en-US', { timeZone: options.timezone });
      } catch {
        throw new StreamtuneError('INVALID_CONFIG', `digest.timezone is not a known time zone: '${options.timezone}'`, { details: { field: 'digest.timezone' } });
      }
    }
  }

  /** Starts the schedule (idempotent). */
  start(): void {
    if (this.task) return;
    const log = this.log;
    this.task = cron.createTask(this.options.cron, () => this.runNow(), {
      name: 'streamtune-digest',
      noOverlap: true,
      ...(this.options.timezone !== undefined ? { timezone: this.options.timezone } : {}),
      logger: {
        info: (m) => log.debug(m),
        warn: (m) => log.warn(m),
        error: (m, e) => log.error(typeof m === 'string' ? m : errorMessage(m), e ? { error: errorMessage(e) } : {}),
        debug: (m) => log.debug(typeof m === 'string' ? m : errorMessage(m)),
      },
    });
    void this.task.start();
    this.log.info('digest scheduled', { cron: this.options.cron, timezone: this.options.timezone });
  }

  /** Stops and forgets the schedule; a digest being built finishes and is still delivered. */
  async stop(): Promise<void> {
    const t = this.task;
    this.task = undefined;
    if (t) {
      await t.stop();
      await t.destroy();
    }
  }

  /** The next firing time, or null when not started. */
  nextRun(): Date | null {
    return this.task?.getNextRun() ?? null;
  }

  /** Builds and delivers one digest now (also what each firing does). Never throws; failures are logged. */
  async runNow(): Promise<void> {
    let data: DigestData;
    try {
      data = await this.options.provider();
    } catch (err) {
      this.log.error('digest data provider failed; digest skipped', { error: errorMessage(err) });
      return;
    }
    const empty = data.laggingJobs.length === 0 && data.diagnoses.length === 0 && data.operations.length === 0;
    if (empty && this.options.sendEmpty === false) {
      this.log.info('digest empty; not sent', { periodStart: data.periodStart, periodEnd: data.periodEnd });
      return;
    }
    this.options.deliver({ type: 'digest', digest: data });
  }
}
