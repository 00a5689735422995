/** Public surface of control-plane/. */
export { type ControlPlane } from './control-plane.ts';
export { createControlPlane, type AssembledControlPlane } from './assemble.ts';
export { loadConfig, ROLES, type ServerConfig } from './config.ts';
export { createWorker } from './worker.ts';
export { demoConfig, demoDataDir, resetDemoData } from './demo.ts';
export { startFlinkDemo, flinkDemoDataDir, FLINK_DEMO_JOB, FLINK_DEMO_RATE, FLINK_DEMO_LOOKUP_MS, type FlinkDemo, type FlinkDemoOptions } from './demo-flink.ts';
export { LAG_NOW_WINDOW_MS, THROUGHPUT_WINDOW_MS, lastPoint, isOpenDiagnosis, openDiagnoses, openIncidentsOf, incidentsList, incidentDetail, lagNowOfJobs, lagNow, lagEvaluateOptions, throughputNow, jobSummary, jobsOverview, lagSeries, throughputSeries, JOB_METRICS, metricSeries, vertexLoads, checkpointStats, jobExceptions, runningOperations, type ReadSources, type LagNow, type LagNowOptions, type JobSummary, type LagSeries, type VertexLoad } from './read-model.ts';
export { AUDIT_FILE, CONFIG_FINGERPRINT_FILE, memoryAuditLog, openAuditLog, recordConfigChange, type AuditActor, type AuditEntry, type AuditFilter, type AuditInput, type AuditLog } from './audit.ts';
export { healthReport, type HealthReport, type HealthStatus } from './health.ts';
export type { BusEvents, BusTopic, ControlPlaneBus } from './events.ts';
