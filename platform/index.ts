/**
 * Public surface of the platform layer: what runs jobs. The job and catalog contracts (plain data),
 * the job graph with its vertex references, the bundled runtime's catalog and executor, Apache Flink's
 * REST client, catalog and executor, the composite and mirror catalogs, and the launchers of local
 * Kafka and Flink servers. Stages above (collector, diagnoser, tuner, control plane) import from here.
 */
export { JOB_STATES, TERMINAL_JOB_STATES, isTerminalJobState, type JobState, type CheckpointingSettings, type SnapshotRecord, type ManagedJob } from './job.ts';
export { vertexRef, findVertex, sourceVertices, type VertexRef, type TopologyVertex } from './topology.ts';
export type { JobCatalog } from './catalog.ts';
export { EXECUTOR_CHANGES, type ChangeSupport, type ExecutorChange, type JobExecutor, type JobTopology, type StartRequest, type SavepointOptions, type StopOptions } from './executor.ts';
export { CompositeCatalog } from './composite-catalog.ts';
export { createMirrorCatalog, subscribeMirrorCatalog, announceCatalog, type JobsAnnouncement, type PlatformEvents, type MirrorCatalog, type MirrorCatalogOptions } from './mirror-catalog.ts';
export { createBundledCatalog, BUNDLED_RESTART_MS, type BundledCatalog, type BundledCatalogOptions, type BundledJobRecord, type SubmitSpecOptions } from './bundled/catalog.ts';
export { BundledExecutor, type BundledExecutorFaults, type BundledExecutorOptions, type BundledJobHost } from './bundled/executor.ts';
export { FlinkCatalog, FLINK_RESTART_MS, type FlinkCatalogOptions, type FlinkJobMapping } from './flink/catalog.ts';
export { FlinkExecutor, type FlinkExecutorOptions, type FlinkJobProgram } from './flink/executor.ts';
export {
  FlinkRestClient,
  PARALLELISM_OVERRIDES_KEY,
  formatParallelismOverrides,
  operatorMetricId,
  newTriggerId,
  subtaskMetricIdBatches,
  MAX_METRIC_IDS_CHARS,
  type FlinkRestClientOptions,
  type MetricAggregation,
  type JobOverview,
  type JobDetails,
  type PlanNode,
  type JobPlan,
  type AggregatedMetric,
  type MetricValue,
  type BackPressureInfo,
  type CheckpointStats,
  type CheckpointConfig,
  type ExceptionEntry,
  type SavepointStatus,
  type JarRunRequest,
  type ParallelismBounds,
} from './flink/rest-client.ts';
export { cacheDir, CACHE_DIR_ENV, REPO_ROOT } from './local/cache.ts';
export { startProcess, type LocalProcess, type StartProcessOptions } from './local/process.ts';
export { freePort, freePorts } from './local/ports.ts';
export { resolveMavenJars, type MavenJars, type ResolveMavenOptions } from './local/maven.ts';
export { DEFAULT_KAFKA_VERSION, KAFKA_3_VERSION, ensureKafkaArtifacts, startKafkaBroker, type KafkaBroker, type KafkaBrokerOptions } from './local/kafka.ts';
export { startZooKeeper, checkZooKeeperInstalled, type ZooKeeperServer, type ZooKeeperOptions } from './local/zookeeper.ts';
export { DEFAULT_FLINK_VERSION, ensureFlinkDistribution, startFlinkCluster, type FlinkCluster, type FlinkClusterOptions, type FlinkDistribution, type InfluxReporterTarget } from './local/flink.ts';
export { FLIGHT_DELAYS_PROJECT, buildFlinkJob, buildFlightDelaysJob, prefetchFlink, type BuildFlinkJobOptions } from './local/flink-job.ts';
export { flightsParquetPath, flightsSliceSql, produceFlights, type FlightKeying, type ProduceFlightsOptions, type ProduceFlightsResult } from './kafka/produce-flights.ts';
export { DEFAULT_MAX_PARALLELISM, defaultMaxParallelism, javaHashCode, murmurHash, keyGroupOf, subtaskForKeyGroup, keyGroupRange } from './flink/keygroups.ts';
export { kafkaPartitionsFromMetricIds, type KafkaTopicPartition, type KafkaGroupDiscovery, type FlinkKafkaBroker } from './flink/kafka-sources.ts';
