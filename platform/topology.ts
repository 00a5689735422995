/**
 * The job graph as every stage sees it: vertices (Flink: JobVertex, a chain of operators) with their
 * parallelism and edges. A vertex is addressed by a {@link VertexRef} that carries both its id and its
 * name from the catalog to the tuning action and the executor, so no later stage has to guess which
 * of the two a string is.
 */

/**
 * A vertex reference. `id` is the JobVertexID (Flink: 32 hex; the bundled runtime derives it from the
 * job and vertex names, `runtime/ids.ts` `vertexId`) and is what executors address; `name` is for
 * people (`Source: flights -> enrich`, or the spec's vertex name on the bundled runtime).
 */
export interface VertexRef {
  id: string;
  name: string;
}

/** One vertex of a job's plan (Flink REST `/jobs/:jid/plan`, the bundled runtime's spec). */
export interface TopologyVertex extends VertexRef {
  /** current number of subtasks */
  parallelism: number;
  /** upper bound for parallelism: the number of key groups (Flink's max parallelism) */
  maxParallelism: number;
  /** ids of the upstream vertices; empty for sources */
  inputs: string[];
  /** sources: the number of Kafka partitions / splits they read, when known (caps useful parallelism) */
  partitions?: number;
  /** true when the input edge partitions by key (Flink ship strategy HASH): state is in key groups */
  keyedInput?: boolean;
}

/** The ref of a vertex: its id and name only. */
export function vertexRef(v: VertexRef): VertexRef {
  return { id: v.id, name: v.name };
}

/**
 * The vertex a reference points at: the vertex with its id; only when no vertex has that id, the
 * vertex with its name. A plain string is taken as both. The name fallback reads what was written
 * before references carried the JobVertexID (an action journaled with the bundled runtime's vertex
 * name) and what a user writes by hand (`{"vertex": "enrich"}` in an apply request).
 */
export function findVertex<V extends VertexRef>(vertices: readonly V[], ref: VertexRef | string): V | undefined {
  const { id, name } = typeof ref === 'string' ? { id: ref, name: ref } : ref;
  return vertices.find((v) => v.id === id) ?? vertices.find((v) => v.name === name);
}

/** The source vertices (no inputs), in plan order. */
export function sourceVertices<V extends { inputs: readonly string[] }>(vertices: readonly V[]): V[] {
  return vertices.filter((v) => v.inputs.length === 0);
}
