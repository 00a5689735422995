/**
 * Public surface of the collector stage: the running collector ({@link createCollector}), its
 * write path (BufferedWriter, health), dataset-replay lag, Kafka consumer-group lag, the Flink REST
 * collector and the metric stores. Other stages import from here, not from collector internals.
 */
export { createCollector } from './collector.ts';
export type { CollectorOptions } from './collector.ts';
export type { Collector, CollectableJob, SourceSplitOffset } from './types.ts';
export { BufferedWriter } from './buffer.ts';
export type { BufferedWriterOptions } from './buffer.ts';
export { emptyHealth, healthToPoints, HEALTH_MEASUREMENT_PREFIX } from './health.ts';
export type { CollectorHealth } from './health.ts';
export { datasetLagPoints, datasetLagSample, DATASET_LAG_SOURCE_TAG } from './dataset-lag.ts';
export * from './kafka/index.ts';
export * from './store/index.ts';
export { FlinkRestCollector, DEFAULT_TASK_METRICS, DEFAULT_SOURCE_OPERATOR_METRICS, DEFAULT_JOB_METRICS, reporterFields, parseTaskName } from './flink/rest-collector.ts';
export type { FlinkMetricType, FlinkRestCollectorOptions, CollectResult } from './flink/rest-collector.ts';
export { type RemoteSource } from './collector.ts';
