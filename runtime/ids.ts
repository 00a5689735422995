/** Flink-style ids: 32 hex characters. */
import { createHash, randomBytes } from 'node:crypto';

/** ids already hashed (the catalog derives every vertex's id on each job lookup, e.g. per API request) */
const vertexIds = new Map<string, string>();
/** {@link vertexIds} is emptied when it reaches this many entries (job × vertex names) */
const VERTEX_ID_CACHE_MAX = 10_000;

/** A stable JobVertexID for a vertex of a job (md5 of job name and vertex name), 32 hex chars. */
export function vertexId(jobName: string, vertex: string): string {
  const key = `${jobName}\u0000${vertex}`;
  let id = vertexIds.get(key);
  if (id === undefined) {
    if (vertexIds.size >= VERTEX_ID_CACHE_MAX) vertexIds.clear();
    id = createHash('md5').update(key).digest('hex');
    vertexIds.set(key, id);
  }
  return id;
}

/** A new random 32-hex id (JobID, ExecutionGraphID). */
export function randomId(): string {
  return randomBytes(16).toString('hex');
}
