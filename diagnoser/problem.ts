/**
 * The job problem a diagnosis finds: the vocabulary incidents are keyed by (notify/incident-book.ts)
 * and the diagnoser service's sweeps use to keep the evidence that a problem cleared.
 *
 * A problem is the root-cause kind (with the vertex the diagnosis names) of a diagnosis that finds
 * trouble. Not problems: 'healthy'; 'over-provisioned' (a cost finding: the job works, it only uses
 * more than it needs, never above 'low'); a diagnosis of severity 'none'. 'insufficient-data' is no
 * evidence either way: it neither opens nor clears anything (missing data is not recovery).
 */
import type { Diagnosis, RootCauseKind } from './types.ts';

/** A problem of a job: what incidents are keyed by (with the job id). */
export interface JobProblem {
  kind: RootCauseKind;
  /** the vertex the diagnosis names, when it names one */
  vertex?: string;
}

/** Root causes that are no problem of the job (see the module comment). */
export const NON_PROBLEM_KINDS: readonly RootCauseKind[] = ['healthy', 'over-provisioned', 'insufficient-data'];

/** True when `d` says something about the job's health: any root cause but 'insufficient-data'. */
export function isConclusive(d: Pick<Diagnosis, 'rootCause'>): boolean {
  return d.rootCause.kind !== 'insufficient-data';
}

/** The problem `d` finds, or undefined when it finds none (or has no evidence: 'insufficient-data'). */
export function problemOf(d: Pick<Diagnosis, 'rootCause' | 'severity'> | undefined): JobProblem | undefined {
  if (!d || d.severity === 'none' || NON_PROBLEM_KINDS.includes(d.rootCause.kind)) return undefined;
  return d.rootCause.vertex !== undefined ? { kind: d.rootCause.kind, vertex: d.rootCause.vertex } : { kind: d.rootCause.kind };
}
