package streamtune.jobs;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.metrics.Counter;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * {@code enrich}: looks up each flight's origin airport in airports.csv (IATA code → city, state),
 * as the bundled runtime's lookup vertex does, with a per-record latency standing for a remote
 * lookup. Fault knobs: a hot-key share (that fraction of flights, picked by a hash of the flight so a
 * replay picks the same ones, gets its origin rewritten to one airport), a poison record (the Nth
 * record of every attempt of a subtask, or every flight from a marker origin, throws: a crash loop),
 * and a failure after N records in the first attempt only (one failover, then recovery).
 */
public class Enrich extends RichMapFunction<Flight, Flight> {
    private static final long serialVersionUID = 1L;
    /** one table per file and JVM: every subtask in the TaskManager shares it */
    private static final Map<String, Map<String, String[]>> TABLES = new ConcurrentHashMap<>();

    private final String airportsPath;
    private final double latencyMs;
    private final double hotKeyShare;
    private final String hotKey;
    private final long poisonAfter;
    private final String poisonOrigin;
    private final long failAfter;

    private transient Map<String, String[]> airports;
    private transient LatencyDebt debt;
    private transient long seen;
    private transient int attempt;
    private transient Counter lookupMisses;

    public Enrich(String airportsPath, double latencyMs, double hotKeyShare, String hotKey, long poisonAfter, String poisonOrigin, long failAfter) {
        this.airportsPath = airportsPath;
        this.latencyMs = latencyMs;
        this.hotKeyShare = hotKeyShare;
        this.hotKey = hotKey;
        this.poisonAfter = poisonAfter;
        this.poisonOrigin = poisonOrigin;
        this.failAfter = failAfter;
    }

    @Override
    public void open(OpenContext ctx) throws Exception {
        airports = TABLES.computeIfAbsent(airportsPath, Enrich::load);
        debt = new LatencyDebt();
        seen = 0;
        attempt = getRuntimeContext().getTaskInfo().getAttemptNumber();
        lookupMisses = getRuntimeContext().getMetricGroup().counter("lookupMisses");
    }

    @Override
    public Flight map(Flight f) throws Exception {
        seen++;
        if (poisonOrigin != null && poisonOrigin.equals(f.origin)) {
            throw new IllegalStateException("poison record in 'enrich': flight from " + f.origin + " at " + f.date);
        }
        if (poisonAfter > 0 && seen == poisonAfter) {
            throw new IllegalStateException("poison record in 'enrich': record " + seen + " of attempt " + attempt + " (" + f.origin + " at " + f.date + ")");
        }
        if (failAfter > 0 && attempt == 0 && seen > failAfter) {
            throw new IllegalStateException("injected failure in 'enrich' after " + failAfter + " records");
        }
        if (hotKeyShare > 0 && unit(f) < hotKeyShare) f.origin = hotKey;
        String[] row = f.origin == null ? null : airports.get(f.origin);
        if (row == null) {
            lookupMisses.inc();
        } else {
            f.originCity = row[0];
            f.originState = row[1];
        }
        if (latencyMs > 0) debt.add((long) (latencyMs * 1_000_000L));
        return f;
    }

    /** A number in [0, 1) fixed by the flight's fields (splitmix64 of their hash). */
    static double unit(Flight f) {
        long h = f.ts * 31 + (f.origin == null ? 0 : f.origin.hashCode());
        h = h * 31 + (f.destination == null ? 0 : f.destination.hashCode());
        h = h * 31 + (f.delay == null ? 0 : f.delay);
        h = h * 31 + (f.distance == null ? 0 : f.distance);
        h += 0x9E3779B97F4A7C15L;
        h = (h ^ (h >>> 30)) * 0xBF58476D1CE4E5B9L;
        h = (h ^ (h >>> 27)) * 0x94D049BB133111EBL;
        h = h ^ (h >>> 31);
        return (h >>> 11) * 0x1.0p-53;
    }

    /** airports.csv (header iata,name,city,state,country,latitude,longitude) → iata → [city, state]. */
    static Map<String, String[]> load(String path) {
        List<String> lines;
        try {
            lines = Files.readAllLines(Paths.get(path), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the airports table " + path + ": " + e.getMessage(), e);
        }
        if (lines.isEmpty()) throw new IllegalArgumentException("the airports table " + path + " is empty");
        List<String> header = csv(lines.get(0).replace("\uFEFF", ""));
        int iata = header.indexOf("iata"), city = header.indexOf("city"), state = header.indexOf("state");
        if (iata < 0 || city < 0 || state < 0) {
            throw new IllegalArgumentException("the airports table " + path + " lacks a column iata, city or state (has " + header + ")");
        }
        Map<String, String[]> m = new HashMap<>();
        for (int i = 1; i < lines.size(); i++) {
            if (lines.get(i).isEmpty()) continue;
            List<String> c = csv(lines.get(i));
            if (c.size() <= Math.max(iata, Math.max(city, state))) continue;
            m.put(c.get(iata), new String[] {c.get(city), c.get(state)});
        }
        return m;
    }

    /** One CSV line: fields split on commas, double quotes around a field, "" inside quotes. */
    static List<String> csv(String line) {
        List<String> out = new ArrayList<>();
        StringBuilder b = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < line.length(); i++) {
            char ch = line.charAt(i);
            if (quoted) {
                if (ch == '"' && i + 1 < line.length() && line.charAt(i + 1) == '"') {
                    b.append('"');
                    i++;
                } else if (ch == '"') {
                    quoted = false;
                } else {
                    b.append(ch);
                }
            } else if (ch == '"') {
                quoted = true;
            } else if (ch == ',') {
                out.add(b.toString());
                b.setLength(0);
            } else {
                b.append(ch);
            }
        }
        out.add(b.toString());
        return out;
    }
}
