/**
 * Public surface of the tuner: operation and policy shapes, the pure decision functions (policy,
 * verification), the journal, the operation runner and the tuner service. What runs the jobs (the
 * catalog and executor contracts and their implementations) is the platform layer's.
 */
export { OPERATION_STATES, TERMINAL_OPERATION_STATES, ATTENTION_OPERATION_STATES, isTerminalOperationState } from './types.ts';
export type { OperationState, OperationStep, Verification, Operation, TuningPolicy, BlockedAction, ApplyRequest, TuningActionInput, TunerService, TunerEvents } from './types.ts';
export { DEFAULT_POLICY, resolvePolicy, actionKey, blockedActions, blockOf, checkGuardrails, type GuardrailResult } from './policy.ts';
export { verifyOperation, loadVerifyInput, type VerifyInput } from './verify.ts';
export { openJournal, type OperationsJournal, type JournalOptions } from './journal.ts';
export { OperationRunner, resolveActions, targetSettings, runsWith, DEFAULT_RUNNER_TIMEOUTS, VERIFY_ATTEMPTS, type RunnerContext, type RunnerTimeouts, type TargetSettings } from './operation.ts';
export { applicability, actionChange, settingsFor, FLINK_FRAMEWORK_HEAP_BYTES, type Applicability, type SettingAdvice } from './applicability.ts';
export { createTunerService, type TunerServiceOptions, type TunerServiceImpl } from './service.ts';
