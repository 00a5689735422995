/**
 * The email notifier: renders a notification with the handlebars templates and sends it with
 * nodemailer over SMTP. The SMTP URL (`STREAMTUNE_SMTP_URL`, e.g. smtp://user:pass@host:port) may
 * carry a password; it never appears in logs or errors (see {@link redactUrl}).
 */
import nodemailer from 'nodemailer';
import type { Transporter } from 'nodemailer';
import { errorMessage, type Logger, silentLogger, StreamtuneError } from '../core/index.ts';
import { EmailRenderer, type EmailRendererOptions } from './render.ts';
import { recipientsFor } from './recipients.ts';
import type { Notification, Notifier, RecipientsConfig } from './types.ts';

/** Options of {@link EmailNotifier}. */
export interface EmailNotifierOptions {
  /** SMTP URL, smtp://[user:pass@]host:port or smtps://. Default `process.env.STREAMTUNE_SMTP_URL`. */
  smtpUrl?: string;
  /** From address, e.g. 'streamtune <streamtune@example.com>'. Default `STREAMTUNE_SMTP_FROM` or 'streamtune@localhost'. */
  from?: string;
  recipients: RecipientsConfig;
  /** Dashboard root for the links in mails. */
  baseUrl: string;
  /** Renderer options besides baseUrl (reminder interval shown, subject prefix, clock). */
  render?: Omit<EmailRendererOptions, 'baseUrl'>;
  /** Socket timeouts, ms. Default 30,000 for connect, greeting and socket. */
  timeoutMs?: number;
  logger?: Logger;
}

/** The URL with its password replaced by '***' (for logs). Unparseable URLs become '<invalid smtp url>'. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<invalid smtp url>';
  }
}

function secretsOf(url: string): string[] {
  try {
    const u = new URL(url);
    if (!u.password) return [];
    const raw = u.password;
    let decoded = raw;
    try {
      decoded = decodeURIComponent(raw);
    } catch {
      /* keep raw */
    }
    const out = new Set([raw, decoded, Buffer.from(decoded).toString('base64')]);
    return [...out].filter((s) => s.length > 0);
  } catch {
    return [url];
  }
}

/** SMTP errors worth retrying: connection trouble and 4xx replies; 5xx replies are permanent (RFC 5321). */
function isRetriableSmtp(err: unknown): boolean {
  const e = err as { responseCode?: number; code?: string };
  if (typeof e.responseCode === 'number') return e.responseCode < 500;
  return e.code !== 'EENVELOPE' && e.code !== 'EMESSAGE';
}

/**
 * Sends notifications as email (HTML with a plain-text part).
 * Recipients per job or team ({@link RecipientsConfig}); a notification nobody should receive is
 * logged as a warning and skipped.
 * Throws `StreamtuneError('INVALID_CONFIG')` from the constructor when no SMTP URL is configured or it
 * does not parse; `send` rejects with `StreamtuneError('NOTIFY_FAILED')`, `retriable` for
 * connection errors and SMTP 4xx replies. Messages and details never contain the password.
 */
export class EmailNotifier implements Notifier {
  readonly name = 'email';
  private readonly transporter: Transporter;
  private readonly renderer: EmailRenderer;
  private readonly from: string;
  private readonly secrets: string[];
  private readonly log: Logger;
  /** The SMTP URL with the password replaced by '***'. */
  readonly target: string;

  constructor(private readonly options: EmailNotifierOptions) {
    const url = options.smtpUrl ?? process.env.STREAMTUNE_SMTP_URL;
    if (!url) {
      throw new StreamtuneError('INVALID_CONFIG', 'no SMTP server configured: set STREAMTUNE_SMTP_URL (smtp://user:pass@host:port)', {
        details: { field: 'STREAMTUNE_SMTP_URL' },
      });
    }
    this.target = redactUrl(url);
    if (this.target === '<invalid smtp url>' || !/^smtps?:$/.test(new URL(url).protocol)) {
      throw new StreamtuneError('INVALID_CONFIG', `STREAMTUNE_SMTP_URL is not an smtp:// or smtps:// URL: ${this.target}`, {
        details: { field: 'STREAMTUNE_SMTP_URL' },
      });
    }
    this.secrets = secretsOf(url);
    this.from = options.from ?? process.env.STREAMTUNE_SMTP_FROM ?? 'streamtune@localhost';
    this.log = (options.logger ?? silentLogger).namespace('email');
    const timeout = options.timeoutMs ?? 30_000;
    this.transporter = nodemailer.createTransport({
      url,
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
      logger: false,
      debug: false,
    } as Parameters<typeof nodemailer.createTransport>[0]);
    this.renderer = new EmailRenderer({ baseUrl: options.baseUrl, ...options.render });
  }

  /** Removes every form of the password from `s`. */
  private redact(s: string): string {
    let out = s;
    for (const secret of this.secrets) out = out.split(secret).join('***');
    return out;
  }

  /** Renders and sends one notification; see the class comment for errors. */
  async send(notification: Notification): Promise<void> {
    const to = recipientsFor(this.options.recipients, notification);
    if (to.length === 0) {
      this.log.warn('no recipients configured for notification; not sent', {
        type: notification.type,
        job_id: notification.type === 'digest' ? undefined : notification.incident.job_id,
      });
      return;
    }
    const mail = this.renderer.render(notification);
    try {
      const info = await this.transporter.sendMail({ from: this.from, to, subject: mail.subject, html: mail.html, text: mail.text });
      this.log.debug('mail accepted', { type: notification.type, to, messageId: info.messageId, server: this.target });
    } catch (err) {
      const e = err as { code?: string; responseCode?: number; command?: string };
      throw new StreamtuneError('NOTIFY_FAILED', this.redact(`sending ${notification.type} mail via ${this.target} failed: ${errorMessage(err)}`), {
        retriable: isRetriableSmtp(err),
        details: { code: e.code, responseCode: e.responseCode, command: e.command ? this.redact(String(e.command)) : undefined, server: this.target },
      });
    }
  }

  /** Closes pooled connections (none by default). */
  close(): void {
    this.transporter.close();
  }
}
