/**
 * The JobManager's side of the worker TaskManagers. The process keeps one pool: TaskManager 0 is
 * the main thread; TaskManager k ≥ 1 is a worker thread (`worker.ts`) started the first time a job
 * places a subtask on it and shared by every job of the process afterwards, as the TaskManagers of
 * a Flink session cluster are (its `tm_id` is `streamtune-tm-<pid>-<k>`). A worker holds the process
 * open only while it runs subtasks.
 *
 * A {@link RemoteDeployment} is one attempt's subtasks on one worker; {@link RemoteSubtask} is the
 * JobManager's handle of one of them: it forwards checkpoint triggers and requests, resolves its
 * `run()` when the worker reports the subtask's end, and keeps a copy of its metrics, refreshed
 * every 200 ms.
 */
import { Worker, type MessagePort } from 'node:worker_threads';
import { StreamtuneError, type ErrorCode } from '../../core/index.ts';
import type { OperatorSnapshot, Rec } from '../operators/types.ts';
import type { SplitOffset } from '../sources/dataset.ts';
import type { CheckpointAcker, SourceTrigger, SubtaskState, SubtaskView, TaskMetricsView } from '../task.ts';
import type { DeploymentDescriptor } from './deploy.ts';
import type { ErrorData, FromTaskManager, TaskManagerStats, TaskMetricsSnapshot, ToTaskManager } from './protocol.ts';

/** ms a worker TaskManager may take to start (load its modules) before a deployment fails. */
const WORKER_START_TIMEOUT_MS = 60_000;

/** An Error (a StreamtuneError when it had a code) from its data. */
export function errorFrom(e: ErrorData): Error {
  const err = e.code ? new StreamtuneError(e.code as ErrorCode, e.message) : new Error(e.message);
  err.name = e.name;
  if (e.stack) err.stack = e.stack;
  return err;
}

/** `tm_id` of TaskManager `index` of this process. */
export function taskManagerId(index: number): string {
  return index === 0 ? `streamtune-tm-${process.pid}` : `streamtune-tm-${process.pid}-${index}`;
}

/** A subtask's metrics as last reported by its TaskManager. */
export class RemoteTaskMetrics implements TaskMetricsView {
  numRecordsIn = 0;
  numRecordsOut = 0;
  currentInputWatermark = Number.NEGATIVE_INFINITY;
  currentOutputWatermark = Number.NEGATIVE_INFINITY;
  lastAlignmentNanos = 0;
  lastStartDelayNanos = 0;
  keyGroupRecords: Float64Array | undefined;
  pendingRecords: number | undefined;
  sourceIdle = false;
  lastSourceRecordAt: number | undefined;
  kafkaOffsets: TaskMetricsView['kafkaOffsets'];
  lateRecordsDropped = 0;
  private r: TaskMetricsSnapshot['rates'] = { inPerSecond: 0, outPerSecond: 0, idleMsPerSecond: 0, backPressuredMsPerSecond: 0, busyMsPerSecond: 0 };
  /** @internal */
  update(m: TaskMetricsSnapshot): void {
    this.numRecordsIn = m.numRecordsIn;
    this.numRecordsOut = m.numRecordsOut;
    this.currentInputWatermark = m.currentInputWatermark;
    this.currentOutputWatermark = m.currentOutputWatermark;
    this.lastAlignmentNanos = m.lastAlignmentNanos;
    this.lastStartDelayNanos = m.lastStartDelayNanos;
    this.keyGroupRecords = m.keyGroupRecords;
    this.pendingRecords = m.pendingRecords;
    this.sourceIdle = m.sourceIdle;
    this.lastSourceRecordAt = m.lastSourceRecordAt;
    this.kafkaOffsets = m.kafkaOffsets;
    this.lateRecordsDropped = m.lateRecordsDropped;
    this.r = m.rates;
  }
  rates(): TaskMetricsSnapshot['rates'] {
    return this.r;
  }
}

/** The JobManager's handle of a subtask running on a worker TaskManager. */
export class RemoteSubtask implements SubtaskView {
  state: SubtaskState = 'CREATED';
  readonly metrics = new RemoteTaskMetrics();
  readonly ctx: { keyGroupRange: { start: number; end: number } };
  /** dataset sources: split positions as last reported */
  splitOffsets: SplitOffset[] | undefined;
  private inUse = 0;
  private outUse = 0;
  private settle: { resolve: () => void; reject: (e: Error) => void } | undefined;
  private readonly ended: Promise<void>;

  constructor(
    private readonly dep: RemoteDeployment,
    readonly vertex: string,
    readonly index: number,
    readonly parallelism: number,
    readonly kind: 'source' | 'operator',
    keyGroupRange: { start: number; end: number },
    readonly tmId: string,
  ) {
    this.ctx = { keyGroupRange };
    this.ended = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));
    this.ended.catch(() => undefined);
  }

  /** @internal a metrics report */
  update(m: TaskMetricsSnapshot): void {
    this.metrics.update(m);
    this.inUse = m.inputUsage;
    this.outUse = m.outputUsage;
    if (m.splitOffsets) this.splitOffsets = m.splitOffsets;
    // terminal states come with the subtask's end (`end`), which settles run()
    if (this.state === 'CREATED' && m.state === 'RUNNING') this.state = 'RUNNING';
  }

  /** @internal the subtask ended on its TaskManager (or the TaskManager died: FAILED with `error`) */
  end(state: SubtaskState, error?: Error): void {
    if (this.state === 'FINISHED' || this.state === 'CANCELED' || this.state === 'FAILED') return;
    this.state = state;
    if (state === 'FAILED') this.settle?.reject(error ?? new Error(`subtask ${this.vertex}#${this.index} failed`));
    else this.settle?.resolve();
  }

  run(): Promise<void> {
    if (this.state === 'CREATED') this.state = 'RUNNING';
    return this.ended;
  }
  trigger(t: SourceTrigger): void {
    this.dep.send({ t: 'trigger', dep: this.dep.id, task: `${this.vertex}#${this.index}`, trigger: t });
  }
  resume(): void {
    this.dep.send({ t: 'resume', dep: this.dep.id, task: `${this.vertex}#${this.index}` });
  }
  cancel(): void {
    this.dep.cancel();
  }
  async snapshotNow(checkpointId: number): Promise<OperatorSnapshot> {
    return (await this.dep.request('snapshotNow', this, checkpointId)) as OperatorSnapshot;
  }
  async notifyComplete(checkpointId: number): Promise<void> {
    await this.dep.request('notifyComplete', this, checkpointId);
  }
  async close(): Promise<void> {
    try {
      await this.dep.request('close', this, 0);
    } catch {
      // a TaskManager that died has nothing left to close
    }
  }
  inputUsage(): number {
    return this.inUse;
  }
  outputUsage(): number {
    return this.outUse;
  }
}

/** What a deployment reports to its job. */
export interface DeploymentHandlers {
  acker: CheckpointAcker;
  collected(records: Rec[]): void;
  log(level: 'debug' | 'info' | 'warn' | 'error', ns: string[], meta: Record<string, unknown>, msg: string): void;
}

/** One job attempt's subtasks on one worker TaskManager. */
export class RemoteDeployment {
  readonly tasks = new Map<string, RemoteSubtask>();
  readonly deployed: Promise<void>;
  private deployedSettle!: { resolve: () => void; reject: (e: Error) => void };
  private nextRequest = 0;
  private readonly requests = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private cancelled = false;
  private disposed = false;

  constructor(readonly tm: WorkerTaskManager, readonly id: string, private readonly handlers: DeploymentHandlers) {
    this.deployed = new Promise<void>((resolve, reject) => (this.deployedSettle = { resolve, reject }));
    this.deployed.catch(() => undefined);
  }

  /** @internal */
  send(m: ToTaskManager, transfer?: MessagePort[]): void {
    if (this.disposed) return;
    this.tm.send(m, transfer);
  }

  /** Cancels every subtask of the deployment (once). */
  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.send({ t: 'cancel', dep: this.id });
  }

  /** @internal */
  request(op: 'snapshotNow' | 'notifyComplete' | 'close', s: RemoteSubtask, checkpointId: number): Promise<unknown> {
    if (this.disposed) return Promise.reject(new StreamtuneError('JOB_STATE', `deployment ${this.id} is gone`));
    const id = this.nextRequest++;
    return new Promise((resolve, reject) => {
      this.requests.set(id, { resolve, reject });
      this.send({ t: 'request', dep: this.id, id, op, task: `${s.vertex}#${s.index}`, checkpointId });
    });
  }

  /** Releases the deployment on its TaskManager (after its subtasks were closed). */
  dispose(): void {
    if (this.disposed) return;
    this.send({ t: 'undeploy', dep: this.id });
    this.disposed = true;
    this.tm.release(this);
    this.failRequests(new StreamtuneError('JOB_STATE', `deployment ${this.id} was released`));
  }

  private failRequests(err: Error): void {
    for (const r of this.requests.values()) r.reject(err);
    this.requests.clear();
  }

  /** @internal its TaskManager died: every subtask fails */
  lost(err: Error): void {
    this.deployedSettle.reject(err);
    for (const t of this.tasks.values()) t.end('FAILED', err);
    this.failRequests(err);
  }

  /** @internal a message of its TaskManager for it */
  receive(m: FromTaskManager): void {
    switch (m.t) {
      case 'deployed':
        if (m.error) this.deployedSettle.reject(errorFrom(m.error));
        else this.deployedSettle.resolve();
        break;
      case 'state': {
        const t = this.tasks.get(m.task);
        if (!t) break;
        t.update(m.metrics);
        t.end(m.state, m.error ? errorFrom(m.error) : undefined);
        break;
      }
      case 'ack': {
        const t = this.tasks.get(m.task);
        if (t) this.handlers.acker.ack(m.checkpointId, t, m.snapshot);
        break;
      }
      case 'decline': {
        const t = this.tasks.get(m.task);
        if (t) this.handlers.acker.decline(m.checkpointId, t, m.reason);
        break;
      }
      case 'reply': {
        const r = this.requests.get(m.id);
        if (!r) break;
        this.requests.delete(m.id);
        if (m.error) r.reject(errorFrom(m.error));
        else r.resolve(m.value);
        break;
      }
      case 'collected':
        this.handlers.collected(m.records);
        break;
      case 'log':
        this.handlers.log(m.level, m.ns, m.meta, m.msg);
        break;
      default:
        break;
    }
  }
}

/** A worker TaskManager. */
export class WorkerTaskManager {
  readonly tmId: string;
  /** heap, GC and event loop as last reported; undefined before the first report */
  stats: TaskManagerStats | undefined;
  readonly ready: Promise<void>;
  private readonly worker: Worker;
  private readonly deployments = new Map<string, RemoteDeployment>();
  private dead: Error | undefined;

  constructor(readonly index: number, private readonly onExit: (tm: WorkerTaskManager) => void) {
    this.tmId = taskManagerId(index);
    // referenced while it starts (someone awaits it), then only while it has deployments
    this.worker = new Worker(new URL('./worker-boot.js', import.meta.url), { workerData: { index, tmId: this.tmId }, name: this.tmId });
    let readyResolve!: () => void;
    let readyReject!: (e: Error) => void;
    this.ready = new Promise<void>((res, rej) => {
      readyResolve = res;
      readyReject = rej;
    });
    this.ready.catch(() => undefined);
    // a worker that does not start in time is terminated: left booting it would hold the process open
    // (it is referenced until ready) and start later with nobody waiting for it
    const timer = setTimeout(() => {
      die(new StreamtuneError('INTERNAL', `TaskManager ${this.tmId} did not start within ${WORKER_START_TIMEOUT_MS} ms`));
      void this.worker.terminate();
    }, WORKER_START_TIMEOUT_MS);
    timer.unref();
    this.worker.on('message', (m: FromTaskManager) => {
      if (m.t === 'ready') {
        clearTimeout(timer);
        if (this.deployments.size === 0) this.worker.unref();
        readyResolve();
        return;
      }
      if (m.t === 'metrics') {
        this.stats = m.stats;
        for (const x of m.tasks) this.deployments.get(x.dep)?.tasks.get(x.task)?.update(x.m);
        return;
      }
      this.deployments.get(m.dep)?.receive(m);
    });
    const die = (err: Error) => {
      if (this.dead) return;
      this.dead = err;
      clearTimeout(timer);
      readyReject(err);
      for (const d of this.deployments.values()) d.lost(err);
      this.deployments.clear();
      this.onExit(this);
    };
    this.worker.on('error', (err) => die(new StreamtuneError('INTERNAL', `TaskManager ${this.tmId} failed: ${err.message}`, { cause: err })));
    this.worker.on('exit', (code) => die(new StreamtuneError('INTERNAL', `TaskManager ${this.tmId} exited with code ${code}`)));
  }

  /** Deploys `desc` with this TaskManager's ends of the attempt's links; resolves once its subtasks run. */
  deploy(desc: DeploymentDescriptor, ports: Array<{ peer: number; port: MessagePort }>, forwardLogs: boolean, handlers: DeploymentHandlers, proxies: (d: RemoteDeployment) => void): RemoteDeployment {
    const d = new RemoteDeployment(this, desc.deploymentId, handlers);
    if (this.dead) {
      d.lost(this.dead);
      return d;
    }
    proxies(d);
    this.deployments.set(d.id, d);
    this.worker.ref();
    this.send({ t: 'deploy', desc, ports, forwardLogs }, ports.map((p) => p.port));
    return d;
  }

  /** @internal */
  send(m: ToTaskManager, transfer?: MessagePort[]): void {
    if (this.dead) return;
    this.worker.postMessage(m, transfer ?? []);
  }

  /** @internal a deployment was disposed: the worker holds the process open only while it has some */
  release(d: RemoteDeployment): void {
    this.deployments.delete(d.id);
    if (this.deployments.size === 0) this.worker.unref();
  }
}

/** The process's worker TaskManagers, by index (≥ 1). */
const workers = new Map<number, WorkerTaskManager>();

/** Worker TaskManager `index` (≥ 1), started when first asked for; resolves once it is ready. */
export async function workerTaskManager(index: number): Promise<WorkerTaskManager> {
  let w = workers.get(index);
  if (!w) {
    w = new WorkerTaskManager(index, (tm) => {
      if (workers.get(index) === tm) workers.delete(index);
    });
    workers.set(index, w);
  }
  await w.ready;
  return w;
}

/** The worker TaskManager `index` if it runs, without starting it. */
export function runningWorkerTaskManager(index: number): WorkerTaskManager | undefined {
  return workers.get(index);
}
