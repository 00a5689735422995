/**
 * Public surface of the tuner: operation and policy shapes, the job catalog and executor contracts,
 * the pure decision functions (policy, verification), the journal, the operation runner, the tuner
 * service, and the two executors (bundled runtime, Flink REST).
 */
export type * from './types.ts';
export type { JobCatalog, ManagedJob } from './catalog.ts';
export type { JobExecutor, JobState, JobTopology, VertexTopology, CheckpointingSettings, StartRequest, SavepointOptions, StopOptions } from './executor.ts';
export { DEFAULT_POLICY, resolvePolicy, actionKey, blockedActions, checkGuardrails, isTerminal, type BlockedAction, type GuardrailResult } from './policy.ts';
export { verifyOperation, loadVerifyInput, type VerifyInput } from './verify.ts';
export { openJournal, type OperationsJournal, type JournalOptions } from './journal.ts';
export { OperationRunner, targetSettings, runsWith, DEFAULT_RUNNER_TIMEOUTS, VERIFY_ATTEMPTS, type RunnerContext, type RunnerTimeouts, type TargetSettings } from './operation.ts';
export { createTunerService, type TunerServiceOptions, type TunerServiceImpl } from './service.ts';
export { createBundledCatalog, type BundledCatalog, type BundledCatalogOptions, type BundledJobRecord, type SubmitSpecOptions } from './bundled/catalog.ts';
export { BundledExecutor, type BundledExecutorFaults, type BundledExecutorOptions, type BundledJobHost } from './bundled/executor.ts';
export { FlinkExecutor, type FlinkExecutorOptions } from './flink/executor.ts';
