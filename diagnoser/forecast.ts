/**
 * Forecast of a recommendation's effect on lag: the time from applying it until the consumer
 * group's lag is back under one minute of input. Pure. The model is the planner's (DS2 / Flink
 * autoscaler, diagnoser/plan.ts): the job processes at most its capacity — the smallest, over its
 * vertices, of the records/s a vertex can take at full busy time divided by its share of the
 * source records — while records arrive at the input rate; a restart reads nothing for its
 * duration.
 */
import type { VertexPlan } from './plan.ts';

/** What {@link lagUnderOneMinuteMs} reads. */
export interface LagForecastInput {
  /** records: the group's lag now (or the sources' backlog) */
  lag: number;
  /** records/s arriving (the sources' target rate) */
  inputRate: number;
  /** records/s the job can process, in source records, once the recommendation is applied */
  capacity: number;
  /** ms the job reads nothing while the recommendation is applied (a restart); 0 for none */
  restartMs: number;
}

/**
 * ms until lag ≤ one minute of input (60 s × `inputRate` records), counted from applying:
 * - 0 when the lag is under that now and stays under it through the restart;
 * - else the restart plus (lag after the restart − one minute of input) / (capacity − input rate);
 * - null when the capacity does not exceed the input rate (the lag never comes back), or an input
 *   is not a finite number ≥ 0.
 */
export function lagUnderOneMinuteMs(f: LagForecastInput): number | null {
  const { lag, inputRate, capacity, restartMs } = f;
  if (![lag, inputRate, capacity, restartMs].every((x) => Number.isFinite(x) && x >= 0)) return null;
  const minute = 60 * inputRate;
  const afterRestart = lag + (inputRate * restartMs) / 1000;
  if (lag <= minute && afterRestart <= minute) return 0;
  if (capacity <= inputRate) return null;
  return Math.round(restartMs + ((afterRestart - minute) / (capacity - inputRate)) * 1000);
}

/**
 * The job's capacity in source records/s with each vertex at the parallelism `parallelismOf`
 * gives (default its plan's `from`): min over planned vertices with a known true rate and a
 * positive target of trueRatePerSubtask × parallelism × (source target / vertex target). Vertices
 * without data do not limit it. undefined when no vertex can be used or the source target is 0.
 */
export function jobCapacity(plans: readonly VertexPlan[], sourceTarget: number, parallelismOf: (p: VertexPlan) => number = (p) => p.from): number | undefined {
  if (!(sourceTarget > 0)) return undefined;
  let cap: number | undefined;
  for (const p of plans) {
    if (!p.trueRatePerSubtask || !(p.targetRate > 0)) continue;
    const c = (p.trueRatePerSubtask * parallelismOf(p) * sourceTarget) / p.targetRate;
    if (cap === undefined || c < cap) cap = c;
  }
  return cap;
}
