/**
 * Shared shape of benchmark results: every `bench/*.ts` exports `run(): Promise<BenchRow[]>`.
 */

/** One measured number. */
export interface BenchRow {
  /** benchmark file/area, e.g. 'store' */
  suite: string;
  /** what was measured, e.g. 'embedded write' */
  name: string;
  value: number;
  /** e.g. 'points/s', 'ms', 'bytes', 'points' */
  unit: string;
  /** the goal, in words, e.g. '>= 100000 points/s' */
  target?: string;
}
