/**
 * The webhook notifier: POSTs each notification as JSON (`fetch`) to a configured URL, beside email.
 * Payload: {@link WebhookPayload}.
 */
import { errorMessage, isRetriableHttpStatus, type Logger, silentLogger, StreamtuneError } from '../core/index.ts';
import type { Diagnosis, GroupLagStatus, RootCauseKind, TuningAction } from '../diagnoser/index.ts';
import type { Severity } from '../rules/index.ts';
import { diagnosisUrl, jobUrl } from './render.ts';
import type { DigestData, Incident, Notification, NotificationType, Notifier } from './types.ts';

/** The diagnosis as a webhook carries it: enough to route and act, with links back to the dashboard. */
export interface DiagnosisSummary {
  id: string;
  job_id: string;
  job_name?: string;
  severity: Severity;
  lagStatus: GroupLagStatus | 'UNKNOWN';
  /** ms since epoch */
  windowStart: number;
  /** ms since epoch */
  windowEnd: number;
  rootCause: { kind: RootCauseKind; vertex?: string; confidence: number; explanation: string };
  findings: Array<{ ruleId: string; severity: Severity; summary: string; vertex?: string }>;
  recommendations: Array<{ title: string; expected: Record<string, number>; actions: TuningAction[] }>;
  /** `${baseUrl}/diagnoses/:id` */
  url: string;
  /** `${baseUrl}/jobs/:jobId` */
  jobUrl: string;
}

/** JSON body of a webhook POST. `incident` and `diagnosis` are null for a digest; `digest` only for a digest. */
export interface WebhookPayload {
  type: NotificationType;
  incident: Incident | null;
  diagnosis: DiagnosisSummary | null;
  digest?: {
    periodStart: number;
    periodEnd: number;
    laggingJobs: DigestData['laggingJobs'];
    diagnoses: number;
    operations: DigestData['operations'];
  };
}

/** Options of {@link WebhookNotifier}. */
export interface WebhookNotifierOptions {
  /**
   * http(s) URL to POST to. A `user:password@` in it is sent as HTTP Basic authentication (RFC 7617)
   * unless `headers` has an authorization of its own, and never appears in logs or errors.
   */
  url: string;
  /** Extra headers (e.g. authorization); never logged. */
  headers?: Record<string, string>;
  /** Dashboard root for links. */
  baseUrl: string;
  /** Per request, ms. Default 10,000. */
  timeoutMs?: number;
  /** Notifier name in logs. Default 'webhook'. */
  name?: string;
  logger?: Logger;
}

/** A percent-encoded URL part decoded; as it is when it does not decode. */
function decoded(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The summary of a diagnosis carried by webhooks. */
export function summarizeDiagnosis(d: Diagnosis, baseUrl: string): DiagnosisSummary {
  return {
    id: d.id,
    job_id: d.job_id,
    ...(d.job_name !== undefined ? { job_name: d.job_name } : {}),
    severity: d.severity,
    lagStatus: d.lagStatus,
    windowStart: d.windowStart,
    windowEnd: d.windowEnd,
    rootCause: d.rootCause,
    findings: d.findings.map((f) => ({ ruleId: f.ruleId, severity: f.severity, summary: f.summary, ...(f.vertex !== undefined ? { vertex: f.vertex } : {}) })),
    recommendations: d.recommendations.map((r) => ({ title: r.title, expected: r.expected, actions: r.actions })),
    url: diagnosisUrl(baseUrl, d.id),
    jobUrl: jobUrl(baseUrl, d.job_id),
  };
}

/** The webhook body for one notification. */
export function webhookPayload(n: Notification, baseUrl: string): WebhookPayload {
  if (n.type === 'digest') {
    const g = n.digest;
    return {
      type: 'digest',
      incident: null,
      diagnosis: null,
      digest: { periodStart: g.periodStart, periodEnd: g.periodEnd, laggingJobs: g.laggingJobs, diagnoses: g.diagnoses.length, operations: g.operations },
    };
  }
  return { type: n.type, incident: n.incident, diagnosis: summarizeDiagnosis(n.diagnosis, baseUrl) };
}

/**
 * POSTs notifications as JSON. `send` rejects with `StreamtuneError('NOTIFY_FAILED')`, retriable
 * as the one HTTP status table says (`core/http-status.ts`): network errors, timeouts, 408, 429 and
 * 5xx; not retriable on other 4xx.
 * Throws `StreamtuneError('INVALID_CONFIG')` from the constructor when the URL is not http(s).
 * Credentials in the URL become an `authorization: Basic` header (fetch refuses a URL carrying
 * them, and its error would quote the URL, password included).
 */
export class WebhookNotifier implements Notifier {
  readonly name: string;
  private readonly log: Logger;
  private readonly target: string;
  /** the URL without credentials */
  private readonly url: string;
  private readonly headers: Record<string, string>;

  constructor(private readonly options: WebhookNotifierOptions) {
    let u: URL;
    try {
      u = new URL(options.url);
    } catch (err) {
      throw new StreamtuneError('INVALID_CONFIG', 'webhook url does not parse', { cause: err, details: { field: 'webhooks[].url' } });
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      throw new StreamtuneError('INVALID_CONFIG', `webhook url must be http(s), got ${u.protocol}`, { details: { field: 'webhooks[].url' } });
    }
    this.headers = { ...options.headers };
    if (u.username || u.password) {
      const hasAuth = Object.keys(this.headers).some((k) => k.toLowerCase() === 'authorization');
      if (!hasAuth) this.headers.authorization = `Basic ${Buffer.from(`${decoded(u.username)}:${decoded(u.password)}`).toString('base64')}`;
      u.username = '';
      u.password = '';
    }
    this.url = u.toString();
    this.target = `${u.origin}${u.pathname}`;
    this.name = options.name ?? 'webhook';
    this.log = (options.logger ?? silentLogger).namespace(this.name);
  }

  /** POSTs one notification; see the class comment for errors. */
  async send(notification: Notification): Promise<void> {
    const body = JSON.stringify(webhookPayload(notification, this.options.baseUrl));
    let res: Response;
    try {
      res = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'streamtune', ...this.headers },
        body,
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
    } catch (err) {
      throw new StreamtuneError('NOTIFY_FAILED', `webhook POST to ${this.target} failed: ${errorMessage(err)}`, {
        retriable: isRetriableHttpStatus(0),
        details: { url: this.target },
      });
    }
    // Read the body so the connection can be reused; its content is not needed.
    await res.arrayBuffer().catch(() => undefined);
    if (!res.ok) {
      throw new StreamtuneError('NOTIFY_FAILED', `webhook POST to ${this.target} answered HTTP ${res.status}`, {
        retriable: isRetriableHttpStatus(res.status),
        details: { url: this.target, status: res.status },
      });
    }
    this.log.debug('webhook delivered', { type: notification.type, url: this.target, status: res.status });
  }
}
