/**
 * Kafka consumer-group lag collection: the broker poll ({@link KafkaLagCollector}), lag in seconds
 * ({@link LagTable}), consumer-group discovery for Flink jobs (group-discovery.ts) and the kafkajs
 * plumbing shared by streamtune's Kafka code.
 */
export { LagTable } from './lag-table.ts';
export type { LagTablePoint, LagTableAddResult, LagSecondsKind, LagSecondsResult, LagTableOptions } from './lag-table.ts';
export { KafkaLagCollector, KAFKA_LAG_MEASUREMENTS, toPoints } from './lag-sampler.ts';
export type {
  WatchedGroup,
  PointSink,
  LagAdmin,
  KafkaLagCollectorOptions,
  PartitionLagSample,
  GroupLagSample,
  LagPollResult,
  KafkaLagCollectorStats,
} from './lag-sampler.ts';
export { brokerFactsForFlink, discoverConsumerGroup, discoverConsumerGroupOnBroker, readBrokerGroups, jobPartitionsFromMetricIds } from './group-discovery.ts';
export type { FlinkBrokerAdmin, GroupDiscoveryAdmin, GroupDiscovery, GroupCandidate, BrokerGroupOffsets, JobTopicPartition, ReadBrokerGroupsOptions } from './group-discovery.ts';
