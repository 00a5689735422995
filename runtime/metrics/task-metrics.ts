/**
 * Per-subtask measurements: record counters and the split of wall time into busy, backpressured
 * and idle (Flink's `busyTimeMsPerSecond`, `backPressuredTimeMsPerSecond`, `idleTimeMsPerSecond`,
 * which add up to about 1000). A subtask is *idle* while it waits for input, *backpressured* while it
 * waits for space in an output channel, and *busy* otherwise — including time it waits for the
 * event loop, which is how a Flink task thread competing for a core shows busy time.
 */

/** A sliding window of (time, value) samples of a monotonically growing total, for per-second rates. */
export class RateWindow {
  private readonly times: number[] = [];
  private readonly values: number[] = [];
  /** @param spanMs width of the window, ms */
  constructor(private readonly spanMs: number) {}
  /** Adds a sample of the running total at `t` (ms). */
  add(t: number, total: number): void {
    this.times.push(t);
    this.values.push(total);
    while (this.times.length > 2 && this.times[1]! <= t - this.spanMs) {
      this.times.shift();
      this.values.shift();
    }
  }
  /** Per-second rate of the total over the window; 0 with fewer than two samples. */
  ratePerSecond(): number {
    const n = this.times.length;
    if (n < 2) return 0;
    const dt = this.times[n - 1]! - this.times[0]!;
    return dt <= 0 ? 0 : ((this.values[n - 1]! - this.values[0]!) * 1000) / dt;
  }
  /** Increase of the total over the window divided by its duration, scaled to `per` ms. */
  ratePer(per: number): number {
    return (this.ratePerSecond() * per) / 1000;
  }
}

/** Wait states of a subtask. */
type WaitState = 'busy' | 'idle' | 'backpressured';

/** Counters and time accounting of one subtask attempt. */
export class TaskMetrics {
  numRecordsIn = 0;
  numRecordsOut = 0;
  numBytesOut = 0;
  /** accumulated ms */
  idleMs = 0;
  backpressuredMs = 0;
  private state: WaitState = 'busy';
  private since = 0;
  readonly startedAt: number;
  currentInputWatermark = Number.NEGATIVE_INFINITY;
  currentOutputWatermark = Number.NEGATIVE_INFINITY;
  /** ns, Flink's checkpointAlignmentTime of the last checkpoint */
  lastAlignmentNanos = 0;
  /** ns, Flink's checkpointStartDelayNanos of the last checkpoint */
  lastStartDelayNanos = 0;
  /** records per key group (keyed vertices only), cumulative */
  keyGroupRecords: Float64Array | undefined;
  /** source backlog (pendingRecords), records */
  pendingRecords: number | undefined;
  /** sources: marked idle downstream (Flink's WatermarkStatus.IDLE after `idleTimeout`) */
  sourceIdle = false;
  /** sources: ms epoch of the last record read (start of the subtask before any); Flink's `sourceIdleTime` = now − this */
  lastSourceRecordAt: number | undefined;
  /** Kafka per-partition offsets: `${topic}\u0000${partition}` → offsets */
  kafkaOffsets: Map<string, { topic: string; partition: number; current: number; committed: number }> | undefined;
  /** numLateRecordsDropped (window operators) */
  lateRecordsDropped = 0;

  private readonly inWin: RateWindow;
  private readonly outWin: RateWindow;
  private readonly idleWin: RateWindow;
  private readonly bpWin: RateWindow;
  private readonly wallWin: RateWindow;

  /** @param windowMs span of the per-second rates, ms */
  constructor(windowMs: number, now = performance.now()) {
    this.startedAt = now;
    this.since = now;
    this.inWin = new RateWindow(windowMs);
    this.outWin = new RateWindow(windowMs);
    this.idleWin = new RateWindow(windowMs);
    this.bpWin = new RateWindow(windowMs);
    this.wallWin = new RateWindow(windowMs);
  }

  /** Enters a wait for input (idle) or for output space (backpressured) at `now` (performance.now ms). */
  beginWait(kind: 'idle' | 'backpressured', now: number): void {
    this.state = kind;
    this.since = now;
  }

  /** Ends the current wait; `until` is when the awaited thing happened (the rest counts as busy). */
  endWait(until: number): void {
    const d = Math.max(0, until - this.since);
    if (this.state === 'idle') this.idleMs += d;
    else if (this.state === 'backpressured') this.backpressuredMs += d;
    this.state = 'busy';
  }

  private totals(now: number): { idle: number; bp: number } {
    const open = Math.max(0, now - this.since);
    return {
      idle: this.idleMs + (this.state === 'idle' ? open : 0),
      bp: this.backpressuredMs + (this.state === 'backpressured' ? open : 0),
    };
  }

  /** True while waiting for output space. */
  isBackPressured(): boolean {
    return this.state === 'backpressured';
  }

  /** Takes a sample for the windowed rates; the job calls it about once a second. */
  sample(now: number): void {
    const t = this.totals(now);
    this.inWin.add(now, this.numRecordsIn);
    this.outWin.add(now, this.numRecordsOut);
    this.idleWin.add(now, t.idle);
    this.bpWin.add(now, t.bp);
    this.wallWin.add(now, now);
  }

  /** The windowed values: records/s and ms/s. */
  rates(): { inPerSecond: number; outPerSecond: number; idleMsPerSecond: number; backPressuredMsPerSecond: number; busyMsPerSecond: number } {
    const wall = this.wallWin.ratePerSecond(); // ≈ 1000 ms/s once two samples exist
    if (wall <= 0) return { inPerSecond: 0, outPerSecond: 0, idleMsPerSecond: 0, backPressuredMsPerSecond: 0, busyMsPerSecond: 0 };
    const idle = Math.min(1000, (this.idleWin.ratePerSecond() * 1000) / wall);
    const bp = Math.min(1000 - idle, (this.bpWin.ratePerSecond() * 1000) / wall);
    return {
      inPerSecond: this.inWin.ratePerSecond(),
      outPerSecond: this.outWin.ratePerSecond(),
      idleMsPerSecond: idle,
      backPressuredMsPerSecond: bp,
      busyMsPerSecond: Math.max(0, 1000 - idle - bp),
    };
  }
}
