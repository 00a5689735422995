package streamtune.jobs;

/**
 * One output record of {@code delay-by-origin}: the flights that left {@code origin} in the 1-hour
 * event-time window [windowStart, windowEnd), as the bundled runtime's window-aggregate writes it
 * ({@code jobs/flight-delays.yaml}): count, sumDelay (minutes, over flights with a known delay) and
 * avgDelay (sumDelay / flights with a known delay; null when none).
 */
public class DelayStats {
    public String origin;
    /** ISO-8601, UTC */
    public String windowStart;
    /** ISO-8601, UTC (exclusive) */
    public String windowEnd;
    public long count;
    public long sumDelay;
    public Double avgDelay;

    public DelayStats() {}
}
