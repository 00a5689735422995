/**
 * Where subtasks run: Flink's slot sharing over N TaskManagers. A job needs as many slots as its
 * highest vertex parallelism; slot i holds subtask i of every vertex that has one (so a pipeline's
 * subtasks with the same index share a slot, and forward edges stay inside it), and slots are spread
 * evenly over the TaskManagers (Flink's `cluster.evenly-spread-out-slots`): slot i runs on
 * TaskManager i mod N. TaskManager 0 is the process's main thread.
 *
 * Exceptions, pinned to TaskManager 0: every subtask of a vertex whose type cannot run in a worker
 * thread — a Kafka source (its subtasks share one consumer-group member, see
 * `runtime/sources/kafka.ts`), a vertex with a TypeScript function (`fn`: functions do not cross
 * threads), a vertex type registered by other code than streamtune's Kafka module.
 */
import type { JobSpec, VertexSpec } from '../spec.ts';

/** Vertex types a worker TaskManager can build (built-in ones and the Kafka sink). */
const WORKER_TYPES = new Set(['dataset-source', 'generator-source', 'map', 'filter', 'lookup', 'window-aggregate', 'jsonl-sink', 'collect-sink', 'discard-sink', 'kafka-sink']);

/** True when the vertex's subtasks may run on any TaskManager. */
export function movable(v: VertexSpec): boolean {
  if (!WORKER_TYPES.has(v.type)) return false;
  const f = v as { fn?: unknown };
  return typeof f.fn !== 'function';
}

/** Placement of one job attempt. */
export interface Placement {
  /** TaskManagers available (N ≥ 1) */
  taskManagers: number;
  /** slots the job uses: its highest vertex parallelism */
  slots: number;
  /** vertex name → TaskManager index of each subtask */
  tm: Record<string, number[]>;
}

/**
 * Places the subtasks of `spec` with per-vertex `parallelism` on `taskManagers` TaskManagers (see
 * the module comment).
 */
export function placeSubtasks(spec: JobSpec, parallelism: Record<string, number>, taskManagers: number): Placement {
  const n = Math.max(1, Math.floor(taskManagers));
  const slots = Math.max(1, ...Object.values(parallelism));
  const tm: Record<string, number[]> = {};
  for (const v of spec.vertices) {
    const p = parallelism[v.name] ?? 1;
    const ok = movable(v);
    tm[v.name] = Array.from({ length: p }, (_, i) => (ok ? i % n : 0));
  }
  return { taskManagers: n, slots, tm };
}

/** TaskManager indexes a placement uses, ascending. */
export function usedTaskManagers(p: Placement): number[] {
  const s = new Set<number>();
  for (const l of Object.values(p.tm)) for (const t of l) s.add(t);
  return [...s].sort((a, b) => a - b);
}
