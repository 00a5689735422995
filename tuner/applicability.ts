/**
 * Which recommendations streamtune can apply, and the exact settings a person changes for the others.
 * Pure: the executor's own answer ({@link JobExecutor.supports}, a capability of the executor as
 * configured, not a list kept here) decides whether Apply is offered; {@link settingsFor} gives, for
 * every action, the configuration keys and values that carry it out by hand on that kind of executor.
 *
 * Keys (Flink 1.20 configuration): `pipeline.jobvertex-parallelism-overrides` (JobVertexID:parallelism),
 * `execution.checkpointing.interval` / `.timeout` / `.min-pause` / `.unaligned.enabled`, and for memory
 * `taskmanager.memory.task.heap.size` with `taskmanager.memory.process.size` (Flink's memory model: the
 * JVM heap is `taskmanager.memory.framework.heap.size`, 128m by default, plus the task heap; raising the
 * process size by the same amount keeps managed memory, network buffers, metaspace and overhead as
 * they were). The bundled runtime: the job spec's `parallelism` and `checkpoints.*` fields, and the
 * Node.js heap limit `--max-old-space-size` (MiB) of the process its TaskManagers run in.
 */
import type { TuningAction } from '../diagnoser/index.ts';
import type { ExecutorChange, JobExecutor } from '../platform/index.ts';

/** A configuration setting to change by hand: its key and the value to give it. */
export interface SettingAdvice {
  /** e.g. 'taskmanager.memory.task.heap.size' */
  key: string;
  /** e.g. '1408m' */
  value: string;
  /** one line: what it is for, or how to read the value */
  note?: string;
}

/** Whether a recommendation can be applied by streamtune, and the settings to change otherwise. */
export interface Applicability {
  /** true when Apply carries out every action of the recommendation on the job's executor */
  applicable: boolean;
  /** when not applicable: why, in one sentence */
  reason?: string;
  /** the settings that carry out the actions streamtune does not apply, with their values (empty when applicable, or for advice without actions) */
  settings: SettingAdvice[];
}

/** Default `taskmanager.memory.framework.heap.size` of Flink, bytes (part of the JVM heap besides the task heap). */
export const FLINK_FRAMEWORK_HEAP_BYTES = 128 * 1024 * 1024;

const MIB = 1024 * 1024;
const mib = (bytes: number): number => Math.ceil(bytes / MIB);

/** The kind of change an action asks of an executor. */
export function actionChange(a: TuningAction): ExecutorChange {
  return a.type === 'set-parallelism' ? 'parallelism' : a.type === 'set-checkpointing' ? 'checkpointing' : 'memory';
}

/**
 * The settings that carry out `a` by hand on an executor of `kind` (see the module comment for the
 * keys). Values: durations in ms as Flink writes them (`120000 ms`), memory in MiB (`1408m`).
 */
export function settingsFor(a: TuningAction, kind: JobExecutor['kind']): SettingAdvice[] {
  switch (a.type) {
    case 'set-parallelism':
      return kind === 'flink'
        ? [{ key: 'pipeline.jobvertex-parallelism-overrides', value: `${a.vertex.id}:${a.to}`, note: `${a.vertex.name}: parallelism ${a.from} → ${a.to} (JobVertexID:parallelism, on a restart from a savepoint)` }]
        : [{ key: `vertices[${a.vertex.name}].parallelism`, value: String(a.to), note: `in the job spec, or \`streamtune run --parallelism ${a.vertex.name}=${a.to}\` from a savepoint` }];
    case 'set-checkpointing': {
      const out: SettingAdvice[] = [];
      const flink = kind === 'flink';
      if (a.interval !== undefined) out.push(flink ? { key: 'execution.checkpointing.interval', value: `${a.interval} ms` } : { key: 'checkpoints.interval', value: `${a.interval}ms` });
      if (a.timeout !== undefined) out.push(flink ? { key: 'execution.checkpointing.timeout', value: `${a.timeout} ms` } : { key: 'checkpoints.timeout', value: `${a.timeout}ms` });
      if (a.minPause !== undefined) out.push(flink ? { key: 'execution.checkpointing.min-pause', value: `${a.minPause} ms` } : { key: 'checkpoints.minPause', value: `${a.minPause}ms` });
      if (a.unaligned !== undefined) out.push(flink ? { key: 'execution.checkpointing.unaligned.enabled', value: String(a.unaligned) } : { key: 'checkpoints.unaligned', value: String(a.unaligned) });
      return out;
    }
    case 'set-memory': {
      if (kind === 'bundled') {
        return [{ key: 'NODE_OPTIONS', value: `--max-old-space-size=${mib(a.heapBytes)}`, note: 'the V8 heap limit (MiB) of the process the bundled runtime\'s TaskManagers run in, and of its worker threads; set before the process starts' }];
      }
      const task = Math.max(1, mib(a.heapBytes - FLINK_FRAMEWORK_HEAP_BYTES));
      const out: SettingAdvice[] = [{ key: 'taskmanager.memory.task.heap.size', value: `${task}m`, note: `JVM heap ${mib(a.heapBytes)} MiB = framework heap (128m by default) + task heap` }];
      if (a.fromHeapBytes !== undefined && a.heapBytes > a.fromHeapBytes) {
        const more = mib(a.heapBytes - a.fromHeapBytes);
        out.push({ key: 'taskmanager.memory.process.size', value: `current + ${more}m`, note: `raise it by the heap's increase (${mib(a.fromHeapBytes)} → ${mib(a.heapBytes)} MiB) so managed memory, network buffers, metaspace and overhead keep their size; TaskManagers restart to take it` });
      }
      return out;
    }
  }
}

/**
 * Whether `actions` can be applied on `executor`: applicable when there is at least one action and
 * the executor supports every one's kind. Otherwise `reason` says why (the executor's words, or that
 * the recommendation is advice without actions) and `settings` lists what to change by hand for the
 * actions it does not support.
 */
export function applicability(actions: readonly TuningAction[], executor: Pick<JobExecutor, 'kind' | 'supports'>): Applicability {
  if (actions.length === 0) return { applicable: false, reason: 'advice: there is no setting streamtune can change for it; the job, its code or its input must change', settings: [] };
  const reasons: string[] = [];
  const settings: SettingAdvice[] = [];
  for (const a of actions) {
    const s = executor.supports(actionChange(a));
    if (s.ok) continue;
    if (!reasons.includes(s.reason)) reasons.push(s.reason);
    settings.push(...settingsFor(a, executor.kind));
  }
  if (reasons.length === 0) return { applicable: true, settings: [] };
  return { applicable: false, reason: `streamtune cannot apply ${actions.length === 1 ? 'it' : 'all of it'}: ${reasons.join('; ')}`, settings };
}
