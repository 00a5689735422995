/**
 * Messages between the JobManager (the main thread, `LocalJob`) and a worker TaskManager
 * (`worker.ts`), over the worker's parent port. Data between TaskManagers does not pass here: it
 * goes over the attempt's {@link Link}s (`remote.ts`). Subtasks are named `vertex#index`.
 */
import type { MessagePort } from 'node:worker_threads';
import type { OperatorSnapshot, Rec } from '../operators/types.ts';
import type { SplitOffset } from '../sources/dataset.ts';
import type { SourceTrigger, SubtaskState } from '../task.ts';
import type { DeploymentDescriptor } from './deploy.ts';

/** An error as it crosses threads. */
export interface ErrorData {
  name: string;
  message: string;
  stack?: string;
  /** StreamtuneError code */
  code?: string;
}

/** Heap, GC and event loop of one TaskManager (Flink's `Status.JVM.*`). */
export interface TaskManagerStats {
  /** bytes */
  heapUsed: number;
  /** bytes */
  heapCommitted: number;
  /** bytes */
  heapMax: number;
  gcCount: number;
  /** ms */
  gcTimeMs: number;
  /** ms/s over the last 10 s */
  gcTimeMsPerSecond: number;
  /** mean event-loop delay since the last report, ms */
  eventLoopDelayMs: number;
}

/** A copy of one subtask's measurements. */
export interface TaskMetricsSnapshot {
  state: SubtaskState;
  numRecordsIn: number;
  numRecordsOut: number;
  currentInputWatermark: number;
  currentOutputWatermark: number;
  lastAlignmentNanos: number;
  lastStartDelayNanos: number;
  keyGroupRecords?: Float64Array;
  pendingRecords?: number;
  sourceIdle: boolean;
  lastSourceRecordAt?: number;
  kafkaOffsets?: Map<string, { topic: string; partition: number; current: number; committed: number }>;
  lateRecordsDropped: number;
  rates: { inPerSecond: number; outPerSecond: number; idleMsPerSecond: number; backPressuredMsPerSecond: number; busyMsPerSecond: number };
  inputUsage: number;
  outputUsage: number;
  /** dataset sources: split positions (arrivedOffset as of `at`) */
  splitOffsets?: SplitOffset[];
}

/** JobManager → TaskManager. */
export type ToTaskManager =
  | { t: 'deploy'; desc: DeploymentDescriptor; ports: Array<{ peer: number; port: MessagePort }>; forwardLogs: boolean }
  | { t: 'trigger'; dep: string; task: string; trigger: SourceTrigger }
  | { t: 'resume'; dep: string; task: string }
  | { t: 'cancel'; dep: string }
  | { t: 'request'; dep: string; id: number; op: 'snapshotNow' | 'notifyComplete' | 'close'; task: string; checkpointId: number }
  | { t: 'undeploy'; dep: string };

/** TaskManager → JobManager. */
export type FromTaskManager =
  | { t: 'ready' }
  | { t: 'deployed'; dep: string; error?: ErrorData }
  | { t: 'state'; dep: string; task: string; state: SubtaskState; error?: ErrorData; metrics: TaskMetricsSnapshot }
  | { t: 'ack'; dep: string; task: string; checkpointId: number; snapshot: OperatorSnapshot }
  | { t: 'decline'; dep: string; task: string; checkpointId: number; reason: string }
  | { t: 'reply'; dep: string; id: number; value?: unknown; error?: ErrorData }
  | { t: 'collected'; dep: string; records: Rec[] }
  | { t: 'log'; dep: string; level: 'debug' | 'info' | 'warn' | 'error'; ns: string[]; meta: Record<string, unknown>; msg: string }
  | { t: 'metrics'; stats: TaskManagerStats; tasks: Array<{ dep: string; task: string; m: TaskMetricsSnapshot }> };

/** `vertex#index` */
export function taskKey(vertex: string, index: number): string {
  return `${vertex}#${index}`;
}

/** An error as plain data. */
export function errorData(err: unknown): ErrorData {
  const e = err instanceof Error ? err : new Error(String(err));
  const code = (e as { code?: unknown }).code;
  return { name: e.name, message: e.message, stack: e.stack, ...(typeof code === 'string' ? { code } : {}) };
}
