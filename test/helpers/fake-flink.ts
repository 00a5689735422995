/**
 * A fake Flink JobManager REST server for tests (Flink cannot run on these machines). It keeps a
 * small in-memory job model — jobs, vertices, per-subtask metrics, checkpoints, exceptions,
 * savepoint operations, jars, resource requirements — and checks EVERY request it receives and
 * EVERY response it sends against Flink's OpenAPI spec (`test/helpers/flink/spec.ts`). A request
 * the spec does not allow is answered 400/404 the way Flink answers (`{"errors":[...]}`) and is
 * recorded in {@link FakeFlink.violations}; a response of the fake that breaks the spec is recorded
 * too and sent as 500. Tests assert `violations` is empty.
 *
 * Semantics follow Flink 2.1 (docs/FLINK-CONTRACT.md §3): savepoint/stop are 202 `{request-id}` polled at
 * `/jobs/:jid/savepoints/:triggerid`; a caller-chosen `triggerId` makes retries idempotent; a failed
 * stop-with-savepoint leaves the job RUNNING; `/jars/:jarid/run` applies
 * `pipeline.jobvertex-parallelism-overrides`; PUT resource-requirements needs the adaptive scheduler
 * and every vertex, with 0 < lowerBound ≤ upperBound ≤ maxParallelism (or -1).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { FlinkContract, type SpecViolation } from './flink/spec.ts';

export type { SpecViolation } from './flink/spec.ts';

/** A vertex of a fake job. */
export interface FakeVertexInit {
  /** JobVertexID, 32 hex */
  id: string;
  /** task name, operators joined with ' -> ' (e.g. 'Source: orders -> Map') */
  name: string;
  parallelism: number;
  maxParallelism: number;
  /** upstream vertex ids */
  inputs?: string[];
  /**
   * Metric values as Flink's MetricStore holds them (strings), by metric id (task metrics bare,
   * operator metrics `<sanitised operator name>.<metric>`), one entry per subtask.
   */
  metrics?: Record<string, string[]>;
}

/** Initial state of a fake job. */
export interface FakeJobInit {
  jid?: string;
  name: string;
  state?: 'RUNNING' | 'CREATED' | 'INITIALIZING';
  /** ms since epoch; default now */
  startTime?: number;
  vertices: FakeVertexInit[];
  /** job metrics (`/jobs/:jid/metrics`), e.g. { numRestarts: '1' } */
  jobMetrics?: Record<string, string>;
  checkpoints?: {
    completed: number;
    failed: number;
    inProgress?: number;
    /** latest completed checkpoint */
    latest?: { id: number; endToEndDurationMs: number; checkpointedSizeBytes: number; stateSizeBytes: number; triggerTimestamp: number };
  };
  /** ms */
  checkpointConfig?: { interval: number; timeout: number; minPause: number; unaligned?: boolean };
  exceptions?: Array<{ exceptionName: string; stacktrace: string; timestamp: number; taskName?: string; taskManagerId?: string }>;
}

/** How the fake completes savepoints. */
export interface SavepointBehaviour {
  /** 'complete' after `polls` status polls; 'fail' with `failureMessage`; 'hang' never completes */
  mode: 'complete' | 'fail' | 'hang';
  /** number of IN_PROGRESS answers before the final one; default 1 */
  polls?: number;
  failureMessage?: string;
}

/** A job held by the fake. */
export interface FakeJob {
  jid: string;
  name: string;
  state: string;
  startTime: number;
  endTime: number;
  vertices: Array<Required<Omit<FakeVertexInit, 'metrics' | 'inputs'>> & { inputs: string[]; metrics: Record<string, string[]> }>;
  jobMetrics: Record<string, string>;
  checkpoints: NonNullable<FakeJobInit['checkpoints']>;
  checkpointConfig: NonNullable<FakeJobInit['checkpointConfig']>;
  exceptions: NonNullable<FakeJobInit['exceptions']>;
  /** by vertex id; only meaningful with the adaptive scheduler */
  resourceRequirements: Record<string, { lowerBound: number; upperBound: number }>;
}

/** One request the fake received. */
export interface RecordedRequest {
  method: string;
  /** path without query */
  path: string;
  query: Record<string, string>;
  body: unknown;
  operationId?: string;
  headers: Record<string, string>;
}

/** Options of {@link startFakeFlink}. */
export interface FakeFlinkOptions {
  /** 'adaptive' enables PUT resource-requirements (Flink 1.18+). Default 'default'. */
  scheduler?: 'default' | 'adaptive';
  /** When set, every request must carry `authorization: <value>`; else 401. */
  requireAuthorization?: string;
}

interface Operation {
  jid: string;
  kind: 'savepoint' | 'stop';
  polls: number;
  behaviour: SavepointBehaviour;
  targetDirectory: string;
  cancelJob: boolean;
  done?: { location?: string; failure?: string };
}

/** Random 32-hex id (JobID, JobVertexID, TriggerId). */
export function hexId(): string {
  return randomBytes(16).toString('hex');
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** The fake server. Create with {@link startFakeFlink}; stop with {@link FakeFlink.close}. */
export class FakeFlink {
  /** Base URL, e.g. http://127.0.0.1:40123 */
  url = '';
  readonly jobs = new Map<string, FakeJob>();
  /** jar id → template of the job the jar runs */
  readonly jars = new Map<string, { entryClass: string; template: FakeJobInit }>();
  readonly requests: RecordedRequest[] = [];
  readonly violations: SpecViolation[] = [];
  /** Bodies of accepted POST /jars/:jarid/run requests, in order. */
  readonly runRequests: Array<Record<string, unknown>> = [];
  savepointBehaviour: SavepointBehaviour = { mode: 'complete', polls: 1 };
  /**
   * Whether PUT resource-requirements changes the running parallelism (adaptive scheduler with free
   * slots). false: the requirements are stored but the job keeps its parallelism, as when the
   * cluster has no slots for the new one. Default true.
   */
  rescaleApplies = true;
  /**
   * States of the jobs that the next POST /jars/:jarid/run requests start, consumed one per run
   * (a job that fails on start: `['FAILED']`); once empty, runs start RUNNING.
   */
  runStates: Array<'RUNNING' | 'FAILED'> = [];
  private readonly operations = new Map<string, Operation>();
  private readonly injected: Array<{ method: string; path: RegExp; status: number; remaining: number; message?: string }> = [];
  private server?: Server;

  constructor(private readonly contract: FlinkContract, private readonly opts: FakeFlinkOptions = {}) {}

  /** Adds a job; returns it (jid generated when absent). */
  addJob(init: FakeJobInit): FakeJob {
    const jid = init.jid ?? hexId();
    const job: FakeJob = {
      jid,
      name: init.name,
      state: init.state ?? 'RUNNING',
      startTime: init.startTime ?? Date.now(),
      endTime: -1,
      vertices: init.vertices.map((v) => ({ ...v, inputs: v.inputs ?? [], metrics: structuredClone(v.metrics ?? {}) })),
      jobMetrics: { ...(init.jobMetrics ?? {}) },
      checkpoints: structuredClone(init.checkpoints ?? { completed: 0, failed: 0 }),
      checkpointConfig: init.checkpointConfig ?? { interval: 10_000, timeout: 600_000, minPause: 0 },
      exceptions: structuredClone(init.exceptions ?? []),
      resourceRequirements: Object.fromEntries(init.vertices.map((v) => [v.id, { lowerBound: 1, upperBound: v.parallelism }])),
    };
    this.jobs.set(jid, job);
    return job;
  }

  /** Registers an uploaded jar whose run starts a job shaped like `template`. */
  addJar(jarId: string, entryClass: string, template: FakeJobInit): void {
    this.jars.set(jarId, { entryClass, template });
  }

  /**
   * Makes the next `count` requests matching `method` and `path` answer `status` with a Flink error
   * body (`{"errors":[message]}`; default message "injected failure STATUS").
   */
  failNext(method: string, path: RegExp, status: number, count = 1, message?: string): void {
    this.injected.push({ method, path, status, remaining: count, ...(message !== undefined ? { message } : {}) });
  }

  /** Drops the failures injected by {@link failNext} that have not been used up. */
  clearFailures(): void {
    this.injected.length = 0;
  }

  /** Requests with this operationId, in order. */
  requestsOf(operationId: string): RecordedRequest[] {
    return this.requests.filter((r) => r.operationId === operationId);
  }

  /** Starts listening on 127.0.0.1 and a free port. */
  async listen(): Promise<void> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.send(res, 500, { errors: [String(err)] });
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Stops the server and drops open connections. */
  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  private send(res: ServerResponse, status: number, body: unknown): void {
    if (body === undefined) {
      res.writeHead(status, { 'content-length': '0' });
      res.end();
      return;
    }
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
    let body: unknown;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw);
      } catch {
        const v: SpecViolation = { kind: 'request', method, url, errors: ['request body is not JSON'] };
        this.violations.push(v);
        this.send(res, 400, { errors: ['Request body is not valid JSON.'] });
        return;
      }
    }
    const u = new URL(url, 'http://fake');
    const rec: RecordedRequest = { method, path: u.pathname, query: Object.fromEntries(u.searchParams), body, headers };
    this.requests.push(rec);

    if (this.opts.requireAuthorization !== undefined && headers.authorization !== this.opts.requireAuthorization) {
      this.send(res, 401, { errors: ['Unauthorized'] });
      return;
    }
    const check = this.contract.checkRequest(method, url, headers, body);
    if (!check.ok) {
      this.violations.push(check.violation);
      this.send(res, check.status, { errors: [`Bad request: ${check.violation.errors.join('; ')}`] });
      return;
    }
    rec.operationId = check.operationId;
    const inj = this.injected.find((i) => i.remaining > 0 && i.method === method && i.path.test(u.pathname));
    if (inj) {
      inj.remaining -= 1;
      this.send(res, inj.status, { errors: [inj.message ?? `injected failure ${inj.status}`] });
      return;
    }
    let status: number;
    let out: unknown;
    try {
      [status, out] = this.route(check.operationId, check.params, check.query, body);
    } catch (err) {
      if (err instanceof HttpError) {
        this.send(res, err.status, { errors: [err.message] });
        return;
      }
      throw err;
    }
    const errors = this.contract.checkResponse(check.operationId, status, out);
    if (errors.length > 0) {
      this.violations.push({ kind: 'response', method, url, operationId: check.operationId, status, errors });
      this.send(res, 500, { errors: ['fake Flink produced a response outside the spec', ...errors] });
      return;
    }
    this.send(res, status, out);
  }

  private job(jid: string): FakeJob {
    const job = this.jobs.get(jid);
    if (!job) throw new HttpError(404, `Job ${jid} not found`);
    return job;
  }

  private vertex(job: FakeJob, vid: string): FakeJob['vertices'][number] {
    const v = job.vertices.find((x) => x.id === vid);
    if (!v) throw new HttpError(404, `JobVertex ${vid} not found`);
    return v;
  }

  /** Dispatches one validated request; returns [status, body]. */
  private route(op: string, p: Record<string, string>, q: Record<string, string>, body: unknown): [number, unknown] {
    const b = (body ?? {}) as Record<string, unknown>;
    switch (op) {
      case 'getJobsOverview':
        return [200, { jobs: [...this.jobs.values()].map((j) => this.jobDetails(j)) }];
      case 'getJobIdsWithStatusesOverview':
        return [200, { jobs: [...this.jobs.values()].map((j) => ({ id: j.jid, status: j.state })) }];
      case 'getJobDetails': {
        const j = this.job(p.jobid!);
        const now = Date.now();
        return [200, {
          jid: j.jid, name: j.name, isStoppable: false, state: j.state, 'job-type': 'STREAMING',
          'start-time': j.startTime, 'end-time': j.endTime, duration: now - j.startTime, now,
          maxParallelism: -1,
          timestamps: { RUNNING: j.startTime, CREATED: j.startTime },
          vertices: j.vertices.map((v) => ({
            id: v.id, name: v.name, parallelism: v.parallelism, maxParallelism: v.maxParallelism,
            status: j.state === 'RUNNING' ? 'RUNNING' : j.state === 'FINISHED' ? 'FINISHED' : j.state === 'FAILED' ? 'FAILED' : 'CANCELED',
            'start-time': j.startTime, 'end-time': -1, duration: now - j.startTime,
            tasks: { RUNNING: v.parallelism },
            metrics: { 'read-records': 0, 'read-records-complete': true, 'write-records': 0, 'write-records-complete': true },
          })),
          'status-counts': { RUNNING: j.vertices.length },
          plan: this.plan(j),
        }];
      }
      case 'getJobPlan':
        return [200, { plan: this.plan(this.job(p.jobid!)) }];
      case 'cancelJob': {
        const j = this.job(p.jobid!);
        if (q.mode !== undefined && q.mode !== 'CANCEL') throw new HttpError(400, `unsupported mode ${q.mode}`);
        j.state = 'CANCELED';
        j.endTime = Date.now();
        return [202, undefined];
      }
      case 'getAggregatedSubtaskMetrics': {
        const v = this.vertex(this.job(p.jobid!), p.vertexid!);
        const subtasks = q.subtasks === undefined ? undefined : parseRanges(q.subtasks);
        const ids = q.get === undefined ? Object.keys(v.metrics) : q.get.split(',').filter((x) => x in v.metrics);
        if (q.get === undefined) return [200, ids.map((id) => ({ id }))];
        const aggs = (q.agg ?? 'MIN,MAX,SUM,AVG,SKEW').split(',').filter(Boolean);
        return [200, ids.map((id) => {
          const vals = v.metrics[id]!.map(Number).filter((x, i) => !Number.isNaN(x) && (!subtasks || subtasks.has(i)));
          const out: Record<string, number | string> = { id };
          if (vals.length === 0) return out;
          const sum = vals.reduce((a, x) => a + x, 0);
          const avg = sum / vals.length;
          for (const a of aggs) {
            if (a === 'MIN') out.min = Math.min(...vals);
            if (a === 'MAX') out.max = Math.max(...vals);
            if (a === 'SUM') out.sum = sum;
            if (a === 'AVG') out.avg = avg;
            if (a === 'SKEW') out.skew = avg === 0 ? 0 : Math.min(100, (vals.reduce((s, x) => s + Math.abs(x - avg), 0) / vals.length / avg) * 100);
          }
          return out;
        })];
      }
      case 'getSubtaskMetrics': {
        const v = this.vertex(this.job(p.jobid!), p.vertexid!);
        const i = Number(p.subtaskindex);
        if (i >= v.parallelism) throw new HttpError(404, `subtask ${i} not found`);
        const ids = q.get === undefined ? Object.keys(v.metrics) : q.get.split(',').filter((x) => x in v.metrics);
        if (q.get === undefined) return [200, ids.map((id) => ({ id }))];
        return [200, ids.filter((id) => v.metrics[id]![i] !== undefined).map((id) => ({ id, value: v.metrics[id]![i]! }))];
      }
      case 'getJobVertexMetrics': {
        // Flink's MetricStore keeps a vertex's task and operator metrics as '<subtask>.<id>'
        const v = this.vertex(this.job(p.jobid!), p.vertexid!);
        const all = Object.entries(v.metrics).flatMap(([id, vals]) => vals.map((val, i) => [`${i}.${id}`, val] as const).filter(([, val]) => val !== undefined));
        if (q.get === undefined) return [200, all.map(([id]) => ({ id }))];
        const byId = new Map<string, string>(all);
        return [200, q.get.split(',').filter((id) => byId.has(id)).map((id) => ({ id, value: byId.get(id)! }))];
      }
      case 'getJobMetrics': {
        const j = this.job(p.jobid!);
        // the JobManager's checkpoint gauges (CheckpointStatsTracker), from the checkpoint model
        const c = j.checkpoints;
        const gauges: Record<string, string> = {
          numberOfCompletedCheckpoints: String(c.completed),
          numberOfFailedCheckpoints: String(c.failed),
          numberOfInProgressCheckpoints: String(c.inProgress ?? 0),
          totalNumberOfCheckpoints: String(c.completed + c.failed + (c.inProgress ?? 0)),
          ...(c.latest ? { lastCheckpointDuration: String(c.latest.endToEndDurationMs), lastCheckpointSize: String(c.latest.checkpointedSizeBytes), lastCheckpointFullSize: String(c.latest.stateSizeBytes) } : {}),
          ...j.jobMetrics,
        };
        if (q.get === undefined) return [200, Object.keys(gauges).map((id) => ({ id }))];
        return [200, q.get.split(',').filter((id) => id in gauges).map((id) => ({ id, value: gauges[id]! }))];
      }
      case 'getJobVertexBackPressure': {
        const v = this.vertex(this.job(p.jobid!), p.vertexid!);
        const bp = v.metrics.backPressuredTimeMsPerSecond;
        if (!bp) return [200, { status: 'deprecated', backpressureLevel: 'ok', 'end-timestamp': Date.now(), subtasks: [] }];
        const level = (r: number): 'ok' | 'low' | 'high' => (r <= 0.1 ? 'ok' : r <= 0.5 ? 'low' : 'high');
        const subtasks = bp.map((s, i) => {
          const ratio = Number(s) / 1000;
          return {
            subtask: i, 'attempt-number': 0, backpressureLevel: level(ratio), ratio,
            idleRatio: Number(v.metrics.idleTimeMsPerSecond?.[i] ?? 0) / 1000,
            busyRatio: Number(v.metrics.busyTimeMsPerSecond?.[i] ?? 0) / 1000,
          };
        });
        const worst = Math.max(...subtasks.map((s) => s.ratio));
        return [200, { status: 'ok', backpressureLevel: level(worst), 'end-timestamp': Date.now(), subtasks }];
      }
      case 'getCheckpointingStatistics': {
        const c = this.job(p.jobid!).checkpoints;
        const inProgress = c.inProgress ?? 0;
        const out: Record<string, unknown> = {
          counts: { restored: 0, total: c.completed + c.failed + inProgress, in_progress: inProgress, completed: c.completed, failed: c.failed },
          latest: {},
          history: [],
        };
        if (c.latest) {
          const l = c.latest;
          const completed = {
            className: 'completed', id: l.id, status: 'COMPLETED', is_savepoint: false,
            trigger_timestamp: l.triggerTimestamp, latest_ack_timestamp: l.triggerTimestamp + l.endToEndDurationMs,
            checkpointed_size: l.checkpointedSizeBytes, state_size: l.stateSizeBytes, end_to_end_duration: l.endToEndDurationMs,
            num_subtasks: 1, num_acknowledged_subtasks: 1, external_path: `file:/tmp/chk/${l.id}`, discarded: false,
            checkpoint_type: 'CHECKPOINT', tasks: {},
          };
          out.latest = { completed };
          out.history = [completed];
        }
        return [200, out];
      }
      case 'getCheckpointConfig': {
        const c = this.job(p.jobid!).checkpointConfig;
        return [200, {
          mode: 'EXACTLY_ONCE', interval: c.interval, timeout: c.timeout, min_pause: c.minPause, max_concurrent: 1,
          externalization: { enabled: true, delete_on_cancellation: false }, state_backend: 'HashMapStateBackend',
          checkpoint_storage: 'FileSystemCheckpointStorage', unaligned_checkpoints: c.unaligned ?? false,
          tolerable_failed_checkpoints: 0, aligned_checkpoint_timeout: 0, checkpoints_after_tasks_finish: true,
          state_changelog_enabled: false, changelog_storage: 'memory', changelog_periodic_materialization_interval: 600000,
        }];
      }
      case 'getJobExceptions': {
        const j = this.job(p.jobid!);
        const max = q.maxExceptions === undefined ? j.exceptions.length : Number(q.maxExceptions);
        const entries = [...j.exceptions].sort((a, z) => z.timestamp - a.timestamp).slice(0, max).map((e) => ({
          exceptionName: e.exceptionName, stacktrace: e.stacktrace, timestamp: e.timestamp,
          ...(e.taskName ? { taskName: e.taskName } : {}),
          ...(e.taskManagerId ? { taskManagerId: e.taskManagerId } : {}),
          failureLabels: {}, concurrentExceptions: [],
        }));
        return [200, { exceptionHistory: { truncated: entries.length < j.exceptions.length, entries } }];
      }
      case 'triggerSavepoint':
        return this.trigger(p.jobid!, 'savepoint', b.triggerId as string | undefined, (b['target-directory'] as string | undefined), b['cancel-job'] === true);
      case 'triggerStopWithSavepoint':
        return this.trigger(p.jobid!, 'stop', b.triggerId as string | undefined, (b.targetDirectory as string | undefined), false);
      case 'getSavepointStatus': {
        const o = this.operations.get(p.triggerid!);
        if (!o || o.jid !== p.jobid) throw new HttpError(404, `There is no savepoint operation with triggerId=${p.triggerid} for job ${p.jobid}.`);
        return [200, this.pollOperation(o)];
      }
      case 'submitJobFromJar': {
        const jar = this.jars.get(p.jarid!);
        if (!jar) throw new HttpError(400, `Jar file /tmp/flink-web-upload/${p.jarid} does not exist`);
        const overrides = parseOverrides((b.flinkConfiguration as Record<string, string> | undefined)?.['pipeline.jobvertex-parallelism-overrides']);
        const jid = (b.jobId as string | undefined) ?? hexId();
        if (this.jobs.get(jid)?.state === 'RUNNING') throw new HttpError(409, `Job ${jid} already running`);
        const t = jar.template;
        this.addJob({
          ...t,
          jid,
          state: 'RUNNING',
          startTime: Date.now(),
          vertices: t.vertices.map((v) => ({ ...v, parallelism: overrides[v.id] ?? (b.parallelism as number | undefined) ?? v.parallelism })),
        });
        const runState = this.runStates.shift();
        if (runState === 'FAILED') Object.assign(this.jobs.get(jid)!, { state: 'FAILED', endTime: Date.now() });
        this.runRequests.push(b);
        return [200, { jobid: jid }];
      }
      case 'getJobResourceRequirements': {
        const j = this.job(p.jobid!);
        return [200, Object.fromEntries(Object.entries(j.resourceRequirements).map(([k, v]) => [k, { parallelism: { ...v } }]))];
      }
      case 'updateJobResourceRequirements': {
        const j = this.job(p.jobid!);
        if (this.opts.scheduler !== 'adaptive') throw new HttpError(400, 'The requested operation is only supported by the adaptive scheduler.');
        const reqs = b as Record<string, { parallelism?: { lowerBound?: number; upperBound?: number } }>;
        for (const v of j.vertices) {
          if (!reqs[v.id]) throw new HttpError(400, `Missing resource requirements for vertex ${v.id}.`);
        }
        for (const [vid, r] of Object.entries(reqs)) {
          const v = j.vertices.find((x) => x.id === vid);
          if (!v) throw new HttpError(400, `Unknown vertex ${vid}.`);
          const lo = r.parallelism?.lowerBound ?? -1;
          const up = r.parallelism?.upperBound ?? -1;
          const upEff = up === -1 ? v.maxParallelism : up;
          if ((lo !== -1 && lo <= 0) || (up !== -1 && up <= 0) || (lo !== -1 && lo > upEff) || upEff > v.maxParallelism) {
            throw new HttpError(400, `Invalid parallelism bounds [${lo}, ${up}] for vertex ${vid} (max parallelism ${v.maxParallelism}).`);
          }
        }
        for (const [vid, r] of Object.entries(reqs)) {
          const v = j.vertices.find((x) => x.id === vid)!;
          const lo = r.parallelism?.lowerBound ?? -1;
          const up = r.parallelism?.upperBound ?? -1;
          j.resourceRequirements[vid] = { lowerBound: lo, upperBound: up };
          if (this.rescaleApplies) v.parallelism = up === -1 ? v.maxParallelism : up;
        }
        j.jobMetrics.numRescales = String(Number(j.jobMetrics.numRescales ?? '0') + 1);
        return [200, undefined];
      }
      default:
        throw new HttpError(404, `fake Flink does not implement ${op}`);
    }
  }

  private trigger(jid: string, kind: Operation['kind'], triggerId: string | undefined, dir: string | undefined, cancelJob: boolean): [number, unknown] {
    const j = this.job(jid);
    const id = triggerId ?? hexId();
    const existing = this.operations.get(id);
    if (existing) return [202, { 'request-id': id }]; // idempotent retry: same trigger id, same operation
    if (j.state !== 'RUNNING') throw new HttpError(409, `Job ${jid} is not running (state ${j.state}).`);
    this.operations.set(id, { jid, kind, polls: 0, behaviour: { ...this.savepointBehaviour }, targetDirectory: dir ?? 'file:/tmp/savepoints', cancelJob });
    return [202, { 'request-id': id }];
  }

  private pollOperation(o: Operation): unknown {
    if (!o.done) {
      o.polls += 1;
      const needed = o.behaviour.polls ?? 1;
      if (o.behaviour.mode === 'hang' || o.polls <= needed) return { status: { id: 'IN_PROGRESS' } };
      const j = this.jobs.get(o.jid)!;
      if (o.behaviour.mode === 'fail') {
        o.done = { failure: o.behaviour.failureMessage ?? 'Checkpoint Coordinator is suspending.' };
      } else {
        o.done = { location: `${o.targetDirectory}/savepoint-${o.jid.slice(0, 6)}-${hexId().slice(0, 12)}` };
        if (o.kind === 'stop') {
          j.state = 'FINISHED';
          j.endTime = Date.now();
        } else if (o.cancelJob) {
          j.state = 'CANCELED';
          j.endTime = Date.now();
        }
      }
    }
    if (o.done.location !== undefined) return { status: { id: 'COMPLETED' }, operation: { location: o.done.location } };
    const cls = 'org.apache.flink.runtime.checkpoint.CheckpointException';
    return {
      status: { id: 'COMPLETED' },
      operation: {
        'failure-cause': {
          class: cls,
          'stack-trace': `${cls}: ${o.done.failure}\n\tat org.apache.flink.runtime.checkpoint.CheckpointCoordinator.triggerCheckpoint(CheckpointCoordinator.java:612)`,
          'serialized-throwable': Buffer.from(`${cls}: ${o.done.failure}`).toString('base64'),
        },
      },
    };
  }

  private plan(j: FakeJob): unknown {
    return {
      jid: j.jid,
      name: j.name,
      type: 'STREAMING',
      nodes: j.vertices.map((v) => ({
        id: v.id,
        parallelism: v.parallelism,
        operator: '',
        operator_strategy: '',
        description: v.name,
        optimizer_properties: '{}',
        inputs: v.inputs.map((id, num) => ({ num, id, ship_strategy: 'HASH', exchange: 'pipelined_bounded' })),
      })),
    };
  }

  private jobDetails(j: FakeJob): unknown {
    const now = Date.now();
    return {
      jid: j.jid, name: j.name, state: j.state, 'start-time': j.startTime, 'end-time': j.endTime,
      duration: (j.endTime > 0 ? j.endTime : now) - j.startTime, 'last-modification': j.startTime,
      tasks: {
        running: j.state === 'RUNNING' ? j.vertices.reduce((s, v) => s + v.parallelism, 0) : 0,
        total: j.vertices.reduce((s, v) => s + v.parallelism, 0),
      },
    };
  }
}

/** "0-3,7" → {0,1,2,3,7} */
function parseRanges(s: string): Set<number> {
  const out = new Set<number>();
  for (const part of s.split(',')) {
    const [a, z] = part.split('-').map(Number);
    for (let i = a!; i <= (z ?? a!); i++) out.add(i);
  }
  return out;
}

/** Flink's `pipeline.jobvertex-parallelism-overrides` map syntax: "vid:4,vid2:8". */
function parseOverrides(s: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  if (!s) return out;
  for (const part of s.split(',')) {
    const [k, v] = part.split(':');
    if (!k || !v || !/^\d+$/.test(v)) throw new HttpError(400, `Could not parse value '${s}' for key 'pipeline.jobvertex-parallelism-overrides'.`);
    out[k] = Number(v);
  }
  return out;
}

let contractPromise: Promise<FlinkContract> | undefined;

/** Starts a fake Flink on 127.0.0.1 and a free port. The compiled spec is shared per process. */
export async function startFakeFlink(opts: FakeFlinkOptions = {}): Promise<FakeFlink> {
  contractPromise ??= FlinkContract.load();
  const fake = new FakeFlink(await contractPromise, opts);
  await fake.listen();
  return fake;
}
