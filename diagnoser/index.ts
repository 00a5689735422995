/** Public surface of the diagnoser: window shape and loading, detectors, planning, diagnose(). */
export type * from './types.ts';
export type { JobWindow, VertexWindow, SubtaskSeries, CheckpointWindow, JvmWindow, ConsumerLagWindow, PartitionLagSeries, Points, TimePoint } from './window.ts';
export { emptyCheckpoints } from './window.ts';
export { loadJobWindow, inferTopology, defaultMaxParallelism, type LoadJobWindowOptions, type TopologyVertex } from './load.ts';
export { diagnose, diagnosisId, planInputs, vertexKey, type DiagnoseOptions, type DiagnoseTrigger } from './diagnose.ts';
export { planParallelism, type PlanOptions, type VertexPlan, type VertexPlanInput } from './plan.ts';
export { grade, summarise, backpressureLevel, type VertexStats, type SubtaskStats } from './detectors/common.ts';
export { detectBottleneck, type Bottleneck, type BottleneckResult } from './detectors/backpressure.ts';
export { detectSkew, subtaskForKeyGroup, type SkewResult, type HotKeyGroup } from './detectors/skew.ts';
export { detectCheckpoints, type CheckpointStats } from './detectors/checkpoint.ts';
export { detectRestarts, groupExceptions, maskMessage, rootCauseOf, type ExceptionGroup } from './detectors/restarts.ts';
export { detectMemory, type MemoryStats } from './detectors/memory.ts';
export { detectOverProvisioned, detectSourceBound, detectInsufficientData, type SourceBoundResult } from './detectors/capacity.ts';
export { detectStalled, detectTransientSpike, lagTrend, totalLagSeries, type LagTrend, type StalledResult } from './detectors/lagtrend.ts';
export { evaluateGroupLag, evaluatePartitionLag, lagFinding, lagInputsFromSeries, lagInputsFromWindow, type EvaluateLagOptions, type GroupLagResult, type PartitionLagResult, type PartitionLagInput, type OffsetObservation, type LagRule, type LagSeriesInput } from './detectors/lag.ts';
