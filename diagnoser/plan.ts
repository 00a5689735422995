/**
 * Parallelism planning for every vertex in one topological pass — DS2 (OSDI 2018) with the Flink
 * autoscaler's headroom terms (FLIP-271, `JobVertexScaler`):
 *   true rate per subtask  = processed records/s / (busy ms/s, MAX over subtasks / 1000) / parallelism
 *   source target rate     = arrival rate: the growth of the log-end offsets of what it reads when
 *                            known (records/s produced to its partitions), else processed rate +
 *                            lag growth (records/s, ≥ 0; growth is negative while the backlog
 *                            drains, so a catching-up source's read rate is not mistaken for its
 *                            input rate). The two agree in a steady state; the log-end offsets are
 *                            preferred because a window-long lag slope understates the arrival rate
 *                            while records still fill the channels (the lag curve bends upward)
 *   source catch-up rate   = backlog / catch-up duration
 *   downstream targets     = Σ upstream target × upstream output/input ratio (same for catch-up);
 *                            a source's ratio is 1: it forwards what it reads
 *   required capacity      = catch-up + target·(restart / catch-up duration) + target / target utilisation
 *   parallelism            = ceil(required / true rate per subtask)
 * then: no change while utilisation (target + catch-up) / current capacity ∈ [low, high] and not
 * lagging; never a scale-down while lagging; capped by max parallelism (and partitions for
 * sources) and `maxScaleUpFactor`; rounded up (at most `alignmentOvershoot`) to divide the key groups
 * (or partitions) evenly. Skewed vertices are held: more parallelism does not help a hot key.
 */
import type { PlannerSettings } from '../rules/index.ts';
import type { VertexWindow } from './window.ts';

/** What the planner needs of one vertex: its topology fields (as in {@link VertexWindow}) and its
 * measured rates. Vertices must come in topological order (sources first). */
export interface VertexPlanInput extends Pick<VertexWindow, 'id' | 'name' | 'parallelism' | 'maxParallelism' | 'inputs' | 'isSource' | 'partitions' | 'keyedInput'> {
  /** records/s processed, summed over subtasks (sources: records read) */
  processedRate: number;
  /** records/s emitted, summed over subtasks */
  outRate: number;
  /** busy time, MAX over subtasks, ms/s; undefined = no data */
  busyMaxMsPerSecond?: number;
  /** sources: backlog, records */
  backlog?: number;
  /** sources: lag growth, records/s (negative = draining) */
  lagGrowthRate?: number;
  /** sources: arrival rate, records/s — the slope of the log-end offsets of the partitions it
   * reads; when set it is the target rate and `lagGrowthRate` is not used for it */
  arrivalRate?: number;
  /** hold parallelism (skew): more parallelism will not help */
  hold?: 'skew';
}

/** Decision for one vertex. */
export interface VertexPlan {
  id: string;
  name: string;
  from: number;
  to: number;
  decision: 'keep' | 'scale-up' | 'scale-down' | 'hold-skew' | 'no-data';
  /** records/s one subtask can process at 100% busy */
  trueRatePerSubtask?: number;
  /** records/s to sustain */
  targetRate: number;
  /** records/s extra to drain the backlog within the catch-up duration */
  catchUpRate: number;
  /** records/s of capacity wanted (headroom included) */
  requiredCapacity?: number;
  /** (target + catch-up) / current capacity */
  utilization?: number;
  /** (target + catch-up) / capacity at `to` */
  expectedUtilization?: number;
  /** one line: why */
  reason: string;
}

/** Options of {@link planParallelism}. */
export interface PlanOptions {
  /** the consumer group lags (WARN/ERR) or lag grows: no scale-down, band check off. Default false. */
  lagging?: boolean;
}

function alignedUp(p: number, units: number | undefined, cap: number, overshoot: number): number {
  if (!units || units <= 0) return p;
  const limit = Math.min(cap, Math.floor(p * (1 + overshoot)));
  for (let q = p; q <= limit; q++) if (units % q === 0) return q;
  return p;
}

/**
 * Plans the parallelism of every vertex. Pure. Vertices whose inputs are missing from the list get
 * no upstream contribution. See the module comment for the model.
 * @returns one {@link VertexPlan} per vertex, in input order
 */
export function planParallelism(vertices: readonly VertexPlanInput[], settings: PlannerSettings, opts: PlanOptions = {}): VertexPlan[] {
  const lagging = opts.lagging ?? false;
  const catchUpS = settings.catchUpMs / 1000;
  const flows = new Map<string, { target: number; catchUp: number }>();
  const plans: VertexPlan[] = [];
  for (const v of vertices) {
    let target = 0;
    let catchUp = 0;
    if (v.isSource || v.inputs.length === 0) {
      target = Math.max(0, v.arrivalRate ?? v.processedRate + (v.lagGrowthRate ?? 0));
      catchUp = catchUpS > 0 ? (v.backlog ?? 0) / catchUpS : 0;
    } else {
      for (const id of v.inputs) {
        const f = flows.get(id);
        if (f) {
          target += f.target;
          catchUp += f.catchUp;
        }
      }
    }
    // A source forwards what it reads: Flink sources report no numRecordsIn (processed = out), and
    // the bundled runtime chains nothing onto a source, so its in/out meters differ only by the
    // records between read and emit — which in a short window under backpressure bent the
    // downstream target ~10% below the arrival rate.
    const source = v.isSource || v.inputs.length === 0;
    const ratio = source ? 1 : v.processedRate > 0 ? v.outRate / v.processedRate : 1;
    flows.set(v.id, { target: target * ratio, catchUp: catchUp * ratio });
    const base = { id: v.id, name: v.name, from: v.parallelism, targetRate: target, catchUpRate: catchUp };
    const busy = v.busyMaxMsPerSecond;
    if (busy === undefined || (v.processedRate <= 0 && target <= 0)) {
      plans.push({ ...base, to: v.parallelism, decision: 'no-data', reason: 'no busy-time or rate data: parallelism kept' });
      continue;
    }
    const busyRatio = Math.max(busy, 1) / 1000;
    const perSubtask = v.processedRate / busyRatio / v.parallelism;
    if (!(perSubtask > 0)) {
      plans.push({ ...base, to: v.parallelism, decision: 'no-data', reason: 'the vertex processed no records: true rate unknown, parallelism kept' });
      continue;
    }
    const required = catchUp + target * (settings.restartMs / settings.catchUpMs) + target / settings.targetUtilization;
    const utilization = (target + catchUp) / (perSubtask * v.parallelism);
    const common = { ...base, trueRatePerSubtask: perSubtask, requiredCapacity: required, utilization };
    if (v.hold === 'skew') {
      plans.push({ ...common, to: v.parallelism, decision: 'hold-skew', expectedUtilization: utilization, reason: 'skewed: the hot subtask carries hot keys that more parallelism cannot spread; parallelism kept' });
      continue;
    }
    let cap = v.maxParallelism > 0 ? v.maxParallelism : Infinity;
    if (v.isSource && v.partitions) cap = Math.min(cap, v.partitions);
    if (settings.maxScaleUpFactor > 0) cap = Math.min(cap, Math.max(v.parallelism, Math.floor(v.parallelism * settings.maxScaleUpFactor)));
    let p = Math.max(1, Math.ceil(required / perSubtask - 1e-9));
    p = Math.min(p, cap);
    p = alignedUp(p, v.isSource ? v.partitions : v.keyedInput ? v.maxParallelism : undefined, cap, settings.alignmentOvershoot);
    const inBand = utilization >= settings.utilizationLow && utilization <= settings.utilizationHigh;
    let to = p;
    let decision: VertexPlan['decision'];
    let reason: string;
    if (!lagging && inBand) {
      to = v.parallelism;
      decision = 'keep';
      reason = `utilisation ${Math.round(utilization * 100)}% is within [${settings.utilizationLow * 100}%, ${settings.utilizationHigh * 100}%]`;
    } else if (p > v.parallelism) {
      decision = 'scale-up';
      reason = `needs ${Math.round(required)} records/s (target ${Math.round(target)} + catch-up ${Math.round(catchUp)} with headroom), one subtask does ${Math.round(perSubtask)} records/s`;
    } else if (p < v.parallelism && !lagging) {
      decision = 'scale-down';
      reason = `utilisation ${Math.round(utilization * 100)}% is below ${settings.utilizationLow * 100}%; ${p} subtasks of ${Math.round(perSubtask)} records/s cover ${Math.round(required)} records/s`;
    } else {
      to = v.parallelism;
      decision = 'keep';
      reason = lagging && p < v.parallelism ? 'lagging: no scale-down' : 'current parallelism already meets the target';
    }
    plans.push({ ...common, to, decision, expectedUtilization: (target + catchUp) / (perSubtask * to), reason });
  }
  return plans;
}
