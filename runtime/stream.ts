/**
 * Stream elements and bounded channels. A channel connects one upstream subtask to one downstream
 * subtask and carries *buffers* of records (not one promise per record). Its capacity is counted in
 * data buffers: when it is full the producer awaits space — real backpressure — and the time it waits
 * is its backpressured time. Control elements (watermarks, barriers, end of input) travel in order
 * with the data and never block.
 */

/** A buffer of records with their event timestamps (ms), index-aligned. */
export interface DataElement {
  k: 0;
  values: Record<string, unknown>[];
  ts: number[];
}
/** A watermark: no more records with event time ≤ `wm` (ms) will follow on this channel. */
export interface WatermarkElement {
  k: 1;
  wm: number;
}
/** A checkpoint barrier (Flink's aligned barrier). */
export interface BarrierElement {
  k: 2;
  checkpointId: number;
  savepoint: boolean;
  /** ms, when the coordinator triggered it */
  triggeredAt: number;
  /**
   * Unaligned checkpoint (Flink's FLIP-76): the barrier overtakes the data queued ahead of it, the
   * overtaken and the still-arriving pre-barrier records are stored in the checkpoint as in-flight
   * data, and no input is blocked. Savepoints are always aligned.
   */
  unaligned?: boolean;
  /**
   * Unaligned barriers that came from another TaskManager: the records the barrier overtook in the
   * receiving channel (copied), which the receiver stores in the checkpoint as in-flight data (a
   * local channel's sender records them itself).
   */
  overtaken?: Array<{ vertex: string; edge: number; values: Record<string, unknown>[]; ts: number[] }>;
}
/** The upstream subtask has no more input. */
export interface EndElement {
  k: 3;
}
/**
 * Flink's `WatermarkStatus`: `idle` true = the upstream subtask has no data for now (a source past
 * its idle timeout, or an operator whose inputs all are idle), so its watermark must not hold back
 * the downstream's combined watermark; false = active again (sent before its next records).
 */
export interface StatusElement {
  k: 4;
  idle: boolean;
}
/** Anything that travels on a channel. */
export type StreamElement = DataElement | WatermarkElement | BarrierElement | EndElement | StatusElement;

/** Thrown out of a wait when the job is cancelled; tasks treat it as a normal stop. */
export class CancelledError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'CancelledError';
  }
}

/** Something that wants to hear when data arrives on any of its channels. */
interface Listener {
  notify(at: number): void;
}

/**
 * The sending end of a channel as a subtask sees it: a local {@link Channel}, or the sender's side
 * of a channel to another TaskManager (`runtime/taskmanager/remote.ts`, credit-based).
 */
export interface OutputChannel {
  /** True when a data buffer can be pushed without waiting. */
  hasSpace(): boolean;
  /** Appends an element (data only when {@link hasSpace}, except an unaligned barrier's flush). */
  push(el: StreamElement): void;
  /** Puts an unaligned barrier ahead of the queued data; returns the overtaken buffers it can see. */
  pushBarrierOvertaking(barrier: BarrierElement): DataElement[];
  /** Resolves with the time (performance.now ms) space became free. Rejects with CancelledError. */
  waitForSpace(): Promise<number>;
  /** Fill ratio of data buffers, 0..1. */
  usage(): number;
}

/** A bounded FIFO of stream elements between two subtasks. */
export class Channel implements OutputChannel {
  private readonly queue: StreamElement[] = [];
  private head = 0;
  /** data buffers currently queued */
  dataBuffers = 0;
  private spaceWaiters: Array<(at: number) => void> = [];
  private listener: Listener | undefined;
  private cancelled = false;
  /** called when a data buffer was polled: a channel from another TaskManager returns a credit */
  onDataPolled: (() => void) | undefined;

  /** @param capacity max queued data buffers (Flink: buffers per channel + floating) */
  constructor(readonly capacity: number) {}

  /** Attaches the downstream gate. */
  attach(listener: Listener): void {
    this.listener = listener;
  }

  /** True when a data buffer can be pushed without waiting. */
  hasSpace(): boolean {
    return this.dataBuffers < this.capacity;
  }

  /** Appends an element. Data may only be pushed when {@link hasSpace}; use {@link waitForSpace}. */
  push(el: StreamElement): void {
    if (this.cancelled) throw new CancelledError();
    this.queue.push(el);
    if (el.k === 0) this.dataBuffers++;
    this.listener?.notify(performance.now());
  }

  /**
   * Puts `barrier` ahead of every element not yet polled (an unaligned barrier overtaking the queue)
   * and returns the data buffers it overtook, in order: they are still delivered, behind it.
   */
  pushBarrierOvertaking(barrier: BarrierElement): DataElement[] {
    if (this.cancelled) throw new CancelledError();
    const overtaken: DataElement[] = [];
    for (let i = this.head; i < this.queue.length; i++) {
      const el = this.queue[i]!;
      if (el.k === 0) overtaken.push(el);
    }
    this.queue.splice(this.head, 0, barrier);
    this.listener?.notify(performance.now());
    return overtaken;
  }

  /** Resolves with the time (performance.now ms) space became free. Rejects with CancelledError. */
  waitForSpace(): Promise<number> {
    if (this.cancelled) return Promise.reject(new CancelledError());
    return new Promise<number>((resolve, reject) => {
      this.spaceWaiters.push((at) => (at < 0 ? reject(new CancelledError()) : resolve(at)));
    });
  }

  /** The next element, or undefined when empty. */
  poll(): StreamElement | undefined {
    if (this.head >= this.queue.length) return undefined;
    const el = this.queue[this.head]!;
    this.queue[this.head] = undefined as unknown as StreamElement;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    if (el.k === 0) {
      this.dataBuffers--;
      if (this.onDataPolled) this.onDataPolled();
      if (this.spaceWaiters.length > 0) {
        const w = this.spaceWaiters;
        this.spaceWaiters = [];
        const at = performance.now();
        for (const f of w) f(at);
      }
    }
    return el;
  }

  /** True when an element is queued. */
  available(): boolean {
    return this.head < this.queue.length;
  }

  /** Fill ratio of data buffers, 0..1 (Flink's in/outPoolUsage). */
  usage(): number {
    return Math.min(1, this.dataBuffers / this.capacity);
  }

  /** Wakes every waiter with CancelledError and refuses further pushes. */
  cancel(): void {
    this.cancelled = true;
    const w = this.spaceWaiters;
    this.spaceWaiters = [];
    for (const f of w) f(-1);
    this.listener?.notify(-1);
  }
}

/**
 * The input side of one subtask: all its input channels, read round-robin, with channels blocked
 * while a checkpoint barrier is being aligned.
 */
export class InputGate implements Listener {
  private next = 0;
  private waiter: ((at: number) => void) | undefined;
  private cancelled = false;
  readonly blocked: boolean[];
  readonly finished: boolean[];

  /**
   * @param channels input channels
   * @param edgeOf index in the job spec's edges of each channel's edge (unaligned checkpoints' channel state)
   */
  constructor(readonly channels: Channel[], readonly edgeOf?: number[]) {
    this.blocked = channels.map(() => false);
    this.finished = channels.map(() => false);
    for (const c of channels) c.attach(this);
  }

  /** @internal called by channels */
  notify(at: number): void {
    if (at < 0) this.cancelled = true;
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      w(at);
    }
  }

  /** The next element from an unblocked channel, with its channel index; undefined when none is ready. */
  poll(): { el: StreamElement; channel: number } | undefined {
    const n = this.channels.length;
    for (let i = 0; i < n; i++) {
      const c = (this.next + i) % n;
      if (this.blocked[c]) continue;
      const el = this.channels[c]!.poll();
      if (el) {
        this.next = (c + 1) % n;
        return { el, channel: c };
      }
    }
    return undefined;
  }

  /** Resolves with the arrival time (performance.now ms) of new data. Rejects when cancelled. */
  waitForData(): Promise<number> {
    if (this.cancelled) return Promise.reject(new CancelledError());
    return new Promise<number>((resolve, reject) => {
      this.waiter = (at) => (at < 0 ? reject(new CancelledError()) : resolve(at));
    });
  }

  /** Mean fill ratio of the input channels, 0..1. */
  usage(): number {
    if (this.channels.length === 0) return 0;
    let s = 0;
    for (const c of this.channels) s += c.usage();
    return s / this.channels.length;
  }
}
