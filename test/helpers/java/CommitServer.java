import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * A long-lived committer that commits offsets for several consumer groups the way Flink's
 * KafkaSource does: per group one KafkaConsumer with `group.id` that assigns its partitions itself
 * (never joins the group) and commits the offsets it is told to. Driven line by line on stdin so a
 * test decides when each group commits (test/helpers/kafka-broker.ts, startAssignedCommitter).
 *
 * Usage: java -cp KAFKA_JARS CommitServer.java BOOTSTRAP
 * stdin:  ID commit GROUP TOPIC PARTITION=OFFSET[,PARTITION=OFFSET...]
 *         ID close GROUP          (closes that group's consumer)
 * stdout: "ready" once, then per request "ID ok" or "ID err MESSAGE".
 */
public class CommitServer {
  public static void main(String[] args) throws Exception {
    String bootstrap = args[0];
    Map<String, KafkaConsumer<byte[], byte[]>> consumers = new HashMap<>();
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    System.out.println("ready");
    System.out.flush();
    String line;
    while ((line = in.readLine()) != null) {
      line = line.trim();
      if (line.isEmpty()) continue;
      String[] w = line.split(" ");
      String id = w[0];
      try {
        if (w[1].equals("commit")) {
          String group = w[2];
          String topic = w[3];
          Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
          for (String po : w[4].split(",")) {
            String[] kv = po.split("=", 2);
            offsets.put(new TopicPartition(topic, Integer.parseInt(kv[0])), new OffsetAndMetadata(Long.parseLong(kv[1])));
          }
          KafkaConsumer<byte[], byte[]> c = consumers.get(group);
          if (c == null) {
            Properties props = new Properties();
            props.put("bootstrap.servers", bootstrap);
            props.put("group.id", group);
            props.put("enable.auto.commit", "false");
            props.put("key.deserializer", ByteArrayDeserializer.class.getName());
            props.put("value.deserializer", ByteArrayDeserializer.class.getName());
            c = new KafkaConsumer<>(props);
            consumers.put(group, c);
          }
          c.assign(List.copyOf(offsets.keySet()));
          c.commitSync(offsets);
        } else if (w[1].equals("close")) {
          KafkaConsumer<byte[], byte[]> c = consumers.remove(w[2]);
          if (c != null) c.close();
        } else {
          throw new IllegalArgumentException("unknown command " + w[1]);
        }
        System.out.println(id + " ok");
      } catch (Exception e) {
        System.out.println(id + " err " + String.valueOf(e).replace('\n', ' '));
      }
      System.out.flush();
    }
    for (KafkaConsumer<byte[], byte[]> c : consumers.values()) c.close();
  }
}
