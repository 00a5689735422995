/**
 * View models of the pages: plain data the templates render, made from the control plane's shapes
 * (operations, diagnoses, findings, recommendations). Numbers are formatted here; a missing value
 * shows as '–', never as 0.
 */
import type { ControlPlane } from '../../../control-plane/index.ts';
import type { Diagnosis, Finding, Recommendation, TuningAction } from '../../../diagnoser/index.ts';
import { formatDuration, formatTime, formatValue } from '../../../notify/index.ts';
import { blockOf, isTerminalOperationState, type BlockedAction, type Operation } from '../../../tuner/index.ts';

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
  return s === 'OK' || s === 'SUCCEEDED' ? 'ok' : s === 'WARN' || s === 'INEFFECTIVE' ? 'warn' : s === 'UNKNOWN' ? 'unknown' : isTerminalOperationState(s) || s === 'ERR' ? 'err' : 'running';
}

/** A number for a page: grouped, at most `digits` decimals; '–' when missing (null, undefined, NaN). */
export function num(v: number | null | undefined, digits = 0): string {
  if (v === undefined || v === null || !Number.isFinite(v)) return '–';
  return new Intl.NumberFormat('en-US', { maximumFractionDigits: digits }).format(v);
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
    verification: op.verification && {
      effective: op.verification.effective,
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

/** A recommendation with its state: open, applied or dismissed, or not recommended again while blocked. */
export function recView(cp: ControlPlane, r: Recommendation, blocked: readonly BlockedAction[]) {
  const stored = cp.diagnoses.recommendation(r.id);
  const status = stored?.state.status ?? 'open';
  // an action found ineffective on this job lately is not recommended again until its block ends
  const block = status === 'open' ? blockOf(r.actions, blocked) : undefined;
  return {
    id: r.id,
    title: r.title,
    rationale: r.rationale,
    expected: Object.entries(r.expected).map(([k, v]) => ({ key: k, value: formatValue(v) })),
    changes: r.actions.map(changeText),
    changeText: r.actions.map(changeText).join('; '),
    applicable: r.actions.length > 0 && status === 'open' && !block,
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
