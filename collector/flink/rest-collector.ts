/**
 * Collects a Flink job's topology, per-subtask metrics, back pressure, checkpoints and exceptions over
 * the JobManager REST API and turns them into {@link MetricPoint}s shaped exactly like the points
 * Flink's InfluxDB reporter writes (docs/FLINK-CONTRACT.md §1, Flink 2.1 `MetricMapper`):
 * measurement = scope + '_' + metric name; fields by type — Counter `count` (int), Gauge `value`
 * (int for integer strings, float for decimals, string otherwise — Boolean gauges become
 * "true"/"false"), Meter `rate` (float) plus `count` (int) when the meter's counter was fetched;
 * NaN/±Inf values are dropped like the reporter drops them.
 *
 * Tags written: `job_id`, `job_name` (job scope); + `task_id`, `task_name`, `subtask_index` (task
 * scope); + `operator_id`, `operator_name` (operator scope). The REST API does not expose `host`,
 * `tm_id`, `task_attempt_id` or `task_attempt_num`, so points match a reporter configured with
 * `scope.variables.excludes: host;tm_id;task_attempt_id;task_attempt_num`. Operator metrics are read
 * only for the chain-head operator of source vertices (no plan inputs), whose `operator_id` equals
 * the `task_id` (for other operators REST gives no operator id).
 *
 * streamtune's own measurements (not reporter metrics):
 * - `streamtune_job_vertex` {job_id, job_name, task_id, task_name, inputs} fields parallelism, maxParallelism
 *   (int), inputs (string, comma-separated upstream vertex ids from the plan; also the tag `inputs`);
 * - `jobmanager_job_streamtune_checkpointConfig` {job_id, job_name} fields interval, timeout,
 *   minPause (int, ms);
 * - `taskmanager_job_task_streamtune_backPressure` {task tags} fields ratio, idleRatio, busyRatio
 *   (float, 0..1) and level ('ok'|'low'|'high'), from `/vertices/:vid/backpressure`.
 * Exceptions of `/jobs/:jid/exceptions` become {@link LogEvent}s (level 'error'), each written once.
 *
 * Errors: `collectOnce` throws the REST client's `FLINK_API` errors for job-level calls; a failing
 * per-vertex call is logged and that vertex skipped. Sink errors propagate.
 */
import { type FieldValue, type LogEvent, type Logger, type MetricPoint, silentLogger } from '../../core/index.ts';
import { FlinkRestClient, operatorMetricId, type FlinkRestClientOptions, type MetricValue } from '../../platform/index.ts';

/** Flink metric type, which decides the reporter's fields. */
export type FlinkMetricType = 'counter' | 'meter' | 'gauge';

/** Task-scope metrics read by default, with their Flink types (docs/FLINK-CONTRACT.md §2). */
export const DEFAULT_TASK_METRICS: Readonly<Record<string, FlinkMetricType>> = {
  numRecordsIn: 'counter',
  numRecordsOut: 'counter',
  numBytesIn: 'counter',
  numBytesOut: 'counter',
  numRecordsInPerSecond: 'meter',
  numRecordsOutPerSecond: 'meter',
  numBytesInPerSecond: 'meter',
  numBytesOutPerSecond: 'meter',
  busyTimeMsPerSecond: 'gauge',
  backPressuredTimeMsPerSecond: 'gauge',
  idleTimeMsPerSecond: 'gauge',
  isBackPressured: 'gauge',
  currentInputWatermark: 'gauge',
  checkpointStartDelayNanos: 'gauge',
  checkpointAlignmentTime: 'gauge',
};

/** Operator-scope metrics read for the chain-head operator of source vertices (FLIP-27 sources). */
export const DEFAULT_SOURCE_OPERATOR_METRICS: Readonly<Record<string, FlinkMetricType>> = {
  pendingRecords: 'gauge',
  pendingBytes: 'gauge',
  currentEmitEventTimeLag: 'gauge',
  currentFetchEventTimeLag: 'gauge',
  watermarkLag: 'gauge',
  sourceIdleTime: 'gauge',
  numRecordsIn: 'counter',
  numRecordsOut: 'counter',
};

/** Job-scope gauges read from `/jobs/:jid/metrics` (the checkpoint gauges come from `/checkpoints`). */
export const DEFAULT_JOB_METRICS: readonly string[] = ['numRestarts', 'numRescales'];

/** Options of {@link FlinkRestCollector}. */
export interface FlinkRestCollectorOptions {
  rest: FlinkRestClientOptions;
  /** Receives each batch of points (e.g. `store.write`). */
  writePoints: (points: MetricPoint[]) => Promise<void>;
  /** Receives new exception events (e.g. `store.writeLogs`). */
  writeLogs: (events: LogEvent[]) => Promise<void>;
  /** Jobs to collect; default every job that `/jobs/overview` lists as RUNNING. */
  jobIds?: readonly string[];
  /** Task metrics by name → type. Default {@link DEFAULT_TASK_METRICS}. */
  taskMetrics?: Readonly<Record<string, FlinkMetricType>>;
  /** Source chain-head operator metrics. Default {@link DEFAULT_SOURCE_OPERATOR_METRICS}. */
  sourceOperatorMetrics?: Readonly<Record<string, FlinkMetricType>>;
  /** Read `/backpressure` per vertex. Default true. */
  backpressure?: boolean;
  /** `maxExceptions` per poll. Default 20. */
  maxExceptions?: number;
  logger?: Logger;
}

/** What one {@link FlinkRestCollector.collectOnce} wrote. */
export interface CollectResult {
  jobs: number;
  points: number;
  logs: number;
}

/**
 * Fields of a reporter point for one REST metric value (a string from Flink's MetricStore), or
 * undefined when the reporter would drop it (NaN, ±Infinity, empty). `count` is the paired counter
 * value for a meter (`numRecordsIn` for `numRecordsInPerSecond`).
 */
export function reporterFields(type: FlinkMetricType, value: string, count?: string): { fields: Record<string, FieldValue>; intFields: string[] } | undefined {
  const v = value.trim();
  const isInt = /^-?\d+$/.test(v);
  const num = Number(v);
  const finite = v !== '' && Number.isFinite(num);
  if (type === 'counter') return isInt ? { fields: { count: num }, intFields: ['count'] } : undefined;
  if (type === 'meter') {
    if (!finite) return undefined;
    const c = count?.trim();
    if (c !== undefined && /^-?\d+$/.test(c)) return { fields: { count: Number(c), rate: num }, intFields: ['count'] };
    return { fields: { rate: num }, intFields: [] };
  }
  if (isInt) return { fields: { value: num }, intFields: ['value'] };
  if (finite) return { fields: { value: num }, intFields: [] };
  if (/^(NaN|-?Infinity)$/.test(v) || v === '') return undefined;
  return { fields: { value: v }, intFields: [] };
}

/** Splits an exception-history `taskName` like `Map (2/4)#1` into vertex name, subtask index and attempt. */
export function parseTaskName(taskName: string): { vertex: string; subtask_index?: number; attempt?: number } {
  const m = /^(.*) \((\d+)\/(\d+)\)(?:#(\d+))?$/.exec(taskName);
  if (!m) return { vertex: taskName };
  return { vertex: m[1]!, subtask_index: Number(m[2]) - 1, ...(m[4] !== undefined ? { attempt: Number(m[4]) } : {}) };
}

/** The meter → counter pairing Flink uses (`MeterView(counter)`): `xPerSecond` counts `x`. */
function meterCounter(name: string): string | undefined {
  return name.endsWith('PerSecond') ? name.slice(0, -'PerSecond'.length) : undefined;
}

/** Collects over REST; call {@link collectOnce} on a schedule (e.g. every 10 s, Flink's fetcher interval). */
export class FlinkRestCollector {
  readonly client: FlinkRestClient;
  private readonly log: Logger;
  private readonly seenExceptions = new Map<string, Set<string>>();

  constructor(private readonly opts: FlinkRestCollectorOptions) {
    this.client = new FlinkRestClient(opts.rest);
    this.log = (opts.logger ?? silentLogger).namespace('flink-collector');
  }

  /** One pass over the jobs; every point carries `now` (ms) as its timestamp, as a reporter batch does. */
  async collectOnce(now: number): Promise<CollectResult> {
    const jobIds = this.opts.jobIds ?? (await this.client.jobsOverview()).filter((j) => j.state === 'RUNNING').map((j) => j.jid);
    let points = 0;
    let logs = 0;
    for (const jid of jobIds) {
      const r = await this.collectJob(jid, now);
      if (r.points.length > 0) await this.opts.writePoints(r.points);
      if (r.logs.length > 0) await this.opts.writeLogs(r.logs);
      points += r.points.length;
      logs += r.logs.length;
    }
    return { jobs: jobIds.length, points, logs };
  }

  /** Points and new log events of one job (no writes). */
  async collectJob(jid: string, now: number): Promise<{ points: MetricPoint[]; logs: LogEvent[] }> {
    const [details, plan] = await Promise.all([this.client.jobDetails(jid), this.client.jobPlan(jid)]);
    const jobTags = { job_id: details.jid, job_name: details.name };
    const points: MetricPoint[] = [];
    const push = (measurement: string, tags: Record<string, string>, f: { fields: Record<string, FieldValue>; intFields: string[] } | undefined): void => {
      if (!f) return;
      const tagsClean = Object.fromEntries(Object.entries(tags).filter(([, v]) => v !== ''));
      points.push({ measurement, tags: tagsClean, fields: f.fields, timestamp: now, intFields: f.intFields });
    };
    const inputsOf = new Map(plan.nodes.map((n) => [n.id, (n.inputs ?? []).map((i) => i.id)]));
    const taskMetrics = this.opts.taskMetrics ?? DEFAULT_TASK_METRICS;
    const opMetrics = this.opts.sourceOperatorMetrics ?? DEFAULT_SOURCE_OPERATOR_METRICS;

    for (const v of details.vertices) {
      const vTags = { ...jobTags, task_id: v.id, task_name: v.name };
      const inputs = inputsOf.get(v.id) ?? [];
      points.push({
        measurement: 'streamtune_job_vertex',
        // inputs also as a tag (comma-joined upstream task_ids, '' for sources): stores that keep only
        // numeric fields (the embedded one) still return the edges
        tags: { ...vTags, inputs: inputs.join(',') },
        fields: { parallelism: v.parallelism, maxParallelism: v.maxParallelism, inputs: inputs.join(',') },
        timestamp: now,
        intFields: ['parallelism', 'maxParallelism'],
      });
      const head = v.name.split(' -> ')[0]!;
      const isSource = inputs.length === 0;
      const opIds = isSource ? Object.keys(opMetrics).map((m) => [operatorMetricId(head, m), m] as const) : [];
      const ids = [...Object.keys(taskMetrics), ...opIds.map(([id]) => id)];
      try {
        for (let i = 0; i < v.parallelism; i++) {
          const values = new Map((await this.client.subtaskMetrics(jid, v.id, i, ids)).map((m: MetricValue) => [m.id, m.value]));
          const sTags = { ...vTags, subtask_index: String(i) };
          for (const [name, type] of Object.entries(taskMetrics)) {
            const val = values.get(name);
            if (val === undefined) continue;
            const partner = type === 'meter' ? meterCounter(name) : undefined;
            push(`taskmanager_job_task_${name}`, sTags, reporterFields(type, val, partner ? values.get(partner) : undefined));
          }
          const oTags = { ...sTags, operator_id: v.id, operator_name: head.slice(0, 80) };
          for (const [id, name] of opIds) {
            const val = values.get(id);
            if (val === undefined) continue;
            const type = opMetrics[name]!;
            const partner = type === 'meter' ? meterCounter(name) : undefined;
            push(`taskmanager_job_task_operator_${name}`, oTags, reporterFields(type, val, partner ? values.get(operatorMetricId(head, partner)) : undefined));
          }
        }
        if (this.opts.backpressure ?? true) {
          const bp = await this.client.backpressure(jid, v.id);
          if (bp.status === 'ok') {
            for (const s of bp.subtasks ?? []) {
              const fields: Record<string, FieldValue> = { ratio: s.ratio, level: s.backpressureLevel };
              if (s.idleRatio !== undefined) fields.idleRatio = s.idleRatio;
              if (s.busyRatio !== undefined) fields.busyRatio = s.busyRatio;
              points.push({ measurement: 'taskmanager_job_task_streamtune_backPressure', tags: { ...vTags, subtask_index: String(s.subtask) }, fields, timestamp: now, intFields: [] });
            }
          }
        }
      } catch (err) {
        this.log.warn('vertex metrics unavailable, skipping vertex', { job_id: jid, task_id: v.id, error: (err as Error).message });
      }
    }

    const [stats, config, jobMetrics] = await Promise.all([
      this.client.checkpoints(jid),
      this.client.checkpointConfig(jid),
      this.client.jobMetrics(jid, DEFAULT_JOB_METRICS),
    ]);
    const int = (n: number | undefined): { fields: Record<string, FieldValue>; intFields: string[] } | undefined =>
      n === undefined ? undefined : { fields: { value: n }, intFields: ['value'] };
    push('jobmanager_job_numberOfCompletedCheckpoints', jobTags, int(stats.counts.completed));
    push('jobmanager_job_numberOfFailedCheckpoints', jobTags, int(stats.counts.failed));
    push('jobmanager_job_numberOfInProgressCheckpoints', jobTags, int(stats.counts.in_progress));
    push('jobmanager_job_totalNumberOfCheckpoints', jobTags, int(stats.counts.total));
    const last = stats.latest?.completed;
    if (last) {
      push('jobmanager_job_lastCheckpointDuration', jobTags, int(last.end_to_end_duration));
      push('jobmanager_job_lastCheckpointSize', jobTags, int(last.checkpointed_size));
      push('jobmanager_job_lastCheckpointFullSize', jobTags, int(last.state_size));
    }
    for (const m of jobMetrics) {
      if (m.value !== undefined) push(`jobmanager_job_${m.id}`, jobTags, reporterFields('gauge', m.value));
    }
    points.push({
      measurement: 'jobmanager_job_streamtune_checkpointConfig',
      tags: jobTags,
      fields: { interval: config.interval, timeout: config.timeout, minPause: config.min_pause },
      timestamp: now,
      intFields: ['interval', 'timeout', 'minPause'],
    });

    const logs = await this.exceptionEvents(jid, details.name);
    return { points, logs };
  }

  private async exceptionEvents(jid: string, jobName: string): Promise<LogEvent[]> {
    const { entries } = await this.client.exceptions(jid, this.opts.maxExceptions ?? 20);
    let seen = this.seenExceptions.get(jid);
    if (!seen) this.seenExceptions.set(jid, (seen = new Set()));
    const out: LogEvent[] = [];
    const add = (e: { exceptionName: string; stacktrace: string; timestamp: number; taskName?: string }): void => {
      const key = `${e.timestamp}|${e.exceptionName}|${e.taskName ?? ''}`;
      if (seen.has(key)) return;
      seen.add(key);
      const firstLine = e.stacktrace.split('\n')[0] ?? e.exceptionName;
      const ev: LogEvent = { timestamp: e.timestamp, level: 'error', job_id: jid, job_name: jobName, message: firstLine, exception_class: e.exceptionName, stack: e.stacktrace };
      if (e.taskName) {
        const t = parseTaskName(e.taskName);
        ev.vertex = t.vertex;
        if (t.subtask_index !== undefined) ev.subtask_index = t.subtask_index;
        if (t.attempt !== undefined) ev.attempt = t.attempt;
      }
      out.push(ev);
    };
    for (const e of entries) {
      add(e);
      for (const c of e.concurrentExceptions ?? []) add(c);
    }
    return out;
  }
}
