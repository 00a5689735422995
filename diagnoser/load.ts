/**
 * `loadJobWindow`: fills a {@link JobWindow} from a {@link MetricStore} using Flink's InfluxDB
 * reporter measurement names (docs: /work/shared/reference/flink-metrics.md) and streamtune's own
 * (`streamtune_job_vertex`, `jobmanager_job_streamtune_checkpointConfig`, `streamtune_kafka_partition_*`).
 * Series are read per `stepMs` window (mean for gauges and meter rates, last for counters).
 *
 * Topology: from `streamtune_job_vertex` (parallelism, maxParallelism, partitions, keyed), or
 * `opts.topology` when the caller has the plan. The store keeps numeric fields only, so the
 * `inputs` string field cannot be read back: edges come from `opts.topology` when given, else
 * from {@link inferTopology}'s heuristic.
 */
import type { MetricStore, Series, SeriesQuery } from '../collector/store/types.ts';
import { StreamtuneError } from '../core/errors.ts';
import type { ConsumerLagWindow, JobWindow, JvmWindow, PartitionLagSeries, Points, SubtaskSeries, VertexWindow } from './window.ts';
import { emptyCheckpoints } from './window.ts';
import { lastOf, maxSeries, sumSeries } from './series.ts';

/** A vertex as the caller knows it from the job plan (Flink REST `/jobs/:jid/plan`, the runtime spec). */
export interface TopologyVertex {
  id: string;
  name?: string;
  parallelism?: number;
  maxParallelism?: number;
  /** upstream vertex ids */
  inputs: string[];
  partitions?: number;
  keyedInput?: boolean;
}

/** Options of {@link loadJobWindow}. */
export interface LoadJobWindowOptions {
  /** the job's Kafka consumer group (lag is read for it); without it no consumer lag is loaded */
  consumerGroup?: string;
  /** read resolution, ms. Default 10,000 (Flink's reporter interval). */
  stepMs?: number;
  /** the job's plan, when known: its edges override the inferred ones */
  topology?: TopologyVertex[];
  /** max log events read. Default 1000. */
  logLimit?: number;
}

const TASK = 'taskmanager_job_task_';
const TASK_TAGS = ['task_id', 'task_name', 'subtask_index'] as const;

function toPoints(s: Series | undefined): Points {
  return s ? s.points.map((p) => ({ t: p.t, v: p.v })) : [];
}

/** Flink's default max parallelism for a parallelism p: roundUpToPowerOfTwo(1.5·p) within [128, 32768]. */
export function defaultMaxParallelism(p: number): number {
  const x = Math.max(1, Math.ceil(p * 1.5));
  return Math.min(32768, Math.max(128, 2 ** Math.ceil(Math.log2(x))));
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

/**
 * Reads one job's window from the store.
 * @param store the metric store
 * @param jobId Flink job id (`job_id` tag)
 * @param start window start, ms (inclusive); @param end window end, ms (inclusive); @param now evaluation time, ms
 * @throws StreamtuneError INVALID_ARGUMENT when end < start; the store's STORE_UNAVAILABLE/STORE_REJECTED errors pass through.
 */
export async function loadJobWindow(store: MetricStore, jobId: string, start: number, end: number, now: number, opts: LoadJobWindowOptions = {}): Promise<JobWindow> {
  if (!(end >= start)) throw new StreamtuneError('INVALID_ARGUMENT', `window end ${end} is before start ${start}`, { details: { jobId, start, end } });
  const step = opts.stepMs ?? 10_000;
  const job = { job_id: jobId };
  const q = (measurement: string, field: string, groupBy: readonly string[], aggregate: SeriesQuery['aggregate'] = 'mean', where: SeriesQuery['where'] = job): Promise<Series[]> =>
    store.query({ measurement, field, start, end, where, groupBy, window: step, aggregate });

  const [vertexMeta, recIn, recOut, busy, bp, idle, inPool, outPool, align, pending, kg, cpDur, cpFail, cpDone, cpSize, cpCfg, restarts, logs, tmIds] = await Promise.all([
    Promise.all(['parallelism', 'maxParallelism', 'partitions', 'keyed'].map((f) => q('streamtune_job_vertex', f, ['task_id', 'task_name', 'job_name'], 'last'))),
    q(`${TASK}numRecordsInPerSecond`, 'rate', TASK_TAGS),
    q(`${TASK}numRecordsOutPerSecond`, 'rate', TASK_TAGS),
    q(`${TASK}busyTimeMsPerSecond`, 'value', TASK_TAGS),
    q(`${TASK}backPressuredTimeMsPerSecond`, 'value', TASK_TAGS),
    q(`${TASK}idleTimeMsPerSecond`, 'value', TASK_TAGS),
    q(`${TASK}Shuffle_Netty_Input_Buffers_inPoolUsage`, 'value', TASK_TAGS),
    q(`${TASK}Shuffle_Netty_Output_Buffers_outPoolUsage`, 'value', TASK_TAGS),
    q(`${TASK}checkpointAlignmentTime`, 'value', TASK_TAGS, 'max'),
    q(`${TASK}operator_pendingRecords`, 'value', ['task_id', 'subtask_index', 'operator_id'], 'last'),
    q(`${TASK}streamtune_keyGroupRecords`, 'count', ['task_id', 'subtask_index', 'key_group'], 'last'),
    q('jobmanager_job_lastCheckpointDuration', 'value', [], 'max'),
    q('jobmanager_job_numberOfFailedCheckpoints', 'value', [], 'last'),
    q('jobmanager_job_numberOfCompletedCheckpoints', 'value', [], 'last'),
    q('jobmanager_job_lastCheckpointSize', 'value', [], 'last'),
    Promise.all(['interval', 'timeout', 'minPause', 'unaligned'].map((f) => q('jobmanager_job_streamtune_checkpointConfig', f, [], 'last'))),
    q('jobmanager_job_numRestarts', 'value', [], 'max'),
    store.queryLogs({ job_id: jobId, start, end, level: 'warn', limit: opts.logLimit ?? 1000 }),
    store.tagValues(`${TASK}busyTimeMsPerSecond`, 'tm_id', start, end, job),
  ]);

  // Vertices: from the metadata measurement, else from the task series' tags.
  const names = new Map<string, string>();
  for (const list of [busy, recIn, ...vertexMeta]) for (const s of list) if (s.tags.task_id) names.set(s.tags.task_id, s.tags.task_name ?? s.tags.task_id);
  const meta = (i: number, id: string) => lastOf(toPoints(vertexMeta[i]!.find((s) => s.tags.task_id === id)));
  const pendingByTask = new Map<string, Series[]>();
  for (const s of pending) pendingByTask.set(s.tags.task_id ?? '', [...(pendingByTask.get(s.tags.task_id ?? '') ?? []), s]);
  const plan = new Map((opts.topology ?? []).map((t) => [t.id, t]));
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
    fill(busy, (s, p) => (s.busyTimeMsPerSecond = p));
    fill(bp, (s, p) => (s.backPressuredTimeMsPerSecond = p));
    fill(idle, (s, p) => (s.idleTimeMsPerSecond = p));
    fill(inPool, (s, p) => (s.inPoolUsage = p));
    fill(outPool, (s, p) => (s.outPoolUsage = p));
    fill(align, (s, p) => (s.checkpointAlignmentMs = p.map((x) => ({ t: x.t, v: x.v / 1e6 }))));
    const subtasks = [...subs.values()].sort((a, b) => a.subtask - b.subtask);
    const t = plan.get(id);
    const pend = pendingByTask.get(id);
    const partitions = t?.partitions ?? meta(2, id);
    const parallelism = t?.parallelism ?? meta(0, id) ?? Math.max(1, subtasks.length);
    const keyedMeta = meta(3, id);
    const isSource = (t ? t.inputs.length === 0 : false) || !!pend || partitions !== undefined || /^Source:/.test(name);
    const v: VertexWindow = {
      id, name: t?.name ?? name, parallelism, maxParallelism: t?.maxParallelism ?? meta(1, id) ?? defaultMaxParallelism(parallelism),
      inputs: t?.inputs ?? [], isSource, keyedInput: t?.keyedInput ?? (keyedMeta !== undefined ? keyedMeta === 1 : !isSource), subtasks,
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
  const topologyInferred = !opts.topology;
  const ordered = topologyInferred ? inferTopology(vertices) : topoSort(vertices);

  const cp = emptyCheckpoints();
  cp.lastCheckpointDuration = toPoints(cpDur[0]);
  cp.numberOfFailedCheckpoints = toPoints(cpFail[0]);
  cp.numberOfCompletedCheckpoints = toPoints(cpDone[0]);
  cp.lastCheckpointSize = toPoints(cpSize[0]);
  cp.alignmentMs = maxSeries(ordered.flatMap((v) => v.subtasks.map((s) => s.checkpointAlignmentMs ?? [])));
  const [interval, timeout, minPause, unaligned] = cpCfg.map((l) => lastOf(toPoints(l[0])));
  if (interval !== undefined && timeout !== undefined) {
    cp.config = { interval, timeout };
    if (minPause !== undefined) cp.config.minPause = minPause;
    if (unaligned !== undefined) cp.config.unaligned = unaligned === 1;
  }

  // JVM: TaskManagers that ran the job's subtasks (TM metrics carry no job_id).
  const jvm: JvmWindow[] = [];
  if (tmIds.length > 0) {
    const where = { tm_id: tmIds };
    // heap floor detection needs minima: heap used is read with min per step
    const [usedMin, committed, max, gc] = await Promise.all([
      q('taskmanager_Status_JVM_Memory_Heap_Used', 'value', ['tm_id'], 'min', where),
      q('taskmanager_Status_JVM_Memory_Heap_Committed', 'value', ['tm_id'], 'mean', where),
      q('taskmanager_Status_JVM_Memory_Heap_Max', 'value', ['tm_id'], 'last', where),
      q('taskmanager_Status_JVM_GarbageCollector_All_TimeMsPerSecond', 'rate', ['tm_id'], 'mean', where),
    ]);
    for (const tm of tmIds) {
      const f = (l: Series[]) => toPoints(l.find((s) => s.tags.tm_id === tm));
      jvm.push({ tmId: tm, heapUsed: f(usedMin), heapCommitted: f(committed), heapMax: f(max), gcTimeMsPerSecond: f(gc) });
    }
  }

  let consumerLag: ConsumerLagWindow | undefined;
  if (opts.consumerGroup) {
    const where = { group: opts.consumerGroup };
    const by = ['topic', 'partition'];
    const [lag, committed, leo, secs] = await Promise.all([
      q('streamtune_kafka_partition_lag', 'value', by, 'last', where),
      q('streamtune_kafka_partition_committedOffset', 'value', by, 'last', where),
      q('streamtune_kafka_partition_logEndOffset', 'value', by, 'last', where),
      q('streamtune_kafka_partition_lagSeconds', 'value', by, 'last', where),
    ]);
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
    consumerLag = { group: opts.consumerGroup, partitions: [...keys.values()].sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition) };
  }

  const jobName = [...busy, ...vertexMeta[0]!].find((s) => s.tags.job_name)?.tags.job_name;
  const w: JobWindow = { jobId, start, end, now, topologyInferred, vertices: ordered, checkpoints: cp, numRestarts: toPoints(restarts[0]), jvm, logs };
  if (jobName) w.jobName = jobName;
  if (consumerLag) w.consumerLag = consumerLag;
  return w;
}
