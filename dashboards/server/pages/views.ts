/**
 * View models of the pages: plain data the templates render, made from the control plane's shapes
 * (operations, diagnoses, findings, recommendations). Numbers are formatted here; a missing value
 * shows as '–', never as 0.
 */
import type { ControlPlane } from '../../../control-plane/index.ts';
import type { Diagnosis, Finding, Recommendation, TuningAction } from '../../../diagnoser/index.ts';
import { formatDuration, formatTime, formatValue, type Incident, type IncidentEvent } from '../../../notify/index.ts';
import { ATTENTION_OPERATION_STATES, blockOf, isTerminalOperationState, type BlockedAction, type Operation } from '../../../tuner/index.ts';

/** A tuning action as the confirmation shows it, e.g. 'enrich: parallelism 1 → 4'. */
export function changeText(a: TuningAction): string {
  switch (a.type) {
    case 'set-parallelism':
      return `${a.vertex.name}: parallelism ${a.from} → ${a.to}`;
    case 'set-checkpointing': {
      const parts: string[] = [];
      if (a.interval !== undefined) parts.push(`interval ${formatDuration(a.interval)}`);
      if (a.timeout !== undefined) parts.push(`timeout ${formatDuration(a.timeout)}`);
      if (a.minPause !== undefined) parts.push(`min pause ${formatDuration(a.minPause)}`);
      if (a.unaligned !== undefined) parts.push(a.unaligned ? 'unaligned' : 'aligned');
      return `checkpointing: ${parts.join(', ') || 'no change'}`;
    }
    case 'set-memory':
      return `task heap → ${formatValue(Math.round(a.heapBytes / 1048576))} MiB`;
  }
}

/** CSS class of a lag or operation status: ok, warn, unknown, err or running. */
export function statusClass(s: string): string {
  return s === 'OK' || s === 'SUCCEEDED' ? 'ok' : s === 'WARN' || s === 'INEFFECTIVE' || s === 'UNVERIFIED' ? 'warn' : s === 'UNKNOWN' ? 'unknown' : isTerminalOperationState(s) || s === 'ERR' ? 'err' : 'running';
}

/** A number for a page: grouped, at most `digits` decimals; '–' when missing (null, undefined, NaN). */
export function num(v: number | null | undefined, digits = 0): string {
  if (v === undefined || v === null || !Number.isFinite(v)) return '–';
  return new Intl.NumberFormat('en-US', { maximumFractionDigits: digits }).format(v);
}

/**
 * The forecast of an operation against what happened: the recommendation's `lagUnderOneMinuteMs`
 * (copied into `expected`) and the verification's measurement (tuner/verify.ts), in words; undefined
 * when the operation carried no forecast and verification measured nothing.
 */
export function forecastVsActual(op: Operation): { forecast: string; actual: string; difference: string } | undefined {
  const f = op.verification?.lagUnderOneMinuteForecastMs ?? op.expected?.lagUnderOneMinuteMs;
  const v = op.verification;
  if (f === undefined && v?.lagUnderOneMinuteMs === undefined) return undefined;
  const forecast = f === undefined ? 'none' : f === 0 ? 'stays under (0 s)' : formatDuration(f);
  let actual = 'not measured yet';
  if (v) {
    if (v.lagUnderOneMinuteMs === undefined) actual = 'not measured (no lag or input rate after the change)';
    else if (v.lagUnderOneMinuteMs === null) actual = `not within the ${formatDuration(v.lagUnderOneMinuteCheckedMs ?? 0)} watched`;
    else actual = formatDuration(v.lagUnderOneMinuteMs);
  }
  let difference = '–';
  if (f !== undefined && typeof v?.lagUnderOneMinuteMs === 'number') {
    const d = v.lagUnderOneMinuteMs - f;
    difference = `${d >= 0 ? '+' : '−'}${formatDuration(Math.abs(d))} (${d >= 0 ? 'later' : 'sooner'} than forecast)`;
  }
  return { forecast, actual, difference };
}

/** An operation as the operations pages and the job page show it. */
/** What a hidden path shows: the pages show savepoint and checkpoint paths only with credentials (or publicReads). */
export const HIDDEN_PATH = '(log in to see the path)';

/** `text` with absolute filesystem paths (and `known` ones) replaced by {@link HIDDEN_PATH}; URLs are kept. */
export function hidePaths(text: string, known: readonly (string | undefined)[] = []): string {
  let out = text;
  for (const k of known) if (k) out = out.split(k).join(HIDDEN_PATH);
  return out.replace(/(^|[\s'"(=])\/[^\s'",)]+/g, (_m, pre: string) => `${pre}${HIDDEN_PATH}`);
}

/**
 * The view of an operation for the pages; with `hide` (no credentials, no publicReads) its savepoint
 * path and any path in its steps and error are replaced by {@link HIDDEN_PATH}.
 */
export function opView(op: Operation, hide = false) {
  const h = (s: string | undefined): string | undefined => (s === undefined || !hide ? s : hidePaths(s, [op.savepointPath]));
  return {
    id: op.id,
    job_id: op.job_id,
    job_name: op.job_name ?? op.job_id,
    state: op.state,
    stateClass: statusClass(op.state),
    terminal: isTerminalOperationState(op.state),
    origin: op.origin,
    changes: op.actions.map(changeText),
    created: formatTime(op.createdAt),
    finished: op.finishedAt === undefined ? '' : formatTime(op.finishedAt),
    downtime: op.downtimeMs === undefined ? '–' : formatDuration(op.downtimeMs),
    savepointPath: op.savepointPath === undefined ? undefined : hide ? HIDDEN_PATH : op.savepointPath,
    diagnosisId: op.diagnosisId,
    error: h(op.error),
    steps: op.steps.map((s) => ({
      name: s.name,
      status: s.status,
      started: formatTime(s.startedAt),
      took: s.finishedAt === undefined ? '' : formatDuration(s.finishedAt - s.startedAt),
      message: h(s.message) ?? '',
    })),
    forecast: forecastVsActual(op),
    needsAttention: (ATTENTION_OPERATION_STATES as readonly string[]).includes(op.state),
    verification: op.verification && {
      effective: op.verification.effective,
      unverified: op.state === 'UNVERIFIED',
      reason: op.verification.reason,
      throughputBefore: num(op.verification.throughputBefore),
      throughputAfter: num(op.verification.throughputAfter),
      throughputPredicted: num(op.verification.throughputPredicted),
      lagTrendBefore: num(op.verification.lagTrendBefore, 1),
      lagTrendAfter: num(op.verification.lagTrendAfter, 1),
      lagAfter: num(op.verification.lagAfter),
    },
  };
}

function isPoints(v: unknown): v is Array<{ t: number; v: number }> {
  return Array.isArray(v) && v.length > 1 && v.every((p) => typeof p === 'object' && p !== null && typeof (p as { t?: unknown }).t === 'number' && typeof (p as { v?: unknown }).v === 'number');
}

function isFlatRecords(v: unknown): v is Array<Record<string, unknown>> {
  return (
    Array.isArray(v) &&
    v.length > 0 &&
    v.length <= 100 &&
    v.every((r) => typeof r === 'object' && r !== null && !Array.isArray(r) && Object.values(r).every((x) => x === null || ['string', 'number', 'boolean'].includes(typeof x)))
  );
}

/** A finding's evidence: series become charts, lists of flat records tables, the rest key/value rows. */
export function evidenceView(f: Finding) {
  const rows: Array<{ key: string; value: string }> = [];
  const charts: Array<{ key: string; data: string }> = [];
  const tables: Array<{ key: string; columns: string[]; rows: string[][] }> = [];
  for (const [key, value] of Object.entries(f.evidence)) {
    if (isFlatRecords(value) && !isPoints(value)) {
      const columns = [...new Set(value.flatMap((r) => Object.keys(r)))];
      tables.push({ key, columns, rows: value.map((r) => columns.map((c) => (r[c] === null || r[c] === undefined ? '–' : formatValue(r[c])))) });
    } else if (isPoints(value)) {
      charts.push({ key, data: JSON.stringify({ t: value.map((p) => p.t / 1000), v: value.map((p) => p.v) }) });
    } else if (Array.isArray(value) && value.length > 1 && value.every((x) => typeof x === 'number')) {
      charts.push({ key, data: JSON.stringify({ v: value }) });
    } else {
      let s = formatValue(value);
      if (s.length > 300) s = `${s.slice(0, 300)}…`;
      rows.push({ key, value: s });
    }
  }
  return { rows, charts, tables };
}

/** A recommendation's forecast (`lagUnderOneMinuteMs`) in words; undefined when it has none (older diagnoses). */
export function forecastText(ms: number | null | undefined): string | undefined {
  if (ms === undefined) return undefined;
  if (ms === null) return 'No forecast of the lag: the lag or the input rate is unknown, or the capacity would stay at or below the input rate.';
  if (ms === 0) return 'Forecast: the lag stays under one minute of input.';
  return `Forecast: lag back under one minute of input ${formatDuration(ms)} after applying.`;
}

/**
 * A recommendation with its state: open, applied or dismissed, or not recommended again while blocked.
 * Apply is offered only when the job's executor carries out every action (`cp.tuner.applicability`);
 * otherwise `advice` says why and which settings to change, with their values.
 */
export function recView(cp: ControlPlane, jobId: string, r: Recommendation, blocked: readonly BlockedAction[]) {
  const stored = cp.diagnoses.recommendation(r.id);
  const status = stored?.state.status ?? 'open';
  // an action found ineffective on this job lately is not recommended again until its block ends
  const block = status === 'open' ? blockOf(r.actions, blocked) : undefined;
  const can = cp.tuner.applicability(jobId, r.actions);
  return {
    id: r.id,
    title: r.title,
    rationale: r.rationale,
    expected: Object.entries(r.expected).map(([k, v]) => ({ key: k, value: formatValue(v) })),
    changes: r.actions.map(changeText),
    changeText: r.actions.map(changeText).join('; '),
    applicable: can.applicable && status === 'open' && !block,
    advice: can.applicable ? undefined : { reason: can.reason ?? '', settings: can.settings, hasActions: r.actions.length > 0 },
    forecast: forecastText(r.lagUnderOneMinuteMs),
    blocked: block ? { until: new Date(block.until).toISOString(), reason: block.reason, operationId: block.operationId } : undefined,
    open: status === 'open',
    status,
    operationId: stored?.state.operationId,
  };
}

/** One line of a diagnosis: time, severity, root cause (with its vertex) and lag status. */
export function diagnosisSummary(d: Diagnosis) {
  return {
    id: d.id,
    created: formatTime(d.createdAt),
    severity: d.severity,
    rootCause: d.rootCause.kind,
    vertex: d.rootCause.vertex,
    confidence: `${Math.round(d.rootCause.confidence * 100)}%`,
    lagStatus: d.lagStatus,
    lagClass: statusClass(d.lagStatus),
  };
}

/** CSS class of an incident's severity badge. */
function severityClass(s: string): string {
  return s === 'critical' || s === 'severe' ? 'err' : s === 'moderate' ? 'warn' : 'unknown';
}

/** An incident as the incident pages and the overview show it; `now` for the duration of an open one. */
export function incidentView(i: Incident, now: number) {
  return {
    id: i.id,
    job_id: i.job_id,
    job_name: i.job_name ?? i.job_id,
    problem: `${i.kind}${i.vertex ? ` at ${i.vertex}` : ''}`,
    kind: i.kind,
    vertex: i.vertex,
    state: i.state,
    stateClass: i.state === 'open' ? 'err' : 'ok',
    severity: i.severity,
    maxSeverity: i.maxSeverity,
    severityClass: severityClass(i.maxSeverity),
    opened: formatTime(i.startedAt),
    resolved: i.resolvedAt === undefined ? '' : formatTime(i.resolvedAt),
    duration: formatDuration((i.resolvedAt ?? now) - i.startedAt),
    diagnoses: i.diagnosisIds.length,
    latestDiagnosisId: i.diagnosisIds.at(-1),
    notifications: i.notifications,
    resolution: i.resolution ?? '',
    resolvedBy: i.resolvedBy,
  };
}

/** An incident's timeline as rows: time, kind, one line of text and a link (diagnosis, operation). */
export function timelineView(events: readonly IncidentEvent[]) {
  return events.map((e) => {
    const base = { at: formatTime(e.at), type: e.type };
    switch (e.type) {
      case 'opened':
      case 'diagnosis':
        return {
          ...base,
          label: e.type === 'opened' ? 'opened' : 'diagnosis',
          text: `${e.severity} · ${e.rootCause}${e.vertex ? ` at ${e.vertex}` : ''} · lag ${e.lagStatus} · ${e.trigger}: ${e.summary}`,
          href: `/diagnoses/${encodeURIComponent(e.diagnosisId)}`,
          link: e.diagnosisId,
        };
      case 'notification':
        return {
          ...base,
          label: 'notification',
          text: `${e.notification} ${e.status === 'queued' ? 'decided' : e.status === 'sent' ? `sent by ${e.channel ?? 'a channel'}` : `not sent by ${e.channel ?? 'a channel'}${e.detail ? `: ${e.detail}` : ''}`}`,
        };
      case 'operation':
        return { ...base, label: 'operation', text: e.summary, href: `/operations/${encodeURIComponent(e.operationId)}`, link: e.operationId };
      case 'resolved':
        return { ...base, label: 'resolved', text: e.reason, ...(e.diagnosisId ? { href: `/diagnoses/${encodeURIComponent(e.diagnosisId)}`, link: e.diagnosisId } : {}) };
    }
  });
}
