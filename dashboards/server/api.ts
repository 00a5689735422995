/**
 * The JSON REST API under `/api/v1` (express 5 router). Handlers are thin: they validate parameters
 * (a bad one is a 400 naming it), call the control plane and answer JSON; every error goes through
 * the one error handler (`http-error.ts`). Reads are open; the app puts the mutation guard
 * (`auth.ts`) in front of this router, so every POST here needs the API token or a session + CSRF.
 *
 * Times are ms since epoch in and out; query times also accept ISO 8601 dates and `now-15m`-style
 * relative times. Lag is in records and seconds; throughput in records/s; busy and backpressured time
 * in ms/s (Flink's units, docs/METRICS.md).
 */
import express, { type Request, type Router } from 'express';
import { Ajv } from 'ajv';
import { stringify as yamlStringify } from 'yaml';
import type { Series } from '../../collector/store/types.ts';
import { StreamtuneError } from '../../core/errors.ts';
import type { LogEvent } from '../../core/points.ts';
import type { Diagnosis, GroupLagStatus, TuningAction } from '../../diagnoser/types.ts';
import type { ManagedJob } from '../../tuner/catalog.ts';
import type { Operation } from '../../tuner/types.ts';
import { blockOf } from '../../tuner/policy.ts';
import type { ControlPlane } from './control-plane.ts';
import { HttpError } from './http-error.ts';
import { prepareJsonCompressed, sendPrepared, type PreparedJson } from './prepared.ts';
import type { FastReads } from './fast-reads.ts';

/** Lag of a job now, from the store (the collector's latest sample). */
export interface LagNow {
  /** Burrow group status: the latest diagnosis' (since the job's current execution started), 'OK'
   * when nothing lags, else 'UNKNOWN' */
  status: GroupLagStatus | 'UNKNOWN';
  /** records: sum of partition lags; null when never sampled */
  records: number | null;
  /** s: age of the oldest unconsumed record, largest partition; null when never sampled */
  seconds: number | null;
  /** true when `seconds` is a lower bound (the record is older than the collector's first sample): show "≥" */
  secondsLowerBound: boolean;
  /** ms since epoch of the sample; null when never sampled */
  at: number | null;
}

/** One row of the overview: `GET /api/v1/jobs`. */
export interface JobSummary {
  job_id: string;
  name: string;
  executor: ManagedJob['executor'];
  state: ManagedJob['state'];
  consumerGroup?: string;
  /** vertex name → parallelism */
  parallelism: Record<string, number>;
  /** ms since epoch when the current execution started */
  startedAt?: number;
  lag: LagNow;
  /** records/s out of the sources (latest sample, summed over subtasks); null when unknown */
  throughput: number | null;
  /** diagnoses of the last 24 h with trouble whose recommendations are not all applied or dismissed */
  openDiagnoses: number;
  latestDiagnosis?: { id: string; severity: Diagnosis['severity']; rootCause: Diagnosis['rootCause']['kind']; createdAt: number; lagStatus: Diagnosis['lagStatus'] };
  lastOperation?: { id: string; state: Operation['state']; createdAt: number; finishedAt?: number; origin: Operation['origin'] };
}

/** Series of `GET /api/v1/jobs/:id/lag`. */
export interface LagSeries {
  job_id: string;
  group: string | null;
  from: number;
  to: number;
  /** ms between points */
  step: number;
  total: { records: Array<{ t: number; v: number }>; seconds: Array<{ t: number; v: number }> };
  partitions: Array<{ topic: string; partition: number; records: Array<{ t: number; v: number }>; seconds: Array<{ t: number; v: number }> }>;
}

/** The metrics `GET /jobs/:id/metrics?metric=` serves: measurement, field, per-subtask window aggregate,
 * and how subtasks combine into a vertex (`sum` for rates, `mean` for time shares). */
export const JOB_METRICS: Record<string, { measurement: string; field: string; unit: string; combine: 'sum' | 'mean' | 'max' }> = {
  busy: { measurement: 'taskmanager_job_task_busyTimeMsPerSecond', field: 'value', unit: 'ms/s', combine: 'mean' },
  backpressured: { measurement: 'taskmanager_job_task_backPressuredTimeMsPerSecond', field: 'value', unit: 'ms/s', combine: 'mean' },
  idle: { measurement: 'taskmanager_job_task_idleTimeMsPerSecond', field: 'value', unit: 'ms/s', combine: 'mean' },
  recordsInPerSecond: { measurement: 'taskmanager_job_task_numRecordsInPerSecond', field: 'rate', unit: 'records/s', combine: 'sum' },
  recordsOutPerSecond: { measurement: 'taskmanager_job_task_numRecordsOutPerSecond', field: 'rate', unit: 'records/s', combine: 'sum' },
  pendingRecords: { measurement: 'taskmanager_job_task_operator_pendingRecords', field: 'value', unit: 'records', combine: 'sum' },
  watermark: { measurement: 'taskmanager_job_task_currentInputWatermark', field: 'value', unit: 'ms', combine: 'max' },
};

const MAX_POINTS = 5000;

/** A time query parameter: ms epoch, ISO 8601, `now` or `now-15m` (units ms, s, m, h, d). */
export function parseTime(field: string, v: unknown, def: number, now: number): number {
  if (v === undefined || v === '') return def;
  if (typeof v !== 'string') throw HttpError.badRequest(field, `${field} must be one value`);
  if (/^[0-9]+$/.test(v)) return Number(v);
  const rel = /^now(?:-([0-9]+)(ms|s|m|h|d))?$/.exec(v);
  if (rel) return rel[1] ? now - Number(rel[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2] as 'ms'] : now;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw HttpError.badRequest(field, `${field} must be ms since epoch, an ISO 8601 date or now-<n><ms|s|m|h|d>, got "${v}"`);
  return t;
}

/** A positive integer query parameter within [min, max]. */
function parseInt(field: string, v: unknown, def: number, min: number, max: number): number {
  if (v === undefined || v === '') return def;
  if (typeof v !== 'string' || !/^[0-9]+$/.test(v)) throw HttpError.badRequest(field, `${field} must be an integer, got "${String(v)}"`);
  const n = Number(v);
  if (n < min || n > max) throw HttpError.badRequest(field, `${field} must be between ${min} and ${max}, got ${n}`);
  return n;
}

/** A duration query parameter: ms, or `15s`-style. */
function parseStep(field: string, v: unknown): number | undefined {
  if (v === undefined || v === '') return undefined;
  const m = typeof v === 'string' ? /^([0-9]+)(ms|s|m|h)?$/.exec(v) : null;
  if (!m) throw HttpError.badRequest(field, `${field} must be ms or like 10s, 1m, got "${String(v)}"`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 'ms') as 'ms'];
}

/** Range [from, to] and step of a series query; 400 naming the field when out of bounds. */
export function parseRange(q: Request['query'], now: number, defaultSpanMs = 15 * 60_000, minStepMs = 1000): { from: number; to: number; step: number } {
  const to = parseTime('to', q.to, now, now);
  const from = parseTime('from', q.from, to - defaultSpanMs, now);
  if (from >= to) throw HttpError.badRequest('from', `from (${from}) must be before to (${to})`);
  let step = parseStep('step', q.step);
  if (step === undefined) step = Math.max(minStepMs, Math.ceil((to - from) / 300 / 1000) * 1000);
  if (step < 1000) throw HttpError.badRequest('step', `step must be at least 1000 ms, got ${step}`);
  if ((to - from) / step > MAX_POINTS) throw HttpError.badRequest('step', `step too small: at most ${MAX_POINTS} points per series ((to - from) / step = ${Math.ceil((to - from) / step)})`);
  return { from, to, step };
}

/** True when a range query is relative to now: `from` and `to` are each absent or `now[-<n><unit>]`. */
function relative(q: Request['query']): boolean {
  const rel = (v: unknown) => v === undefined || v === '' || (typeof v === 'string' && /^now/.test(v));
  return rel(q.from) && rel(q.to);
}

/** One entry of {@link TtlCache}: `at` ms when loaded, `settled` once the load resolved. */
interface CacheEntry<T> {
  at: number;
  value: Promise<T>;
  settled?: { v: T };
  refreshing?: boolean;
}

/**
 * A short-lived memo of async results (one in-flight promise shared by concurrent callers), with
 * stale-while-revalidate (RFC 5861's idea, in process): a value older than `ttlMs` but younger than
 * `ttlMs + staleMs` is still answered at once while ONE refresh runs in the background; only
 * older (or never settled) values make callers wait for `load()`. Without it every caller arriving
 * in the refresh's few ms waited for it — once per TTL, for all 100 clients of the API bench,
 * which is what its p99 was made of. A failed refresh keeps the old value until it is too stale.
 */
export class TtlCache<T> {
  private readonly entries = new Map<string, CacheEntry<T>>();
  /**
   * @param ttlMs ms a value is fresh; 0 = no caching
   * @param max entries kept (older ones are dropped first when over)
   * @param clock ms since epoch
   * @param staleMs ms past `ttlMs` a settled value is still served while it is refreshed; default `ttlMs`
   */
  constructor(private readonly ttlMs: number, private readonly max = 500, private readonly clock: () => number = Date.now, private readonly staleMs = ttlMs) {}
  /** The cached value of `key` when fresh (or stale and being refreshed), else `load()` (cached; a rejection is not). */
  get(key: string, load: () => Promise<T>): Promise<T> {
    const t = this.clock();
    const e = this.entries.get(key);
    if (e && t - e.at < this.ttlMs) return e.value;
    if (e?.settled && this.ttlMs > 0 && t - e.at < this.ttlMs + this.staleMs) {
      if (!e.refreshing) {
        e.refreshing = true;
        load().then(
          (v) => this.entries.set(key, { at: this.clock(), value: Promise.resolve(v), settled: { v } }),
          () => {
            e.refreshing = false;
          },
        );
      }
      return Promise.resolve(e.settled.v);
    }
    const value = load();
    const entry: CacheEntry<T> = { at: t, value };
    this.entries.set(key, entry);
    value.then(
      (v) => {
        entry.settled = { v };
      },
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    if (this.entries.size > this.max) {
      for (const [k, v] of this.entries) if (t - v.at >= this.ttlMs + this.staleMs || this.entries.size > this.max) this.entries.delete(k);
    }
    return value;
  }
}

/** The newest point over all `series`, or undefined when they hold none. */
export function lastPoint(series: Series[]): { t: number; v: number } | undefined {
  let best: { t: number; v: number } | undefined;
  for (const s of series) {
    const p = s.points[s.points.length - 1];
    if (p && (!best || p.t > best.t)) best = p;
  }
  return best;
}

/** Source vertices of a job (no inputs). */
function sourceNames(job: ManagedJob): string[] {
  return job.topology.filter((v) => v.inputs.length === 0).map((v) => v.name ?? v.id);
}

/** Whether a diagnosis still asks for attention: trouble, and a recommendation still open (or none given). */
export function isOpenDiagnosis(cp: ControlPlane, d: Diagnosis): boolean {
  if (d.severity === 'none') return false;
  if (d.recommendations.length === 0) return true;
  return d.recommendations.some((r) => (cp.diagnoses.recommendation(r.id)?.state.status ?? 'open') === 'open');
}

/** Lag of one job now (last sample within the last 2 min). */
export async function lagNow(cp: ControlPlane, job: ManagedJob, now: number): Promise<LagNow> {
  const out: LagNow = { status: 'UNKNOWN', records: null, seconds: null, secondsLowerBound: false, at: null };
  if (job.consumerGroup) {
    const where = { group: job.consumerGroup };
    const [total, secs, lower] = await Promise.all([
      cp.store.query({ measurement: 'streamtune_kafka_group_totalLag', field: 'value', start: now - 120_000, end: now, where }),
      cp.store.query({ measurement: 'streamtune_kafka_group_maxLagSeconds', field: 'value', start: now - 120_000, end: now, where }),
      cp.store.query({ measurement: 'streamtune_kafka_group_maxLagSeconds', field: 'lowerBound', start: now - 120_000, end: now, where }),
    ]);
    const t = lastPoint(total);
    const s = lastPoint(secs);
    if (t) {
      out.records = t.v;
      out.at = t.t;
    }
    if (s) out.seconds = s.v;
    out.secondsLowerBound = lastPoint(lower)?.v === 1;
  }
  const latest = cp.diagnoses.list({ job_id: job.job_id, limit: 1 })[0];
  if (latest && latest.lagStatus !== 'UNKNOWN' && (job.startedAt === undefined || latest.createdAt >= job.startedAt)) out.status = latest.lagStatus;
  else if (out.records === 0) out.status = 'OK';
  return out;
}

/** Records/s out of the job's sources now (latest sample per subtask, summed). */
export async function throughputNow(cp: ControlPlane, job: ManagedJob, now: number): Promise<number | null> {
  const sources = sourceNames(job);
  if (sources.length === 0) return null;
  const series = await cp.store.query({
    measurement: 'taskmanager_job_task_numRecordsOutPerSecond', field: 'rate', start: now - 60_000, end: now,
    where: { job_id: job.job_id, task_name: sources }, groupBy: ['task_name', 'subtask_index'],
  });
  if (series.length === 0) return null;
  const newest = Math.max(...series.map((s) => s.points[s.points.length - 1]?.t ?? 0));
  // subtasks whose last sample is from the newest collection round (older ones: a previous execution)
  return series.reduce((sum, s) => {
    const p = s.points[s.points.length - 1];
    return p && newest - p.t < 30_000 ? sum + p.v : sum;
  }, 0);
}

/** One overview row. */
export async function jobSummary(cp: ControlPlane, job: ManagedJob, now: number): Promise<JobSummary> {
  const [lag, throughput] = await Promise.all([lagNow(cp, job, now), throughputNow(cp, job, now)]);
  const recent = cp.diagnoses.list({ job_id: job.job_id, from: now - 86_400_000, limit: 100 });
  const latest = recent[0];
  const op = cp.tuner.operations({ job_id: job.job_id, limit: 1 })[0];
  const out: JobSummary = {
    job_id: job.job_id, name: job.name, executor: job.executor, state: job.state,
    parallelism: Object.fromEntries(job.topology.map((v) => [v.name ?? v.id, v.parallelism ?? 1])),
    lag, throughput, openDiagnoses: recent.filter((d) => isOpenDiagnosis(cp, d)).length,
  };
  if (job.consumerGroup) out.consumerGroup = job.consumerGroup;
  if (job.startedAt !== undefined) out.startedAt = job.startedAt;
  if (latest) out.latestDiagnosis = { id: latest.id, severity: latest.severity, rootCause: latest.rootCause.kind, createdAt: latest.createdAt, lagStatus: latest.lagStatus };
  if (op) {
    out.lastOperation = { id: op.id, state: op.state, createdAt: op.createdAt, origin: op.origin };
    if (op.finishedAt !== undefined) out.lastOperation.finishedAt = op.finishedAt;
  }
  return out;
}

/** Every job's overview row, sorted by name. */
export async function jobsOverview(cp: ControlPlane, now: number): Promise<JobSummary[]> {
  const jobs = [...cp.jobs.list()].sort((a, b) => a.name.localeCompare(b.name) || a.job_id.localeCompare(b.job_id));
  return Promise.all(jobs.map((j) => jobSummary(cp, j, now)));
}

/** Lag series of a job over [from, to] in steps of `step` ms (window `last` of each series). */
export async function lagSeries(cp: ControlPlane, job: ManagedJob, from: number, to: number, step: number): Promise<LagSeries> {
  const out: LagSeries = { job_id: job.job_id, group: job.consumerGroup ?? null, from, to, step, total: { records: [], seconds: [] }, partitions: [] };
  if (!job.consumerGroup) return out;
  const where = { group: job.consumerGroup };
  const base = { start: from, end: to, where, window: step, aggregate: 'last' as const };
  const [total, maxSecs, parts, partSecs] = await Promise.all([
    cp.store.query({ ...base, measurement: 'streamtune_kafka_group_totalLag', field: 'value' }),
    cp.store.query({ ...base, measurement: 'streamtune_kafka_group_maxLagSeconds', field: 'value' }),
    cp.store.query({ ...base, measurement: 'streamtune_kafka_partition_lag', field: 'value', groupBy: ['topic', 'partition'] }),
    cp.store.query({ ...base, measurement: 'streamtune_kafka_partition_lagSeconds', field: 'value', groupBy: ['topic', 'partition'] }),
  ]);
  out.total.records = total[0]?.points ?? [];
  out.total.seconds = maxSecs[0]?.points ?? [];
  const byKey = new Map<string, LagSeries['partitions'][number]>();
  const entry = (tags: Record<string, string>) => {
    const k = `${tags.topic}\u0000${tags.partition}`;
    let e = byKey.get(k);
    if (!e) byKey.set(k, (e = { topic: tags.topic ?? '', partition: Number(tags.partition), records: [], seconds: [] }));
    return e;
  };
  for (const s of parts) entry(s.tags).records = s.points;
  for (const s of partSecs) entry(s.tags).seconds = s.points;
  out.partitions = [...byKey.values()].sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  return out;
}

/** Vertex/subtask series of one metric: `groupBy` 'subtask' (one per subtask), 'vertex' (subtasks
 * combined per vertex) or 'job' (one series). */
export async function metricSeries(cp: ControlPlane, job: ManagedJob, metric: string, groupBy: 'vertex' | 'subtask' | 'job', from: number, to: number, step: number) {
  const m = JOB_METRICS[metric]!;
  const raw = await cp.store.query({
    measurement: m.measurement, field: m.field, start: from, end: to, where: { job_id: job.job_id },
    groupBy: ['task_name', 'subtask_index'], window: step, aggregate: metric === 'watermark' ? 'last' : 'mean',
  });
  const series = raw.map((s) => ({ vertex: s.tags.task_name ?? '', subtask: Number(s.tags.subtask_index ?? 0), points: s.points }))
    .sort((a, b) => a.vertex.localeCompare(b.vertex) || a.subtask - b.subtask);
  const base = { job_id: job.job_id, metric, unit: m.unit, from, to, step, groupBy };
  if (groupBy === 'subtask') return { ...base, series };
  const groups = new Map<string, Map<number, number[]>>();
  for (const s of series) {
    const k = groupBy === 'job' ? '' : s.vertex;
    let g = groups.get(k);
    if (!g) groups.set(k, (g = new Map()));
    for (const p of s.points) {
      const arr = g.get(p.t);
      if (arr) arr.push(p.v);
      else g.set(p.t, [p.v]);
    }
  }
  const combine = (vs: number[]): number =>
    m.combine === 'sum' ? vs.reduce((a, b) => a + b, 0) : m.combine === 'max' ? Math.max(...vs) : vs.reduce((a, b) => a + b, 0) / vs.length;
  return {
    ...base,
    series: [...groups.entries()].map(([k, g]) => ({
      ...(groupBy === 'vertex' ? { vertex: k } : {}),
      points: [...g.entries()].sort((a, b) => a[0] - b[0]).map(([t, vs]) => ({ t, v: combine(vs) })),
    })),
  };
}

const ajv = new Ajv({ allErrors: true, strict: false });
const actionSchema = {
  type: 'array',
  minItems: 1,
  items: {
    type: 'object',
    required: ['type'],
    properties: { type: { enum: ['set-parallelism', 'set-checkpointing', 'set-memory'] } },
    oneOf: [
      { properties: { type: { const: 'set-parallelism' }, vertex: { type: 'string', minLength: 1 }, from: { type: 'integer', minimum: 1 }, to: { type: 'integer', minimum: 1 } }, required: ['vertex', 'from', 'to'], additionalProperties: false },
      { properties: { type: { const: 'set-checkpointing' }, interval: { type: 'integer', minimum: 1 }, timeout: { type: 'integer', minimum: 1 }, minPause: { type: 'integer', minimum: 0 }, unaligned: { type: 'boolean' } }, additionalProperties: false },
      { properties: { type: { const: 'set-memory' }, heapBytes: { type: 'integer', minimum: 1 } }, required: ['heapBytes'], additionalProperties: false },
    ],
  },
};
const validateActions = ajv.compile(actionSchema);

/** Validates edited actions; 400 naming `actions[i].field`. */
function checkActions(v: unknown): TuningAction[] {
  if (validateActions(v)) return v as TuningAction[];
  const errs = validateActions.errors ?? [];
  // prefer the most specific error (deepest path, not the oneOf summary)
  const e = [...errs].filter((x) => x.keyword !== 'oneOf' && x.keyword !== 'const').sort((a, b) => b.instancePath.length - a.instancePath.length)[0] ?? errs[0];
  const parts = (e?.instancePath ?? '').split('/').slice(1);
  let field = 'actions';
  for (const p of parts) field += /^[0-9]+$/.test(p) ? `[${p}]` : `.${p}`;
  if (e?.keyword === 'additionalProperties') field += `.${String((e.params as { additionalProperty: string }).additionalProperty)}`;
  if (e?.keyword === 'required') field += `.${String((e.params as { missingProperty: string }).missingProperty)}`;
  const msg = e?.keyword === 'additionalProperties' ? 'unknown field' : e?.keyword === 'required' ? 'is required' : (e?.message ?? 'is invalid');
  throw HttpError.badRequest(field, `${field} ${msg}`);
}

function body(req: Request): Record<string, unknown> {
  const b = req.body as unknown;
  if (b === undefined || b === null) return {};
  if (typeof b !== 'object' || Array.isArray(b)) throw HttpError.badRequest('body', 'body must be a JSON object');
  return b as Record<string, unknown>;
}

function one(field: string, v: unknown): string | undefined {
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string') throw HttpError.badRequest(field, `${field} must be one value`);
  return v;
}

/** Options of {@link createApiRouter}. */
export interface ApiOptions {
  /** ms results of the overview and series reads are reused. Default 1,000 (the collector writes every 5 s). */
  cacheTtlMs?: number;
  /** Health of the server itself, merged into `/health`. */
  health?: () => Promise<HealthReport>;
  /** Where the overview's and lag series' answers are kept for repeat reads ahead of the middleware (app.ts). */
  fastReads?: FastReads;
}

/** `GET /health`: each component's status. `status` is the worst of them. */
export interface HealthReport {
  status: 'ok' | 'degraded' | 'down';
  components: Record<string, { status: 'ok' | 'degraded' | 'down'; [k: string]: unknown }>;
}

/** Health of every component of the control plane. Never throws. */
export async function healthReport(cp: ControlPlane): Promise<HealthReport> {
  const now = cp.now();
  const components: HealthReport['components'] = {};
  try {
    await Promise.race([
      cp.store.tagValues('streamtune_kafka_group_totalLag', 'group', now - 60_000, now),
      new Promise((_, rej) => setTimeout(() => rej(new Error('store did not answer within 2 s')), 2000).unref()),
    ]);
    components.store = { status: 'ok' };
  } catch (err) {
    components.store = { status: 'down', error: err instanceof Error ? err.message : String(err) };
  }
  const h = cp.collector.health();
  components.collector = {
    status: h.writeErrors > 0 && (h.lastSuccessfulWrite === null || now - h.lastSuccessfulWrite > 60_000) ? 'degraded' : 'ok',
    pointsWritten: h.pointsWritten, pointsBuffered: h.pointsBuffered, pointsDropped: h.pointsDropped, writeErrors: h.writeErrors, lastSuccessfulWrite: h.lastSuccessfulWrite,
  };
  components.bus = { status: 'ok', kind: cp.bus.kind };
  const ruleErrors = cp.rules.lastErrors();
  components.rules = { status: ruleErrors.length ? 'degraded' : 'ok', generation: cp.rules.generation(), errors: ruleErrors.length };
  const jobs = cp.jobs.list();
  const failed = jobs.filter((j) => j.state === 'FAILED').length;
  components.jobs = { status: failed ? 'degraded' : 'ok', total: jobs.length, running: jobs.filter((j) => j.state === 'RUNNING').length, failed };
  const ops = cp.tuner.operations({ limit: 50 });
  components.tuner = { status: 'ok', running: ops.filter((o) => !['SUCCEEDED', 'FAILED', 'ROLLED_BACK', 'INEFFECTIVE'].includes(o.state)).length };
  const rank = { ok: 0, degraded: 1, down: 2 } as const;
  const worst = Object.values(components).reduce<'ok' | 'degraded' | 'down'>((w, c) => (rank[c.status] > rank[w] ? c.status : w), 'ok');
  return { status: worst, components };
}

/**
 * The `/api/v1` router. Routes (see README "API"): jobs, lag and metric series, checkpoints,
 * exceptions, diagnoses, recommendations (apply, dismiss), operations, rules (list, reload), health,
 * session. Errors: 400 (field named), 404 (unknown id), 409 (CONFLICT, wrong job state), 403.
 */
export function createApiRouter(cp: ControlPlane, opts: ApiOptions = {}): Router {
  const r = express.Router();
  const cache = new TtlCache<PreparedJson>(opts.cacheTtlMs ?? 1000);
  /** Answers the JSON of `load()`, serialised, hashed and compressed once per cache entry (series are large, clients many). */
  const sendCached = async (req: Request, res: express.Response, key: string, load: () => Promise<unknown>): Promise<void> => {
    const p = await cache.get(key, async () => prepareJsonCompressed(await load()));
    opts.fastReads?.remember(req.originalUrl, res, p);
    sendPrepared(req, res, p);
  };
  type Range = { from: number; to: number; step: number };
  /**
   * {@link sendCached} for a series over the query's range (`parse(now)` validates it, throwing
   * 400s): a range relative to now is keyed by its span and step and re-read at every refresh, so
   * a stale entry can be served while it is refreshed; an absolute range is keyed by its bounds.
   */
  const sendRange = async (req: Request, res: express.Response, prefix: string, parse: (now: number) => Range, load: (r: Range) => Promise<unknown>): Promise<void> => {
    const r = parse(tick());
    const rel = relative(req.query);
    const key = `${prefix}:${rel ? `recent:${r.to - r.from}` : `${r.from}:${r.to}`}:${r.step}`;
    await sendCached(req, res, key, () => load(rel ? parse(tick()) : r));
  };
  const jobOr404 = (id: string): ManagedJob => {
    const j = cp.jobs.get(id);
    if (!j) throw HttpError.notFound('job', id);
    return j;
  };
  /** `now` rounded down to the cache TTL, so that default ranges share cache entries. */
  const tick = (): number => {
    const ttl = opts.cacheTtlMs ?? 1000;
    const n = cp.now();
    return ttl > 0 ? n - (n % ttl) : n;
  };

  r.get('/health', async (_req, res) => {
    const h = await healthReport(cp);
    if (opts.health) {
      const extra = await opts.health();
      Object.assign(h.components, extra.components);
    }
    res.status(h.status === 'down' ? 503 : 200).json(h);
  });

  r.get('/session', (_req, res) => {
    res.json({ loggedIn: res.locals.loggedIn === true, csrfToken: res.locals.csrfToken ?? null });
  });

  // --- jobs
  // The overview and the default ranges of the series ("the last N minutes", no from/to) are cached
  // under keys without the time, so that a stale entry is served while it is refreshed; the load
  // reads the clock itself. Explicit ranges are keyed by them.
  r.get('/jobs', async (req, res) => {
    await sendCached(req, res, 'jobs', async () => ({ jobs: await jobsOverview(cp, tick()) }));
  });

  r.get('/jobs/:id', async (req, res) => {
    const job = jobOr404(req.params.id);
    const now = tick();
    const summary = await jobSummary(cp, job, now);
    res.json({ ...job, summary, policy: cp.tuner.policy(job.job_id) });
  });

  r.post('/jobs', async (req, res) => {
    let text: string;
    let parallelism: Record<string, number> | undefined;
    if (typeof req.body === 'string') text = req.body;
    else {
      const b = body(req);
      if (typeof b.spec === 'string') text = b.spec;
      else if (b.spec && typeof b.spec === 'object') text = yamlStringify(b.spec);
      else throw HttpError.badRequest('spec', 'spec is required: a YAML job spec as text (Content-Type: application/yaml) or JSON {"spec": "<yaml>" | {...}}');
      if (b.parallelism !== undefined) {
        if (!b.parallelism || typeof b.parallelism !== 'object' || Array.isArray(b.parallelism)) throw HttpError.badRequest('parallelism', 'parallelism must be an object of vertex name → integer');
        for (const [k, v] of Object.entries(b.parallelism)) {
          if (!Number.isInteger(v) || (v as number) < 1) throw HttpError.badRequest(`parallelism.${k}`, `parallelism.${k} must be an integer >= 1`);
        }
        parallelism = b.parallelism as Record<string, number>;
      }
    }
    if (text.trim() === '') throw HttpError.badRequest('spec', 'spec is empty');
    const job = await cp.jobs.submit(text, { source: 'request body', ...(parallelism ? { parallelism } : {}) });
    res.status(201).location(`/api/v1/jobs/${job.job_id}`).json(job);
  });

  r.post('/jobs/:id/savepoint', async (req, res) => {
    const job = jobOr404(req.params.id);
    res.status(201).json(await cp.jobs.triggerSavepoint(job.job_id));
  });

  r.post('/jobs/:id/stop', async (req, res) => {
    const job = jobOr404(req.params.id);
    res.json(await cp.jobs.stop(job.job_id));
  });

  r.get('/jobs/:id/lag', async (req, res) => {
    const job = jobOr404(req.params.id);
    await sendRange(req, res, `lag:${job.job_id}`, (now) => parseRange(req.query, now, 15 * 60_000, 1000), (r) => lagSeries(cp, job, r.from, r.to, r.step));
  });

  r.get('/jobs/:id/metrics', async (req, res) => {
    const job = jobOr404(req.params.id);
    const metric = one('metric', req.query.metric) ?? 'busy';
    if (!JOB_METRICS[metric]) throw HttpError.badRequest('metric', `metric must be one of ${Object.keys(JOB_METRICS).join(', ')}, got "${metric}"`);
    const groupBy = one('groupBy', req.query.groupBy) ?? 'vertex';
    if (groupBy !== 'vertex' && groupBy !== 'subtask' && groupBy !== 'job') throw HttpError.badRequest('groupBy', `groupBy must be vertex, subtask or job, got "${groupBy}"`);
    await sendRange(req, res, `m:${job.job_id}:${metric}:${groupBy}`, (now) => parseRange(req.query, now), (r) => metricSeries(cp, job, metric, groupBy, r.from, r.to, r.step));
  });

  r.get('/jobs/:id/checkpoints', async (req, res) => {
    const job = jobOr404(req.params.id);
    const now = cp.now();
    const { from, to } = parseRange(req.query, now, 3_600_000);
    const where = { job_id: job.job_id };
    const q = (measurement: string) => cp.store.query({ measurement, field: 'value', start: from, end: to, where });
    const [dur, size, completed, failed] = await Promise.all([
      q('jobmanager_job_lastCheckpointDuration'), q('jobmanager_job_lastCheckpointSize'),
      q('jobmanager_job_numberOfCompletedCheckpoints'), q('jobmanager_job_numberOfFailedCheckpoints'),
    ]);
    // one history row per change of the last checkpoint (duration or size changed)
    const sizes = new Map((size[0]?.points ?? []).map((p) => [p.t, p.v]));
    const history: Array<{ t: number; durationMs: number; sizeBytes?: number }> = [];
    for (const p of dur[0]?.points ?? []) {
      const s = sizes.get(p.t);
      const prev = history[history.length - 1];
      if (prev && prev.durationMs === p.v && prev.sizeBytes === s) continue;
      history.push(s === undefined ? { t: p.t, durationMs: p.v } : { t: p.t, durationMs: p.v, sizeBytes: s });
    }
    res.json({
      job_id: job.job_id, from, to,
      checkpointing: job.checkpointing ?? null,
      completed: lastPoint(completed)?.v ?? null,
      failed: lastPoint(failed)?.v ?? null,
      history,
      snapshots: cp.tuner.snapshots(job.job_id),
    });
  });

  r.get('/jobs/:id/exceptions', async (req, res) => {
    const job = jobOr404(req.params.id);
    const now = cp.now();
    const to = parseTime('to', req.query.to, now, now);
    const from = parseTime('from', req.query.from, to - 86_400_000, now);
    if (from >= to) throw HttpError.badRequest('from', `from (${from}) must be before to (${to})`);
    const limit = parseInt('limit', req.query.limit, 100, 1, 1000);
    const keyword = one('keyword', req.query.keyword);
    const events: LogEvent[] = await cp.store.queryLogs({ job_id: job.job_id, start: from, end: to, level: 'warn', limit, ...(keyword ? { keyword } : {}) });
    res.json({ job_id: job.job_id, from, to, exceptions: events });
  });

  // --- diagnoses and recommendations
  r.get('/diagnoses', (req, res) => {
    const now = cp.now();
    const job = one('job', req.query.job);
    const filter: Parameters<ControlPlane['diagnoses']['list']>[0] = { limit: parseInt('limit', req.query.limit, 100, 1, 1000) };
    if (job !== undefined) filter.job_id = job;
    if (req.query.from !== undefined) filter.from = parseTime('from', req.query.from, 0, now);
    if (req.query.to !== undefined) filter.to = parseTime('to', req.query.to, now, now);
    const list = cp.diagnoses.list(filter);
    res.json({ diagnoses: list.map((d) => ({ ...d, open: isOpenDiagnosis(cp, d) })) });
  });

  r.get('/diagnoses/:id', (req, res) => {
    const d = cp.diagnoses.get(req.params.id);
    if (!d) throw HttpError.notFound('diagnosis', req.params.id);
    const blocked = cp.tuner.blocked(d.job_id);
    res.json({
      ...d,
      open: isOpenDiagnosis(cp, d),
      recommendationStates: Object.fromEntries(d.recommendations.map((rec) => [rec.id, cp.diagnoses.recommendation(rec.id)?.state ?? { status: 'open', at: d.createdAt }])),
      // recommendations whose action was ineffective on this job lately: not recommended again until the block ends
      blockedRecommendations: Object.fromEntries(d.recommendations.flatMap((rec) => {
        const b = blockOf(rec.actions, blocked);
        return b ? [[rec.id, b]] : [];
      })),
    });
  });

  r.post('/diagnoses', async (req, res) => {
    const b = body(req);
    const id = b.job_id ?? b.job;
    if (typeof id !== 'string' || id === '') throw HttpError.badRequest('job_id', 'job_id is required (the job to diagnose)');
    jobOr404(id);
    const d = await cp.diagnoser.diagnoseNow(id, { type: 'manual' });
    res.status(201).location(`/api/v1/diagnoses/${d.id}`).json(d);
  });

  r.get('/recommendations/:id', (req, res) => {
    const rec = cp.diagnoses.recommendation(req.params.id);
    if (!rec) throw HttpError.notFound('recommendation', req.params.id);
    const b = blockOf(rec.recommendation.actions, cp.tuner.blocked(rec.job_id));
    res.json(b ? { ...rec, blocked: b } : rec);
  });

  r.post('/recommendations/:id/apply', async (req, res) => {
    const rec = cp.diagnoses.recommendation(req.params.id);
    if (!rec) throw HttpError.notFound('recommendation', req.params.id);
    const b = body(req);
    const actions = b.actions === undefined ? rec.recommendation.actions : checkActions(b.actions);
    if (actions.length === 0) throw HttpError.badRequest('actions', 'this recommendation has no machine-applicable actions; send edited actions or change the job by hand');
    if (rec.state.status === 'applied') {
      throw new HttpError(409, 'CONFLICT', `recommendation already applied${rec.state.operationId ? ` by operation ${rec.state.operationId}` : ''}`, { ...(rec.state.operationId ? { operationId: rec.state.operationId } : {}) });
    }
    const op = await cp.tuner.apply({
      job_id: rec.job_id, actions, diagnosisId: rec.diagnosisId, recommendationId: rec.recommendation.id,
      expected: rec.recommendation.expected, origin: 'user',
    });
    await cp.diagnoses.setRecommendationState(rec.recommendation.id, { status: 'applied', at: cp.now(), operationId: op.id });
    res.status(202).location(`/api/v1/operations/${op.id}`).json(op);
  });

  r.post('/recommendations/:id/dismiss', async (req, res) => {
    const rec = cp.diagnoses.recommendation(req.params.id);
    if (!rec) throw HttpError.notFound('recommendation', req.params.id);
    if (rec.state.status === 'applied') throw new HttpError(409, 'CONFLICT', 'recommendation already applied; it cannot be dismissed');
    await cp.diagnoses.setRecommendationState(rec.recommendation.id, { status: 'dismissed', at: cp.now() });
    res.json(cp.diagnoses.recommendation(rec.recommendation.id));
  });

  // --- operations
  r.get('/operations', (req, res) => {
    const job = one('job', req.query.job);
    const limit = parseInt('limit', req.query.limit, 100, 1, 1000);
    res.json({ operations: cp.tuner.operations({ ...(job ? { job_id: job } : {}), limit }) });
  });

  r.get('/operations/:id', (req, res) => {
    const op = cp.tuner.operation(req.params.id);
    if (!op) throw HttpError.notFound('operation', req.params.id);
    res.json(op);
  });

  // --- rules
  r.get('/rules', (_req, res) => {
    const rs = cp.rules.current();
    res.json({ generation: cp.rules.generation(), dir: cp.rules.dir, files: rs.files, alerts: rs.alerts, detectors: rs.detectors, planner: rs.planner, lastErrors: cp.rules.lastErrors() });
  });

  r.post('/rules/reload', (_req, res) => {
    const result = cp.rules.reload();
    if (!result.ok) {
      const first = result.errors[0];
      throw new StreamtuneError('INVALID_RULES', `invalid rules; the previous set stays in force:\n${result.errors.map((e) => `${e.file}:${e.line}: ${e.reason}`).join('\n')}`, {
        details: { errors: result.errors, ...(first ? { file: first.file, line: first.line } : {}) },
      });
    }
    res.json({ ok: true, generation: cp.rules.generation(), files: result.rules.files, alerts: result.rules.alerts.length });
  });

  return r;
}
