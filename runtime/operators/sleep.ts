/**
 * Per-record latency without one timer per record: latency is accumulated as debt and paid in
 * real sleeps of at least 1 ms. Debt below 1 ms is carried over to the next batch (not dropped), and
 * a sleep that overshoots leaves the excess as credit, so on average every record costs exactly its
 * latency — `latencyMs: 0.5` on one-record batches costs 0.5 ms per record, not 0. A subtask sleeping
 * this way is *busy* (like a thread blocked in a synchronous remote call), and other subtasks keep
 * running meanwhile, so throughput of a latency-bound vertex scales with its parallelism — as a
 * remote lookup does.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** Smallest sleep taken, ms: debt below it waits for more (timers have about 1 ms resolution). */
export const MIN_SLEEP_MS = 1;

/** Accumulates latency debt (ms) and sleeps it off. */
export class LatencyDebt {
  /** ms owed; negative = credit left by a sleep that overshot */
  private owed = 0;
  /** Adds `ms` of latency. */
  add(ms: number): void {
    this.owed += ms;
  }
  /** ms owed now (negative: credit). */
  get debtMs(): number {
    return this.owed;
  }
  /**
   * Sleeps the debt off when at least {@link MIN_SLEEP_MS} is owed; otherwise returns undefined at
   * once and keeps the debt for later. Resolves with the ms of the sleep that count as the caller's
   * own busy time: the time slept, at most the debt + 1 ms (a timer late because the event loop ran
   * other work is not this caller's latency). The whole time slept is deducted from the debt.
   */
  pay(): Promise<number> | undefined {
    const want = this.owed;
    if (want < MIN_SLEEP_MS) return undefined;
    const t0 = performance.now();
    return sleep(want).then(() => {
      const slept = performance.now() - t0;
      this.owed -= slept;
      // never bank more credit than one debt's worth: a long stall must not make later records free
      if (this.owed < -want) this.owed = -want;
      return Math.min(slept, want + 1);
    });
  }
}
