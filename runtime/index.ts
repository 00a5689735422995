/** Public surface of runtime/. */
export { LocalJob } from './job.ts';
export { type CompletedCheckpoint } from './checkpoint/coordinator.ts';
export { parseJobSpecYaml, parseDuration, loadJobSpec, validateJobSpec, type JobSpec } from './spec.ts';
export { readCheckpoint } from './checkpoint/storage.ts';
export { randomId, vertexId } from './ids.ts';
export { DEFAULT_MAX_PARALLELISM, defaultMaxParallelism, javaHashCode, murmurHash, keyGroupOf, subtaskForKeyGroup, keyGroupRange } from './keygroups.ts';
// the kafka-source and kafka-sink vertex types are registered with the runtime when it is imported
import './kafka-register.ts';
export { resolveDataPath } from './paths.ts';
export { prometheusExposition, startPrometheusReporter, PROMETHEUS_TEXT_CONTENT_TYPE, type ExpositionOptions, type PrometheusReporter, type PrometheusReporterOptions } from './metrics/prometheus.ts';
