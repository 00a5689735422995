package streamtune.jobs;

import java.util.concurrent.locks.LockSupport;

/**
 * A per-record latency standing for a synchronous remote lookup, as the bundled runtime's
 * {@code runtime/operators/sleep.ts}: latency is owed as debt and paid off once at least 1 ms is owed,
 * by parking the task thread until the wall time since the debt started covers it. Sub-millisecond
 * latencies (0.5 ms) thus add up instead of being lost to the timer's granularity, and time spent
 * processing counts toward the debt. A parked task thread is busy (busyTimeMsPerSecond), as a thread
 * blocked in a remote call is.
 */
final class LatencyDebt {
    private long startedNanos;
    private long debtNanos;

    /** Owes {@code nanos} more and pays when at least 1 ms is due. */
    void add(long nanos) {
        if (nanos <= 0) return;
        long now = System.nanoTime();
        if (debtNanos == 0) startedNanos = now;
        debtNanos += nanos;
        long due = startedNanos + debtNanos;
        if (due - now < 1_000_000L) {
            if (due - now <= 0) debtNanos = 0; // the processing time covered it already
            return;
        }
        // an interrupt (the task being cancelled) ends the wait at once
        for (long left = due - now; left > 0 && !Thread.currentThread().isInterrupted(); left = due - System.nanoTime()) {
            LockSupport.parkNanos(left);
        }
        debtNanos = 0;
    }
}
