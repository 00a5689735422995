package streamtune.jobs;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.api.common.serialization.Encoder;

import java.io.IOException;
import java.io.OutputStream;

/** Writes each {@link DelayStats} as one JSON line (the bundled runtime's jsonl-sink format). */
public class DelayStatsEncoder implements Encoder<DelayStats> {
    private static final long serialVersionUID = 1L;
    private transient ObjectMapper json;

    @Override
    public void encode(DelayStats s, OutputStream out) throws IOException {
        if (json == null) json = new ObjectMapper();
        out.write(json.writeValueAsBytes(s));
        out.write('\n');
    }
}
