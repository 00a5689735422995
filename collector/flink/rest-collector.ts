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
 * streamtune's own measurements (not reporter metrics; written with `metrics: false` too, so data
 * of Flink's InfluxDB reporter gets the job graph, checkpoint settings and exceptions beside it):
 * - `streamtune_job_vertex` {job_id, job_name, task_id, task_name, inputs} fields parallelism, maxParallelism
 *   (int), inputs (string, comma-separated upstream vertex ids from the plan; also the tag `inputs`),
 *   keyed (int 0/1: an input ship strategy is HASH) and partitions (int: Kafka partitions a source
 *   reads) when known;
 * - `jobmanager_job_streamtune_checkpointConfig` {job_id, job_name} fields interval, timeout,
 *   minPause (int, ms), unaligned (int 0/1);
 * - `taskmanager_job_task_streamtune_backPressure` {task tags} fields ratio, idleRatio, busyRatio
 *   (float, 0..1) and level ('ok'|'low'|'high'), from `/vertices/:vid/backpressure`.
 * Exceptions of `/jobs/:jid/exceptions` become {@link LogEvent}s (level 'error'), each written once.
 *
 * Job-scope gauges (restarts, checkpoint counts, durations and sizes) come from `/jobs/:jid/metrics`
 * under the reporter's names (`jobmanager_job_numberOfFailedCheckpoints`, ...).
 *
 * Errors: `collectOnce` throws the REST client's `FLINK_API` errors for job-level calls; a failing
 * per-vertex call is logged and that vertex skipped. Sink errors propagate.
 */
import { createLimiter, errorMessage, type FieldValue, type Limiter, type LogEvent, type Logger, type MetricPoint, silentLogger } from '../../core/index.ts';
import { FlinkRestClient, operatorMetricId, subtaskMetricIdBatches, type FlinkRestClientOptions } from '../../platform/index.ts';

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

/**
 * Job-scope gauges read from `/jobs/:jid/metrics` in one request: restarts and the checkpoint
 * gauges the JobManager reports (the same values `/jobs/:jid/checkpoints` summarises; the InfluxDB
 * reporter writes these gauges as `jobmanager_job_<name>`).
 */
export const DEFAULT_JOB_METRICS: readonly string[] = [
  'numRestarts',
  'numRescales',
  'numberOfCompletedCheckpoints',
  'numberOfFailedCheckpoints',
  'numberOfInProgressCheckpoints',
  'totalNumberOfCheckpoints',
  'lastCheckpointDuration',
  'lastCheckpointSize',
  'lastCheckpointFullSize',
];

/**
 * What the caller already knows of a job (the catalog polls it anyway): with it, a round reads no
 * `/jobs/:jid`, `/plan` or `/checkpoints/config`.
 */
export interface KnownFlinkJob {
  name: string;
  vertices: ReadonlyArray<{ id: string; name: string; parallelism: number; maxParallelism: number; inputs: readonly string[]; keyedInput?: boolean; partitions?: number }>;
  /** ms; absent when checkpointing is off or not known */
  checkpointing?: { interval?: number; timeout?: number; minPause?: number; unaligned?: boolean };
}

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
  /**
   * false: no task, operator or job gauges (Flink's InfluxDB reporter writes them): only the job
   * graph (`streamtune_job_vertex`), the checkpoint settings and the exceptions, which no reporter
   * writes. Default true.
   */
  metrics?: boolean;
  /** Read `/backpressure` per vertex (one more request per vertex; the diagnoser reads `backPressuredTimeMsPerSecond`). Default true. */
  backpressure?: boolean;
  /** HTTP requests in flight at most, over all jobs of a round. Default 8. */
  maxConcurrentRequests?: number;
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

/**
 * Splits an exception-history `taskName` into vertex name, subtask index (0-based) and attempt:
 * `Map (2/4)#1` (Flink's `getTaskNameWithSubtaskIndex` + attempt) and `enrich (1/1) - execution #0`
 * (what Flink 1.20.3 sends, seen on a real cluster).
 */
export function parseTaskName(taskName: string): { vertex: string; subtask_index?: number; attempt?: number } {
  const m = /^(.*) \((\d+)\/(\d+)\)(?:#(\d+)| - execution #(\d+))?$/.exec(taskName);
  if (!m) return { vertex: taskName };
  const attempt = m[4] ?? m[5];
  return { vertex: m[1]!, subtask_index: Number(m[2]) - 1, ...(attempt !== undefined ? { attempt: Number(attempt) } : {}) };
}

/** The meter → counter pairing Flink uses (`MeterView(counter)`): `xPerSecond` counts `x`. */
function meterCounter(name: string): string | undefined {
  return name.endsWith('PerSecond') ? name.slice(0, -'PerSecond'.length) : undefined;
}

/**
 * Collects over REST; call {@link collectOnce} (or {@link collectJob} per job) on a schedule.
 *
 * Requests per job and round: one `GET /jobs/:jid/vertices/:vid/metrics?get=0.m,1.m,…` per vertex
 * (every subtask's values in one request; more only when the ids would pass the REST server's
 * request-line limit: {@link subtaskMetricIdBatches}), one `GET /jobs/:jid/metrics` (restarts and
 * checkpoint gauges), and `GET /jobs/:jid/exceptions` only on the first round and when `numRestarts`
 * moved in this or the previous round (a failure restarts the job or ends it). With a
 * {@link KnownFlinkJob} no `/jobs/:jid`, `/plan` or `/checkpoints/config`; otherwise those three
 * too, and `/backpressure` per vertex when enabled. Never one request per subtask. Requests of all
 * jobs of a round share one limiter (`maxConcurrentRequests` in flight).
 *
 * Per-subtask values rather than `/subtasks/metrics?agg=…` aggregates: the diagnoser compares
 * subtasks (data skew from each subtask's input rate, "every subtask idle" for over-provisioning,
 * coverage per subtask) and the dashboard charts them, and aggregates cannot give that back; the
 * vertex endpoint costs the same one request per vertex.
 */
export class FlinkRestCollector {
  readonly client: FlinkRestClient;
  private readonly log: Logger;
  private readonly limit: Limiter;
  private readonly seenExceptions = new Map<string, Set<string>>();
  /** per job: numRestarts of the last two rounds (exceptions are read when it moves) */
  private readonly restartsSeen = new Map<string, { last?: string; changedAt: number; round: number }>();
  private requests = 0;

  constructor(private readonly opts: FlinkRestCollectorOptions) {
    this.client = new FlinkRestClient(opts.rest);
    this.log = (opts.logger ?? silentLogger).namespace('flink-collector');
    this.limit = createLimiter(opts.maxConcurrentRequests ?? 8);
  }

  /** HTTP requests made so far (for benchmarks: requests per round). */
  get requestCount(): number {
    return this.requests;
  }

  /** One pass over the jobs; every point carries `now` (ms) as its timestamp, as a reporter batch does. */
  async collectOnce(now: number): Promise<CollectResult> {
    const jobIds = this.opts.jobIds ?? (await this.call(() => this.client.jobsOverview())).filter((j) => j.state === 'RUNNING').map((j) => j.jid);
    let points = 0;
    let logs = 0;
    const results = await Promise.all(jobIds.map((jid) => this.collectJob(jid, now)));
    for (const r of results) {
      if (r.points.length > 0) await this.opts.writePoints(r.points);
      if (r.logs.length > 0) await this.opts.writeLogs(r.logs);
      points += r.points.length;
      logs += r.logs.length;
    }
    return { jobs: jobIds.length, points, logs };
  }

  /** Forgets a job's state (seen exceptions, restarts): call when it ended. */
  forget(jid: string): void {
    this.seenExceptions.delete(jid);
    this.restartsSeen.delete(jid);
  }

  /**
   * Points and new log events of one job (no writes). `known`: the job's name, vertices and
   * checkpoint settings when the caller has them (the catalog): fewer requests.
   * @throws StreamtuneError FLINK_API when a job-level request fails (a failing vertex request is
   *   logged and that vertex skipped)
   */
  async collectJob(jid: string, now: number, known?: KnownFlinkJob): Promise<{ points: MetricPoint[]; logs: LogEvent[] }> {
    const job = known ?? (await this.describe(jid));
    const jobTags = { job_id: jid, job_name: job.name };
    const points: MetricPoint[] = [];
    const push = (measurement: string, tags: Record<string, string>, f: { fields: Record<string, FieldValue>; intFields: string[] } | undefined): void => {
      if (!f) return;
      const tagsClean = Object.fromEntries(Object.entries(tags).filter(([, v]) => v !== ''));
      points.push({ measurement, tags: tagsClean, fields: f.fields, timestamp: now, intFields: f.intFields });
    };
    const withMetrics = this.opts.metrics ?? true;
    const taskMetrics = this.opts.taskMetrics ?? DEFAULT_TASK_METRICS;
    const opMetrics = this.opts.sourceOperatorMetrics ?? DEFAULT_SOURCE_OPERATOR_METRICS;

    const vertexWork = job.vertices.map(async (v) => {
      const vTags = { ...jobTags, task_id: v.id, task_name: v.name };
      const inputs = v.inputs.join(',');
      const fields: Record<string, FieldValue> = { parallelism: v.parallelism, maxParallelism: v.maxParallelism, inputs };
      const intFields = ['parallelism', 'maxParallelism'];
      if (v.keyedInput !== undefined) {
        fields.keyed = v.keyedInput ? 1 : 0;
        intFields.push('keyed');
      }
      if (v.partitions !== undefined) {
        fields.partitions = v.partitions;
        intFields.push('partitions');
      }
      // inputs also as a tag (comma-joined upstream task_ids, '' for sources): stores that keep only
      // numeric fields (the embedded one) still return the edges
      points.push({ measurement: 'streamtune_job_vertex', tags: { ...vTags, inputs }, fields, timestamp: now, intFields });
      if (!withMetrics) return;
      const head = v.name.split(' -> ')[0]!;
      const isSource = v.inputs.length === 0;
      const opIds = isSource ? Object.keys(opMetrics).map((m) => [operatorMetricId(head, m), m] as const) : [];
      const names = [...Object.keys(taskMetrics), ...opIds.map(([id]) => id)];
      try {
        const batches = subtaskMetricIdBatches(v.parallelism, names);
        const answers = await Promise.all(batches.map((ids) => this.call(() => this.client.vertexMetrics(jid, v.id, ids))));
        // '<subtask>.<id>' → value, per subtask
        const bySubtask = new Map<number, Map<string, string | undefined>>();
        for (const m of answers.flat()) {
          const dot = m.id.indexOf('.');
          const i = Number(m.id.slice(0, dot));
          let values = bySubtask.get(i);
          if (!values) bySubtask.set(i, (values = new Map()));
          values.set(m.id.slice(dot + 1), m.value);
        }
        for (const [i, values] of [...bySubtask.entries()].sort((a, b) => a[0] - b[0])) {
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
          const bp = await this.call(() => this.client.backpressure(jid, v.id));
          if (bp.status === 'ok') {
            for (const s of bp.subtasks ?? []) {
              const f: Record<string, FieldValue> = { ratio: s.ratio, level: s.backpressureLevel };
              if (s.idleRatio !== undefined) f.idleRatio = s.idleRatio;
              if (s.busyRatio !== undefined) f.busyRatio = s.busyRatio;
              points.push({ measurement: 'taskmanager_job_task_streamtune_backPressure', tags: { ...vTags, subtask_index: String(s.subtask) }, fields: f, timestamp: now, intFields: [] });
            }
          }
        }
      } catch (err) {
        this.log.warn('vertex metrics unavailable, skipping vertex', { job_id: jid, task_id: v.id, error: errorMessage(err) });
      }
    });

    const jobWork = (async (): Promise<LogEvent[]> => {
      const jobMetrics = await this.call(() => this.client.jobMetrics(jid, withMetrics ? DEFAULT_JOB_METRICS : ['numRestarts']));
      if (withMetrics) {
        for (const m of jobMetrics) if (m.value !== undefined) push(`jobmanager_job_${m.id}`, jobTags, reporterFields('gauge', m.value));
      }
      const cfg = job.checkpointing ?? (known ? undefined : await this.checkpointConfig(jid));
      if (cfg?.interval !== undefined && cfg.timeout !== undefined) {
        const f: Record<string, FieldValue> = { interval: cfg.interval, timeout: cfg.timeout };
        const ints = ['interval', 'timeout'];
        if (cfg.minPause !== undefined) {
          f.minPause = cfg.minPause;
          ints.push('minPause');
        }
        if (cfg.unaligned !== undefined) {
          f.unaligned = cfg.unaligned ? 1 : 0;
          ints.push('unaligned');
        }
        points.push({ measurement: 'jobmanager_job_streamtune_checkpointConfig', tags: jobTags, fields: f, timestamp: now, intFields: ints });
      }
      const restarts = jobMetrics.find((m) => m.id === 'numRestarts')?.value;
      return this.exceptionsDue(jid, restarts) ? this.exceptionEvents(jid, job.name) : [];
    })();

    const [logs] = await Promise.all([jobWork, Promise.all(vertexWork)]);
    return { points, logs };
  }

  // ---- internals --------------------------------------------------------------------------

  /** One REST call through the limiter, counted. */
  private call<T>(fn: () => Promise<T>): Promise<T> {
    return this.limit(() => {
      this.requests++;
      return fn();
    });
  }

  /** The job's name, vertices (with edges and keyed inputs from the plan) and checkpoint settings, over REST. */
  private async describe(jid: string): Promise<KnownFlinkJob> {
    const [details, plan] = await Promise.all([this.call(() => this.client.jobDetails(jid)), this.call(() => this.client.jobPlan(jid))]);
    const inputsOf = new Map(plan.nodes.map((n) => [n.id, n.inputs ?? []]));
    return {
      name: details.name,
      vertices: details.vertices.map((v) => {
        const ins = inputsOf.get(v.id) ?? [];
        return { id: v.id, name: v.name, parallelism: v.parallelism, maxParallelism: v.maxParallelism, inputs: ins.map((i) => i.id), keyedInput: ins.some((i) => (i.ship_strategy ?? '').toUpperCase() === 'HASH') };
      }),
    };
  }

  private async checkpointConfig(jid: string): Promise<KnownFlinkJob['checkpointing']> {
    const c = await this.call(() => this.client.checkpointConfig(jid));
    return { interval: c.interval, timeout: c.timeout, minPause: c.min_pause, ...(c.unaligned_checkpoints !== undefined ? { unaligned: c.unaligned_checkpoints } : {}) };
  }

  /** True on a job's first round and when `numRestarts` moved in this round or the one before. */
  private exceptionsDue(jid: string, restarts: string | undefined): boolean {
    const s = this.restartsSeen.get(jid);
    if (!s) {
      this.restartsSeen.set(jid, { last: restarts, changedAt: -2, round: 0 });
      return true;
    }
    s.round++;
    if (restarts !== s.last) {
      s.last = restarts;
      s.changedAt = s.round;
    }
    return restarts === undefined || s.round - s.changedAt <= 1;
  }

  private async exceptionEvents(jid: string, jobName: string): Promise<LogEvent[]> {
    const { entries } = await this.call(() => this.client.exceptions(jid, this.opts.maxExceptions ?? 20));
    let seen = this.seenExceptions.get(jid);
    if (!seen) this.seenExceptions.set(jid, (seen = new Set()));
    const out: LogEvent[] = [];
    const add = (e: { exceptionName: string; stacktrace: string; timestamp: number; taskName?: string }): void => {
      const key = `${e.timestamp}|${e.exceptionName}|${e.taskName ?? ''}`;
      if (seen.has(key)) return;
      seen.add(key);
      // the stack's first line is '<class>: <message>'; the class goes to exception_class
      const firstLine = e.stacktrace.split('\n')[0] ?? e.exceptionName;
      const message = firstLine.startsWith(`${e.exceptionName}: `) ? firstLine.slice(e.exceptionName.length + 2) : firstLine;
      const ev: LogEvent = { timestamp: e.timestamp, level: 'error', job_id: jid, job_name: jobName, message, exception_class: e.exceptionName, stack: e.stacktrace };
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
