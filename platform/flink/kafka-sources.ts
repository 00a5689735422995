/**
 * What a Flink job's Kafka sources read, learnt from the job's own metrics and the broker: the
 * REST API does not tell a KafkaSource's topics or `group.id` (they live in the job's code), but a
 * running `KafkaSourceReader` registers one metric per assigned topic-partition
 * (`KafkaSourceReader.topic.<topic>.partition.<partition>.currentOffset`, flink-connector-kafka
 * `KafkaSourceReaderMetrics`), and the broker knows each topic's partition count and which consumer
 * groups committed offsets for those partitions (the KafkaSource commits its checkpointed offsets
 * to its group: `commit.offsets.on.checkpoint`).
 *
 * The catalog ({@link FlinkCatalog}) reads the ids over REST and asks a {@link FlinkKafkaBroker} —
 * wired by the control plane from collector/kafka/group-discovery.ts and the Kafka admin — for
 * partition counts (they cap a source's useful parallelism: the planner never scales a source past
 * its partitions) and the consumer group.
 */

/** A topic-partition a job reads. */
export interface KafkaTopicPartition {
  topic: string;
  partition: number;
}

/**
 * The topic-partitions named by Flink metric ids, as the REST API lists them with or without the
 * subtask prefix: `Source__orders.KafkaSourceReader.topic.orders.partition.3.currentOffset`,
 * `0.Source__orders.KafkaSourceReader.topic.eu.orders.v2.partition.0.committedOffset` (a topic name
 * may contain dots). Other ids are ignored; duplicates are dropped, first-seen order kept.
 */
export function kafkaPartitionsFromMetricIds(ids: readonly string[]): KafkaTopicPartition[] {
  const out = new Map<string, KafkaTopicPartition>();
  for (const id of ids) {
    const m = /(?:^|\.)KafkaSourceReader\.topic\.(.+)\.partition\.(\d+)\.(?:currentOffset|committedOffset)$/.exec(id);
    if (!m) continue;
    const tp = { topic: m[1]!, partition: Number(m[2]) };
    out.set(`${tp.topic}\u0000${tp.partition}`, tp);
  }
  return [...out.values()];
}

/** Outcome of a consumer-group discovery (collector/kafka/group-discovery.ts `GroupDiscovery`, reduced). */
export type KafkaGroupDiscovery =
  | { kind: 'group'; group: string }
  /** several groups cover the partitions equally well: the config mapping must decide */
  | { kind: 'ambiguous'; candidates: string[] }
  /** no group has committed offsets for every partition (yet: the job commits on its first checkpoint) */
  | { kind: 'none' };

/** What the broker tells the Flink catalog about a job's Kafka sources. */
export interface FlinkKafkaBroker {
  /**
   * Partition count of each topic (Metadata request); topics the broker does not know are absent.
   * @throws when the broker cannot be asked (the catalog logs it and tries again later)
   */
  partitionCounts(topics: readonly string[]): Promise<Record<string, number>>;
  /**
   * The consumer group whose committed offsets cover every one of `partitions`.
   * @throws when the broker cannot be asked (the catalog logs it and tries again later)
   */
  discoverGroup(partitions: readonly KafkaTopicPartition[]): Promise<KafkaGroupDiscovery>;
}
