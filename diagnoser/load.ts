/**
 * `loadJobWindow`: fills a {@link JobWindow} from a {@link MetricStore} using Flink's InfluxDB
 * reporter measurement names (docs/FLINK-CONTRACT.md) and streamtune's own
 * (`streamtune_job_vertex`, `jobmanager_job_streamtune_checkpointConfig`, `streamtune_kafka_partition_*`).
 * Series are read per `stepMs` window (mean for gauges and meter rates, last for counters). The
 * `numRecordsIn`/`numRecordsOut` counters are kept for a subtask whose meter has no points, so its
 * rate comes from the counter (diagnoser/detectors/common.ts `summarise`) instead of reading as 0.
 *
 * Topology: from `streamtune_job_vertex` (parallelism, maxParallelism, partitions, keyed, and the
 * edges from its `inputs` tag: comma-joined upstream task_ids, empty for sources, written by the
 * bundled runtime and the Flink REST collector), or `opts.topology` when the caller has the plan.
 * When no vertex carries a non-empty `inputs` tag (plain Flink reporter data; InfluxDB drops empty
 * tags, so sources have none), edges come from {@link inferTopology}'s heuristic.
 *
 * Load history (`JobWindow.loadHistory`, for the scale-down): the records in/out meters and
 * counters per subtask over `historyMs` before `end` (default 1 h), at `historyStepMs` (~60 points).
 *
 * Cost: one store query per measurement and field (about 36), whatever the number of jobs:
 * {@link loadJobWindows} reads many jobs at once (grouped by `job_id` as well) and splits the
 * series in memory. Queries are issued concurrently (the InfluxDB store runs them in parallel; the
 * embedded store serialises them).
 */
import type { MetricStore, Series, SeriesQuery } from '../collector/index.ts';
import { type LogEvent, StreamtuneError } from '../core/index.ts';
import { type ConsumerLagWindow, emptyCheckpoints, type JobWindow, type JvmWindow, type LoadHistory, type PartitionLagSeries, type Points, type SubtaskSeries, type VertexLoadHistory, type VertexWindow } from './window.ts';
import { lastOf, maxSeries, sumSeries } from './series.ts';
import { defaultMaxParallelism, type TopologyVertex } from '../platform/index.ts';

/**
 * A vertex of the job's plan as far as the caller knows it: at least its id and edges (the plan's
 * {@link TopologyVertex}, with the rest optional: a caller may know only the edges).
 */
export type KnownVertex = Pick<TopologyVertex, 'id' | 'inputs'> & Partial<Omit<TopologyVertex, 'id' | 'inputs'>>;

/** Options of {@link loadJobWindow}. */
export interface LoadJobWindowOptions {
  /** the job's Kafka consumer group (lag is read for it); without it no consumer lag is loaded */
  consumerGroup?: string;
  /** read resolution, ms. Default 10,000 (Flink's reporter interval). */
  stepMs?: number;
  /** the job's plan, when known: its edges override the inferred ones */
  topology?: readonly KnownVertex[];
  /** max log events read. Default 1000. */
  logLimit?: number;
  /**
   * ms of load history read before `end` for the scale-down (`JobWindow.loadHistory`: records
   * in/out rates per subtask). Default {@link DEFAULT_LOAD_HISTORY_MS} (1 h, the Flink autoscaler's
   * `scale-down.interval`); pass the rules' `planner.scaleDownIntervalMs`. 0 = none read.
   */
  historyMs?: number;
  /** ms between history points. Default max(`stepMs`, `historyMs` / 60): about 60 points. */
  historyStepMs?: number;
}

/** Default {@link LoadJobWindowOptions.historyMs}: 1 h, the Flink autoscaler's default `scale-down.interval`. */
export const DEFAULT_LOAD_HISTORY_MS = 3_600_000;

/** The options a batch read takes (per-job ones come with each {@link JobToLoad}). */
export type LoadWindowsOptions = Pick<LoadJobWindowOptions, 'stepMs' | 'logLimit' | 'historyMs' | 'historyStepMs'>;

const TASK = 'taskmanager_job_task_';
const TASK_TAGS = ['task_id', 'task_name', 'subtask_index'] as const;

/** The points of a store series, shared, not copied: the diagnosis reads them and never mutates them. */
function toPoints(s: Series | undefined): Points {
  return s ? s.points : [];
}

/**
 * Orders vertices and guesses edges when the plan is unknown (Flink InfluxDB data only).
 * Heuristic: a vertex is a source when it has pendingRecords / Kafka source metrics, a `partitions`
 * field, or its task_name starts with 'Source:'; sources come first, vertices whose name contains
 * 'Sink' last, the others by descending records-in rate (filters and aggregations shrink the
 * stream downstream); each non-source vertex reads from the vertex before it (a linear pipeline).
 * A non-source vertex with unknown edge type is taken as keyed. Mutates and returns `vertices`.
 */
export function inferTopology(vertices: VertexWindow[]): VertexWindow[] {
  const rate = (v: VertexWindow) => v.subtasks.reduce((a, s) => a + (s.recordsInPerSecond.length ? s.recordsInPerSecond.reduce((x, p) => x + p.v, 0) / s.recordsInPerSecond.length : 0), 0);
  const rank = (v: VertexWindow) => (v.isSource ? 0 : /sink/i.test(v.name) ? 2 : 1);
  vertices.sort((a, b) => rank(a) - rank(b) || rate(b) - rate(a) || a.name.localeCompare(b.name));
  const firstNonSource = vertices.findIndex((v) => !v.isSource);
  vertices.forEach((v, i) => {
    if (v.isSource) v.inputs = [];
    else if (i === firstNonSource) v.inputs = vertices.filter((x) => x.isSource).map((x) => x.id);
    else v.inputs = [vertices[i - 1]!.id];
  });
  return vertices;
}

function topoSort(vertices: VertexWindow[]): VertexWindow[] {
  const byId = new Map(vertices.map((v) => [v.id, v]));
  const out: VertexWindow[] = [];
  const seen = new Set<string>();
  const visit = (v: VertexWindow, stack: Set<string>) => {
    if (seen.has(v.id) || stack.has(v.id)) return;
    stack.add(v.id);
    for (const i of v.inputs) {
      const u = byId.get(i);
      if (u) visit(u, stack);
    }
    seen.add(v.id);
    out.push(v);
  };
  for (const v of vertices) visit(v, new Set());
  return out;
}

/** One job to read with {@link loadJobWindows}. */
export interface JobToLoad {
  /** Flink job id (`job_id` tag) */
  jobId: string;
  /** the job's Kafka consumer group; without it no consumer lag is loaded */
  consumerGroup?: string;
  /** the job's plan, when known */
  topology?: readonly KnownVertex[];
}

/** Splits series by a tag value; with a single key every series goes to it. */
function splitBy(list: readonly Series[], tag: string, single?: string): Map<string, Series[]> {
  const out = new Map<string, Series[]>();
  for (const s of list) {
    const k = single ?? s.tags[tag] ?? '';
    let l = out.get(k);
    if (!l) out.set(k, (l = []));
    l.push(s);
  }
  return out;
}

/** Edges from the `inputs` tag: task_id → upstream ids, from the newest series of each vertex. */
function inputsFromTags(list: readonly Series[]): Map<string, string[]> | undefined {
  const newest = new Map<string, { t: number; inputs: string }>();
  for (const s of list) {
    const id = s.tags.task_id;
    const t = s.points.at(-1)?.t;
    if (!id || t === undefined) continue;
    const prev = newest.get(id);
    if (!prev || t >= prev.t) newest.set(id, { t, inputs: s.tags.inputs ?? '' });
  }
  if (![...newest.values()].some((x) => x.inputs !== '')) return undefined;
  return new Map([...newest].map(([id, x]) => [id, x.inputs.split(',').filter(Boolean)]));
}

/**
 * Reads one job's window from the store.
 * @param store the metric store
 * @param jobId Flink job id (`job_id` tag)
 * @param start window start, ms (inclusive); @param end window end, ms (inclusive); @param now evaluation time, ms
 * @throws StreamtuneError INVALID_ARGUMENT when end < start; the store's STORE_UNAVAILABLE/STORE_REJECTED errors pass through.
 */
export async function loadJobWindow(store: MetricStore, jobId: string, start: number, end: number, now: number, opts: LoadJobWindowOptions = {}): Promise<JobWindow> {
  const job: JobToLoad = { jobId };
  if (opts.consumerGroup) job.consumerGroup = opts.consumerGroup;
  if (opts.topology) job.topology = opts.topology;
  return (await loadJobWindows(store, [job], start, end, now, opts)).get(jobId)!;
}

/**
 * Reads the windows of many jobs with one store query per measurement and field (the sweep's
 * loader): each series is read grouped by `job_id` too and split in memory, so the answer for each
 * job is the one {@link loadJobWindow} gives for it alone.
 * @param jobs the jobs (duplicates are read once)
 * @param opts `stepMs` and `logLimit` as in {@link LoadJobWindowOptions}; `consumerGroup`/`topology` come per job
 * @returns job id → window, for every job given (jobs with no data get empty windows)
 * @throws StreamtuneError INVALID_ARGUMENT when end < start; the store's errors pass through.
 */
export async function loadJobWindows(store: MetricStore, jobs: readonly JobToLoad[], start: number, end: number, now: number, opts: LoadWindowsOptions & { tmQueries?: TmQueryMemo } = {}): Promise<Map<string, JobWindow>> {
  if (!(end >= start)) throw new StreamtuneError('INVALID_ARGUMENT', `window end ${end} is before start ${start}`, { details: { jobs: jobs.map((j) => j.jobId).slice(0, 5), start, end } });
  const result = new Map<string, JobWindow>();
  const ids = [...new Set(jobs.map((j) => j.jobId))];
  if (ids.length === 0) return result;
  const step = opts.stepMs ?? 10_000;
  const logLimit = opts.logLimit ?? 1000;
  const historyMs = Math.max(0, opts.historyMs ?? DEFAULT_LOAD_HISTORY_MS);
  const historyStep = Math.max(1, opts.historyStepMs ?? Math.max(step, Math.round(historyMs / 60)));
  // one step more than the history: its first step, epoch-aligned, starts at or before end − historyMs
  const historyStart = end - historyMs - historyStep;
  // one job: filter on it and split nothing; many: group by job_id as well
  const single = ids.length === 1 ? ids[0]! : undefined;
  const jobWhere: SeriesQuery['where'] = { job_id: single ?? ids };
  const byJob = (groupBy: readonly string[]) => (single ? groupBy : [...groupBy, 'job_id']);
  const q = (measurement: string, field: string, groupBy: readonly string[], aggregate: SeriesQuery['aggregate'] = 'mean', where: SeriesQuery['where'] = jobWhere, window = step): Promise<Series[]> =>
    store.query({ measurement, field, start, end, where, groupBy, window, aggregate });
  const qj = async (measurement: string, field: string, groupBy: readonly string[], aggregate: SeriesQuery['aggregate'] = 'mean'): Promise<Map<string, Series[]>> =>
    splitBy(await q(measurement, field, byJob(groupBy), aggregate), 'job_id', single);
  // one window over the whole range (epoch-aligned, so at most two): the newest value is all we need
  const whole = Math.max(step, end - start + 1);

  const logsOf = async (): Promise<Map<string, LogEvent[]>> => {
    if (single) return new Map([[single, await store.queryLogs({ job_id: single, start, end, level: 'warn', limit: logLimit })]]);
    const all = await store.queryLogs({ start, end, level: 'warn', limit: logLimit * ids.length });
    const want = new Set(ids);
    const out = new Map<string, LogEvent[]>();
    if (all.length < logLimit * ids.length) {
      for (const e of all) {
        if (!want.has(e.job_id)) continue;
        let l = out.get(e.job_id);
        if (!l) out.set(e.job_id, (l = []));
        if (l.length < logLimit) l.push(e);
      }
      return out;
    }
    // the shared limit was reached: read each job alone so no job loses its events
    for (const id of ids) out.set(id, await store.queryLogs({ job_id: id, start, end, level: 'warn', limit: logLimit }));
    return out;
  };

  const [vertexMeta, vertexInputs, recIn, recOut, cntIn, cntOut, busy, bp, idle, inPool, outPool, align, pending, kg, cpDur, cpFail, cpDone, cpSize, cpCfg, restarts, logs, tms] = await Promise.all([
    Promise.all(['parallelism', 'maxParallelism', 'partitions', 'keyed'].map((f) => qj('streamtune_job_vertex', f, ['task_id', 'task_name', 'job_name'], 'last'))),
    q('streamtune_job_vertex', 'parallelism', byJob(['task_id', 'inputs']), 'last', jobWhere, whole).then((l) => splitBy(l, 'job_id', single)),
    qj(`${TASK}numRecordsInPerSecond`, 'rate', TASK_TAGS),
    qj(`${TASK}numRecordsOutPerSecond`, 'rate', TASK_TAGS),
    // the counters: rates come from them where the meters are missing (never "0 records/s")
    qj(`${TASK}numRecordsIn`, 'count', TASK_TAGS, 'last'),
    qj(`${TASK}numRecordsOut`, 'count', TASK_TAGS, 'last'),
    qj(`${TASK}busyTimeMsPerSecond`, 'value', TASK_TAGS),
    qj(`${TASK}backPressuredTimeMsPerSecond`, 'value', TASK_TAGS),
    qj(`${TASK}idleTimeMsPerSecond`, 'value', TASK_TAGS),
    qj(`${TASK}Shuffle_Netty_Input_Buffers_inPoolUsage`, 'value', TASK_TAGS),
    qj(`${TASK}Shuffle_Netty_Output_Buffers_outPoolUsage`, 'value', TASK_TAGS),
    qj(`${TASK}checkpointAlignmentTime`, 'value', TASK_TAGS, 'max'),
    qj(`${TASK}operator_pendingRecords`, 'value', ['task_id', 'subtask_index', 'operator_id'], 'last'),
    qj(`${TASK}streamtune_keyGroupRecords`, 'count', ['task_id', 'subtask_index', 'key_group'], 'last'),
    qj('jobmanager_job_lastCheckpointDuration', 'value', [], 'max'),
    qj('jobmanager_job_numberOfFailedCheckpoints', 'value', [], 'last'),
    qj('jobmanager_job_numberOfCompletedCheckpoints', 'value', [], 'last'),
    qj('jobmanager_job_lastCheckpointSize', 'value', [], 'last'),
    Promise.all(['interval', 'timeout', 'minPause', 'unaligned'].map((f) => qj('jobmanager_job_streamtune_checkpointConfig', f, [], 'last'))),
    qj('jobmanager_job_numRestarts', 'value', [], 'max'),
    logsOf(),
    // the TaskManagers that ran each job's subtasks (what tagValues gives, per job)
    q(`${TASK}busyTimeMsPerSecond`, 'value', byJob(['tm_id']), 'last', jobWhere, whole).then((l) => splitBy(l, 'job_id', single)),
  ]);
  const tmIdsOf = new Map<string, string[]>();
  for (const [id, list] of tms) tmIdsOf.set(id, [...new Set(list.map((s) => s.tags.tm_id ?? '').filter((t) => t !== ''))].sort());

  // JVM of every TaskManager concerned (TM metrics carry no job_id); consumer lag of every group.
  const allTms = [...new Set([...tmIdsOf.values()].flat())].sort();
  const groups = [...new Set(jobs.map((j) => j.consumerGroup).filter((g): g is string => !!g))];
  const lagBy = ['topic', 'partition'];
  const singleGroup = groups.length === 1 ? groups[0] : undefined;
  const ql = async (measurement: string, field = 'value'): Promise<Map<string, Series[]>> =>
    splitBy(await q(measurement, field, singleGroup ? lagBy : [...lagBy, 'group'], 'last', { group: singleGroup ?? groups }), 'group', singleGroup);
  const tmWhere = { tm_id: allTms };
  // TaskManager-wide reads (no job filter): the same for every batch of a sweep whose jobs ran on the same TaskManagers
  const qt = (measurement: string, field: string, groupBy: readonly string[], aggregate: SeriesQuery['aggregate'], window = step): Promise<Series[]> => {
    const memo = opts.tmQueries;
    if (!memo) return q(measurement, field, groupBy, aggregate, tmWhere, window);
    const key = JSON.stringify([measurement, field, groupBy, aggregate, allTms, start, end, window]);
    let p = memo.get(key);
    if (!p) {
      memo.set(key, (p = q(measurement, field, groupBy, aggregate, tmWhere, window)));
      p.catch(() => memo.delete(key));
    }
    return p;
  };
  // the vertices' load over the scale-down interval, at the history step (meters, and counters for missing meters)
  const qh = async (measurement: string, field: string, aggregate: SeriesQuery['aggregate']): Promise<Map<string, Series[]>> =>
    splitBy(await store.query({ measurement, field, start: historyStart, end, where: jobWhere, groupBy: byJob(TASK_TAGS), window: historyStep, aggregate }), 'job_id', single);
  const [tmJobSeries, jvmSeries, lagSeries, historySeries] = await Promise.all([
    // every job that ran subtasks on those TaskManagers: a TM shared by several jobs (a session
    // cluster, or one bundled-runtime process running several jobs) has one heap and one GC for all
    allTms.length === 0 ? undefined : qt(`${TASK}busyTimeMsPerSecond`, 'value', ['tm_id', 'job_id', 'job_name'], 'last', whole),
    allTms.length === 0 ? undefined : Promise.all([
      // heap floor detection needs minima: heap used is read with min per step
      qt('taskmanager_Status_JVM_Memory_Heap_Used', 'value', ['tm_id'], 'min'),
      qt('taskmanager_Status_JVM_Memory_Heap_Committed', 'value', ['tm_id'], 'mean'),
      qt('taskmanager_Status_JVM_Memory_Heap_Max', 'value', ['tm_id'], 'last'),
      qt('taskmanager_Status_JVM_GarbageCollector_All_TimeMsPerSecond', 'rate', ['tm_id'], 'mean'),
    ]),
    groups.length === 0 ? undefined : Promise.all([
      ql('streamtune_kafka_partition_lag'),
      ql('streamtune_kafka_partition_committedOffset'),
      ql('streamtune_kafka_partition_logEndOffset'),
      ql('streamtune_kafka_partition_lagSeconds'),
      ql('streamtune_kafka_partition_lagSeconds', 'lowerBound'),
    ]),
    historyMs === 0 ? undefined : Promise.all([
      qh(`${TASK}numRecordsInPerSecond`, 'rate', 'mean'),
      qh(`${TASK}numRecordsOutPerSecond`, 'rate', 'mean'),
      qh(`${TASK}numRecordsIn`, 'count', 'last'),
      qh(`${TASK}numRecordsOut`, 'count', 'last'),
    ]),
  ]);

  const jobsOnTm = new Map<string, Map<string, string | undefined>>();
  for (const s of tmJobSeries ?? []) {
    const tm = s.tags.tm_id;
    const jid = s.tags.job_id;
    if (!tm || !jid) continue;
    let m = jobsOnTm.get(tm);
    if (!m) jobsOnTm.set(tm, (m = new Map()));
    if (!m.has(jid) || m.get(jid) === undefined) m.set(jid, s.tags.job_name || undefined);
  }
  // each TM's jobs, sorted once per read (a TM shared by 1,000 jobs is not sorted 1,000 times)
  const jobsOnTmSorted = new Map<string, OtherJob[]>();
  for (const [tm, m] of jobsOnTm) {
    jobsOnTmSorted.set(tm, [...m.entries()].sort((a, b) => a[0].localeCompare(b[0])).map(([id, name]) => (name !== undefined ? { jobId: id, jobName: name } : { jobId: id })));
  }

  const none: Series[] = [];
  for (const j of jobs) {
    if (result.has(j.jobId)) continue;
    const get = (m: Map<string, Series[]>) => m.get(j.jobId) ?? none;
    const w = assemble(j, start, end, now, step, {
      vertexMeta: vertexMeta.map(get), vertexInputs: get(vertexInputs), recIn: get(recIn), recOut: get(recOut), cntIn: get(cntIn), cntOut: get(cntOut), busy: get(busy), bp: get(bp), idle: get(idle),
      inPool: get(inPool), outPool: get(outPool), align: get(align), pending: get(pending), kg: get(kg),
      cpDur: get(cpDur), cpFail: get(cpFail), cpDone: get(cpDone), cpSize: get(cpSize), cpCfg: cpCfg.map(get), restarts: get(restarts),
      logs: logs.get(j.jobId) ?? [], tmIds: tmIdsOf.get(j.jobId) ?? [], jobsOnTm: jobsOnTmSorted, jvm: jvmSeries,
      lag: lagSeries && j.consumerGroup ? lagSeries.map((m) => m.get(j.consumerGroup!) ?? none) : undefined,
    });
    if (historySeries) w.loadHistory = loadHistoryOf(historySeries.map(get) as [Series[], Series[], Series[], Series[]], historyStart, historyStep);
    result.set(j.jobId, w);
  }
  return result;
}

/** A job sharing a TaskManager (an entry of `JvmWindow.otherJobs`); shared by the windows of one read, never mutated. */
type OtherJob = NonNullable<JvmWindow['otherJobs']>[number];

/** One batch of {@link windowBatches}: its jobs (a slice of the input, from `offset`), and their windows or the read's error. */
export interface WindowBatch {
  /** index in the input of the batch's first job */
  offset: number;
  jobs: JobToLoad[];
  /** job id → window (as {@link loadJobWindows}), when the read succeeded */
  windows?: Map<string, JobWindow>;
  /** the store's error, when the read failed (the next batches are still read) */
  error?: unknown;
}

/**
 * Answers of TaskManager-wide store queries (JVM series, the jobs on each TaskManager) by query,
 * shared by the {@link loadJobWindows} calls of one sweep: the batches read the same window, and
 * jobs of one bundled-runtime process or session cluster share their TaskManagers.
 */
export type TmQueryMemo = Map<string, Promise<Series[]>>;

/**
 * The sweep's reader: the windows of many jobs, `batchSize` jobs per {@link loadJobWindows} call,
 * in input order, all over the same window (the sweep's time), so TaskManager-wide series read for
 * one batch serve the next ({@link TmQueryMemo}). The next batch is read while the caller handles
 * the one yielded (the store's work overlaps the diagnosis), so at most two batches of windows are
 * held at once.
 * @param range the window [start, end] and the evaluation time, ms
 * @param batchSize jobs per read, >= 1 (the service's default is 100: ~30 queries per 100 jobs)
 * @param opts `stepMs` and `logLimit` as in {@link LoadJobWindowOptions}
 * A failed read is yielded with its `error`, never thrown.
 */
export async function* windowBatches(
  store: MetricStore,
  jobs: readonly JobToLoad[],
  batchSize: number,
  range: { start: number; end: number; now: number },
  opts: LoadWindowsOptions = {},
): AsyncGenerator<WindowBatch> {
  const size = Math.max(1, Math.floor(batchSize));
  const tmQueries: TmQueryMemo = new Map();
  const read = (offset: number): Promise<WindowBatch> => {
    const batch = jobs.slice(offset, offset + size);
    return loadJobWindows(store, batch, range.start, range.end, range.now, { ...opts, tmQueries }).then(
      (windows) => ({ offset, jobs: batch, windows }),
      (error: unknown) => ({ offset, jobs: batch, error }),
    );
  };
  let next = jobs.length > 0 ? read(0) : undefined;
  while (next) {
    const current = await next;
    const after = current.offset + size;
    next = after < jobs.length ? read(after) : undefined;
    yield current;
  }
}

interface JobSeries {
  vertexMeta: Series[][]; vertexInputs: Series[]; recIn: Series[]; recOut: Series[]; cntIn: Series[]; cntOut: Series[]; busy: Series[]; bp: Series[]; idle: Series[];
  inPool: Series[]; outPool: Series[]; align: Series[]; pending: Series[]; kg: Series[];
  cpDur: Series[]; cpFail: Series[]; cpDone: Series[]; cpSize: Series[]; cpCfg: Series[][]; restarts: Series[];
  logs: LogEvent[]; tmIds: string[]; jobsOnTm: Map<string, OtherJob[]>; jvm: Series[][] | undefined; lag: Series[][] | undefined;
}

/** The {@link LoadHistory} of one job from its history series (meters in/out, counters in/out). */
function loadHistoryOf([rin, rout, cin, cout]: [Series[], Series[], Series[], Series[]], start: number, stepMs: number): LoadHistory {
  const byVertex = new Map<string, Map<number, VertexLoadHistory['subtasks'][number]>>();
  const sub = (s: Series): VertexLoadHistory['subtasks'][number] => {
    const id = s.tags.task_id ?? '';
    const i = Number(s.tags.subtask_index);
    let v = byVertex.get(id);
    if (!v) byVertex.set(id, (v = new Map()));
    let x = v.get(i);
    if (!x) v.set(i, (x = { subtask: i, recordsInPerSecond: [], recordsOutPerSecond: [] }));
    return x;
  };
  for (const s of rin) sub(s).recordsInPerSecond = toPoints(s);
  for (const s of rout) sub(s).recordsOutPerSecond = toPoints(s);
  for (const s of cin) { const x = sub(s); if (x.recordsInPerSecond.length === 0) x.numRecordsIn = toPoints(s); }
  for (const s of cout) { const x = sub(s); if (x.recordsOutPerSecond.length === 0) x.numRecordsOut = toPoints(s); }
  return {
    start, stepMs,
    vertices: [...byVertex.entries()].map(([id, subs]) => ({ id, subtasks: [...subs.values()].sort((a, b) => a.subtask - b.subtask) })),
  };
}

/** Builds one job's window from its series (already split per job). */
function assemble(job: JobToLoad, start: number, end: number, now: number, step: number, x: JobSeries): JobWindow {
  const { vertexMeta, recIn, recOut, busy, bp, idle, inPool, outPool, align, pending, kg, cpCfg } = x;
  const jobId = job.jobId;
  // Vertices: from the metadata measurement, else from the task series' tags.
  const names = new Map<string, string>();
  for (const list of [busy, recIn, ...vertexMeta]) for (const s of list) if (s.tags.task_id) names.set(s.tags.task_id, s.tags.task_name ?? s.tags.task_id);
  const meta = (i: number, id: string) => lastOf(toPoints(vertexMeta[i]!.find((s) => s.tags.task_id === id)));
  const pendingByTask = new Map<string, Series[]>();
  for (const s of pending) pendingByTask.set(s.tags.task_id ?? '', [...(pendingByTask.get(s.tags.task_id ?? '') ?? []), s]);
  const plan = new Map((job.topology ?? []).map((t) => [t.id, t]));
  const tagEdges = job.topology ? undefined : inputsFromTags(x.vertexInputs);
  const vertices: VertexWindow[] = [...names.entries()].map(([id, name]) => {
    const subs = new Map<number, SubtaskSeries>();
    const sub = (i: number): SubtaskSeries => {
      let s = subs.get(i);
      if (!s) {
        s = { subtask: i, recordsInPerSecond: [], recordsOutPerSecond: [], busyTimeMsPerSecond: [], backPressuredTimeMsPerSecond: [], idleTimeMsPerSecond: [] };
        subs.set(i, s);
      }
      return s;
    };
    const fill = (list: Series[], set: (s: SubtaskSeries, p: Points) => void) => {
      for (const s of list) if (s.tags.task_id === id) set(sub(Number(s.tags.subtask_index)), toPoints(s));
    };
    fill(recIn, (s, p) => (s.recordsInPerSecond = p));
    fill(recOut, (s, p) => (s.recordsOutPerSecond = p));
    fill(x.cntIn, (s, p) => { if (s.recordsInPerSecond.length === 0) s.numRecordsIn = p; });
    fill(x.cntOut, (s, p) => { if (s.recordsOutPerSecond.length === 0) s.numRecordsOut = p; });
    fill(busy, (s, p) => (s.busyTimeMsPerSecond = p));
    fill(bp, (s, p) => (s.backPressuredTimeMsPerSecond = p));
    fill(idle, (s, p) => (s.idleTimeMsPerSecond = p));
    fill(inPool, (s, p) => (s.inPoolUsage = p));
    fill(outPool, (s, p) => (s.outPoolUsage = p));
    fill(align, (s, p) => (s.checkpointAlignmentMs = p.map((x) => ({ t: x.t, v: x.v / 1e6 }))));
    const subtasks = [...subs.values()].sort((a, b) => a.subtask - b.subtask);
    const t = plan.get(id);
    const tagInputs = tagEdges ? (tagEdges.get(id) ?? []) : undefined;
    const pend = pendingByTask.get(id);
    const partitions = t?.partitions ?? meta(2, id);
    const parallelism = t?.parallelism ?? meta(0, id) ?? Math.max(1, subtasks.length);
    const keyedMeta = meta(3, id);
    const isSource = (t ? t.inputs.length === 0 : tagInputs ? tagInputs.length === 0 : false) || !!pend || partitions !== undefined || /^Source:/.test(name);
    const v: VertexWindow = {
      id, name: t?.name ?? name, parallelism, maxParallelism: t?.maxParallelism ?? meta(1, id) ?? defaultMaxParallelism(parallelism),
      inputs: t?.inputs ?? tagInputs ?? [], isSource, keyedInput: t?.keyedInput ?? (keyedMeta !== undefined ? keyedMeta === 1 : !isSource), subtasks,
    };
    if (partitions !== undefined) v.partitions = partitions;
    if (pend) v.pendingRecords = sumSeries(pend.map(toPoints));
    // key group counters are cumulative: records in the window = last − first (a reset counts from 0)
    const kgs = kg.filter((s) => s.tags.task_id === id);
    if (kgs.length) {
      const counts: Record<number, number> = {};
      for (const s of kgs) {
        const p = s.points;
        let inc = p.length === 1 ? p[0]!.v : 0;
        for (let i = 1; i < p.length; i++) inc += p[i]!.v >= p[i - 1]!.v ? p[i]!.v - p[i - 1]!.v : p[i]!.v;
        const k = Number(s.tags.key_group);
        counts[k] = (counts[k] ?? 0) + inc;
      }
      v.keyGroupRecords = counts;
    }
    return v;
  });
  const topologyInferred = !job.topology && !tagEdges;
  const ordered = topologyInferred ? inferTopology(vertices) : topoSort(vertices);

  const cp = emptyCheckpoints();
  cp.lastCheckpointDuration = toPoints(x.cpDur[0]);
  cp.numberOfFailedCheckpoints = toPoints(x.cpFail[0]);
  cp.numberOfCompletedCheckpoints = toPoints(x.cpDone[0]);
  cp.lastCheckpointSize = toPoints(x.cpSize[0]);
  cp.alignmentMs = maxSeries(ordered.flatMap((v) => v.subtasks.map((s) => s.checkpointAlignmentMs ?? [])));
  const [interval, timeout, minPause, unaligned] = cpCfg.map((l) => lastOf(toPoints(l[0])));
  if (interval !== undefined && timeout !== undefined) {
    cp.config = { interval, timeout };
    if (minPause !== undefined) cp.config.minPause = minPause;
    if (unaligned !== undefined) cp.config.unaligned = unaligned === 1;
  }

  // JVM: TaskManagers that ran the job's subtasks (TM metrics carry no job_id).
  const jvm: JvmWindow[] = [];
  if (x.jvm && x.tmIds.length > 0) {
    const [usedMin, committed, max, gc] = x.jvm as [Series[], Series[], Series[], Series[]];
    for (const tm of x.tmIds) {
      const f = (l: Series[]) => toPoints(l.find((s) => s.tags.tm_id === tm));
      const jw: JvmWindow = { tmId: tm, heapUsed: f(usedMin), heapCommitted: f(committed), heapMax: f(max), gcTimeMsPerSecond: f(gc) };
      const others = (x.jobsOnTm.get(tm) ?? []).filter((o) => o.jobId !== jobId);
      if (others.length > 0) jw.otherJobs = others;
      jvm.push(jw);
    }
  }

  let consumerLag: ConsumerLagWindow | undefined;
  if (job.consumerGroup && x.lag) {
    const [lag, committed, leo, secs, lower] = x.lag as [Series[], Series[], Series[], Series[], Series[]];
    const keys = new Map<string, PartitionLagSeries>();
    const part = (s: Series): PartitionLagSeries => {
      const k = `${s.tags.topic}/${s.tags.partition}`;
      let p = keys.get(k);
      if (!p) {
        p = { topic: s.tags.topic ?? '', partition: Number(s.tags.partition), committedOffset: [], logEndOffset: [], lag: [] };
        keys.set(k, p);
      }
      return p;
    };
    for (const s of lag) part(s).lag = toPoints(s);
    for (const s of committed) part(s).committedOffset = toPoints(s);
    for (const s of leo) part(s).logEndOffset = toPoints(s);
    for (const s of secs) part(s).lagSeconds = toPoints(s);
    for (const s of lower) part(s).lagSecondsLowerBound = toPoints(s);
    consumerLag = { group: job.consumerGroup, partitions: [...keys.values()].sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition) };
  }

  // the plan's name first: Flink's Prometheus reporter filters label values (flight-delays → flight_delays)
  const jobName = [...vertexMeta[0]!, ...busy].find((s) => s.tags.job_name)?.tags.job_name;
  const w: JobWindow = { jobId, start, end, now, stepMs: step, topologyInferred, vertices: ordered, checkpoints: cp, numRestarts: toPoints(x.restarts[0]), jvm, logs: x.logs };
  if (jobName) w.jobName = jobName;
  if (consumerLag) w.consumerLag = consumerLag;
  return w;
}
