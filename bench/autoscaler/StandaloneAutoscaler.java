package streamtune.bench;

import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.autoscaler.JobAutoScalerContext;
import org.apache.flink.autoscaler.JobAutoScalerImpl;
import org.apache.flink.autoscaler.RestApiMetricsCollector;
import org.apache.flink.autoscaler.ScalingExecutor;
import org.apache.flink.autoscaler.ScalingMetricEvaluator;
import org.apache.flink.autoscaler.event.AutoScalerEventHandler;
import org.apache.flink.autoscaler.realizer.ScalingRealizer;
import org.apache.flink.autoscaler.state.InMemoryAutoScalerStateStore;
import org.apache.flink.autoscaler.tuning.ConfigChanges;
import org.apache.flink.client.program.rest.RestClusterClient;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.runtime.client.JobStatusMessage;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The Flink Kubernetes operator's autoscaler (the published library {@code
 * org.apache.flink:flink-autoscaler}) run on its own against a session cluster, for
 * bench/flink-tuning.ts. Maven Central serves the library but not the operator's
 * {@code flink-autoscaler-standalone} module, so this is streamtune's own small loop around the
 * library's {@code JobAutoScalerImpl}: every {@code --interval-ms} it lists the cluster's RUNNING jobs
 * and calls {@code scale()} for each with the library's REST metric collector, evaluator, scaling
 * executor and in-memory state store; the decided parallelism is applied in place through the
 * adaptive scheduler ({@code PUT /jobs/:jid/resource-requirements}, upper bound = the new
 * parallelism; nothing is asked when the requirements are already these, as the library hands the
 * overrides over at every call). Every autoscaler event and every rescale request is printed as one
 * JSON line on stdout:
 * {@code {"t": ms, "event": "autoscaler"|"rescale"|"error", ...}}.
 *
 * Arguments: {@code --host H --port P [--interval-ms N] [--conf key=value ...]} (job.autoscaler.* options).
 */
public final class StandaloneAutoscaler {
    private StandaloneAutoscaler() {}

    private static String json(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n").replace("\r", "") + "\"";
    }

    private static synchronized void say(String event, String fields) {
        System.out.println("{\"t\":" + System.currentTimeMillis() + ",\"event\":" + json(event) + (fields.isEmpty() ? "" : "," + fields) + "}");
        System.out.flush();
    }

    public static void main(String[] args) throws Exception {
        Configuration conf = new Configuration();
        String host = "127.0.0.1";
        int port = 8081;
        long intervalMs = 10_000;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--host": host = args[++i]; break;
                case "--port": port = Integer.parseInt(args[++i]); break;
                case "--interval-ms": intervalMs = Long.parseLong(args[++i]); break;
                case "--conf": {
                    String kv = args[++i];
                    int eq = kv.indexOf('=');
                    conf.setString(kv.substring(0, eq), kv.substring(eq + 1));
                    break;
                }
                default: throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        conf.set(RestOptions.ADDRESS, host);
        conf.set(RestOptions.PORT, port);
        final String base = "http://" + host + ":" + port;
        final HttpClient http = HttpClient.newHttpClient();

        AutoScalerEventHandler<JobID, JobAutoScalerContext<JobID>> events = new AutoScalerEventHandler<>() {
            @Override
            public void handleEvent(JobAutoScalerContext<JobID> ctx, Type type, String reason, String message, String key, Duration interval) {
                say("autoscaler", "\"job\":" + json(ctx.getJobID().toHexString()) + ",\"type\":" + json(type.name()) + ",\"reason\":" + json(reason) + ",\"message\":" + json(message));
            }
        };
        ScalingRealizer<JobID, JobAutoScalerContext<JobID>> realizer = new ScalingRealizer<>() {
            @Override
            public void realizeParallelismOverrides(JobAutoScalerContext<JobID> ctx, Map<String, String> overrides) throws Exception {
                String jid = ctx.getJobID().toHexString();
                String current = http.send(HttpRequest.newBuilder(URI.create(base + "/jobs/" + jid + "/resource-requirements")).GET().build(), HttpResponse.BodyHandlers.ofString()).body();
                // {"<vid>":{"parallelism":{"lowerBound":1,"upperBound":2}},...}: every vertex listed, the overridden ones with upperBound = target
                Matcher m = Pattern.compile("\"([0-9a-f]{32})\"\\s*:\\s*\\{\\s*\"parallelism\"\\s*:\\s*\\{\\s*\"lowerBound\"\\s*:\\s*(-?\\d+)\\s*,\\s*\"upperBound\"\\s*:\\s*(-?\\d+)").matcher(current);
                StringBuilder body = new StringBuilder("{");
                StringBuilder before = new StringBuilder("{");
                while (m.find()) {
                    String vid = m.group(1);
                    int lower = Integer.parseInt(m.group(2));
                    int upper = Integer.parseInt(m.group(3));
                    if (before.length() > 1) before.append(',');
                    before.append('"').append(vid).append("\":{\"parallelism\":{\"lowerBound\":").append(lower).append(",\"upperBound\":").append(upper).append("}}");
                    if (overrides.containsKey(vid)) {
                        upper = Integer.parseInt(overrides.get(vid));
                        if (lower > upper) lower = upper;
                    }
                    if (body.length() > 1) body.append(',');
                    body.append('"').append(vid).append("\":{\"parallelism\":{\"lowerBound\":").append(lower).append(",\"upperBound\":").append(upper).append("}}");
                }
                body.append('}');
                before.append('}');
                // the library hands the overrides over at every scale() call; like the standalone
                // autoscaler's rescale-API realizer, ask for nothing when the requirements are already these
                if (body.toString().equals(before.toString())) return;
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/jobs/" + jid + "/resource-requirements"))
                    .header("content-type", "application/json").PUT(HttpRequest.BodyPublishers.ofString(body.toString())).build(), HttpResponse.BodyHandlers.ofString());
                say("rescale", "\"job\":" + json(jid) + ",\"status\":" + r.statusCode() + ",\"overrides\":" + json(overrides.toString()));
            }

            @Override
            public void realizeConfigOverrides(JobAutoScalerContext<JobID> ctx, ConfigChanges changes) {}
        };
        InMemoryAutoScalerStateStore<JobID, JobAutoScalerContext<JobID>> state = new InMemoryAutoScalerStateStore<>();
        JobAutoScalerImpl<JobID, JobAutoScalerContext<JobID>> autoscaler = new JobAutoScalerImpl<>(
            new RestApiMetricsCollector<>(), new ScalingMetricEvaluator(), new ScalingExecutor<>(events, state), events, realizer, state);
        say("started", "\"rest\":" + json(base) + ",\"conf\":" + json(conf.toMap().toString()));
        try (RestClusterClient<String> client = new RestClusterClient<>(conf, "standalone")) {
            while (true) {
                try {
                    for (JobStatusMessage j : client.listJobs().get()) {
                        if (j.getJobState() != JobStatus.RUNNING) continue;
                        JobAutoScalerContext<JobID> ctx = new JobAutoScalerContext<>(j.getJobId(), j.getJobId(), j.getJobState(), conf, new UnregisteredMetricsGroup(), () -> new RestClusterClient<>(conf, "standalone"));
                        autoscaler.scale(ctx);
                    }
                } catch (Exception e) {
                    say("error", "\"message\":" + json(String.valueOf(e)));
                }
                Thread.sleep(intervalMs);
            }
        }
    }
}
