/**
 * A subtask: one parallel instance of a vertex, run as an async loop on the event loop. Sources poll
 * their reader; other subtasks read their input gate. Output goes through partitioners into bounded
 * channels; a full channel makes the subtask wait (backpressure). Checkpoint barriers are aligned
 * the way Flink aligns them: a channel that delivered the barrier is blocked until every other live
 * channel delivered it too; then the operator's state is snapshotted and the barrier forwarded.
 */
import type { Logger } from '../core/index.ts';
import { keyGroupRange, subtaskForKeyGroup, KeyGroupCache } from './keygroups.ts';
import type { Partitioning } from './spec.ts';
import { CancelledError, type BarrierElement, type InputGate, type OutputChannel, type StreamElement } from './stream.ts';
import { TaskMetrics } from './metrics/task-metrics.ts';
import type { InflightBatch, Operator, OperatorContext, OperatorSnapshot, Output, Rec, RestoredState } from './operators/types.ts';
import type { SourceReader } from './sources/types.ts';
import type { Faults } from './faults.ts';

/** ms between watermark checks of a source that has no records (Flink's `pipeline.auto-watermark-interval` default). */
const WATERMARK_INTERVAL_MS = 200;

/** How long a subtask may run on microtasks alone before it yields to timers and I/O, ms. */
const YIELD_EVERY_MS = 4;
let lastYield = performance.now();

/** Yields to the macrotask queue when the event loop has been held for {@link YIELD_EVERY_MS}: without
 * it a pipeline whose channels never block would run entirely on microtasks and starve the
 * checkpoint timer, metric sampling and signal handlers. Shared by all subtasks of the process. */
function maybeYield(): Promise<void> | undefined {
  const now = performance.now();
  if (now - lastYield < YIELD_EVERY_MS) return undefined;
  return new Promise<void>((r) =>
    setImmediate(() => {
      lastYield = performance.now();
      r();
    }),
  );
}

/**
 * Longest stretch of a `cpuMs` fault's burn before the subtask lets the event loop run, ms. The
 * burn stands for an operator computing on a thread of its own; an operating system would preempt
 * that thread so others sharing the core keep running (and fill the buffers in front of it, which is
 * what makes its upstream back-pressured). Between slices the subtask is not busy.
 */
const CPU_SLICE_MS = 4;

/** Busy-spins for `ms` milliseconds. */
function spin(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    /* burn CPU */
  }
}

/** Lifecycle of a subtask. */
export type SubtaskState = 'CREATED' | 'RUNNING' | 'FINISHED' | 'CANCELED' | 'FAILED';

/** An outgoing edge of a subtask: one channel per downstream subtask. */
export interface OutputEdge {
  partitioning: Partitioning;
  key?: string;
  channels: OutputChannel[];
  maxParallelism: number;
  /** downstream vertex name and the edge's index in the job spec (unaligned checkpoints' channel state) */
  target?: string;
  edgeIndex?: number;
}

/** What a subtask reports to the checkpoint coordinator. */
export interface CheckpointAcker {
  ack(checkpointId: number, subtask: CheckpointParticipant, snapshot: OperatorSnapshot): void;
  decline(checkpointId: number, subtask: CheckpointParticipant, reason: string): void;
}

/**
 * A subtask as the checkpoint coordinator drives it: a {@link Subtask} of this thread, or the
 * JobManager's handle of one on another TaskManager (`runtime/taskmanager/pool.ts`).
 */
export interface CheckpointParticipant {
  readonly vertex: string;
  readonly index: number;
  readonly kind: 'source' | 'operator';
  /** Asks a source subtask to take part in a checkpoint at its next step. */
  trigger(t: SourceTrigger): void;
  /** A stopped source (stop-with-savepoint that failed) starts emitting again. */
  resume(): void;
  /** Snapshot of operator or reader state, for the final checkpoint of a finished job. */
  snapshotNow(checkpointId: number): Promise<OperatorSnapshot>;
  /** Tells the operator or reader that a checkpoint completed. */
  notifyComplete(checkpointId: number): Promise<void>;
}

/** The measurements of a subtask other code reads (a {@link TaskMetrics}, or a copy from another TaskManager). */
export type TaskMetricsView = Pick<
  TaskMetrics,
  | 'numRecordsIn'
  | 'numRecordsOut'
  | 'currentInputWatermark'
  | 'currentOutputWatermark'
  | 'lastAlignmentNanos'
  | 'lastStartDelayNanos'
  | 'keyGroupRecords'
  | 'pendingRecords'
  | 'sourceIdle'
  | 'lastSourceRecordAt'
  | 'kafkaOffsets'
  | 'lateRecordsDropped'
  | 'rates'
>;

/**
 * A subtask of a running job, wherever it runs (`LocalJob.currentSubtasks()`): the {@link Subtask}
 * itself on TaskManager 0 (this thread), a handle whose metrics are copied from its TaskManager
 * every 200 ms on the others.
 */
export interface SubtaskView extends CheckpointParticipant {
  readonly parallelism: number;
  readonly state: SubtaskState;
  readonly metrics: TaskMetricsView;
  readonly ctx: { readonly keyGroupRange: { start: number; end: number } };
  /** `tm_id` of the TaskManager it runs on ('' = this process's main thread) */
  readonly tmId: string;
  /** Mean fill ratio of the input channels, 0..1 (Flink's inPoolUsage); 0 for sources. */
  inputUsage(): number;
  /** Mean fill ratio of the output channels, 0..1 (Flink's outPoolUsage). */
  outputUsage(): number;
  /** Runs the subtask to its end. Resolves on finish or cancellation; rejects on an operator error. */
  run(): Promise<void>;
  /** Stops it (waits reject with CancelledError inside). */
  cancel(): void;
  /** Closes the operator or reader. */
  close(): Promise<void>;
}

/** A checkpoint or savepoint request injected into a source subtask. */
export interface SourceTrigger {
  checkpointId: number;
  savepoint: boolean;
  /** stop-with-savepoint: after the barrier, the source emits nothing more until resumed or cancelled */
  stop: boolean;
  triggeredAt: number;
  /** an unaligned checkpoint (see BarrierElement.unaligned) */
  unaligned?: boolean;
}

class Partitioner {
  readonly pendingValues: Rec[][];
  readonly pendingTs: number[][];
  private rr = 0;
  private readonly kgCache: KeyGroupCache | undefined;
  private readonly n: number;
  constructor(readonly edge: OutputEdge, private readonly subtaskIndex: number) {
    this.n = edge.channels.length;
    this.pendingValues = edge.channels.map(() => []);
    this.pendingTs = edge.channels.map(() => []);
    if (edge.partitioning === 'hash') this.kgCache = new KeyGroupCache(edge.maxParallelism);
  }
  emit(value: Rec, ts: number): void {
    let target: number;
    if (this.n === 1) {
      target = 0; // one downstream subtask: every partitioning picks it
    } else if (this.edge.partitioning === 'hash') {
      const kg = this.kgCache!.get(value[this.edge.key!] ?? null);
      target = subtaskForKeyGroup(kg, this.n, this.edge.maxParallelism);
    } else if (this.edge.partitioning === 'forward') {
      target = this.subtaskIndex % this.n;
    } else {
      target = this.rr;
      this.rr = (this.rr + 1) % this.n;
    }
    this.pendingValues[target]!.push(value);
    this.pendingTs[target]!.push(ts);
  }
}

/** Options shared by every subtask of a job attempt. */
export interface SubtaskOptions {
  /** records per buffer. Default 512. */
  batchSize: number;
  logger: Logger;
  metricsWindowMs: number;
  /**
   * Sources: after this long without a record (ms) the subtask declares itself idle downstream
   * (Flink's `withIdleness` / `WatermarkStatus.IDLE`) until it reads again. 0 or absent = never.
   */
  idleTimeoutMs?: number;
}

/** One subtask. */
export class Subtask implements SubtaskView {
  state: SubtaskState = 'CREATED';
  /** `tm_id` of the TaskManager it runs on, set by its host ('' = this process's main thread) */
  tmId = '';
  readonly metrics: TaskMetrics;
  private readonly partitioners: Partitioner[];
  private readonly out: Output;
  private readonly triggers: SourceTrigger[] = [];
  private wake: (() => void) | undefined;
  private stopped = false;
  private resumeWaiter: (() => void) | undefined;
  private cancelled = false;
  private lastOutWm = Number.NEGATIVE_INFINITY;
  /** the attempt-level context, filled by the job */
  readonly ctx: OperatorContext;
  private outCount = 0;

  constructor(
    readonly vertex: string,
    readonly vertexIndex: number,
    readonly index: number,
    readonly parallelism: number,
    readonly kind: 'source' | 'operator',
    private readonly reader: SourceReader | undefined,
    private readonly operator: Operator | undefined,
    private readonly gate: InputGate | undefined,
    outputs: OutputEdge[],
    private readonly faults: Faults,
    private readonly acker: CheckpointAcker,
    private readonly restored: RestoredState | undefined,
    ctxBase: Omit<OperatorContext, 'vertex' | 'subtask' | 'parallelism' | 'keyGroupRange' | 'metrics' | 'logger'>,
    private readonly opts: SubtaskOptions,
  ) {
    this.metrics = new TaskMetrics(opts.metricsWindowMs);
    this.partitioners = outputs.map((e) => new Partitioner(e, index));
    const parts = this.partitioners;
    this.out = {
      emit: (value, ts) => {
        for (let i = 0; i < parts.length; i++) parts[i]!.emit(value, ts);
        this.outCount++;
      },
    };
    this.ctx = {
      ...ctxBase,
      vertex,
      subtask: index,
      parallelism,
      keyGroupRange: keyGroupRange(index, parallelism, ctxBase.maxParallelism),
      metrics: this.metrics,
      logger: opts.logger.child({ job_id: ctxBase.jobId, vertex, subtask_index: index, attempt: ctxBase.attempt }),
    };
  }

  /** Asks a source subtask to take part in a checkpoint at its next step. */
  trigger(t: SourceTrigger): void {
    this.triggers.push(t);
    this.wakeUp();
  }

  /** A stopped source (stop-with-savepoint that failed) starts emitting again. */
  resume(): void {
    this.stopped = false;
    const r = this.resumeWaiter;
    this.resumeWaiter = undefined;
    r?.();
  }

  /** Mean fill ratio of the input channels, 0..1 (Flink's inPoolUsage); 0 for sources. */
  inputUsage(): number {
    return this.gate ? this.gate.usage() : 0;
  }

  /** Mean fill ratio of the output channels, 0..1 (Flink's outPoolUsage). */
  outputUsage(): number {
    let sum = 0;
    let n = 0;
    for (const p of this.partitioners) {
      for (const c of p.edge.channels) {
        sum += c.usage();
        n++;
      }
    }
    return n === 0 ? 0 : sum / n;
  }

  /** Stops the loop; waiting calls (its own and its upstream's pushes into its inputs) reject with CancelledError. */
  cancel(): void {
    this.cancelled = true;
    for (const ch of this.gate?.channels ?? []) ch.cancel();
    this.wakeUp();
    const r = this.resumeWaiter;
    this.resumeWaiter = undefined;
    r?.();
  }

  private wakeUp(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** Snapshot of operator or reader state, for the final checkpoint of a finished job. */
  async snapshotNow(checkpointId: number): Promise<OperatorSnapshot> {
    if (this.reader) return this.reader.snapshot(checkpointId);
    return (await this.operator!.snapshot?.(checkpointId)) ?? {};
  }

  /** Tells the operator or reader that a checkpoint completed. */
  async notifyComplete(checkpointId: number): Promise<void> {
    if (this.reader) await this.reader.notifyCheckpointComplete?.(checkpointId);
    else await this.operator!.notifyCheckpointComplete?.(checkpointId);
  }

  /** Closes the operator or reader. */
  async close(): Promise<void> {
    try {
      if (this.reader) await this.reader.close();
      else await this.operator!.close?.();
    } catch (err) {
      this.ctx.logger.warn('error while closing', { error: (err as Error).message });
    }
  }

  /** Runs the subtask to its end. Resolves on finish or cancellation; rejects on an operator error. */
  async run(): Promise<void> {
    this.state = 'RUNNING';
    this.metrics.resume(performance.now());
    try {
      if (this.kind === 'source') await this.runSource();
      else await this.runOperator();
      if (this.state === 'RUNNING') this.state = this.cancelled ? 'CANCELED' : 'FINISHED';
    } catch (err) {
      if (err instanceof CancelledError || this.cancelled) {
        this.state = 'CANCELED';
        return;
      }
      this.state = 'FAILED';
      throw err;
    } finally {
      this.metrics.suspend(performance.now());
    }
  }

  // ---- time accounting (see TaskMetrics): every await of the loops is one of these ----

  /**
   * Marks the start of a wait for the subtask's own work (an operator's promise: a lookup, a sink's
   * send) and returns `p` to await; call {@link back} right after the await. Busy until it settles.
   * (Not an async wrapper: that would add a microtask hop in which other subtasks' code runs on
   * this subtask's busy clock.)
   */
  private own<T>(p: T): T {
    this.metrics.beginWait('own', performance.now());
    return p;
  }

  /** The subtask runs again after an {@link own} wait. */
  private back(): void {
    this.metrics.endWait(performance.now());
  }

  /** The subtask runs again after awaiting one of its async steps (see {@link flushSlow}). */
  private resumed(): void {
    this.metrics.resume(performance.now());
  }

  // ---- output ----

  /**
   * Moves pending output into the channels. Synchronous (undefined) while every channel has space;
   * otherwise a promise that waits for space (back-pressured time) and finishes the job.
   */
  private flush(): Promise<void> | undefined {
    const batch = this.opts.batchSize;
    for (let pi = 0; pi < this.partitioners.length; pi++) {
      const p = this.partitioners[pi]!;
      const chans = p.edge.channels;
      for (let c = 0; c < chans.length; c++) {
        const vals = p.pendingValues[c]!;
        if (vals.length === 0) continue;
        const ch = chans[c]!;
        if (vals.length <= batch && ch.hasSpace()) {
          ch.push({ k: 0, values: vals, ts: p.pendingTs[c]! });
          p.pendingValues[c] = [];
          p.pendingTs[c] = [];
          continue;
        }
        return this.flushSlow(pi, c);
      }
    }
    this.countOut();
    return undefined;
  }

  private countOut(): void {
    if (this.outCount > 0) {
      this.metrics.numRecordsOut += this.outCount;
      this.outCount = 0;
    }
  }

  /**
   * {@link flush} from partitioner `pi`, channel `c` on, waiting for space where needed. Like every
   * async step of the loops it ends suspended (`metrics.suspend`): the caller resumes after its await.
   */
  private async flushSlow(pi: number, c0: number): Promise<void> {
    try {
      const batch = this.opts.batchSize;
      for (; pi < this.partitioners.length; pi++) {
        const p = this.partitioners[pi]!;
        const chans = p.edge.channels;
        for (let c = c0; c < chans.length; c++) {
          const vals = p.pendingValues[c]!;
          if (vals.length === 0) continue;
          const ts = p.pendingTs[c]!;
          p.pendingValues[c] = [];
          p.pendingTs[c] = [];
          for (let off = 0; off < vals.length; off += batch) {
            const v = off === 0 && vals.length <= batch ? vals : vals.slice(off, off + batch);
            const t = off === 0 && ts.length <= batch ? ts : ts.slice(off, off + batch);
            const ch = chans[c]!;
            while (!ch.hasSpace()) {
              if (this.cancelled) throw new CancelledError();
              this.metrics.beginWait('backpressured', performance.now());
              const at = await ch.waitForSpace();
              this.metrics.endWait(at);
            }
            ch.push({ k: 0, values: v, ts: t });
          }
        }
        c0 = 0;
      }
      this.countOut();
    } finally {
      this.metrics.suspend(performance.now());
    }
  }

  private broadcast(el: StreamElement): void {
    for (const p of this.partitioners) for (const ch of p.edge.channels) ch.push(el);
  }

  /** Moves pending output into the channels without waiting for space (an unaligned barrier must not wait). */
  private flushNoWait(): void {
    for (const p of this.partitioners) {
      const chans = p.edge.channels;
      for (let c = 0; c < chans.length; c++) {
        const vals = p.pendingValues[c]!;
        if (vals.length === 0) continue;
        chans[c]!.push({ k: 0, values: vals, ts: p.pendingTs[c]! });
        p.pendingValues[c] = [];
        p.pendingTs[c] = [];
      }
    }
    this.countOut();
  }

  /**
   * Sends an unaligned barrier ahead of everything queued in the output channels; returns the
   * overtaken records (copied: downstream operators may change records in place) as channel state.
   */
  private broadcastOvertaking(el: BarrierElement): InflightBatch[] {
    const out: InflightBatch[] = [];
    for (const p of this.partitioners) {
      for (const ch of p.edge.channels) {
        for (const d of ch.pushBarrierOvertaking(el)) {
          out.push({ vertex: p.edge.target!, edge: p.edge.edgeIndex!, values: d.values.map((r) => ({ ...r })), ts: d.ts.slice() });
        }
      }
    }
    return out;
  }

  private emitWatermark(wm: number): void {
    if (wm <= this.lastOutWm) return;
    this.lastOutWm = wm;
    this.metrics.currentOutputWatermark = wm;
    this.broadcast({ k: 1, wm });
  }

  // ---- sources ----
  //
  // Time accounting rules (see TaskMetrics), which keep busy time the subtask's own:
  // - a synchronous step returns undefined; a step that has to wait returns a promise of an async
  //   function that ends suspended (`metrics.suspend` in a finally);
  // - every await of such a step is followed by `resumed()`, every real wait is bracketed by
  //   beginWait/endWait (input: idle, output space: back-pressured, own work: busy);
  // so the microtask hop between a step's end and the caller's continuation, in which other
  // subtasks' code may run, is on nobody's busy clock.

  private async runSource(): Promise<void> {
    const reader = this.reader!;
    const m = this.metrics;
    await this.own(reader.open(this.ctx, this.restored));
    this.back();
    m.lastSourceRecordAt = Date.now();
    m.pendingRecords = reader.pending();
    const batch = this.opts.batchSize;
    const idleAfter = this.opts.idleTimeoutMs ?? 0;
    let lastRecordAt = performance.now();
    let idle = false;
    for (;;) {
      const y = maybeYield();
      if (y) {
        m.suspend(performance.now());
        await y;
        this.resumed();
      }
      if (this.cancelled) return;
      if (this.triggers.length > 0) {
        const t = this.triggers.shift()!;
        if (t.unaligned) {
          this.flushNoWait();
          const snap = reader.snapshot(t.checkpointId);
          m.lastStartDelayNanos = Math.round((Date.now() - t.triggeredAt) * 1e6);
          const inflight = this.broadcastOvertaking({ k: 2, checkpointId: t.checkpointId, savepoint: false, triggeredAt: t.triggeredAt, unaligned: true });
          this.acker.ack(t.checkpointId, this, { ...snap, inflight });
          continue;
        }
        const f = this.flush();
        if (f) {
          await f;
          this.resumed();
        }
        const snap = reader.snapshot(t.checkpointId);
        m.lastStartDelayNanos = Math.round((Date.now() - t.triggeredAt) * 1e6);
        this.broadcast({ k: 2, checkpointId: t.checkpointId, savepoint: t.savepoint, triggeredAt: t.triggeredAt });
        this.acker.ack(t.checkpointId, this, snap);
        if (t.stop) {
          this.stopped = true;
          m.beginWait('idle', performance.now());
          await new Promise<void>((r) => (this.resumeWaiter = r));
          m.endWait(performance.now());
          if (this.cancelled) return;
        }
        continue;
      }
      const res = reader.poll(batch);
      if (res === 'end') {
        const f = this.flush();
        if (f) {
          await f;
          this.resumed();
        }
        m.pendingRecords = 0;
        this.emitWatermark(Number.MAX_SAFE_INTEGER);
        this.broadcast({ k: 3 });
        return;
      }
      if (res === null) {
        m.pendingRecords = reader.pending();
        const now = performance.now();
        // periodic watermark (Flink's auto-watermark interval): a reader's watermark may advance
        // without records, e.g. when one of its splits turned idle
        const wm = reader.watermark();
        if (!idle && wm !== Number.POSITIVE_INFINITY && wm > this.lastOutWm) {
          this.emitWatermark(wm);
          m.currentInputWatermark = this.lastOutWm;
        }
        let idleTimer: NodeJS.Timeout | undefined;
        let wmTimer: NodeJS.Timeout | undefined;
        const waits: Array<Promise<void>> = [
          reader.waitForData(),
          new Promise<void>((r) => (this.wake = r)),
          new Promise<void>((r) => (wmTimer = setTimeout(r, WATERMARK_INTERVAL_MS))),
        ];
        if (idleAfter > 0 && !idle) {
          if (now - lastRecordAt >= idleAfter) {
            idle = true;
            m.sourceIdle = true;
            this.broadcast({ k: 4, idle: true });
          } else {
            // wake up when the idle timeout passes, even if the reader never signals
            waits.push(new Promise<void>((r) => (idleTimer = setTimeout(r, idleAfter - (now - lastRecordAt)))));
          }
        }
        m.beginWait('idle', performance.now());
        await Promise.race(waits);
        m.endWait(performance.now());
        if (idleTimer) clearTimeout(idleTimer);
        clearTimeout(wmTimer);
        this.wake = undefined;
        continue;
      }
      lastRecordAt = performance.now();
      m.lastSourceRecordAt = Date.now();
      if (idle) {
        // active again: announced before the records, so downstream counts this input's watermark again
        idle = false;
        m.sourceIdle = false;
        this.broadcast({ k: 4, idle: false });
      }
      const n = res.values.length;
      m.numRecordsIn += n;
      if (this.faults.active) {
        this.faults.before(res.values);
        const c = this.cpu(n);
        if (c) {
          await c;
          this.resumed();
        }
      }
      for (let i = 0; i < n; i++) this.out.emit(res.values[i]!, res.ts[i]!);
      const l = this.faults.active ? this.faults.after(n) : undefined;
      const f = l ? this.latencyThenFlush(l) : this.flush();
      if (f) {
        await f;
        this.resumed();
      }
      const wm = reader.watermark();
      if (wm !== Number.POSITIVE_INFINITY) this.emitWatermark(wm);
      m.pendingRecords = reader.pending();
      m.currentInputWatermark = this.lastOutWm;
    }
  }

  /**
   * Burns the `cpuMs` fault of `n` records in slices of {@link CPU_SLICE_MS}, letting the event loop
   * run between them. Undefined when it all fit in one slice; else a promise that ends suspended.
   */
  private cpu(n: number): Promise<void> | undefined {
    let left = this.faults.cpuMsFor(n);
    if (left <= 0) return undefined;
    const first = Math.min(left, CPU_SLICE_MS);
    spin(first);
    left -= first;
    if (left <= 0) return undefined;
    const m = this.metrics;
    return (async () => {
      try {
        while (left > 0) {
          m.suspend(performance.now());
          await new Promise<void>((r) => setImmediate(r));
          if (this.cancelled) return;
          this.resumed();
          const slice = Math.min(left, CPU_SLICE_MS);
          spin(slice);
          left -= slice;
        }
      } finally {
        m.suspend(performance.now());
      }
    })();
  }

  /** Pays a due latency-fault sleep (own busy time: the sleep asked for), then flushes. Ends suspended. */
  private async latencyThenFlush(l: Promise<number>): Promise<void> {
    const m = this.metrics;
    try {
      m.beginWait('own', performance.now());
      const busy = await l;
      m.endOwnWait(busy);
      const f = this.flush();
      if (f) {
        await f;
        this.resumed();
      }
    } finally {
      m.suspend(performance.now());
    }
  }

  // ---- operators and sinks ----

  private async runOperator(): Promise<void> {
    const op = this.operator!;
    const gate = this.gate!;
    const m = this.metrics;
    const opened = op.open?.(this.ctx, this.restored);
    if (opened) {
      await this.own(opened);
      this.back();
    }
    /** the rest of a batch whose operator returned a promise: await it (own work), then faults and output */
    const processBatchSlow = async (r: Promise<unknown>, n: number): Promise<void> => {
      try {
        await this.own(r);
        this.back();
        const l = this.faults.active ? this.faults.after(n) : undefined;
        const f = l ? this.latencyThenFlush(l) : this.flush();
        if (f) {
          await f;
          this.resumed();
        }
      } finally {
        m.suspend(performance.now());
      }
    };
    /** one batch: faults, the operator, output; undefined when it all ran synchronously */
    const processBatch = (values: Rec[], ts: number[]): Promise<void> | undefined => {
      m.numRecordsIn += values.length;
      if (this.faults.active) {
        this.faults.before(values);
        const c = this.cpu(values.length);
        if (c) return processAfterCpu(c, values, ts);
      }
      return processRest(values, ts);
    };
    /** a batch whose CPU fault had to wait for the event loop between slices */
    const processAfterCpu = async (c: Promise<void>, values: Rec[], ts: number[]): Promise<void> => {
      try {
        await c;
        this.resumed();
        const p = processRest(values, ts);
        if (p) {
          await p;
          this.resumed();
        }
      } finally {
        m.suspend(performance.now());
      }
    };
    /** the operator and the output of a batch */
    const processRest = (values: Rec[], ts: number[]): Promise<void> | undefined => {
      const r = op.processBatch(values, ts, this.out);
      if (r) return processBatchSlow(r, values.length);
      const l = this.faults.active ? this.faults.after(values.length) : undefined;
      return l ? this.latencyThenFlush(l) : this.flush();
    };
    // records in flight at the unaligned checkpoint restored from: processed before any input
    const inflight = this.restored?.inflight;
    if (inflight && inflight.values.length > 0) {
      const b = this.opts.batchSize;
      for (let off = 0; off < inflight.values.length; off += b) {
        const p = processBatch(inflight.values.slice(off, off + b), inflight.ts.slice(off, off + b));
        if (p) {
          await p;
          this.resumed();
        }
      }
    }
    const n = gate.channels.length;
    const channelWm = new Array<number>(n).fill(Number.NEGATIVE_INFINITY);
    /** Flink's StatusWatermarkValve: idle inputs do not take part in the combined watermark */
    const channelIdle = new Array<boolean>(n).fill(false);
    let outIdle = false;
    let inputWm = Number.NEGATIVE_INFINITY;
    let aligning: { id: number; savepoint: boolean; triggeredAt: number; received: Set<number>; startedAt: number } | undefined;
    /** an unaligned checkpoint whose barrier came on some inputs: state taken, recording the others' records */
    let ua: { id: number; received: Set<number>; snap: OperatorSnapshot; inflight: InflightBatch[] } | undefined;
    /** newest unaligned checkpoint this subtask took part in (a barrier of an older, aborted one can
     * still be queued behind a newer one that overtook it: it is ignored) */
    let uaLatest = 0;
    const maybeCompleteUnaligned = () => {
      if (!ua) return;
      for (let i = 0; i < n; i++) if (!gate.finished[i] && !ua.received.has(i)) return;
      const u = ua;
      ua = undefined;
      this.acker.ack(u.id, this, { ...u.snap, inflight: u.inflight });
    };
    /** the operator's state (awaited as own work when its snapshot is async, e.g. a sink flushing). Ends suspended. */
    const snapshot = async (id: number): Promise<OperatorSnapshot> => {
      try {
        const s = op.snapshot?.(id);
        if (s instanceof Promise) {
          const snap = await this.own(s);
          this.back();
          return snap ?? {};
        }
        return s ?? {};
      } finally {
        m.suspend(performance.now());
      }
    };

    const combinedWm = () => {
      let w = Number.POSITIVE_INFINITY;
      for (let i = 0; i < n; i++) if (!gate.finished[i] && !channelIdle[i]) w = Math.min(w, channelWm[i]!);
      return w;
    };
    /** This subtask is idle downstream when every unfinished input is idle; announces changes. */
    const updateStatus = (): Promise<void> | undefined => {
      let live = 0;
      let idleCount = 0;
      for (let i = 0; i < n; i++) {
        if (gate.finished[i]) continue;
        live++;
        if (channelIdle[i]) idleCount++;
      }
      const nowIdle = live > 0 && idleCount === live;
      if (nowIdle === outIdle) return undefined;
      outIdle = nowIdle;
      const f = this.flush();
      if (!f) {
        this.broadcast({ k: 4, idle: nowIdle });
        return undefined;
      }
      return (async () => {
        try {
          await f;
          this.resumed();
          this.broadcast({ k: 4, idle: nowIdle });
        } finally {
          m.suspend(performance.now());
        }
      })();
    };
    const advanceWmSlow = async (o: unknown, w: number): Promise<void> => {
      try {
        let outWm = o;
        if (outWm instanceof Promise) {
          outWm = await this.own(outWm);
          this.back();
        }
        const f = this.flush();
        if (f) {
          await f;
          this.resumed();
        }
        this.emitWatermark((outWm as number | undefined) ?? w);
      } finally {
        m.suspend(performance.now());
      }
    };
    const advanceWm = (): Promise<void> | undefined => {
      const w = combinedWm();
      if (w === Number.POSITIVE_INFINITY || w <= inputWm) return undefined;
      inputWm = w;
      m.currentInputWatermark = w;
      const o = op.processWatermark?.(w, this.out);
      if (o instanceof Promise) return advanceWmSlow(o, w);
      const f = this.flush();
      if (!f) {
        this.emitWatermark((o as number | undefined) ?? w);
        return undefined;
      }
      return (async () => {
        try {
          await f;
          this.resumed();
          this.emitWatermark((o as number | undefined) ?? w);
        } finally {
          m.suspend(performance.now());
        }
      })();
    };
    const completeAlignment = async (a: NonNullable<typeof aligning>): Promise<void> => {
      try {
        const f = this.flush();
        if (f) {
          await f;
          this.resumed();
        }
        const snap = await snapshot(a.id);
        this.resumed();
        m.lastAlignmentNanos = Math.round((performance.now() - a.startedAt) * 1e6);
        m.lastStartDelayNanos = Math.round(Math.max(0, Date.now() - a.triggeredAt) * 1e6);
        this.broadcast({ k: 2, checkpointId: a.id, savepoint: a.savepoint, triggeredAt: a.triggeredAt });
        for (let i = 0; i < n; i++) gate.blocked[i] = false;
        this.acker.ack(a.id, this, snap);
      } finally {
        m.suspend(performance.now());
      }
    };
    const maybeCompleteAlignment = (): Promise<void> | undefined => {
      if (!aligning) return undefined;
      for (let i = 0; i < n; i++) if (!gate.finished[i] && !aligning.received.has(i)) return undefined;
      const a = aligning;
      aligning = undefined;
      return completeAlignment(a);
    };

    for (;;) {
      const y = maybeYield();
      if (y) {
        m.suspend(performance.now());
        await y;
        this.resumed();
      }
      if (this.cancelled) return;
      const item = gate.poll();
      if (!item) {
        m.beginWait('idle', performance.now());
        const at = await gate.waitForData();
        m.endWait(at);
        continue;
      }
      const { el, channel } = item;
      let p: Promise<void> | undefined;
      switch (el.k) {
        case 0: {
          if (ua && !ua.received.has(channel)) {
            // before this input's barrier: in flight for the checkpoint (copied before processing)
            ua.inflight.push({ vertex: this.vertex, edge: gate.edgeOf?.[channel] ?? -1, values: el.values.map((r) => ({ ...r })), ts: el.ts.slice() });
          }
          p = processBatch(el.values, el.ts);
          break;
        }
        case 1: {
          channelWm[channel] = el.wm;
          p = advanceWm();
          break;
        }
        case 2: {
          if (el.unaligned) {
            if (el.checkpointId < uaLatest || (!ua && el.checkpointId === uaLatest)) break; // stale barrier
            if (!ua || el.checkpointId > ua.id) {
              uaLatest = el.checkpointId;
              // the first barrier: state now, barrier on ahead of the queued output, inputs never blocked
              this.flushNoWait();
              const snap = await snapshot(el.checkpointId);
              this.resumed();
              m.lastAlignmentNanos = 0;
              m.lastStartDelayNanos = Math.round(Math.max(0, Date.now() - el.triggeredAt) * 1e6);
              const out = this.broadcastOvertaking({ k: 2, checkpointId: el.checkpointId, savepoint: false, triggeredAt: el.triggeredAt, unaligned: true });
              ua = { id: el.checkpointId, received: new Set(), snap, inflight: out };
            }
            // records this barrier overtook on its way in (a channel from another TaskManager): in flight too
            if (el.overtaken) for (const b of el.overtaken) ua.inflight.push(b);
            ua.received.add(channel);
            maybeCompleteUnaligned();
            break;
          }
          if (aligning && el.checkpointId < aligning.id) break; // stale barrier of an aborted checkpoint
          ua = undefined; // an unaligned checkpoint still recording was aborted
          if (!aligning || el.checkpointId > aligning.id) {
            if (aligning) for (let i = 0; i < n; i++) gate.blocked[i] = false;
            aligning = { id: el.checkpointId, savepoint: el.savepoint, triggeredAt: el.triggeredAt, received: new Set(), startedAt: performance.now() };
          }
          aligning.received.add(channel);
          gate.blocked[channel] = true;
          p = maybeCompleteAlignment();
          break;
        }
        case 4: {
          channelIdle[channel] = el.idle;
          const s = updateStatus();
          if (s) {
            await s;
            this.resumed();
          }
          p = advanceWm();
          break;
        }
        case 3: {
          gate.finished[channel] = true;
          gate.blocked[channel] = false;
          const a = maybeCompleteAlignment();
          if (a) {
            await a;
            this.resumed();
          }
          maybeCompleteUnaligned();
          const s = updateStatus();
          if (s) {
            await s;
            this.resumed();
          }
          if (gate.finished.every(Boolean)) {
            const e = op.endInput?.(this.out);
            if (e) {
              await this.own(e);
              this.back();
            }
            const f = this.flush();
            if (f) {
              await f;
              this.resumed();
            }
            this.emitWatermark(Number.MAX_SAFE_INTEGER);
            this.broadcast({ k: 3 });
            return;
          }
          p = advanceWm();
          break;
        }
      }
      if (p) {
        await p;
        this.resumed();
      }
    }
  }
}
