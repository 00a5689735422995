package streamtune.jobs;

import java.util.concurrent.locks.LockSupport;

/**
 * A per-record latency standing for a synchronous remote lookup, as the bundled runtime's
 * {@code runtime/operators/sleep.ts}: latency is owed as debt and paid off once at least 1 ms is owed,
 * by parking the task thread until the wall time since the debt started covers it. Sub-millisecond
 * latencies (0.5 ms) thus add up instead of being lost to the timer's granularity, and time spent
 * processing counts toward the debt. A park that overshoots (the thread woke late: timer slack, or a
 * loaded machine's run queue) leaves the excess as credit for the next records, never more than the
 * debt just paid, so on average every record costs its latency and a subtask's capacity is
 * 1 / latency — without the credit, 4 ms records ran at ~120 records/s instead of 250 on a loaded
 * 2-core machine. A parked task thread is busy (busyTimeMsPerSecond), as a thread blocked in a remote
 * call is.
 */
final class LatencyDebt {
    private long startedNanos;
    private long debtNanos;
    /** overshoot of earlier parks, deducted from later debt */
    private long creditNanos;

    /** Owes {@code nanos} more and pays when at least 1 ms is due. */
    void add(long nanos) {
        if (nanos <= 0) return;
        if (creditNanos > 0) {
            long use = Math.min(creditNanos, nanos);
            creditNanos -= use;
            nanos -= use;
            if (nanos == 0) return;
        }
        long now = System.nanoTime();
        if (debtNanos == 0) startedNanos = now;
        debtNanos += nanos;
        long due = startedNanos + debtNanos;
        if (due - now < 1_000_000L) {
            if (due - now <= 0) debtNanos = 0; // the processing time covered it already
            return;
        }
        // an interrupt (the task being cancelled) ends the wait at once
        long left = due - now;
        for (; left > 0 && !Thread.currentThread().isInterrupted(); left = due - System.nanoTime()) {
            LockSupport.parkNanos(left);
        }
        // woke late: the excess is credit, at most one debt's worth (a long stall must not make later records free)
        if (left < 0) creditNanos = Math.min(-left, debtNanos);
        debtNanos = 0;
    }
}
