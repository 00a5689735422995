package streamtune.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.metrics.Counter;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Reads a Kafka record written by `streamtune produce-flights`: the value is JSON
 * {date, delay, distance, origin, destination}, the record timestamp the flight's event time (ms).
 * A value that is not such an object is skipped and counted ({@code malformedRecords}).
 */
public class FlightDeserializer implements KafkaRecordDeserializationSchema<Flight> {
    private static final long serialVersionUID = 1L;
    private transient ObjectMapper json;
    private transient Counter malformed;

    @Override
    public void open(DeserializationSchema.InitializationContext ctx) {
        json = new ObjectMapper();
        malformed = ctx.getMetricGroup().counter("malformedRecords");
    }

    @Override
    public void deserialize(ConsumerRecord<byte[], byte[]> rec, Collector<Flight> out) {
        if (rec.value() == null) {
            malformed.inc();
            return;
        }
        JsonNode n;
        try {
            n = json.readTree(rec.value());
        } catch (Exception e) {
            malformed.inc();
            return;
        }
        if (n == null || !n.isObject()) {
            malformed.inc();
            return;
        }
        Flight f = new Flight();
        f.date = text(n, "date");
        f.delay = number(n, "delay");
        f.distance = number(n, "distance");
        f.origin = text(n, "origin");
        f.destination = text(n, "destination");
        f.ts = rec.timestamp();
        out.collect(f);
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }

    private static Long number(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || !v.isNumber() ? null : v.asLong();
    }

    @Override
    public TypeInformation<Flight> getProducedType() {
        return TypeInformation.of(Flight.class);
    }
}
