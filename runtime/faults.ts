/** Fault-injection knobs applied around any operator (see `FaultSpec`). */
import type { FaultSpec } from './spec.ts';
import { compile, type CompiledExpression } from './operators/expression.ts';
import { LatencyDebt } from './operators/sleep.ts';
import type { Rec } from './operators/types.ts';

/** Thrown by a poison record or a failure-after-N knob. */
export class InjectedFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InjectedFailure';
  }
}

/** Thrown by a poison record (a record the job can never process). */
export class PoisonRecordError extends InjectedFailure {
  constructor(message: string) {
    super(message);
    this.name = 'PoisonRecordError';
  }
}

const retained: number[][] = [];

/** About `bytes` bytes on the V8 heap: an array of `bytes / 8` numbers. */
function onHeap(bytes: number): number[] {
  return new Array<number>(Math.max(1, Math.ceil(bytes / 8))).fill(0);
}

/** Applies the knobs of one vertex in one subtask attempt. */
export class Faults {
  private readonly poison: CompiledExpression | undefined;
  private readonly debt = new LatencyDebt();
  private seen = 0;
  /** true when any knob is set */
  readonly active: boolean;

  constructor(private readonly spec: FaultSpec | undefined, private readonly vertex: string, private readonly attempt: number) {
    this.poison = spec?.failOnRecord ? compile(spec.failOnRecord, `vertex '${vertex}' faults.failOnRecord`) : undefined;
    this.active = spec !== undefined && Object.keys(spec).length > 0;
  }

  /**
   * Runs before a batch is processed: failures and allocations. Throws InjectedFailure. The CPU
   * burn is {@link cpuMsFor}'s, spent by the subtask in slices (see `Subtask`).
   */
  before(values: Rec[]): void {
    const s = this.spec;
    if (!s) return;
    if (this.poison) {
      for (const r of values) {
        if (this.poison(r)) throw new PoisonRecordError(`poison record in '${this.vertex}': ${JSON.stringify(r).slice(0, 200)}`);
      }
    }
    this.seen += values.length;
    if (s.failAfterRecords !== undefined && this.attempt === 0 && this.seen > s.failAfterRecords) {
      throw new InjectedFailure(`injected failure in '${this.vertex}' after ${s.failAfterRecords} records`);
    }
    // Allocated on the V8 heap (arrays of numbers, 8 bytes per element): Node.js Buffers live
    // outside it, barely drive the garbage collector and do not show in heap used.
    if (s.allocBytes) {
      for (let i = 0; i < values.length; i++) {
        const b = onHeap(s.allocBytes);
        b[0] = 1;
      }
    }
    if (s.retainBytes) {
      for (let i = 0; i < values.length; i++) retained.push(onHeap(s.retainBytes));
    }
  }

  /** CPU time to burn for a batch of `n` records, ms (`cpuMs` each; 0 without the knob). */
  cpuMsFor(n: number): number {
    return (this.spec?.cpuMs ?? 0) * n;
  }

  /**
   * Runs after a batch of `n` records: adds their latency (`latencyMs` each) and sleeps it off once
   * at least 1 ms is owed (see {@link LatencyDebt}). Undefined when there is nothing to wait for now;
   * else resolves with the ms slept that count as the subtask's own busy time.
   */
  after(n: number): Promise<number> | undefined {
    if (!this.spec?.latencyMs) return undefined;
    this.debt.add(this.spec.latencyMs * n);
    return this.debt.pay();
  }
}
