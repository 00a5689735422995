/**
 * Renders notifications to email content (subject, HTML, plain text) with the handlebars templates
 * in `notify/templates/`: `<type>.html.hbs` and `<type>.txt.hbs` for each of report,
 * reminder, resolved and digest, the partial `diagnosis.{html,txt}.hbs` and the HTML `layout`.
 * HTML templates escape every job and user string (handlebars `{{ }}`); text templates do not escape.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import Handlebars from 'handlebars';
import { StreamtuneError } from '../core/index.ts';
import type { Diagnosis, Finding, Recommendation, TuningAction } from '../diagnoser/index.ts';
import type { Severity } from '../rules/index.ts';
import type { Applicability } from '../tuner/index.ts';
import type { DigestData, Incident, Notification, NotificationType, OperationSummary } from './types.ts';

/** Rendered email content. */
export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}

/** Options of {@link EmailRenderer}. */
export interface EmailRendererOptions {
  /** Dashboard root for links, e.g. 'http://127.0.0.1:8080' (no trailing slash needed). */
  baseUrl: string;
  /** Directory of the templates. Default `notify/templates/`. */
  templatesDir?: string;
  /** Reminder interval shown in reports, ms. Absent: not mentioned. */
  reminderIntervalMs?: number;
  /** Whether a resolved notice will be sent (shown in reports). Default true. */
  sendClose?: boolean;
  /** Subject prefix. Default '[streamtune]'. */
  subjectPrefix?: string;
  /** Clock for the 'sent at' line, ms since epoch. Default Date.now. */
  now?: () => number;
}

const DEFAULT_TEMPLATES_DIR = fileURLToPath(new URL('./templates/', import.meta.url));
const TYPES: NotificationType[] = ['report', 'reminder', 'resolved', 'digest'];

/** 'YYYY-MM-DD HH:MM:SS UTC' for a time in ms since epoch. */
export function formatTime(ms: number): string {
  if (!Number.isFinite(ms)) return 'unknown';
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** A duration in ms as '2 h 5 min', '3 min 20 s', '45 s' or '250 ms'. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return 'unknown';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  let s = Math.round(ms / 1000);
  const d = Math.floor(s / 86400); s -= d * 86400;
  const h = Math.floor(s / 3600); s -= h * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  const parts: string[] = [];
  if (d) parts.push(`${d} d`);
  if (h) parts.push(`${h} h`);
  if (m) parts.push(`${m} min`);
  if (s && !d) parts.push(`${s} s`);
  return parts.slice(0, 2).join(' ') || '0 s';
}

const numberFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

/** A number with thousands separators and at most 2 decimals; other values as JSON. */
export function formatValue(v: unknown): string {
  if (typeof v === 'number') return Number.isFinite(v) ? numberFormat.format(v) : String(v);
  if (typeof v === 'string') return v;
  if (v === undefined) return '';
  return JSON.stringify(v) ?? String(v);
}

/** One tuning action in words, e.g. 'set parallelism of vertex "map" from 2 to 4'. */
export function describeAction(a: TuningAction): string {
  switch (a.type) {
    case 'set-parallelism':
      return `set parallelism of vertex "${a.vertex.name}" from ${a.from} to ${a.to}`;
    case 'set-checkpointing': {
      const parts: string[] = [];
      if (a.interval !== undefined) parts.push(`interval ${formatValue(a.interval)} ms`);
      if (a.timeout !== undefined) parts.push(`timeout ${formatValue(a.timeout)} ms`);
      if (a.minPause !== undefined) parts.push(`min pause ${formatValue(a.minPause)} ms`);
      if (a.unaligned !== undefined) parts.push(a.unaligned ? 'unaligned checkpoints' : 'aligned checkpoints');
      return `set checkpointing: ${parts.join(', ') || 'no change'}`;
    }
    case 'set-memory':
      return `set task heap to ${formatValue(a.heapBytes)} bytes (${formatValue(a.heapBytes / 1048576)} MiB)`;
  }
}

function trimSlash(u: string): string {
  return u.replace(/\/+$/, '');
}

/** `${baseUrl}/diagnoses/:id`. */
export function diagnosisUrl(baseUrl: string, id: string): string {
  return `${trimSlash(baseUrl)}/diagnoses/${encodeURIComponent(id)}`;
}

/** `${baseUrl}/incidents/:id`. */
export function incidentUrl(baseUrl: string, id: string): string {
  return `${trimSlash(baseUrl)}/incidents/${encodeURIComponent(id)}`;
}

/** `${baseUrl}/jobs/:jobId`. */
export function jobUrl(baseUrl: string, jobId: string): string {
  return `${trimSlash(baseUrl)}/jobs/${encodeURIComponent(jobId)}`;
}

function kv(obj: Record<string, unknown>): Array<{ key: string; value: string }> {
  return Object.entries(obj).map(([key, value]) => ({ key, value: formatValue(value) }));
}

function upper(s: Severity): string {
  return s.toUpperCase();
}

/** Renders notifications to {@link RenderedEmail}. Throws `StreamtuneError('INVALID_CONFIG')` when a template is missing or invalid. */
export class EmailRenderer {
  private readonly html = new Map<NotificationType, HandlebarsTemplateDelegate>();
  private readonly text = new Map<NotificationType, HandlebarsTemplateDelegate>();
  private readonly baseUrl: string;
  private readonly now: () => number;

  constructor(private readonly options: EmailRendererOptions) {
    this.baseUrl = trimSlash(options.baseUrl);
    this.now = options.now ?? Date.now;
    const dir = options.templatesDir ?? DEFAULT_TEMPLATES_DIR;
    const load = (file: string): string => {
      try {
        return readFileSync(join(dir, file), 'utf8');
      } catch (err) {
        throw new StreamtuneError('INVALID_CONFIG', `email template ${join(dir, file)} cannot be read`, { cause: err, details: { file: join(dir, file) } });
      }
    };
    const htmlEnv = Handlebars.create();
    const textEnv = Handlebars.create();
    for (const env of [htmlEnv, textEnv]) {
      env.registerHelper('eq', (a: unknown, b: unknown) => a === b);
      env.registerHelper('gt', (a: unknown, b: unknown) => typeof a === 'number' && typeof b === 'number' && a > b);
    }
    const compileOpts = { strict: false, preventIndent: false } as const;
    htmlEnv.registerPartial('layout', htmlEnv.compile(load('layout.html.hbs'), compileOpts));
    htmlEnv.registerPartial('diagnosis', htmlEnv.compile(load('diagnosis.html.hbs'), compileOpts));
    textEnv.registerPartial('diagnosis', textEnv.compile(load('diagnosis.txt.hbs'), { ...compileOpts, noEscape: true }));
    for (const t of TYPES) {
      this.html.set(t, htmlEnv.compile(load(`${t}.html.hbs`), compileOpts));
      this.text.set(t, textEnv.compile(load(`${t}.txt.hbs`), { ...compileOpts, noEscape: true }));
    }
  }

  /** Subject, HTML and text of one notification. Throws `StreamtuneError('INTERNAL')` when a template fails. */
  render(n: Notification): RenderedEmail {
    const view = n.type === 'digest' ? this.digestView(n.digest) : this.incidentView(n.type, n.incident, n.diagnosis, n.applicability);
    try {
      return {
        subject: view.subject as string,
        html: this.html.get(n.type)!(view),
        text: this.text.get(n.type)!(view),
      };
    } catch (err) {
      throw new StreamtuneError('INTERNAL', `rendering the ${n.type} email failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  private prefix(): string {
    return this.options.subjectPrefix ?? '[streamtune]';
  }

  private diagnosisView(d: Diagnosis, applicability?: Record<string, Applicability>): Record<string, unknown> {
    const jobLabel = d.job_name ?? d.job_id;
    return {
      d,
      jobLabel,
      severity: upper(d.severity),
      confidence: `${Math.round(d.rootCause.confidence * 100)}%`,
      windowText: `${formatTime(d.windowStart)} → ${formatTime(d.windowEnd)} (${formatDuration(d.windowEnd - d.windowStart)})`,
      findings: d.findings.map((f: Finding) => ({ ...f, severity: upper(f.severity), evidence: kv(f.evidence) })),
      recommendations: d.recommendations.map((r: Recommendation) => {
        const can = applicability?.[r.id];
        return {
          ...r,
          expected: kv(r.expected),
          actions: r.actions.map((a) => ({ text: describeAction(a), json: JSON.stringify(a) })),
          // known: Apply in the dashboard, or advice with the settings to change by hand
          applicable: can?.applicable === true,
          advice: can && !can.applicable && r.actions.length > 0 ? { reason: can.reason ?? '', settings: can.settings } : undefined,
        };
      }),
      diagnosisUrl: diagnosisUrl(this.baseUrl, d.id),
      jobUrl: jobUrl(this.baseUrl, d.job_id),
    };
  }

  private incidentView(type: 'report' | 'reminder' | 'resolved', incident: Incident, d: Diagnosis, applicability?: Record<string, Applicability>): Record<string, unknown> {
    const base = this.diagnosisView(d, applicability);
    const jobLabel = base.jobLabel as string;
    const end = incident.resolvedAt ?? this.now();
    const subject =
      type === 'report'
        ? `${this.prefix()} ${upper(d.severity)} ${jobLabel}: ${d.rootCause.kind}, lag ${d.lagStatus}`
        : type === 'reminder'
          ? `${this.prefix()} Still open (${formatDuration(end - incident.startedAt)}): ${jobLabel}: ${d.rootCause.kind}, lag ${d.lagStatus}`
          : `${this.prefix()} Resolved: ${jobLabel} after ${formatDuration(end - incident.startedAt)}`;
    return {
      ...base,
      subject,
      incident,
      incidentUrl: incidentUrl(this.baseUrl, incident.id),
      problem: `${incident.kind}${incident.vertex ? ` at ${incident.vertex}` : ''}`,
      resolution: incident.resolution ?? '',
      diagnosisCount: incident.diagnosisIds.length,
      incidentStart: formatTime(incident.startedAt),
      incidentEnd: incident.resolvedAt !== undefined ? formatTime(incident.resolvedAt) : '',
      openFor: formatDuration(end - incident.startedAt),
      maxSeverity: upper(incident.maxSeverity),
      reminderText: this.options.reminderIntervalMs !== undefined ? formatDuration(this.options.reminderIntervalMs) : '',
      sendClose: this.options.sendClose ?? true,
      generatedAt: formatTime(this.now()),
    };
  }

  private digestView(g: DigestData): Record<string, unknown> {
    const label = (x: { job_id: string; job_name?: string }): string => x.job_name ?? x.job_id;
    const periodText = `${formatTime(g.periodStart)} → ${formatTime(g.periodEnd)}`;
    return {
      subject: `${this.prefix()} Digest ${periodText}: ${g.laggingJobs.length} lagging, ${g.diagnoses.length} diagnoses, ${g.operations.length} operations`,
      periodText,
      generatedAt: formatTime(this.now()),
      laggingJobs: g.laggingJobs.map((j) => ({
        ...j,
        label: label(j),
        url: jobUrl(this.baseUrl, j.job_id),
        maxLag: j.maxLag !== undefined ? formatValue(j.maxLag) : '–',
        totalLag: j.totalLag !== undefined ? formatValue(j.totalLag) : '–',
        since: j.since !== undefined ? formatTime(j.since) : '–',
      })),
      diagnoses: g.diagnoses.map((d) => ({
        label: label(d),
        url: diagnosisUrl(this.baseUrl, d.id),
        jobUrl: jobUrl(this.baseUrl, d.job_id),
        createdAt: formatTime(d.createdAt),
        severity: upper(d.severity),
        lagStatus: d.lagStatus,
        rootCause: d.rootCause.kind + (d.rootCause.vertex ? ` at ${d.rootCause.vertex}` : ''),
        topRecommendation: d.recommendations[0]?.title ?? 'no recommendation',
      })),
      operations: g.operations.map((o: OperationSummary) => ({
        id: o.id,
        label: label(o),
        jobUrl: jobUrl(this.baseUrl, o.job_id),
        status: o.status,
        steps: o.steps.map((s) => `${s.name} ${s.status}`).join(', ') || '–',
        downtime: o.downtimeMs !== undefined ? formatDuration(o.downtimeMs) : '–',
        result: o.result ?? '–',
      })),
    };
  }
}
