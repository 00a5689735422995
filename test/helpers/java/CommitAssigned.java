import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Commits offsets for a consumer group the way Flink's KafkaSource does: a KafkaConsumer with
 * `group.id` that assigns its partitions itself (never joins the group) and commits the offsets of a
 * completed checkpoint. Used by streamtune's tests (test/helpers/kafka-broker.ts, commitAsAssigned).
 *
 * Usage: java -cp KAFKA_JARS CommitAssigned.java BOOTSTRAP GROUP TOPIC PARTITION=OFFSET[:METADATA]...
 */
public class CommitAssigned {
  public static void main(String[] args) {
    Properties props = new Properties();
    props.put("bootstrap.servers", args[0]);
    props.put("group.id", args[1]);
    props.put("enable.auto.commit", "false");
    props.put("key.deserializer", ByteArrayDeserializer.class.getName());
    props.put("value.deserializer", ByteArrayDeserializer.class.getName());
    String topic = args[2];
    Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
    for (int i = 3; i < args.length; i++) {
      String[] po = args[i].split("=", 2);
      String[] om = po[1].split(":", 2);
      offsets.put(new TopicPartition(topic, Integer.parseInt(po[0])),
          new OffsetAndMetadata(Long.parseLong(om[0]), om.length > 1 ? om[1] : ""));
    }
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props)) {
      consumer.assign(List.copyOf(offsets.keySet()));
      consumer.commitSync(offsets);
    }
    System.out.println("committed " + offsets.size() + " offsets for group " + args[1]);
  }
}
