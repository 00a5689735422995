/**
 * Per-subtask measurements: record counters and the split of wall time into busy, backpressured
 * and idle (Flink's `busyTimeMsPerSecond`, `backPressuredTimeMsPerSecond`, `idleTimeMsPerSecond`,
 * which add up to about 1000). A subtask is *busy* while its own code runs or it awaits its own work
 * (a latency fault, a lookup), *backpressured* while it waits for space in an output channel, and
 * *idle* the rest of the time — waiting for input, or for the event loop while another subtask of the
 * same TaskManager computes (in Flink that other subtask would run on its own thread).
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

/**
 * What a subtask is doing: `busy` = running its own code (a synchronous segment), `own` = awaiting
 * its own work (a latency fault's sleep, a lookup, a sink's send) — also busy —, `idle` = waiting
 * for input, `backpressured` = waiting for output space, `off` = runnable but waiting for the event
 * loop (another subtask's code runs): neither busy nor back-pressured, so it counts as idle.
 */
type WaitState = 'busy' | 'own' | 'idle' | 'backpressured' | 'off';

/**
 * Counters and time accounting of one subtask attempt. Busy time is measured, not inferred: the
 * subtask marks where each of its synchronous segments starts and ends and which of its awaits are
 * its own work (see Subtask), so time spent waiting for a shared event loop while another subtask
 * computes is not counted as busy. Back-pressured time is time blocked on a full output channel
 * (until space was freed); idle time is the rest of the wall time (Flink's definitions:
 * `busyTimeMsPerSecond` + `backPressuredTimeMsPerSecond` + `idleTimeMsPerSecond` = 1000).
 */
export class TaskMetrics {
  numRecordsIn = 0;
  numRecordsOut = 0;
  numBytesOut = 0;
  /** accumulated ms waiting for input (part of idle time) */
  idleMs = 0;
  /** accumulated ms blocked on a full output */
  backpressuredMs = 0;
  /** accumulated ms busy: own synchronous segments and own awaits */
  busyMs = 0;
  private state: WaitState = 'off';
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
  private readonly busyWin: RateWindow;
  private readonly bpWin: RateWindow;
  private readonly wallWin: RateWindow;

  /** @param windowMs span of the per-second rates, ms */
  constructor(windowMs: number, now = performance.now()) {
    this.startedAt = now;
    this.since = now;
    this.inWin = new RateWindow(windowMs);
    this.outWin = new RateWindow(windowMs);
    this.busyWin = new RateWindow(windowMs);
    this.bpWin = new RateWindow(windowMs);
    this.wallWin = new RateWindow(windowMs);
  }

  /** Closes the open interval at `now`, adding it to its total. */
  private close(now: number): void {
    const d = now - this.since;
    if (d > 0) {
      if (this.state === 'busy' || this.state === 'own') this.busyMs += d;
      else if (this.state === 'backpressured') this.backpressuredMs += d;
      else if (this.state === 'idle') this.idleMs += d;
    }
    this.since = now;
  }

  /** The subtask's code starts running (after an await) at `now` (performance.now ms). */
  resume(now: number): void {
    this.close(now);
    this.state = 'busy';
  }

  /** The subtask's code stops running at `now` to wait for the event loop (a yield). */
  suspend(now: number): void {
    this.close(now);
    this.state = 'off';
  }

  /**
   * Starts a wait at `now`: for input (`idle`), for output space (`backpressured`), or for the
   * subtask's own work (`own`, busy).
   */
  beginWait(kind: 'idle' | 'backpressured' | 'own', now: number): void {
    this.close(now);
    this.state = kind;
  }

  /**
   * Ends the current wait: `until` is when the awaited thing happened (performance.now ms); the
   * subtask runs again from now on. The time between `until` and now — waiting for the event loop —
   * is neither busy nor back-pressured.
   */
  endWait(until: number, now = performance.now()): void {
    this.close(Math.min(Math.max(until, this.since), now));
    this.state = 'off';
    this.resume(now);
  }

  /** Ends an `own` wait of which only `busyMs` count as busy (e.g. a sleep whose timer ran late). */
  endOwnWait(busyMs: number, now = performance.now()): void {
    this.state = 'off';
    this.busyMs += Math.max(0, Math.min(busyMs, now - this.since));
    this.since = now;
    this.state = 'busy';
  }

  private totals(now: number): { busy: number; bp: number } {
    const open = Math.max(0, now - this.since);
    return {
      busy: this.busyMs + (this.state === 'busy' || this.state === 'own' ? open : 0),
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
    this.busyWin.add(now, t.busy);
    this.bpWin.add(now, t.bp);
    this.wallWin.add(now, now);
  }

  /** The windowed values: records/s and ms/s. */
  rates(): { inPerSecond: number; outPerSecond: number; idleMsPerSecond: number; backPressuredMsPerSecond: number; busyMsPerSecond: number } {
    const wall = this.wallWin.ratePerSecond(); // ≈ 1000 ms/s once two samples exist
    if (wall <= 0) return { inPerSecond: 0, outPerSecond: 0, idleMsPerSecond: 0, backPressuredMsPerSecond: 0, busyMsPerSecond: 0 };
    const busy = Math.min(1000, Math.max(0, (this.busyWin.ratePerSecond() * 1000) / wall));
    const bp = Math.min(1000 - busy, Math.max(0, (this.bpWin.ratePerSecond() * 1000) / wall));
    return {
      inPerSecond: this.inWin.ratePerSecond(),
      outPerSecond: this.outWin.ratePerSecond(),
      idleMsPerSecond: Math.max(0, 1000 - busy - bp),
      backPressuredMsPerSecond: bp,
      busyMsPerSecond: busy,
    };
  }
}
