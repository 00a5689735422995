/**
 * Per-record latency without one timer per record: latency is accumulated as debt and paid in
 * real sleeps of at least 1 ms. A subtask sleeping this way is *busy* (like a thread blocked in a
 * synchronous remote call), and other subtasks keep running meanwhile, so throughput of a
 * latency-bound vertex scales with its parallelism — as a remote lookup does.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** Accumulates latency debt (ms) and sleeps it off. */
export class LatencyDebt {
  private debt = 0;
  private started = 0;
  /** Adds `ms` of latency. */
  add(ms: number): void {
    if (this.debt === 0) this.started = performance.now();
    this.debt += ms;
  }
  /** Sleeps until the wall time since the debt started covers it (so processing time counts toward it). */
  async pay(): Promise<void> {
    if (this.debt <= 0) return;
    const due = this.started + this.debt - performance.now();
    if (due >= 1) await sleep(due);
    this.debt = 0;
  }
}
