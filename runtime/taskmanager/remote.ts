/**
 * Channels between TaskManagers, after Flink's credit-based network stack (FLINK-7282): the
 * receiver owns the buffers; it announces `capacity` credits per channel up front and returns one
 * credit each time its subtask takes a data buffer from the channel; the sender may only send a data
 * buffer while it holds a credit, else it waits — that wait is its back-pressured time, so
 * backpressure propagates across TaskManagers as it does inside one. Control elements (watermarks,
 * aligned barriers, end of input, watermark status) need no credit and travel in order with the
 * data. An unaligned barrier is sent as a priority event: the receiver puts it ahead of the data
 * queued in that channel and hands the overtaken records (copied) to its subtask with the barrier,
 * which stores them as in-flight channel state (FLIP-76's input channel state).
 *
 * One {@link Link} carries every channel between two TaskManagers of one job attempt over one
 * MessagePort. Messages: `{k:'d', c, b}` a data buffer of channel `c`: its values and event
 * timestamps as MessagePack (msgpackr with records: a batch of same-shaped records is written as one
 * record structure plus values, several times faster than `postMessage`'s structured clone of the
 * objects; the bytes are transferred, not copied); `{k:'e', c, el}` a control element;
 * `{k:'o', c, el}` an overtaking unaligned barrier; `{k:'cr', c}` one credit back.
 */
import type { MessagePort } from 'node:worker_threads';
import { Packr } from 'msgpackr';
import { CancelledError, type BarrierElement, type Channel, type DataElement, type OutputChannel, type StreamElement } from '../stream.ts';

type LinkMessage =
  | { k: 'd'; c: number; b: Uint8Array }
  | { k: 'e'; c: number; el: StreamElement }
  | { k: 'o'; c: number; el: BarrierElement }
  | { k: 'cr'; c: number };

/** The sender's side of a channel to a subtask on another TaskManager. */
export class RemoteOutputChannel implements OutputChannel {
  private credits: number;
  private waiters: Array<(at: number) => void> = [];
  private cancelled = false;

  /**
   * @param id channel id (the same on both TaskManagers)
   * @param capacity credits the receiver grants: data buffers in flight at most
   */
  constructor(readonly id: number, readonly capacity: number, private readonly link: Link) {
    this.credits = capacity;
  }

  hasSpace(): boolean {
    return this.credits > 0;
  }

  push(el: StreamElement): void {
    if (this.cancelled) throw new CancelledError();
    if (el.k === 0) {
      this.credits--;
      this.link.postData(this.id, el.values, el.ts);
    } else {
      this.link.post({ k: 'e', c: this.id, el });
    }
  }

  /** Sends the barrier as a priority event; the records it overtakes are the receiver's to record. */
  pushBarrierOvertaking(barrier: BarrierElement): DataElement[] {
    if (this.cancelled) throw new CancelledError();
    this.link.post({ k: 'o', c: this.id, el: barrier });
    return [];
  }

  waitForSpace(): Promise<number> {
    if (this.cancelled) return Promise.reject(new CancelledError());
    return new Promise<number>((resolve, reject) => {
      this.waiters.push((at) => (at < 0 ? reject(new CancelledError()) : resolve(at)));
    });
  }

  /** A credit came back (the receiver took a data buffer). */
  credit(n = 1): void {
    this.credits += n;
    if (this.credits > 0 && this.waiters.length > 0) {
      const w = this.waiters;
      this.waiters = [];
      const at = performance.now();
      for (const f of w) f(at);
    }
  }

  /** Data buffers sent and not yet taken by the receiver, over the capacity (Flink's outPoolUsage). */
  usage(): number {
    return Math.max(0, Math.min(1, (this.capacity - this.credits) / this.capacity));
  }

  /** Wakes every waiter with CancelledError and refuses further pushes. */
  cancel(): void {
    this.cancelled = true;
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f(-1);
  }
}

/** The receiving end of a channel: the local queue its subtask reads, and what the channel carries. */
interface RemoteInput {
  channel: Channel;
  /** vertex of the receiving subtask and the spec edge index (for in-flight channel state) */
  vertex: string;
  edge: number;
}

/** All channels between this TaskManager and one other, for one job attempt, over one MessagePort. */
export class Link {
  private readonly outputs = new Map<number, RemoteOutputChannel>();
  private readonly inputs = new Map<number, RemoteInput>();
  private closed = false;
  private readonly packr = new Packr({ useRecords: true });

  /** @param port this TaskManager's end of the MessageChannel to the peer */
  constructor(private readonly port: MessagePort) {
    port.on('message', (m: LinkMessage) => this.receive(m));
  }

  /** The sender's side of channel `id`, granted `capacity` credits. */
  output(id: number, capacity: number): RemoteOutputChannel {
    const o = new RemoteOutputChannel(id, capacity, this);
    this.outputs.set(id, o);
    return o;
  }

  /** Registers the receiving queue of channel `id`; each data buffer its subtask takes returns a credit. */
  input(id: number, channel: Channel, vertex: string, edge: number): void {
    this.inputs.set(id, { channel, vertex, edge });
    channel.onDataPolled = () => {
      if (!this.closed) this.port.postMessage({ k: 'cr', c: id } satisfies LinkMessage);
    };
  }

  /** @internal sends a data buffer of channel `c` */
  postData(c: number, values: Record<string, unknown>[], ts: number[]): void {
    if (this.closed) throw new CancelledError();
    // an exact-size copy of msgpackr's (reused) output buffer, transferred to the receiver
    const b = this.packr.pack([values, ts]).slice();
    this.port.postMessage({ k: 'd', c, b } satisfies LinkMessage, [b.buffer as ArrayBuffer]);
  }

  /** @internal */
  post(m: LinkMessage): void {
    if (this.closed) throw new CancelledError();
    this.port.postMessage(m);
  }

  private receive(m: LinkMessage): void {
    if (this.closed) return;
    if (m.k === 'cr') {
      this.outputs.get(m.c)?.credit();
      return;
    }
    const input = this.inputs.get(m.c);
    if (!input) return;
    try {
      if (m.k === 'd') {
        const [values, ts] = this.packr.unpack(m.b) as [Record<string, unknown>[], number[]];
        input.channel.push({ k: 0, values, ts });
      }
      else if (m.k === 'e') input.channel.push(m.el);
      else {
        const el = m.el;
        const overtaken = input.channel.pushBarrierOvertaking(el);
        // copied: the receiver processes (and may change) these records before the checkpoint is written
        if (overtaken.length > 0) el.overtaken = overtaken.map((d) => ({ vertex: input.vertex, edge: input.edge, values: d.values.map((r) => ({ ...r })), ts: d.ts.slice() }));
      }
    } catch (err) {
      if (!(err instanceof CancelledError)) throw err;
    }
  }

  /** Cancels the sending sides (their waiters reject with CancelledError). */
  cancel(): void {
    for (const o of this.outputs.values()) o.cancel();
  }

  /** Closes the port; nothing more is sent or received. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.cancel();
    this.port.close();
  }
}
