/**
 * Durable storage of diagnoses (`diagnoser/diagnosis-store.ts`): survives a restart, queryable by
 * job and time, and keeps the state of each recommendation (open, applied, dismissed).
 */
import type { Diagnosis, Recommendation } from './types.ts';

/** What became of a recommendation. */
export interface RecommendationState {
  status: 'open' | 'applied' | 'dismissed';
  /** ms since epoch of the last change */
  at: number;
  /** the tuner operation, once applied */
  operationId?: string;
}

/** A recommendation with the diagnosis it belongs to. */
export interface StoredRecommendation {
  recommendation: Recommendation;
  diagnosisId: string;
  job_id: string;
  state: RecommendationState;
}

/**
 * Diagnoses on disk. `put` resolves once the diagnosis is durable (fsync). Errors: StreamtuneError
 * NOT_FOUND from `setRecommendationState` for an unknown recommendation id; INVALID_CONFIG when the
 * file cannot be opened. A corrupt trailing line (crash mid-write) is skipped and logged at load.
 */
export interface DiagnosisStore {
  put(d: Diagnosis): Promise<void>;
  get(id: string): Diagnosis | undefined;
  /** newest first; `from`/`to` (ms, inclusive) filter on `createdAt` */
  list(filter?: { job_id?: string; from?: number; to?: number; limit?: number }): Diagnosis[];
  /** the job's newest diagnosis (largest `createdAt`), without scanning the others */
  latest(jobId: string): Diagnosis | undefined;
  recommendation(id: string): StoredRecommendation | undefined;
  setRecommendationState(id: string, state: RecommendationState): Promise<void>;
  close(): Promise<void>;
}

/**
 * The diagnoser as a service (`diagnoser/service.ts`): takes anomaly events from the bus, reads
 * the job's window from the store, diagnoses, stores and publishes the diagnosis; runs the periodic
 * sweeps on a node-cron schedule.
 */
export interface DiagnosisService {
  /** Diagnoses one job now over the configured window (trigger 'manual' unless given). Throws NOT_FOUND for an unknown job. */
  diagnoseNow(jobId: string, trigger?: Diagnosis['trigger']): Promise<Diagnosis>;
  /**
   * Diagnoses every known job (trigger 'sweep'); resolves with the diagnoses made. Kept and published:
   * those with findings, and those that find no problem of a job that had one (the evidence that it
   * cleared, which resolves its incident).
   */
  sweep(): Promise<Diagnosis[]>;
  start(): Promise<void>;
  stop(): Promise<void>;
}
