package streamtune.jobs;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.connector.file.sink.FileSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.core.fs.Path;
import org.apache.flink.streaming.api.datastream.DataStreamSink;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.filesystem.OutputFileConfig;
import org.apache.flink.streaming.api.functions.sink.filesystem.bucketassigners.BasePathBucketAssigner;
import org.apache.flink.streaming.api.functions.sink.filesystem.rollingpolicies.OnCheckpointRollingPolicy;
import org.apache.flink.streaming.api.windowing.assigners.TumblingEventTimeWindows;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * streamtune's flight-delays job on real Apache Flink: the DataStream twin of the bundled runtime's
 * {@code jobs/flight-delays.yaml}. Four operators, each with a uid (so a savepoint restores across
 * parallelism changes) and the bundled runtime's vertex name:
 * <pre>
 *   flights (KafkaSource) --rebalance--> enrich --keyBy(origin)--> delay-by-origin --rescale--> results (FileSink)
 * </pre>
 * <ul>
 *   <li>{@code flights}: topic of JSON flights, consumer group from {@code --group-id}, offsets
 *   committed on checkpoint, starting from the group's committed offsets (earliest without); event
 *   time is the Kafka record timestamp, watermarks with bounded out-of-orderness and idleness.</li>
 *   <li>{@code enrich}: origin airport from airports.csv, per-record latency, fault knobs ({@link Enrich}).</li>
 *   <li>{@code delay-by-origin}: 1-hour event-time tumbling windows per origin: count, sumDelay, avgDelay.</li>
 *   <li>{@code results}: exactly-once FileSink of JSON lines in {@code --output}; part files roll on every
 *   checkpoint and become visible ({@code part-*.jsonl}) when it completes.</li>
 * </ul>
 * Arguments: {@code --name value}; see {@link #usage()}.
 */
public final class FlightDelaysJob {
    private FlightDelaysJob() {}

    static String usage() {
        return String.join("\n",
            "flight-delays job: --brokers HOST:PORT[,..] --group-id G --output DIR --airports FILE [options]",
            "  --topic T                      Kafka topic of flights (default flights)",
            "  --job-name N                   (default flight-delays)",
            "  --lookup-latency-ms X          per-record latency of enrich, ms, fractional allowed (default 0)",
            "  --window-latency-ms X          per-record latency of delay-by-origin, ms (default 0)",
            "  --hot-key-share F              share of flights rewritten to --hot-key (default 0)",
            "  --hot-key CODE                 (default ORD)",
            "  --poison-after N               the Nth record of every attempt of an enrich subtask throws (crash loop)",
            "  --poison-origin CODE           every flight from CODE throws in enrich (crash loop)",
            "  --fail-after N                 enrich fails after N records in its first attempt only",
            "  --checkpoint-interval-ms N     (default 10000)",
            "  --parallelism P                default parallelism of every operator",
            "  --source-parallelism P, --enrich-parallelism P, --window-parallelism P, --sink-parallelism P",
            "  --max-parallelism P            (default 128, as jobs/flight-delays.yaml)",
            "  --out-of-orderness-ms N        watermark bound (default 60000)",
            "  --idleness-ms N                source idleness (default 30000)",
            "  --restart-attempts N           fixed-delay restart attempts (default 3)",
            "  --restart-delay-ms N           (default 1000)");
    }

    static Map<String, String> parse(String[] args) {
        Map<String, String> m = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--")) throw new IllegalArgumentException("unexpected argument '" + a + "'\n" + usage());
            String key = a.substring(2);
            int eq = key.indexOf('=');
            if (eq >= 0) {
                m.put(key.substring(0, eq), key.substring(eq + 1));
            } else if (i + 1 < args.length && !args[i + 1].startsWith("--")) {
                m.put(key, args[++i]);
            } else {
                m.put(key, "true");
            }
        }
        return m;
    }

    private static String required(Map<String, String> a, String key) {
        String v = a.get(key);
        if (v == null || v.isEmpty()) throw new IllegalArgumentException("missing --" + key + "\n" + usage());
        return v;
    }

    private static long longArg(Map<String, String> a, String key, long def) {
        String v = a.get(key);
        if (v == null) return def;
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + key + " must be an integer, got '" + v + "'");
        }
    }

    private static double doubleArg(Map<String, String> a, String key, double def) {
        String v = a.get(key);
        if (v == null) return def;
        try {
            return Double.parseDouble(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + key + " must be a number, got '" + v + "'");
        }
    }

    private static int parallelismArg(Map<String, String> a, String key) {
        return (int) longArg(a, key, -1);
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> a = parse(args);
        String brokers = required(a, "brokers");
        String groupId = required(a, "group-id");
        String output = required(a, "output");
        String airports = required(a, "airports");
        String topic = a.getOrDefault("topic", "flights");

        // The job's defaults. Checkpointing keys given at submission (the `flinkConfiguration` of
        // POST /jars/:jarid/run, e.g. a tuner's restart with a new interval) win over them: a key the
        // program sets itself would win over the submitted one (the program's configuration is laid
        // over the cluster's), so those are only set when the submission left them out.
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        ReadableConfig submitted = env.getConfiguration();
        Configuration conf = new Configuration();
        conf.setString("pipeline.name", a.getOrDefault("job-name", "flight-delays"));
        conf.setString("pipeline.max-parallelism", String.valueOf(longArg(a, "max-parallelism", 128)));
        setUnlessSubmitted(conf, submitted, "execution.checkpointing.interval", longArg(a, "checkpoint-interval-ms", 10_000) + " ms");
        setUnlessSubmitted(conf, submitted, "execution.checkpointing.mode", "EXACTLY_ONCE");
        setUnlessSubmitted(conf, submitted, "execution.checkpointing.timeout", "60 s");
        setUnlessSubmitted(conf, submitted, "execution.checkpointing.externalized-checkpoint-retention", "RETAIN_ON_CANCELLATION");
        conf.setString("restart-strategy.type", "fixed-delay");
        conf.setString("restart-strategy.fixed-delay.attempts", String.valueOf(longArg(a, "restart-attempts", 3)));
        conf.setString("restart-strategy.fixed-delay.delay", longArg(a, "restart-delay-ms", 1000) + " ms");
        env.configure(conf);
        int p = parallelismArg(a, "parallelism");
        if (p > 0) env.setParallelism(p);

        KafkaSource<Flight> source = KafkaSource.<Flight>builder()
            .setBootstrapServers(brokers)
            .setTopics(topic)
            .setGroupId(groupId)
            .setClientIdPrefix(groupId)
            .setStartingOffsets(OffsetsInitializer.committedOffsets(OffsetResetStrategy.EARLIEST))
            .setDeserializer(new FlightDeserializer())
            .setProperty("commit.offsets.on.checkpoint", "true")
            .setProperty("partition.discovery.interval.ms", "10000")
            .build();
        WatermarkStrategy<Flight> watermarks = WatermarkStrategy
            .<Flight>forBoundedOutOfOrderness(Duration.ofMillis(longArg(a, "out-of-orderness-ms", 60_000)))
            .withIdleness(Duration.ofMillis(longArg(a, "idleness-ms", 30_000)));

        SingleOutputStreamOperator<Flight> flights = env.fromSource(source, watermarks, "flights").uid("flights");
        setParallelism(flights, parallelismArg(a, "source-parallelism"));

        String poisonOrigin = a.get("poison-origin");
        SingleOutputStreamOperator<Flight> enriched = flights
            .rebalance()
            .map(new Enrich(airports, doubleArg(a, "lookup-latency-ms", 0), doubleArg(a, "hot-key-share", 0),
                a.getOrDefault("hot-key", "ORD"), longArg(a, "poison-after", 0), poisonOrigin, longArg(a, "fail-after", 0)))
            .name("enrich")
            .uid("enrich");
        setParallelism(enriched, parallelismArg(a, "enrich-parallelism"));

        SingleOutputStreamOperator<DelayStats> windows = enriched
            .keyBy(f -> f.origin)
            .window(TumblingEventTimeWindows.of(Duration.ofHours(1)))
            .aggregate(new DelayAggregate(doubleArg(a, "window-latency-ms", 0)), new DelayAggregate.ToStats())
            .name("delay-by-origin")
            .uid("delay-by-origin");
        setParallelism(windows, parallelismArg(a, "window-parallelism"));

        FileSink<DelayStats> files = FileSink
            .forRowFormat(new Path(output), new DelayStatsEncoder())
            .withBucketAssigner(new BasePathBucketAssigner<>())
            .withRollingPolicy(OnCheckpointRollingPolicy.build())
            .withOutputFileConfig(OutputFileConfig.builder().withPartPrefix("part").withPartSuffix(".jsonl").build())
            .build();
        // rescale (pointwise; one to one at equal parallelism) rather than forward: the sink is its own
        // vertex as in the bundled runtime ("results: Writer -> results: Committer"), and a parallelism
        // override of the sink alone stays legal
        DataStreamSink<DelayStats> sink = windows.rescale().sinkTo(files).name("results").uid("results");
        int sp = parallelismArg(a, "sink-parallelism");
        if (sp > 0) sink.setParallelism(sp);

        env.execute();
    }

    /** Sets {@code key} in {@code conf} unless the submitted configuration has it already. */
    private static void setUnlessSubmitted(Configuration conf, ReadableConfig submitted, String key, String value) {
        if (!submitted.getOptional(ConfigOptions.key(key).stringType().noDefaultValue()).isPresent()) conf.setString(key, value);
    }

    private static void setParallelism(SingleOutputStreamOperator<?> op, int p) {
        if (p > 0) op.setParallelism(p);
    }

}
