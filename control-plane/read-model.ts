/**
 * The read model: what the API, the dashboard pages, `/metrics` and the daily digest show about jobs,
 * read from the store, the catalog, the diagnosis store and the tuner, with ONE definition of each
 * number. Before it, the job page computed lag from the partition series with a live Burrow status and
 * the API from the group totals with the latest diagnosis's status, so the two could disagree.
 *
 * Definitions (units: records, seconds, records/s, ms since epoch):
 * - **Lag now** ({@link lagNow}): the consumer group's partition series of the last
 *   {@link LAG_NOW_WINDOW_MS}: records = sum over partitions of each partition's latest lag; seconds =
 *   the largest latest partition lag in seconds; status = Burrow's group evaluation of that window
 *   (`evaluateGroupLag`), 'UNKNOWN' when the group has no samples. Missing is `null`, never 0.
 * - **Throughput now** ({@link throughputNow}): records/s out of the source vertices: the sum of each
 *   source subtask's latest `numRecordsOutPerSecond` meter of the newest collection round; where no
 *   meter was reported, the rate of the `numRecordsOut` counter over the last minute; `null` when
 *   neither exists.
 * - **Open diagnosis** ({@link isOpenDiagnosis}): trouble (severity above none) with a recommendation
 *   still open, or with none given.
 * - **Open incidents** ({@link openIncidentsOf}): the job's problems not resolved yet, one per
 *   root-cause kind (notify/incident-book.ts) — what the overview counts for a user: one lag problem
 *   diagnosed eleven times is one open incident, not eleven open diagnoses.
 */
import type { MetricStore, Series } from '../collector/index.ts';
import type { LogEvent } from '../core/index.ts';
import { evaluateGroupLag, lagInputsFromSeries, type Diagnosis, type EvaluateLagOptions, type GroupLagStatus, type PartitionLagStatus } from '../diagnoser/index.ts';
import { sourceVertices, type ManagedJob } from '../platform/index.ts';
import { isTerminalOperationState, type Operation } from '../tuner/index.ts';
import type { Incident, IncidentDetail, IncidentFilter } from '../notify/index.ts';
import type { ControlPlane } from './control-plane.ts';

/** ms of partition samples {@link lagNow} evaluates (Burrow's window of recent offsets). */
export const LAG_NOW_WINDOW_MS = 5 * 60_000;

/** ms of source samples {@link throughputNow} reads. */
export const THROUGHPUT_WINDOW_MS = 60_000;

/** What the read model reads from. */
export type ReadSources = Pick<ControlPlane, 'store' | 'jobs' | 'diagnoses' | 'tuner' | 'incidents'> & Partial<Pick<ControlPlane, 'rules'>>;

/**
 * Burrow's parameters of the rule set in force (`lag.burrow` params `allowedLag`, `windowSize`,
 * `minStopSilenceMs`), so that the lag status shown (overview, job page, API, `/metrics`, digest)
 * judges a group as the diagnoses do; the evaluator's defaults where there is no rule set or a
 * param is not a number.
 */
export function lagEvaluateOptions(cp: Partial<Pick<ControlPlane, 'rules'>>): Omit<EvaluateLagOptions, 'now'> {
  const params = (typeof cp.rules?.current === 'function' ? cp.rules.current().detectors['lag.burrow']?.params : undefined) ?? {};
  const out: Omit<EvaluateLagOptions, 'now'> = {};
  for (const k of ['allowedLag', 'windowSize', 'minStopSilenceMs'] as const) {
    const v = params[k];
    if (typeof v === 'number' && Number.isFinite(v)) out[k] = v;
  }
  return out;
}

/** Lag of one job's consumer group now. */
export interface LagNow {
  /** Burrow's group status of the last {@link LAG_NOW_WINDOW_MS}; 'UNKNOWN' without samples */
  status: GroupLagStatus | 'UNKNOWN';
  /** records: sum of the partitions' latest lag; null when never sampled */
  records: number | null;
  /** s: age of the oldest unconsumed record, largest partition; null when never sampled */
  seconds: number | null;
  /** true when `seconds` is a lower bound (the record is older than the collector's first log-end
   * offset sample): shown as "≥" */
  secondsLowerBound: boolean;
  /** ms since epoch of the newest sample; null when never sampled */
  at: number | null;
  partitions: Array<{ topic: string; partition: number; lag: number | null; seconds: number | null; secondsLowerBound: boolean; status: PartitionLagStatus | 'UNKNOWN' }>;
}

/** One row of the overview (`GET /api/v1/jobs`, the overview page, the digest). */
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
  /** records/s out of the sources ({@link throughputNow}); null when unknown */
  throughput: number | null;
  /** diagnoses of the last 24 h that are open ({@link isOpenDiagnosis}) */
  openDiagnoses: number;
  /** the job's open incidents ({@link openIncidentsOf}): one per problem */
  openIncidents: number;
  /** the most recently opened of them */
  latestIncident?: { id: string; kind: Incident['kind']; vertex?: string; severity: Incident['severity']; startedAt: number; diagnoses: number };
  /** the newest open diagnosis of the last 24 h */
  latestDiagnosis?: { id: string; severity: Diagnosis['severity']; rootCause: Diagnosis['rootCause']['kind']; vertex?: string; createdAt: number; lagStatus: Diagnosis['lagStatus'] };
  lastOperation?: { id: string; state: Operation['state']; createdAt: number; finishedAt?: number; origin: Operation['origin'] };
}

/** Lag series of a job (`GET /api/v1/jobs/:id/lag`, the job page's charts). */
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

/** The newest point over all `series`, or undefined when they hold none. */
export function lastPoint(series: readonly Series[]): { t: number; v: number } | undefined {
  let best: { t: number; v: number } | undefined;
  for (const s of series) {
    const p = s.points[s.points.length - 1];
    if (p && (!best || p.t > best.t)) best = p;
  }
  return best;
}

/** Names of a job's source vertices. */
function sourceNames(job: ManagedJob): string[] {
  return sourceVertices(job.topology).map((v) => v.name);
}

/** Whether a diagnosis still asks for attention: trouble, and a recommendation still open (or none given). */
export function isOpenDiagnosis(cp: Pick<ControlPlane, 'diagnoses'>, d: Diagnosis): boolean {
  if (d.severity === 'none') return false;
  if (d.recommendations.length === 0) return true;
  return d.recommendations.some((r) => (cp.diagnoses.recommendation(r.id)?.state.status ?? 'open') === 'open');
}

/** The job's open incidents, oldest first (each one problem: job + root-cause kind). */
export function openIncidentsOf(cp: Pick<ControlPlane, 'incidents'>, jobId: string): Incident[] {
  return cp.incidents.openIncidents(jobId);
}

/**
 * Incidents as the API and the pages list them: newest first (by opening); `from`/`to` (ms) select
 * those active at some time in the range (opened at or before `to`, open or resolved at or after
 * `from`); `state` open or resolved; at most `limit`.
 */
export function incidentsList(cp: Pick<ControlPlane, 'incidents'>, filter: IncidentFilter): Incident[] {
  return cp.incidents.list(filter);
}

/** One incident with its timeline (opened, diagnoses, notifications, operations, resolved), or undefined. */
export function incidentDetail(cp: Pick<ControlPlane, 'incidents'>, id: string): IncidentDetail | undefined {
  return cp.incidents.get(id);
}

/** The open diagnoses of a job since `from` (ms), newest first. */
export function openDiagnoses(cp: Pick<ControlPlane, 'diagnoses'>, jobId: string, from: number): Diagnosis[] {
  return cp.diagnoses.list({ job_id: jobId, from, limit: 100 }).filter((d) => isOpenDiagnosis(cp, d));
}

const PARTITION_LAG = ['streamtune_kafka_partition_committedOffset', 'streamtune_kafka_partition_lag', 'streamtune_kafka_partition_logEndOffset', 'streamtune_kafka_partition_lagSeconds'] as const;

/** Options of {@link lagNowOfJobs}: the window read and Burrow's parameters. */
export interface LagNowOptions {
  /** ms of partition samples evaluated. Default {@link LAG_NOW_WINDOW_MS}. */
  windowMs?: number;
  /** Burrow's parameters (`allowedLag`, `windowSize`, `minStopSilenceMs`), as the `lag.burrow` rule
   * params. Default the evaluator's defaults (those of rules/detectors.yaml). */
  evaluate?: Omit<EvaluateLagOptions, 'now'>;
}

/**
 * {@link LagNow} of every job with a consumer group, read with one store query per measurement for
 * all their groups (the overview of 1,000 jobs costs four queries). Jobs without a group are absent.
 * `opts` scales the window and Burrow's parameters (tests and benchmarks that run at a faster
 * clock than minutes).
 */
export async function lagNowOfJobs(store: MetricStore, jobs: readonly ManagedJob[], now: number, opts: LagNowOptions = {}): Promise<Map<string, LagNow>> {
  const groups = [...new Set(jobs.map((j) => j.consumerGroup).filter((g): g is string => !!g))];
  const out = new Map<string, LagNow>();
  if (groups.length === 0) return out;
  const start = now - (opts.windowMs ?? LAG_NOW_WINDOW_MS);
  const byPartition = { start, end: now, where: { group: groups }, groupBy: ['group', 'topic', 'partition'] };
  const [committed, lag, leo, secs, lower] = await Promise.all([
    ...PARTITION_LAG.map((measurement) => store.query({ ...byPartition, measurement, field: 'value' })),
    store.query({ ...byPartition, measurement: 'streamtune_kafka_partition_lagSeconds', field: 'lowerBound' }),
  ]);
  const byGroup = (list: Series[]): Map<string, Series[]> => {
    const m = new Map<string, Series[]>();
    for (const s of list) {
      const g = s.tags.group ?? '';
      const l = m.get(g);
      if (l) l.push(s);
      else m.set(g, [s]);
    }
    return m;
  };
  const [c, l, e, s, lb] = [byGroup(committed!), byGroup(lag!), byGroup(leo!), byGroup(secs!), byGroup(lower!)];
  const perGroup = new Map<string, LagNow>();
  for (const g of groups) perGroup.set(g, groupLagNow(c.get(g) ?? [], l.get(g) ?? [], e.get(g) ?? [], s.get(g) ?? [], lb.get(g) ?? [], now, opts.evaluate ?? {}));
  for (const j of jobs) if (j.consumerGroup) out.set(j.job_id, perGroup.get(j.consumerGroup)!);
  return out;
}

/** {@link LagNow} of one group from its partition series (tags topic, partition). */
function groupLagNow(committedOffset: Series[], lag: Series[], logEndOffset: Series[], lagSeconds: Series[], lowerBound: Series[], now: number, params: Omit<EvaluateLagOptions, 'now'>): LagNow {
  if (lag.length === 0 && committedOffset.length === 0) return { status: 'UNKNOWN', records: null, seconds: null, secondsLowerBound: false, at: null, partitions: [] };
  const strip = (list: Series[]): Series[] => list.map((x) => ({ tags: { topic: x.tags.topic ?? '', partition: x.tags.partition ?? '' }, points: x.points }));
  const evaluated = evaluateGroupLag(
    lagInputsFromSeries(
      { committedOffset: strip(committedOffset), lag: strip(lag), logEndOffset: strip(logEndOffset), lagSeconds: strip(lagSeconds), lagSecondsLowerBound: strip(lowerBound) },
      params.windowSize !== undefined ? { windowSize: params.windowSize } : {},
    ),
    { ...params, now },
  );
  const latest = (list: Series[], topic: string, partition: number): { t: number; v: number } | undefined =>
    list.find((x) => x.tags.topic === topic && Number(x.tags.partition) === partition)?.points.at(-1);
  let records: number | null = null;
  let seconds: number | null = null;
  let at: number | null = null;
  const partitions = evaluated.partitions.map((p) => {
    const lp = latest(lag, p.topic, p.partition);
    const sp = latest(lagSeconds, p.topic, p.partition);
    const partLag = lp?.v ?? (Number.isFinite(p.currentLag) ? p.currentLag : null);
    if (partLag !== null) records = (records ?? 0) + partLag;
    if (sp && (seconds === null || sp.v > seconds)) seconds = sp.v;
    if (lp && (at === null || lp.t > at)) at = lp.t;
    return { topic: p.topic, partition: p.partition, lag: partLag, seconds: sp?.v ?? null, secondsLowerBound: (sp && p.lagSecondsLowerBound) === true, status: p.status };
  });
  const secondsLowerBound = partitions.some((p) => p.secondsLowerBound && p.seconds === seconds);
  return { status: evaluated.status, records, seconds, secondsLowerBound, at, partitions };
}

/** {@link LagNow} of one job: UNKNOWN with nulls when it has no consumer group. */
export async function lagNow(cp: Pick<ReadSources, 'store' | 'rules'>, job: ManagedJob, now: number): Promise<LagNow> {
  return (await lagNowOfJobs(cp.store, [job], now, { evaluate: lagEvaluateOptions(cp) })).get(job.job_id) ?? { status: 'UNKNOWN', records: null, seconds: null, secondsLowerBound: false, at: null, partitions: [] };
}

/** Records/s out of the job's sources now (see the module comment); null when unknown. */
export async function throughputNow(cp: Pick<ReadSources, 'store'>, job: ManagedJob, now: number): Promise<number | null> {
  const sources = sourceNames(job);
  if (sources.length === 0) return null;
  const where = { job_id: job.job_id, task_name: sources };
  const meters = await cp.store.query({
    measurement: 'taskmanager_job_task_numRecordsOutPerSecond', field: 'rate', start: now - THROUGHPUT_WINDOW_MS, end: now, where, groupBy: ['task_name', 'subtask_index'],
  });
  if (meters.length > 0) {
    const newest = Math.max(...meters.map((s) => s.points[s.points.length - 1]?.t ?? 0));
    // subtasks whose last sample is from the newest collection round (older ones: a previous execution)
    return meters.reduce((sum, s) => {
      const p = s.points[s.points.length - 1];
      return p && newest - p.t < 30_000 ? sum + p.v : sum;
    }, 0);
  }
  const counters = await cp.store.query({
    measurement: 'taskmanager_job_task_numRecordsOut', field: 'count', start: now - THROUGHPUT_WINDOW_MS, end: now, where,
    groupBy: ['task_name'], window: THROUGHPUT_WINDOW_MS, aggregate: 'rate',
  });
  if (counters.length === 0) return null;
  return counters.reduce((sum, s) => sum + (s.points.at(-1)?.v ?? 0), 0);
}

/** One overview row; `lag` given when the caller read it for many jobs at once. */
export async function jobSummary(cp: ReadSources, job: ManagedJob, now: number, lag?: LagNow): Promise<JobSummary> {
  const [l, throughput] = await Promise.all([lag ?? lagNow(cp, job, now), throughputNow(cp, job, now)]);
  const open = openDiagnoses(cp, job.job_id, now - 86_400_000);
  const latest = open[0];
  const incidents = openIncidentsOf(cp, job.job_id);
  const newestIncident = incidents.at(-1);
  const op = cp.tuner.operations({ job_id: job.job_id, limit: 1 })[0];
  const out: JobSummary = {
    job_id: job.job_id, name: job.name, executor: job.executor, state: job.state,
    parallelism: Object.fromEntries(job.topology.map((v) => [v.name, v.parallelism])),
    lag: l, throughput, openDiagnoses: open.length, openIncidents: incidents.length,
  };
  if (newestIncident) {
    out.latestIncident = { id: newestIncident.id, kind: newestIncident.kind, severity: newestIncident.severity, startedAt: newestIncident.startedAt, diagnoses: newestIncident.diagnosisIds.length };
    if (newestIncident.vertex !== undefined) out.latestIncident.vertex = newestIncident.vertex;
  }
  if (job.consumerGroup) out.consumerGroup = job.consumerGroup;
  if (job.startedAt !== undefined) out.startedAt = job.startedAt;
  if (latest) {
    out.latestDiagnosis = { id: latest.id, severity: latest.severity, rootCause: latest.rootCause.kind, createdAt: latest.createdAt, lagStatus: latest.lagStatus };
    if (latest.rootCause.vertex) out.latestDiagnosis.vertex = latest.rootCause.vertex;
  }
  if (op) {
    out.lastOperation = { id: op.id, state: op.state, createdAt: op.createdAt, origin: op.origin };
    if (op.finishedAt !== undefined) out.lastOperation.finishedAt = op.finishedAt;
  }
  return out;
}

/** Every job's overview row, sorted by name; lag read for all jobs at once. */
export async function jobsOverview(cp: ReadSources, now: number): Promise<JobSummary[]> {
  const jobs = [...cp.jobs.list()].sort((a, b) => a.name.localeCompare(b.name) || a.job_id.localeCompare(b.job_id));
  const lags = await lagNowOfJobs(cp.store, jobs, now, { evaluate: lagEvaluateOptions(cp) });
  return Promise.all(jobs.map((j) => jobSummary(cp, j, now, lags.get(j.job_id))));
}

/**
 * Lag series of a job over [from, to] in steps of `step` ms (window `last` of each partition series).
 * The total at a step is the sum of the partitions' lag there and its seconds the largest partition's,
 * as {@link lagNow} defines them.
 */
export async function lagSeries(cp: Pick<ReadSources, 'store'>, job: ManagedJob, from: number, to: number, step: number): Promise<LagSeries> {
  const out: LagSeries = { job_id: job.job_id, group: job.consumerGroup ?? null, from, to, step, total: { records: [], seconds: [] }, partitions: [] };
  if (!job.consumerGroup) return out;
  const where = { group: job.consumerGroup };
  const base = { start: from, end: to, where, window: step, aggregate: 'last' as const };
  const [parts, partSecs] = await Promise.all([
    cp.store.query({ ...base, measurement: 'streamtune_kafka_partition_lag', field: 'value', groupBy: ['topic', 'partition'] }),
    cp.store.query({ ...base, measurement: 'streamtune_kafka_partition_lagSeconds', field: 'value', groupBy: ['topic', 'partition'] }),
  ]);
  out.total.records = combineAt(parts, (a, b) => a + b);
  out.total.seconds = combineAt(partSecs, Math.max);
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

/** The series combined point by point at equal times with `f` (sum, max), sorted by time. */
function combineAt(series: readonly Series[], f: (a: number, b: number) => number): Array<{ t: number; v: number }> {
  const m = new Map<number, number>();
  for (const s of series) for (const p of s.points) m.set(p.t, m.has(p.t) ? f(m.get(p.t)!, p.v) : p.v);
  return [...m.entries()].sort((a, b) => a[0] - b[0]).map(([t, v]) => ({ t, v }));
}

/** Records/s out of the job's sources over [from, to] in steps of `step` ms: the rate of their `numRecordsOut` counters, summed. */
export async function throughputSeries(cp: Pick<ReadSources, 'store'>, job: ManagedJob, from: number, to: number, step: number): Promise<Array<{ t: number; v: number }>> {
  const sources = sourceNames(job);
  if (sources.length === 0) return [];
  const series = await cp.store.query({
    measurement: 'taskmanager_job_task_numRecordsOut', field: 'count', where: { job_id: job.job_id, task_name: sources },
    groupBy: ['task_name'], aggregate: 'rate', start: from, end: to, window: step,
  });
  return combineAt(series, (a, b) => a + b);
}

/** The metrics `GET /jobs/:id/metrics?metric=` serves: measurement, field, unit, and how subtasks
 * combine into a vertex (`sum` for rates, `mean` for time shares, `max` for watermarks). */
export const JOB_METRICS: Record<string, { measurement: string; field: string; unit: string; combine: 'sum' | 'mean' | 'max' }> = {
  busy: { measurement: 'taskmanager_job_task_busyTimeMsPerSecond', field: 'value', unit: 'ms/s', combine: 'mean' },
  backpressured: { measurement: 'taskmanager_job_task_backPressuredTimeMsPerSecond', field: 'value', unit: 'ms/s', combine: 'mean' },
  idle: { measurement: 'taskmanager_job_task_idleTimeMsPerSecond', field: 'value', unit: 'ms/s', combine: 'mean' },
  recordsInPerSecond: { measurement: 'taskmanager_job_task_numRecordsInPerSecond', field: 'rate', unit: 'records/s', combine: 'sum' },
  recordsOutPerSecond: { measurement: 'taskmanager_job_task_numRecordsOutPerSecond', field: 'rate', unit: 'records/s', combine: 'sum' },
  pendingRecords: { measurement: 'taskmanager_job_task_operator_pendingRecords', field: 'value', unit: 'records', combine: 'sum' },
  watermark: { measurement: 'taskmanager_job_task_currentInputWatermark', field: 'value', unit: 'ms', combine: 'max' },
};

/** Vertex/subtask series of one metric of {@link JOB_METRICS}: `groupBy` 'subtask' (one per
 * subtask), 'vertex' (subtasks combined per vertex) or 'job' (one series). */
export async function metricSeries(cp: Pick<ReadSources, 'store'>, job: ManagedJob, metric: string, groupBy: 'vertex' | 'subtask' | 'job', from: number, to: number, step: number) {
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

/** Per-vertex load over the last minute, for the job graph. */
export interface VertexLoad {
  name: string;
  parallelism: number;
  /** names of the upstream vertices */
  inputs: string[];
  /** ms/s, mean over subtasks */
  busy?: number;
  /** ms/s, mean over subtasks */
  backPressured?: number;
  /** per subtask index: records in (counter, latest) and busy ms/s (mean) */
  subtasks: Array<{ index: number; recordsIn?: number; busy?: number }>;
}

/** Busy and backpressured time per vertex and per subtask over the last minute. */
export async function vertexLoads(cp: Pick<ReadSources, 'store'>, job: ManagedJob, now: number): Promise<VertexLoad[]> {
  const start = now - THROUGHPUT_WINDOW_MS;
  const byTaskSubtask = async (measurement: string, field: string, aggregate: 'mean' | 'last'): Promise<Series[]> =>
    cp.store.query({ measurement, field, start, end: now, where: { job_id: job.job_id }, groupBy: ['task_name', 'subtask_index'], window: THROUGHPUT_WINDOW_MS * 2, aggregate });
  const [busy, bp, recIn] = await Promise.all([
    byTaskSubtask('taskmanager_job_task_busyTimeMsPerSecond', 'value', 'mean'),
    byTaskSubtask('taskmanager_job_task_backPressuredTimeMsPerSecond', 'value', 'mean'),
    byTaskSubtask('taskmanager_job_task_numRecordsIn', 'count', 'last'),
  ]);
  const pick = (list: Series[], name: string, idx: number): number | undefined =>
    list.find((x) => x.tags.task_name === name && Number(x.tags.subtask_index) === idx)?.points.at(-1)?.v;
  const mean = (xs: Array<number | undefined>): number | undefined => {
    const ys = xs.filter((x): x is number => x !== undefined);
    return ys.length ? ys.reduce((a, b) => a + b, 0) / ys.length : undefined;
  };
  return job.topology.map((v) => {
    const p = v.parallelism;
    const subtasks = Array.from({ length: p }, (_, index) => ({ index, recordsIn: pick(recIn, v.name, index), busy: pick(busy, v.name, index) }));
    const bpAll = Array.from({ length: p }, (_, i) => pick(bp, v.name, i));
    const inputs = v.inputs.map((id) => job.topology.find((u) => u.id === id)?.name ?? id);
    return { name: v.name, parallelism: p, inputs, busy: mean(subtasks.map((s) => s.busy)), backPressured: mean(bpAll), subtasks };
  });
}

/** Checkpoint counters and the last checkpoint of a job (latest samples of the last 10 min); absent = not reported. */
export async function checkpointStats(cp: Pick<ReadSources, 'store'>, job: ManagedJob, now: number): Promise<{ completed?: number; failed?: number; lastDurationMs?: number; lastSizeBytes?: number }> {
  const read = (m: string) =>
    cp.store.query({ measurement: `jobmanager_job_${m}`, field: 'value', start: now - 10 * 60_000, end: now, where: { job_id: job.job_id } }).then((s) => lastPoint(s)?.v);
  const [completed, failed, lastDurationMs, lastSizeBytes] = await Promise.all(['numberOfCompletedCheckpoints', 'numberOfFailedCheckpoints', 'lastCheckpointDuration', 'lastCheckpointSize'].map(read));
  return {
    ...(completed !== undefined ? { completed } : {}), ...(failed !== undefined ? { failed } : {}),
    ...(lastDurationMs !== undefined ? { lastDurationMs } : {}), ...(lastSizeBytes !== undefined ? { lastSizeBytes } : {}),
  };
}

/** Warnings and exceptions of a job, newest first. */
export function jobExceptions(cp: Pick<ReadSources, 'store'>, job: ManagedJob, from: number, to: number, limit: number, keyword?: string): Promise<LogEvent[]> {
  return cp.store.queryLogs({ job_id: job.job_id, start: from, end: to, level: 'warn', limit, ...(keyword ? { keyword } : {}) });
}

/** Operations of the tuner not yet ended, among the latest `limit`. */
export function runningOperations(cp: Pick<ReadSources, 'tuner'>, limit = 50): Operation[] {
  return cp.tuner.operations({ limit }).filter((o) => !isTerminalOperationState(o.state));
}
