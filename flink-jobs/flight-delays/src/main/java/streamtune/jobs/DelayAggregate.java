package streamtune.jobs;

import org.apache.flink.api.common.functions.AggregateFunction;
import org.apache.flink.streaming.api.functions.windowing.ProcessWindowFunction;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.util.Collector;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/**
 * The incremental aggregation of {@code delay-by-origin}: count, sum of delays, flights with a delay.
 * With a per-record latency ({@code --window-latency-ms}, paid like enrich's: {@link LatencyDebt})
 * the window has a capacity of 1 / latency per subtask, so a hot key makes its subtask the
 * bottleneck while the others have room: data skew that more parallelism does not fix.
 */
public class DelayAggregate implements AggregateFunction<Flight, DelayAggregate.Acc, DelayAggregate.Acc> {
    private static final long serialVersionUID = 1L;

    private final double latencyMs;
    private transient LatencyDebt debt;

    public DelayAggregate() {
        this(0);
    }

    /** @param latencyMs per-record latency of {@link #add}, ms (fractional allowed); 0 = none */
    public DelayAggregate(double latencyMs) {
        this.latencyMs = latencyMs;
    }

    /** Window state per key and window (a POJO: public fields). */
    public static class Acc {
        public long count;
        public long sumDelay;
        /** flights with a known delay */
        public long withDelay;

        public Acc() {}
    }

    @Override
    public Acc createAccumulator() {
        return new Acc();
    }

    @Override
    public Acc add(Flight f, Acc a) {
        if (latencyMs > 0) {
            if (debt == null) debt = new LatencyDebt();
            debt.add((long) (latencyMs * 1_000_000L));
        }
        a.count++;
        if (f.delay != null) {
            a.sumDelay += f.delay;
            a.withDelay++;
        }
        return a;
    }

    @Override
    public Acc getResult(Acc a) {
        return a;
    }

    @Override
    public Acc merge(Acc a, Acc b) {
        a.count += b.count;
        a.sumDelay += b.sumDelay;
        a.withDelay += b.withDelay;
        return a;
    }

    /** ISO-8601 in UTC with milliseconds, as JavaScript's toISOString() (the bundled runtime's format). */
    static final DateTimeFormatter ISO_MS = DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

    /** Turns the final accumulator of a window into its output record. */
    public static class ToStats extends ProcessWindowFunction<Acc, DelayStats, String, TimeWindow> {
        @Override
        public void process(String origin, Context ctx, Iterable<Acc> accs, Collector<DelayStats> out) {
            Acc a = accs.iterator().next();
            DelayStats s = new DelayStats();
            s.origin = origin;
            s.windowStart = ISO_MS.format(Instant.ofEpochMilli(ctx.window().getStart()));
            s.windowEnd = ISO_MS.format(Instant.ofEpochMilli(ctx.window().getEnd()));
            s.count = a.count;
            s.sumDelay = a.sumDelay;
            s.avgDelay = a.withDelay > 0 ? (double) a.sumDelay / a.withDelay : null;
            out.collect(s);
        }
    }
}
