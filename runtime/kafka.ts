/**
 * Enables the `kafka-source` and `kafka-sink` vertex types of the bundled runtime: importing this
 * module once registers their factories with {@link registerVertexFactories} (the CLI loads it
 * through `runtime/kafka-register.ts`). Kept apart from `runtime/job.ts` so that jobs without Kafka
 * never load kafkajs.
 */
import { registerVertexFactories } from './job.ts';
import type { KafkaSinkSpec, KafkaSourceSpec } from './spec.ts';
import { createKafkaSource } from './sources/kafka.ts';
import { createKafkaSink } from './sinks/kafka.ts';

export { createKafkaSource, decodeKafkaValue, parseEventTime, type KafkaPartitionOffset } from './sources/kafka.ts';
export { createKafkaSink } from './sinks/kafka.ts';

registerVertexFactories({
  source: { 'kafka-source': (spec) => createKafkaSource(spec as KafkaSourceSpec) },
  operator: { 'kafka-sink': (spec) => createKafkaSink(spec as KafkaSinkSpec) },
});
