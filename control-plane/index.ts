/** Public surface of control-plane/. */
export { type ControlPlane } from './control-plane.ts';
export { createControlPlane, type AssembledControlPlane } from './assemble.ts';
export { loadConfig, ROLES, type ServerConfig } from './config.ts';
export { createWorker } from './worker.ts';
export { demoConfig, demoDataDir, resetDemoData } from './demo.ts';
export { LAG_NOW_WINDOW_MS, THROUGHPUT_WINDOW_MS, lastPoint, isOpenDiagnosis, openDiagnoses, lagNowOfJobs, lagNow, throughputNow, jobSummary, jobsOverview, lagSeries, throughputSeries, JOB_METRICS, metricSeries, vertexLoads, checkpointStats, jobExceptions, runningOperations, type ReadSources, type LagNow, type JobSummary, type LagSeries, type VertexLoad } from './read-model.ts';
export { AUDIT_FILE, CONFIG_FINGERPRINT_FILE, memoryAuditLog, openAuditLog, recordConfigChange, type AuditActor, type AuditEntry, type AuditFilter, type AuditInput, type AuditLog } from './audit.ts';
export { healthReport, type HealthReport, type HealthStatus } from './health.ts';
export type { BusEvents, BusTopic, ControlPlaneBus } from './events.ts';
