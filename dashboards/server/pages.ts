/**
 * The dashboard's HTML pages, rendered server-side with handlebars from the control plane, plus the
 * static assets they need (CSS, client JS, uPlot from node_modules) and the Grafana dashboard.
 *
 * Pages: `/` (overview), `/jobs/:id`, `/diagnoses/:id`, `/operations`, `/operations/:id`, `/login`.
 * View-model JSON the client scripts poll (same shapes the pages render, read from the control plane):
 * `/jobs/:id/charts.json?range=5m|15m|1h`, `/operations/:id.json`.
 * Mutations (apply, dismiss, login, logout) are the API's (`/api/v1/...`, `POST /login`): the pages
 * only post to them with the session's CSRF token (`res.locals.csrfToken`, rendered in a meta tag).
 *
 * CSP: no inline script or style. Scripts are files under `dashboards/public/`; data goes through
 * `data-*` attributes or the JSON above; colours and sizes are SVG presentation attributes.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Request, type Response, type Router } from 'express';
import Handlebars from 'handlebars';
import type { LogEvent } from '../../core/points.ts';
import { errorMessage } from '../../core/errors.ts';
import type { Series } from '../../collector/store/types.ts';
import { evaluateGroupLag, lagInputsFromSeries } from '../../diagnoser/index.ts';
import type { Diagnosis, Finding, GroupLagStatus, Recommendation, TuningAction } from '../../diagnoser/types.ts';
import type { ManagedJob } from '../../tuner/catalog.ts';
import type { Operation, OperationState } from '../../tuner/types.ts';
import { blockOf, type BlockedAction } from '../../tuner/policy.ts';
import { formatDuration, formatTime, formatValue } from '../notify/render.ts';
import type { ControlPlane } from './control-plane.ts';
import { TtlCache } from './api.ts';
import { grafanaDashboard } from '../grafana.ts';

/** Options of {@link createPagesRouter}. */
export interface PagesOptions {
  /** Public root of the dashboard, e.g. 'http://127.0.0.1:8080'; used for absolute links. */
  baseUrl: string;
  /** Templates directory. Default `dashboards/templates/pages/`. */
  templatesDir?: string;
  /** Static assets directory served under `/assets/`. Default `dashboards/public/`. */
  publicDir?: string;
  /** ms a job's lag, throughput, load and chart reads are reused across requests (many browsers
   * polling one job cost one set of store reads). Default 1,000; 0 disables. */
  cacheTtlMs?: number;
}

const DEFAULT_TEMPLATES = fileURLToPath(new URL('../templates/pages/', import.meta.url));
const DEFAULT_PUBLIC = fileURLToPath(new URL('../public/', import.meta.url));

/** Directory of uPlot's browser builds (`node_modules/uplot/dist`). */
export function uplotDistDir(): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve('uplot'));
}

/** Chart ranges the job page offers, ms, with the step used for each (ms). */
export const RANGES: Record<string, { ms: number; stepMs: number }> = {
  '5m': { ms: 5 * 60_000, stepMs: 5_000 },
  '15m': { ms: 15 * 60_000, stepMs: 10_000 },
  '1h': { ms: 60 * 60_000, stepMs: 30_000 },
};

const TERMINAL: ReadonlySet<OperationState> = new Set(['SUCCEEDED', 'FAILED', 'ROLLED_BACK', 'INEFFECTIVE']);

/** A tuning action as the confirmation shows it, e.g. 'enrich: parallelism 1 → 4'. */
export function changeText(a: TuningAction): string {
  switch (a.type) {
    case 'set-parallelism':
      return `${a.vertex}: parallelism ${a.from} → ${a.to}`;
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

/** Lag of one job's consumer group now, in records and seconds, with Burrow's group status. */
export interface LagNow {
  status: GroupLagStatus | 'UNKNOWN';
  /** records */
  records?: number;
  /** s */
  seconds?: number;
  /** true when `seconds` is a lower bound (shown as "≥") */
  secondsLowerBound?: boolean;
  partitions: Array<{ topic: string; partition: number; lag: number; status: string }>;
}

/** Per-vertex load over the last minute, for the job graph. */
export interface VertexLoad {
  name: string;
  parallelism: number;
  inputs: string[];
  /** ms/s, mean over subtasks */
  busy?: number;
  /** ms/s, mean over subtasks */
  backPressured?: number;
  /** per subtask index: records in (counter, latest) and busy ms/s (mean) */
  subtasks: Array<{ index: number; recordsIn?: number; busy?: number }>;
}

const SOURCE_WINDOW_MS = 60_000;

function vertexName(v: { id: string; name?: string }): string {
  return v.name ?? v.id;
}

function sourceNames(job: ManagedJob): string[] {
  return job.topology.filter((v) => v.inputs.length === 0).map(vertexName);
}

function lastPoint(series: Series[]): number | undefined {
  let best: { t: number; v: number } | undefined;
  for (const s of series) for (const p of s.points) if (!best || p.t >= best.t) best = p;
  return best?.v;
}

/** Reads the group's lag now (last 5 min of raw samples) and evaluates it with Burrow's rules. */
export async function lagNow(cp: ControlPlane, job: ManagedJob, now: number): Promise<LagNow> {
  const group = job.consumerGroup;
  if (!group) return { status: 'UNKNOWN', partitions: [] };
  const start = now - 5 * 60_000;
  const q = (measurement: string): Promise<Series[]> =>
    cp.store.query({ measurement, field: 'value', start, end: now, where: { group }, groupBy: ['topic', 'partition'] });
  const [committedOffset, lag, logEndOffset, lagSeconds, lagSecondsLowerBound] = await Promise.all([
    q('streamtune_kafka_partition_committedOffset'),
    q('streamtune_kafka_partition_lag'),
    q('streamtune_kafka_partition_logEndOffset'),
    q('streamtune_kafka_partition_lagSeconds'),
    cp.store.query({ measurement: 'streamtune_kafka_partition_lagSeconds', field: 'lowerBound', start, end: now, where: { group }, groupBy: ['topic', 'partition'] }),
  ]);
  if (lag.length === 0 && committedOffset.length === 0) return { status: 'UNKNOWN', partitions: [] };
  const evaluated = evaluateGroupLag(lagInputsFromSeries({ committedOffset, lag, logEndOffset, lagSeconds, lagSecondsLowerBound }), { now });
  let seconds: number | undefined;
  for (const s of lagSeconds) {
    const v = s.points.at(-1)?.v;
    if (v !== undefined && (seconds === undefined || v > seconds)) seconds = v;
  }
  const latestLag = lag.map((s) => ({ tags: s.tags, v: s.points.at(-1)?.v ?? 0 }));
  const records = latestLag.length ? latestLag.reduce((a, b) => a + b.v, 0) : evaluated.totalLag;
  return {
    status: evaluated.status,
    records,
    seconds,
    secondsLowerBound: evaluated.partitions.some((p) => p.lagSecondsLowerBound && p.lagSeconds === seconds),
    partitions: evaluated.partitions.map((p) => ({
      topic: p.topic,
      partition: p.partition,
      lag: latestLag.find((l) => l.tags.topic === p.topic && Number(l.tags.partition) === p.partition)?.v ?? p.currentLag,
      status: p.status,
    })),
  };
}

/** records/s read by the job's sources over the last minute (sum over subtasks), or undefined. */
export async function throughputNow(cp: ControlPlane, job: ManagedJob, now: number): Promise<number | undefined> {
  const sources = sourceNames(job);
  if (!sources.length) return undefined;
  const series = await cp.store.query({
    measurement: 'taskmanager_job_task_numRecordsOut',
    field: 'count',
    start: now - SOURCE_WINDOW_MS,
    end: now,
    where: { job_id: job.job_id, task_name: sources },
    groupBy: ['task_name'],
    window: SOURCE_WINDOW_MS,
    aggregate: 'rate',
  });
  if (!series.length) return undefined;
  // the last window of each source, summed
  return series.reduce((sum, s) => sum + (s.points.at(-1)?.v ?? 0), 0);
}

/** Busy and backpressured time per vertex and per subtask over the last minute. */
export async function vertexLoads(cp: ControlPlane, job: ManagedJob, now: number): Promise<VertexLoad[]> {
  const start = now - SOURCE_WINDOW_MS;
  const byTaskSubtask = async (measurement: string, field: string, aggregate: 'mean' | 'last'): Promise<Series[]> =>
    cp.store.query({
      measurement,
      field,
      start,
      end: now,
      where: { job_id: job.job_id },
      groupBy: ['task_name', 'subtask_index'],
      window: SOURCE_WINDOW_MS * 2,
      aggregate,
    });
  const [busy, bp, recIn] = await Promise.all([
    byTaskSubtask('taskmanager_job_task_busyTimeMsPerSecond', 'value', 'mean'),
    byTaskSubtask('taskmanager_job_task_backPressuredTimeMsPerSecond', 'value', 'mean'),
    byTaskSubtask('taskmanager_job_task_numRecordsIn', 'count', 'last'),
  ]);
  const pick = (list: Series[], name: string, idx: number): number | undefined => {
    const s = list.find((x) => x.tags.task_name === name && Number(x.tags.subtask_index) === idx);
    return s?.points.at(-1)?.v;
  };
  const mean = (xs: Array<number | undefined>): number | undefined => {
    const ys = xs.filter((x): x is number => x !== undefined);
    return ys.length ? ys.reduce((a, b) => a + b, 0) / ys.length : undefined;
  };
  return job.topology.map((v) => {
    const name = vertexName(v);
    const p = v.parallelism ?? 1;
    const subtasks = Array.from({ length: p }, (_, index) => ({ index, recordsIn: pick(recIn, name, index), busy: pick(busy, name, index) }));
    const bpAll = Array.from({ length: p }, (_, i) => pick(bp, name, i));
    const inputs = v.inputs.map((id) => {
      const up = job.topology.find((u) => u.id === id);
      return up ? vertexName(up) : id;
    });
    return { name, parallelism: p, inputs, busy: mean(subtasks.map((s) => s.busy)), backPressured: mean(bpAll), subtasks };
  });
}

/** Chart data of the job page: aligned time axis (s, for uPlot) and the series. */
export interface JobCharts {
  range: string;
  from: number;
  to: number;
  stepMs: number;
  lag: { t: number[]; total: Array<number | null>; seconds: Array<number | null>; partitions: Array<{ label: string; values: Array<number | null> }> };
  throughput: { t: number[]; values: Array<number | null> };
}

function align(series: Array<Array<{ t: number; v: number }>>): { t: number[]; cols: Array<Array<number | null>> } {
  const ts = new Set<number>();
  for (const s of series) for (const p of s) ts.add(p.t);
  const t = [...ts].sort((a, b) => a - b);
  const index = new Map(t.map((x, i) => [x, i]));
  const cols = series.map((s) => {
    const col: Array<number | null> = new Array<number | null>(t.length).fill(null);
    for (const p of s) col[index.get(p.t)!] = p.v;
    return col;
  });
  return { t: t.map((x) => x / 1000), cols };
}

function sumSeries(list: Series[]): Array<{ t: number; v: number }> {
  const m = new Map<number, number>();
  for (const s of list) for (const p of s.points) m.set(p.t, (m.get(p.t) ?? 0) + p.v);
  return [...m.entries()].sort((a, b) => a[0] - b[0]).map(([t, v]) => ({ t, v }));
}

/** Lag (total, per partition, seconds) and source throughput of a job over `range` ending at `now`. */
export async function jobCharts(cp: ControlPlane, job: ManagedJob, range: string, now: number): Promise<JobCharts> {
  const r = RANGES[range] ?? RANGES['5m']!;
  const from = now - r.ms;
  const group = job.consumerGroup;
  const win = { start: from, end: now, window: r.stepMs } as const;
  const empty: Series[] = [];
  const [partLag, secs, thr] = await Promise.all([
    group
      ? cp.store.query({ measurement: 'streamtune_kafka_partition_lag', field: 'value', where: { group }, groupBy: ['topic', 'partition'], aggregate: 'last', ...win })
      : Promise.resolve(empty),
    group
      ? cp.store.query({ measurement: 'streamtune_kafka_partition_lagSeconds', field: 'value', where: { group }, groupBy: ['topic', 'partition'], aggregate: 'last', ...win })
      : Promise.resolve(empty),
    sourceNames(job).length
      ? cp.store.query({
          measurement: 'taskmanager_job_task_numRecordsOut',
          field: 'count',
          where: { job_id: job.job_id, task_name: sourceNames(job) },
          groupBy: ['task_name'],
          aggregate: 'rate',
          ...win,
        })
      : Promise.resolve(empty),
  ]);
  partLag.sort((a, b) => (a.tags.topic ?? '').localeCompare(b.tags.topic ?? '') || Number(a.tags.partition) - Number(b.tags.partition));
  const total = sumSeries(partLag);
  const maxSecs = new Map<number, number>();
  for (const s of secs) for (const p of s.points) maxSecs.set(p.t, Math.max(maxSecs.get(p.t) ?? 0, p.v));
  const secsPts = [...maxSecs.entries()].sort((a, b) => a[0] - b[0]).map(([t, v]) => ({ t, v }));
  const lagAligned = align([total, secsPts, ...partLag.map((s) => s.points)]);
  const thrAligned = align([sumSeries(thr)]);
  return {
    range: RANGES[range] ? range : '5m',
    from,
    to: now,
    stepMs: r.stepMs,
    lag: {
      t: lagAligned.t,
      total: lagAligned.cols[0]!,
      seconds: lagAligned.cols[1]!,
      partitions: partLag.map((s, i) => ({ label: `${s.tags.topic}/${s.tags.partition}`, values: lagAligned.cols[i + 2]! })),
    },
    throughput: { t: thrAligned.t, values: thrAligned.cols[0]! },
  };
}

// ---- SVG pieces (server-rendered; presentation attributes, no style attributes) ----

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Fill colour of a vertex: red by busy time, grey-blue by backpressured time (Flink's web UI idea). */
export function vertexColor(busy: number | undefined, bp: number | undefined): string {
  if (busy === undefined && bp === undefined) return '#e8e8e8';
  const b = Math.min(1, Math.max(0, (busy ?? 0) / 1000));
  const p = Math.min(1, Math.max(0, (bp ?? 0) / 1000));
  if (p > b) {
    const l = Math.round(92 - 52 * p);
    return `hsl(220, 15%, ${l}%)`;
  }
  const l = Math.round(95 - 45 * b);
  return `hsl(0, ${Math.round(30 + 60 * b)}%, ${l}%)`;
}

function pct(msPerS: number | undefined): string {
  return msPerS === undefined ? '–' : `${Math.round(msPerS / 10)}%`;
}

/** The job graph as SVG: vertices in layers from the sources, coloured by busy/backpressured time. */
export function jobGraphSvg(loads: VertexLoad[]): string {
  const depth = new Map<string, number>();
  const d = (name: string, seen = new Set<string>()): number => {
    if (depth.has(name)) return depth.get(name)!;
    if (seen.has(name)) return 0;
    seen.add(name);
    const v = loads.find((x) => x.name === name);
    const r = !v || v.inputs.length === 0 ? 0 : 1 + Math.max(...v.inputs.map((i) => d(i, seen)));
    depth.set(name, r);
    return r;
  };
  for (const v of loads) d(v.name);
  const layers: string[][] = [];
  for (const v of loads) (layers[depth.get(v.name)!] ??= []).push(v.name);
  const W = 190, H = 78, GX = 50, GY = 20;
  const pos = new Map<string, { x: number; y: number }>();
  layers.forEach((names, li) => names.forEach((n, i) => pos.set(n, { x: 10 + li * (W + GX), y: 10 + i * (H + GY) })));
  const width = 20 + layers.length * (W + GX) - GX;
  const height = 20 + Math.max(1, ...layers.map((l) => l.length)) * (H + GY) - GY;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" class="job-graph" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="job graph">`);
  parts.push('<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>');
  for (const v of loads) {
    const to = pos.get(v.name)!;
    for (const i of v.inputs) {
      const from = pos.get(i);
      if (!from) continue;
      parts.push(`<line x1="${from.x + W}" y1="${from.y + H / 2}" x2="${to.x}" y2="${to.y + H / 2}" stroke="#555" stroke-width="1.5" marker-end="url(#arrow)"/>`);
    }
  }
  for (const v of loads) {
    const { x, y } = pos.get(v.name)!;
    parts.push(
      `<g class="vertex" data-vertex="${esc(v.name)}" data-parallelism="${v.parallelism}" data-busy="${v.busy === undefined ? '' : Math.round(v.busy)}" data-backpressured="${v.backPressured === undefined ? '' : Math.round(v.backPressured)}">` +
        `<rect x="${x}" y="${y}" width="${W}" height="${H}" rx="6" fill="${vertexColor(v.busy, v.backPressured)}" stroke="#333"/>` +
        `<text x="${x + 10}" y="${y + 22}" font-weight="bold">${esc(v.name)}</text>` +
        `<text x="${x + 10}" y="${y + 43}">parallelism ${v.parallelism}</text>` +
        `<text x="${x + 10}" y="${y + 64}">busy ${pct(v.busy)} · backpressured ${pct(v.backPressured)}</text>` +
        `<title>${esc(v.name)}: parallelism ${v.parallelism}, busy ${pct(v.busy)}, backpressured ${pct(v.backPressured)}</title></g>`,
    );
  }
  parts.push('</svg>');
  return parts.join('');
}

/** Horizontal bars, one per subtask, scaled to the largest; skew shows as one long bar. */
export function subtaskBarsSvg(values: Array<{ index: number; value?: number }>, unit: string, max?: number): string {
  const W = 320, ROW = 18, LABEL = 34;
  const top = max ?? Math.max(1, ...values.map((v) => v.value ?? 0));
  const height = values.length * ROW + 4;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" class="bars" width="${W + LABEL + 110}" height="${height}" role="img">`];
  values.forEach((v, i) => {
    const w = v.value === undefined ? 0 : Math.max(1, Math.round((Math.min(v.value, top) / top) * W));
    const y = 2 + i * ROW;
    parts.push(
      `<g class="bar" data-subtask="${v.index}" data-value="${v.value === undefined ? '' : Math.round(v.value)}">` +
        `<text x="0" y="${y + 13}">#${v.index}</text>` +
        `<rect x="${LABEL}" y="${y}" width="${w}" height="${ROW - 4}" fill="#4a78c2"/>` +
        `<text x="${LABEL + w + 6}" y="${y + 13}">${v.value === undefined ? '–' : esc(formatValue(Math.round(v.value)))} ${esc(unit)}</text></g>`,
    );
  });
  parts.push('</svg>');
  return parts.join('');
}

// ---- view models ----

function statusClass(s: string): string {
  return s === 'OK' || s === 'SUCCEEDED' ? 'ok' : s === 'WARN' || s === 'INEFFECTIVE' ? 'warn' : s === 'UNKNOWN' ? 'unknown' : TERMINAL.has(s as OperationState) || s === 'ERR' ? 'err' : 'running';
}

function num(v: number | undefined, digits = 0): string {
  if (v === undefined || !Number.isFinite(v)) return '–';
  return new Intl.NumberFormat('en-US', { maximumFractionDigits: digits }).format(v);
}

function opView(op: Operation) {
  return {
    id: op.id,
    job_id: op.job_id,
    job_name: op.job_name ?? op.job_id,
    state: op.state,
    stateClass: statusClass(op.state),
    terminal: TERMINAL.has(op.state),
    origin: op.origin,
    changes: op.actions.map(changeText),
    created: formatTime(op.createdAt),
    finished: op.finishedAt === undefined ? '' : formatTime(op.finishedAt),
    downtime: op.downtimeMs === undefined ? '–' : formatDuration(op.downtimeMs),
    savepointPath: op.savepointPath,
    diagnosisId: op.diagnosisId,
    error: op.error,
    steps: op.steps.map((s) => ({
      name: s.name,
      status: s.status,
      started: formatTime(s.startedAt),
      took: s.finishedAt === undefined ? '' : formatDuration(s.finishedAt - s.startedAt),
      message: s.message ?? '',
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
function evidenceView(f: Finding) {
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
      let s = typeof value === 'number' ? formatValue(value) : formatValue(value);
      if (s.length > 300) s = `${s.slice(0, 300)}…`;
      rows.push({ key, value: s });
    }
  }
  return { rows, charts, tables };
}

function recView(cp: ControlPlane, r: Recommendation, blocked: readonly BlockedAction[]) {
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

function diagnosisSummary(d: Diagnosis) {
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

function openDiagnoses(cp: ControlPlane, jobId: string): Diagnosis[] {
  return cp.diagnoses
    .list({ job_id: jobId, limit: 50 })
    .filter((d) => d.recommendations.some((r) => (cp.diagnoses.recommendation(r.id)?.state.status ?? 'open') === 'open') || (d.rootCause.kind !== 'healthy' && d.rootCause.kind !== 'insufficient-data' && d.recommendations.length === 0 && d.findings.length > 0));
}

// ---- router ----

type Templates = { render(name: string, ctx: Record<string, unknown>): string };

function loadTemplates(dir: string): Templates {
  const hb = Handlebars.create();
  hb.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  const partialsDir = join(dir, 'partials');
  for (const f of readdirSync(partialsDir)) {
    if (f.endsWith('.hbs')) hb.registerPartial(f.slice(0, -4), readFileSync(join(partialsDir, f), 'utf8'));
  }
  const layout = hb.compile(readFileSync(join(dir, 'layout.hbs'), 'utf8'));
  const cache = new Map<string, Handlebars.TemplateDelegate>();
  return {
    render(name, ctx) {
      let t = cache.get(name);
      if (!t) {
        t = hb.compile(readFileSync(join(dir, `${name}.hbs`), 'utf8'));
        cache.set(name, t);
      }
      return layout({ ...ctx, body: new hb.SafeString(t(ctx)) });
    },
  };
}

/**
 * The pages router, to mount at `/` after the session middleware (which sets `res.locals.csrfToken`
 * and `res.locals.loggedIn`). Unknown job, diagnosis and operation ids, and any other path a browser GETs (it accepts HTML, not under /api/), render the HTML 404 page.
 * Errors from the control plane other than unknown ids go to express' error handler.
 */
export function createPagesRouter(cp: ControlPlane, opts: PagesOptions): Router {
  const templates = loadTemplates(opts.templatesDir ?? DEFAULT_TEMPLATES);
  const log = cp.logger.namespace('pages');
  const router = express.Router();
  const baseUrl = opts.baseUrl.replace(/\/+$/, '');
  const ttl = opts.cacheTtlMs ?? 1000;
  const cache = new TtlCache<unknown>(ttl);
  const cached = <T>(key: string, load: () => Promise<T>): Promise<T> => (ttl > 0 ? (cache.get(key, load) as Promise<T>) : load());

  router.use('/assets/uplot', express.static(uplotDistDir(), { index: false, maxAge: '1h' }));
  router.use('/assets', express.static(opts.publicDir ?? DEFAULT_PUBLIC, { index: false }));

  const page = (res: Response, name: string, title: string, ctx: Record<string, unknown>, status = 200): void => {
    res
      .status(status)
      .type('html')
      .send(
        templates.render(name, {
          ...ctx,
          title,
          baseUrl,
          csrfToken: typeof res.locals.csrfToken === 'string' ? res.locals.csrfToken : '',
          loggedIn: res.locals.loggedIn === true,
        }),
      );
  };
  const notFound = (res: Response, what: string): void => page(res, 'not-found', 'Not found', { what }, 404);

  router.get('/', async (_req, res) => {
    const now = cp.now();
    const jobs = await Promise.all(
      cp.jobs.list().map(async (job) => {
        const [lag, thr] = await Promise.all([
          cached(`lag:${job.job_id}`, () => lagNow(cp, job, now)).catch((err: unknown) => {
            log.warn('lag read failed', { job_id: job.job_id, error: errorMessage(err) });
            return { status: 'UNKNOWN', partitions: [] } as LagNow;
          }),
          cached(`thr:${job.job_id}`, () => throughputNow(cp, job, now)).catch(() => undefined),
        ]);
        const open = openDiagnoses(cp, job.job_id);
        const lastOp = cp.tuner.operations({ job_id: job.job_id, limit: 1 })[0];
        return {
          id: job.job_id,
          name: job.name,
          state: job.state,
          lagStatus: lag.status,
          lagClass: statusClass(lag.status),
          lagRecords: num(lag.records),
          lagSeconds: num(lag.seconds, 1),
          lagSecondsLowerBound: lag.secondsLowerBound === true,
          throughput: num(thr),
          openDiagnoses: open.length,
          latestDiagnosis: open[0] && diagnosisSummary(open[0]),
          lastOp: lastOp && opView(lastOp),
        };
      }),
    );
    page(res, 'overview', 'Jobs', { jobs });
  });

  router.get('/jobs/:id/charts.json', async (req: Request<{ id: string }>, res) => {
    const job = cp.jobs.get(req.params.id);
    if (!job) {
      res.status(404).json({ error: { code: 'NOT_FOUND', message: `unknown job ${req.params.id}` } });
      return;
    }
    const range = typeof req.query.range === 'string' ? req.query.range : '5m';
    res.json(await cached(`charts:${job.job_id}:${range}`, () => jobCharts(cp, job, range, cp.now())));
  });

  router.get('/jobs/:id', async (req: Request<{ id: string }>, res) => {
    const job = cp.jobs.get(req.params.id);
    if (!job) return notFound(res, `job ${req.params.id}`);
    const now = cp.now();
    const range = typeof req.query.range === 'string' && RANGES[req.query.range] ? req.query.range : '5m';
    const [lag, thr, loads, logs] = await Promise.all([
      cached(`lag:${job.job_id}`, () => lagNow(cp, job, now)).catch(() => ({ status: 'UNKNOWN', partitions: [] }) as LagNow),
      cached(`thr:${job.job_id}`, () => throughputNow(cp, job, now)).catch(() => undefined),
      cached(`loads:${job.job_id}`, () => vertexLoads(cp, job, now)).catch(() => [] as VertexLoad[]),
      cp.store.queryLogs({ job_id: job.job_id, start: now - 24 * 3600_000, end: now, level: 'warn', limit: 20 }).catch(() => [] as LogEvent[]),
    ]);
    const checkpoints = cp.tuner.snapshots(job.job_id).slice(0, 20).map((s) => ({
      kind: s.kind,
      path: s.path,
      completed: formatTime(s.completedAt),
      size: s.sizeBytes === undefined ? '–' : `${num(s.sizeBytes / 1024, 1)} KiB`,
      operationId: s.operationId,
    }));
    const cpStats = await Promise.all(
      ['numberOfCompletedCheckpoints', 'numberOfFailedCheckpoints', 'lastCheckpointDuration', 'lastCheckpointSize'].map((m) =>
        cp.store
          .query({ measurement: `jobmanager_job_${m}`, field: 'value', start: now - 10 * 60_000, end: now, where: { job_id: job.job_id } })
          .then(lastPoint)
          .catch(() => undefined),
      ),
    );
    const skew = loads
      .filter((v) => v.subtasks.length > 0)
      .map((v) => {
        const recs = v.subtasks.map((s) => s.recordsIn ?? 0);
        const mean = recs.reduce((a, b) => a + b, 0) / Math.max(1, recs.length);
        const max = Math.max(0, ...recs);
        return {
          name: v.name,
          parallelism: v.parallelism,
          ratio: mean > 0 ? (max / mean).toFixed(2) : '–',
          skewed: mean > 0 && v.parallelism > 1 && max / mean > 1.5,
          recordsSvg: new Handlebars.SafeString(subtaskBarsSvg(v.subtasks.map((s) => ({ index: s.index, value: s.recordsIn })), 'records')),
          busySvg: new Handlebars.SafeString(subtaskBarsSvg(v.subtasks.map((s) => ({ index: s.index, value: s.busy })), 'ms/s', 1000)),
        };
      });
    page(res, 'job', job.name, {
      job: { id: job.job_id, name: job.name, state: job.state, executor: job.executor, consumerGroup: job.consumerGroup ?? '–', started: job.startedAt ? formatTime(job.startedAt) : '–' },
      lag: { status: lag.status, cls: statusClass(lag.status), records: num(lag.records), seconds: num(lag.seconds, 1), partitions: lag.partitions.map((p) => ({ ...p, lag: num(p.lag), cls: statusClass(p.status === 'OK' ? 'OK' : p.status === 'WARN' ? 'WARN' : 'ERR') })) },
      throughput: num(thr),
      range,
      ranges: Object.keys(RANGES).map((r) => ({ key: r, active: r === range })),
      chartsUrl: `/jobs/${encodeURIComponent(job.job_id)}/charts.json`,
      graphSvg: new Handlebars.SafeString(jobGraphSvg(loads)),
      skew,
      checkpoints,
      checkpointStats: { completed: num(cpStats[0]), failed: num(cpStats[1]), lastDuration: cpStats[2] === undefined ? '–' : formatDuration(cpStats[2]), lastSize: cpStats[3] === undefined ? '–' : `${num(cpStats[3] / 1024, 1)} KiB` },
      exceptions: logs.map((e) => ({ time: formatTime(e.timestamp), level: e.level, vertex: e.vertex ?? '', subtask: e.subtask_index ?? '', cls: e.exception_class ?? '', message: e.message })),
      diagnoses: cp.diagnoses.list({ job_id: job.job_id, limit: 10 }).map(diagnosisSummary),
      operations: cp.tuner.operations({ job_id: job.job_id, limit: 10 }).map(opView),
    });
  });

  router.get('/diagnoses/:id', (req: Request<{ id: string }>, res) => {
    const d = cp.diagnoses.get(req.params.id);
    if (!d) return notFound(res, `diagnosis ${req.params.id}`);
    const blocked = cp.tuner.blocked(d.job_id);
    page(res, 'diagnosis', `Diagnosis of ${d.job_name ?? d.job_id}`, {
      d: {
        ...diagnosisSummary(d),
        job_id: d.job_id,
        job_name: d.job_name ?? d.job_id,
        window: `${formatTime(d.windowStart)} – ${formatTime(d.windowEnd)}`,
        trigger: d.trigger.type === 'alert' ? `alert ${d.trigger.ruleId}` : d.trigger.type,
        explanation: d.rootCause.explanation,
      },
      findings: d.findings.map((f) => ({ ...f, vertex: f.vertex ?? '', ...evidenceView(f) })),
      recommendations: d.recommendations.map((r) => recView(cp, r, blocked)),
    });
  });

  router.get('/operations', (req, res) => {
    const job = typeof req.query.job === 'string' ? req.query.job : undefined;
    page(res, 'operations', 'Operations', { operations: cp.tuner.operations({ job_id: job, limit: 200 }).map(opView), job });
  });

  router.get('/operations/:id.json', (req: Request<{ id: string }>, res) => {
    const op = cp.tuner.operation(req.params.id);
    if (!op) {
      res.status(404).json({ error: { code: 'NOT_FOUND', message: `unknown operation ${req.params.id}` } });
      return;
    }
    res.json(opView(op));
  });

  router.get('/operations/:id', (req: Request<{ id: string }>, res) => {
    const op = cp.tuner.operation(req.params.id);
    if (!op) return notFound(res, `operation ${req.params.id}`);
    page(res, 'operation', `Operation ${op.id}`, { op: opView(op) });
  });

  router.get('/login', (req, res) => {
    page(res, 'login', 'Log in', { failed: req.query.error !== undefined, next: typeof req.query.next === 'string' && req.query.next.startsWith('/') && !req.query.next.startsWith('//') ? req.query.next : '/' });
  });

  router.get('/grafana/streamtune-lag.json', (_req, res) => {
    res.attachment('streamtune-lag.json').type('application/json').send(JSON.stringify(grafanaDashboard(), null, 2));
  });

  // Any other GET a browser makes (it accepts HTML) gets the HTML 404 page; API paths and clients
  // asking for JSON fall through to the app's JSON 404.
  router.get('/*path', (req, res, next) => {
    if (req.path.startsWith('/api/') || req.accepts(['json', 'html']) !== 'html') return next();
    notFound(res, `page ${req.path}`);
  });

  return router;
}
