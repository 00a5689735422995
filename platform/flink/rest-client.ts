/**
 * A small typed client for the Flink JobManager REST API (v1), covering exactly the endpoints
 * streamtune uses. Shapes and semantics: Flink 2.1 (`rest_v1_dispatcher.yml`, apache/flink
 * 0a1b3ca9) as summarised in docs/FLINK-CONTRACT.md (REST API); the version each endpoint
 * or field arrived in is noted on the method.
 *
 * Errors: every method throws {@link StreamtuneError} with code `FLINK_API`. Whether a retry can help
 * comes from the one HTTP status table (`core/http-status.ts`): no response, timeouts, 429 and 5xx
 * are retriable; other 4xx are not. `details` carries `status`, `method`, `path` and Flink's `errors`.
 * Idempotent calls (GET, PUT, and POSTs carrying a caller-chosen `triggerId`) are retried up to
 * `retries` times with `core/retry.ts` (exponential backoff with jitter, capped); other POSTs are not.
 */
import { errorMessage, isRetriableHttpStatus, type Logger, retry, silentLogger, StreamtuneError } from '../../core/index.ts';


/** Options of {@link FlinkRestClient}. */
export interface FlinkRestClientOptions {
  /** e.g. 'http://127.0.0.1:8081' (no trailing slash needed) */
  baseUrl: string;
  /** Sent as the `Authorization` header when set (e.g. 'Bearer …' behind a proxy). Default none. */
  authorization?: string;
  /** ms per HTTP request. Default 30 000. */
  requestTimeoutMs?: number;
  /** Retries of idempotent calls on retriable errors. Default 2. */
  retries?: number;
  /** ms before the first retry, doubled each time (± 20 % jitter, at most 16× this). Default 200. */
  retryBackoffMs?: number;
  logger?: Logger;
}

/** Aggregations of the subtask metrics endpoint. `skew` is Flink 1.20+. */
export type MetricAggregation = 'min' | 'max' | 'sum' | 'avg' | 'skew';

/** `GET /jobs/overview` entry. Times in ms since epoch (-1 when absent), duration in ms. */
export interface JobOverview {
  jid: string;
  name: string;
  state: string;
  'start-time': number;
  'end-time': number;
  duration: number;
  'last-modification'?: number;
  tasks?: Record<string, number>;
}

/** `GET /jobs/{jid}` (subset). */
export interface JobDetails {
  jid: string;
  name: string;
  state: string;
  'start-time': number;
  duration?: number;
  /** job-wide max parallelism, -1 when not set */
  maxParallelism?: number;
  timestamps?: Record<string, number>;
  vertices: Array<{ id: string; name: string; parallelism: number; maxParallelism: number; status?: string; metrics?: Record<string, number | boolean> }>;
}

/** A node of `GET /jobs/{jid}/plan`; `id` is the JobVertexID. */
export interface PlanNode {
  id: string;
  parallelism: number;
  operator?: string;
  description?: string;
  inputs?: Array<{ num: number; id: string; ship_strategy?: string; exchange?: string }>;
}

/** `GET /jobs/{jid}/plan` → `plan`. */
export interface JobPlan {
  jid: string;
  name: string;
  type?: string;
  nodes: PlanNode[];
}

/** One entry of the aggregated subtask metrics (a bare JSON array in Flink). */
export interface AggregatedMetric {
  id: string;
  min?: number;
  max?: number;
  avg?: number;
  sum?: number;
  /** mean absolute deviation / mean, in percent, capped at 100 (Flink 1.20+) */
  skew?: number;
}

/** One unaggregated metric; `value` is the string Flink's MetricStore holds (absent when listing ids). */
export interface MetricValue {
  id: string;
  value?: string;
}

/** `GET /jobs/{jid}/vertices/{vid}/backpressure`. Ratios in [0, 1]. */
export interface BackPressureInfo {
  status: 'ok' | 'deprecated';
  backpressureLevel: 'ok' | 'low' | 'high';
  'end-timestamp': number;
  subtasks?: Array<{ subtask: number; 'attempt-number'?: number; backpressureLevel: 'ok' | 'low' | 'high'; ratio: number; idleRatio?: number; busyRatio?: number }>;
}

/** `GET /jobs/{jid}/checkpoints` (subset). Durations ms, sizes bytes. */
export interface CheckpointStats {
  counts: { restored: number; total: number; in_progress: number; completed: number; failed: number };
  latest?: {
    completed?: { id: number; end_to_end_duration: number; checkpointed_size?: number; state_size?: number; trigger_timestamp?: number; latest_ack_timestamp?: number; external_path?: string };
    /** the latest completed savepoint (same shape as `completed`) */
    savepoint?: { id: number; end_to_end_duration: number; checkpointed_size?: number; state_size?: number; trigger_timestamp?: number; latest_ack_timestamp?: number; external_path?: string };
    failed?: { id: number; failure_timestamp?: number; failure_message?: string };
  };
}

/** `GET /jobs/{jid}/vertices/{vid}/subtasktimes` (subset). Times in ms since epoch (JobManager clock). */
export interface SubtaskTimes {
  id: string;
  name: string;
  now?: number;
  subtasks: Array<{ subtask: number; host?: string; duration?: number; timestamps: Record<string, number> }>;
}

/** `GET /jobs/{jid}/checkpoints/config` (subset). Durations in ms. */
export interface CheckpointConfig {
  mode: string;
  interval: number;
  timeout: number;
  min_pause: number;
  max_concurrent?: number;
  unaligned_checkpoints?: boolean;
  tolerable_failed_checkpoints?: number;
}

/** One entry of `exceptionHistory.entries`. `timestamp` ms since epoch. */
export interface ExceptionEntry {
  exceptionName: string;
  stacktrace: string;
  timestamp: number;
  taskName?: string;
  taskManagerId?: string;
  failureLabels?: Record<string, string>;
  concurrentExceptions?: Array<Omit<ExceptionEntry, 'concurrentExceptions'>>;
}

/** Result of polling `GET /jobs/{jid}/savepoints/{triggerid}`. */
export type SavepointStatus =
  | { status: 'IN_PROGRESS' }
  | { status: 'COMPLETED'; location: string }
  | { status: 'FAILED'; failureClass?: string; failureMessage: string; stackTrace?: string };

/** Body of `POST /jars/{jarid}/run` (JSON form; the query-parameter form is deprecated). */
export interface JarRunRequest {
  entryClass?: string;
  programArgsList?: string[];
  parallelism?: number;
  /** 32 hex; fixes the new job's id */
  jobId?: string;
  savepointPath?: string;
  allowNonRestoredState?: boolean;
  /** Flink 1.20+ (replaces 1.15's `restoreMode`) */
  claimMode?: 'CLAIM' | 'NO_CLAIM' | 'LEGACY';
  /** Flink 1.17+ (FLINK-29543) */
  flinkConfiguration?: Record<string, string>;
}

/** Bounds of one vertex in resource requirements; -1 means the default. */
export interface ParallelismBounds {
  lowerBound: number;
  upperBound: number;
}

/** The Flink configuration key (1.17+, FLINK-29501) mapping JobVertexID → parallelism at submission. */
export const PARALLELISM_OVERRIDES_KEY = 'pipeline.jobvertex-parallelism-overrides';

/** `{vid: 4, vid2: 8}` → `"vid:4,vid2:8"` (Flink's map option syntax), keys sorted for stable output. */
export function formatParallelismOverrides(overrides: Record<string, number>): string {
  return Object.keys(overrides)
    .sort()
    .map((k) => `${k}:${overrides[k]}`)
    .join(',');
}

/**
 * The REST metric id of an operator metric: `<operatorName>.<metric>` where space, `.`, `:` and `,`
 * in the operator name become `_` (e.g. `Source: orders` + `pendingRecords` →
 * `Source__orders.pendingRecords`; Flink's MetricQueryService / flink-autoscaler `FlinkMetric`).
 */
export function operatorMetricId(operatorName: string, metric: string): string {
  return `${operatorName.replace(/[ .:,]/g, '_')}.${metric}`;
}

/**
 * Characters of `get=` ids per request of {@link FlinkRestClient.vertexMetrics}: with the path and
 * URL escaping the request line stays well under the 4,096 bytes Flink's REST server (Netty's
 * HttpServerCodec default) accepts.
 */
export const MAX_METRIC_IDS_CHARS = 2_500;

/**
 * `<subtask>.<metric>` ids for every subtask in `0..parallelism-1` and every metric, cut into
 * batches of at most {@link MAX_METRIC_IDS_CHARS} characters (escaped, with separators): one
 * request per batch of {@link FlinkRestClient.vertexMetrics}. A vertex of parallelism 2 with 23
 * metrics fits one batch; the number of batches grows with parallelism × metrics, never one per subtask.
 */
export function subtaskMetricIdBatches(parallelism: number, metrics: readonly string[], maxChars = MAX_METRIC_IDS_CHARS): string[][] {
  const batches: string[][] = [];
  let cur: string[] = [];
  let len = 0;
  for (let i = 0; i < parallelism; i++) {
    for (const m of metrics) {
      const id = `${i}.${m}`;
      const l = encodeURIComponent(id).length + 3; // the escaped ',' between ids
      if (cur.length > 0 && len + l > maxChars) {
        batches.push(cur);
        cur = [];
        len = 0;
      }
      cur.push(id);
      len += l;
    }
  }
  if (cur.length > 0) batches.push(cur);
  return batches;
}

/** A 32-hex id for `triggerId` (make one per logical operation and reuse it across retries). */
export function newTriggerId(): string {
  return crypto.randomUUID().replace(/-/g, '');
}

/** URL-escapes one path segment or query value; `encodeURIComponent` covers `+ # & / ; = ? @ $`. */
function esc(s: string): string {
  return encodeURIComponent(s);
}

/** The client. All methods throw `FLINK_API` errors as described in the module comment. */
export class FlinkRestClient {
  private readonly base: string;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly log: Logger;

  constructor(private readonly opts: FlinkRestClientOptions) {
    if (!/^https?:\/\//.test(opts.baseUrl)) {
      throw new StreamtuneError('INVALID_CONFIG', `flink.baseUrl must be an http(s) URL, got '${opts.baseUrl}'`, { details: { field: 'baseUrl' } });
    }
    this.base = opts.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = opts.requestTimeoutMs ?? 30_000;
    this.retries = opts.retries ?? 2;
    this.backoffMs = opts.retryBackoffMs ?? 200;
    this.log = (opts.logger ?? silentLogger).namespace('flink-rest');
  }

  /** `GET /jobs/overview`. */
  async jobsOverview(): Promise<JobOverview[]> {
    return (await this.get<{ jobs: JobOverview[] }>('/jobs/overview')).jobs;
  }

  /** `GET /jobs/{jid}`. */
  jobDetails(jid: string): Promise<JobDetails> {
    return this.get(`/jobs/${esc(jid)}`);
  }

  /** `GET /jobs/{jid}/plan` → the plan (node id = vertex id). */
  async jobPlan(jid: string): Promise<JobPlan> {
    return (await this.get<{ plan: JobPlan }>(`/jobs/${esc(jid)}/plan`)).plan;
  }

  /**
   * `GET /jobs/{jid}/vertices/{vid}/subtasks/metrics?get=…&agg=…&subtasks=…`: metrics aggregated over
   * subtasks (a bare array). `metrics` are REST metric ids (see {@link operatorMetricId}); `subtasks`
   * like '0-3,7'. Unknown ids are simply absent from the answer.
   */
  aggregatedSubtaskMetrics(jid: string, vid: string, metrics: readonly string[], agg: readonly MetricAggregation[] = ['min', 'max', 'avg', 'sum'], subtasks?: string): Promise<AggregatedMetric[]> {
    const q = new URLSearchParams({ get: metrics.join(','), agg: agg.join(',') });
    if (subtasks !== undefined) q.set('subtasks', subtasks);
    return this.get(`/jobs/${esc(jid)}/vertices/${esc(vid)}/subtasks/metrics?${q.toString()}`);
  }

  /**
   * `GET /jobs/{jid}/vertices/{vid}/subtasks/metrics` without `get`: the ids of the metrics the
   * vertex's subtasks report (task metrics bare, operator metrics `<operator>.<metric>`, no subtask
   * prefix), e.g. `Source__flights.KafkaSourceReader.topic.flights.partition.3.currentOffset`.
   * Operator metrics appear once the operator registered them (a KafkaSource's per-partition ones
   * after its splits were assigned).
   */
  async subtaskMetricIds(jid: string, vid: string): Promise<string[]> {
    return (await this.get<MetricValue[]>(`/jobs/${esc(jid)}/vertices/${esc(vid)}/subtasks/metrics`)).map((m) => m.id);
  }

  /**
   * `GET /jobs/{jid}/vertices/{vid}/metrics?get=…`: the vertex's metrics of every subtask in one
   * request, each id prefixed with its subtask index (`0.busyTimeMsPerSecond`,
   * `1.Source__flights.pendingRecords`); values as strings, unknown ids absent. Flink's REST server
   * refuses a request line longer than 4,096 bytes (Netty's default; seen on 1.20.3: 404 at 9.9 KB),
   * so callers keep `ids` short ({@link subtaskMetricIdBatches}).
   */
  vertexMetrics(jid: string, vid: string, ids: readonly string[]): Promise<MetricValue[]> {
    return this.get(`/jobs/${esc(jid)}/vertices/${esc(vid)}/metrics?${new URLSearchParams({ get: ids.join(',') }).toString()}`);
  }

  /** `GET /jobs/{jid}/vertices/{vid}/subtasks/{i}/metrics?get=…` (values as strings). No `metrics` = list ids. */
  subtaskMetrics(jid: string, vid: string, subtask: number, metrics?: readonly string[]): Promise<MetricValue[]> {
    const q = metrics ? `?${new URLSearchParams({ get: metrics.join(',') }).toString()}` : '';
    return this.get(`/jobs/${esc(jid)}/vertices/${esc(vid)}/subtasks/${subtask}/metrics${q}`);
  }

  /** `GET /jobs/{jid}/metrics?get=…` (job-scope gauges such as numRestarts; values as strings). */
  jobMetrics(jid: string, metrics?: readonly string[]): Promise<MetricValue[]> {
    const q = metrics ? `?${new URLSearchParams({ get: metrics.join(',') }).toString()}` : '';
    return this.get(`/jobs/${esc(jid)}/metrics${q}`);
  }

  /** `GET /jobs/{jid}/vertices/{vid}/backpressure` (from busy/back-pressured time since 1.13). */
  backpressure(jid: string, vid: string): Promise<BackPressureInfo> {
    return this.get(`/jobs/${esc(jid)}/vertices/${esc(vid)}/backpressure`);
  }

  /** `GET /jobs/{jid}/checkpoints`. */
  checkpoints(jid: string): Promise<CheckpointStats> {
    return this.get(`/jobs/${esc(jid)}/checkpoints`);
  }

  /**
   * `GET /jobs/{jid}/vertices/{vid}/subtasktimes`: per subtask of the current execution, when it
   * entered each execution state (JobManager clock, ms since epoch), e.g. `{DEPLOYING: …, INITIALIZING:
   * …, RUNNING: …}`.
   */
  subtaskTimes(jid: string, vid: string): Promise<SubtaskTimes> {
    return this.get(`/jobs/${esc(jid)}/vertices/${esc(vid)}/subtasktimes`);
  }

  /** `GET /jobs/{jid}/checkpoints/config`. */
  checkpointConfig(jid: string): Promise<CheckpointConfig> {
    return this.get(`/jobs/${esc(jid)}/checkpoints/config`);
  }

  /** `GET /jobs/{jid}/exceptions?maxExceptions=N` → the history entries, newest first. */
  async exceptions(jid: string, maxExceptions = 20): Promise<{ truncated: boolean; entries: ExceptionEntry[] }> {
    const r = await this.get<{ exceptionHistory?: { truncated?: boolean; entries?: ExceptionEntry[] } }>(`/jobs/${esc(jid)}/exceptions?maxExceptions=${maxExceptions}`);
    return { truncated: r.exceptionHistory?.truncated ?? false, entries: r.exceptionHistory?.entries ?? [] };
  }

  /**
   * `POST /jobs/{jid}/savepoints` → trigger id. Body `{target-directory, cancel-job, formatType,
   * triggerId}` (kebab-case; `formatType`/`triggerId` since 1.15). Retried safely: the same
   * `triggerId` names the same operation.
   */
  async triggerSavepoint(jid: string, opts: { targetDirectory?: string; cancelJob?: boolean; formatType?: 'CANONICAL' | 'NATIVE'; triggerId: string }): Promise<string> {
    const body: Record<string, unknown> = { 'cancel-job': opts.cancelJob ?? false, triggerId: opts.triggerId };
    if (opts.targetDirectory !== undefined) body['target-directory'] = opts.targetDirectory;
    if (opts.formatType !== undefined) body.formatType = opts.formatType;
    const r = await this.request<{ 'request-id': string }>('POST', `/jobs/${esc(jid)}/savepoints`, body, true);
    return r['request-id'];
  }

  /**
   * `POST /jobs/{jid}/stop` → trigger id. Body `{targetDirectory, drain, formatType, triggerId}` —
   * camelCase, unlike the savepoint body. Poll with {@link savepointStatus}.
   */
  async stopWithSavepoint(jid: string, opts: { targetDirectory?: string; drain?: boolean; formatType?: 'CANONICAL' | 'NATIVE'; triggerId: string }): Promise<string> {
    const body: Record<string, unknown> = { drain: opts.drain ?? false, triggerId: opts.triggerId };
    if (opts.targetDirectory !== undefined) body.targetDirectory = opts.targetDirectory;
    if (opts.formatType !== undefined) body.formatType = opts.formatType;
    const r = await this.request<{ 'request-id': string }>('POST', `/jobs/${esc(jid)}/stop`, body, true);
    return r['request-id'];
  }

  /** `GET /jobs/{jid}/savepoints/{triggerid}` → in progress, completed with location, or failed with its cause. */
  async savepointStatus(jid: string, triggerId: string): Promise<SavepointStatus> {
    const r = await this.get<{ status: { id: string }; operation?: { location?: string; 'failure-cause'?: { class?: string; 'stack-trace'?: string; message?: string } } }>(
      `/jobs/${esc(jid)}/savepoints/${esc(triggerId)}`,
    );
    if (r.status.id !== 'COMPLETED') return { status: 'IN_PROGRESS' };
    const fc = r.operation?.['failure-cause'];
    if (fc) {
      const stack = fc['stack-trace'];
      const firstLine = stack?.split('\n')[0];
      return { status: 'FAILED', failureClass: fc.class, failureMessage: fc.message ?? firstLine ?? fc.class ?? 'unknown failure', stackTrace: stack };
    }
    if (typeof r.operation?.location !== 'string') {
      throw new StreamtuneError('FLINK_API', `savepoint ${triggerId} of job ${jid} COMPLETED without location or failure-cause`, { details: { jid, triggerId } });
    }
    return { status: 'COMPLETED', location: r.operation.location };
  }

  /** `PATCH /jobs/{jid}?mode=cancel` (202). */
  async cancel(jid: string): Promise<void> {
    await this.request('PATCH', `/jobs/${esc(jid)}?mode=cancel`, undefined, true);
  }

  /** `POST /jars/{jarid}/run` (JSON body) → new job id. Not retried (it would submit twice) unless `jobId` is fixed. */
  async runJar(jarId: string, body: JarRunRequest): Promise<string> {
    const r = await this.request<{ jobid: string }>('POST', `/jars/${esc(jarId)}/run`, body, body.jobId !== undefined);
    return r.jobid;
  }

  /** `GET /jobs/{jid}/resource-requirements` (Flink 1.18+, FLINK-31469) → bounds by vertex id. */
  async resourceRequirements(jid: string): Promise<Record<string, ParallelismBounds>> {
    const r = await this.get<Record<string, { parallelism: ParallelismBounds }>>(`/jobs/${esc(jid)}/resource-requirements`);
    return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, { ...v.parallelism }]));
  }

  /**
   * `PUT /jobs/{jid}/resource-requirements` (1.18+, adaptive scheduler only). `bounds` must list every
   * vertex; 0 < lowerBound ≤ upperBound ≤ maxParallelism, -1 = default. Flink answers 200 and rescales
   * asynchronously.
   */
  async updateResourceRequirements(jid: string, bounds: Record<string, ParallelismBounds>): Promise<void> {
    const body = Object.fromEntries(Object.entries(bounds).map(([k, v]) => [k, { parallelism: { lowerBound: v.lowerBound, upperBound: v.upperBound } }]));
    await this.request('PUT', `/jobs/${esc(jid)}/resource-requirements`, body, true);
  }

  private get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path, undefined, true);
  }

  /** One call, retried on retriable errors (`core/retry.ts`) when `idempotent`. */
  private request<T>(method: string, path: string, body: unknown, idempotent: boolean): Promise<T> {
    return retry(() => this.once<T>(method, path, body), {
      retries: idempotent ? this.retries : 0,
      initialMs: this.backoffMs,
      maxMs: this.backoffMs * 16,
      onRetry: (attempt, err, delayMs) => this.log.debug('retrying Flink REST call', { method, path, attempt, delayMs, error: errorMessage(err) }),
    });
  }

  private async once<T>(method: string, path: string, body: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.opts.authorization !== undefined) headers.authorization = this.opts.authorization;
    let res: Response;
    try {
      res = await fetch(this.base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new StreamtuneError('FLINK_API', `Flink REST ${method} ${path} failed: ${(err as Error).message}`, {
        retriable: isRetriableHttpStatus(0),
        cause: err,
        details: { method, path, status: 0 },
      });
    }
    const text = await res.text();
    if (!res.ok) {
      let errors: unknown;
      try {
        errors = (JSON.parse(text) as { errors?: unknown }).errors;
      } catch {
        errors = text.slice(0, 500);
      }
      const msg = Array.isArray(errors) ? errors.join('; ') : String(errors ?? '');
      throw new StreamtuneError('FLINK_API', `Flink REST ${method} ${path} answered ${res.status}: ${msg}`, {
        retriable: isRetriableHttpStatus(res.status),
        details: { method, path, status: res.status, errors },
      });
    }
    if (text.length === 0) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new StreamtuneError('FLINK_API', `Flink REST ${method} ${path} answered non-JSON`, { cause: err, details: { method, path, status: res.status } });
    }
  }
}
