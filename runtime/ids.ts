/** Flink-style ids: 32 hex characters. */
import { createHash, randomBytes } from 'node:crypto';

/** A stable JobVertexID for a vertex of a job (md5 of job name and vertex name), 32 hex chars. */
export function vertexId(jobName: string, vertex: string): string {
  return createHash('md5').update(`${jobName}\u0000${vertex}`).digest('hex');
}

/** A new random 32-hex id (JobID, ExecutionGraphID). */
export function randomId(): string {
  return randomBytes(16).toString('hex');
}
