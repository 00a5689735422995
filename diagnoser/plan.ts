/**
 * Parallelism planning for every vertex in one topological pass — DS2 (OSDI 2018) with the Flink
 * autoscaler's headroom terms (apache/flink-kubernetes-operator, flink-autoscaler:
 * `JobVertexScaler.computeScaleTargetParallelism`, `AutoScalerUtils.getTargetProcessingCapacity`,
 * `ScalingMetricEvaluator.computeTargetDataRate`):
 *   true rate per subtask  = processed records/s / (busy ms/s, MAX over subtasks / 1000) / parallelism
 *   source target rate     = arrival rate: the growth of the log-end offsets of what it reads when
 *                            known (records/s produced to its partitions), else processed rate +
 *                            lag growth (records/s, ≥ 0; growth is negative while the backlog
 *                            drains, so a catching-up source's read rate is not mistaken for its
 *                            input rate). The two agree in a steady state; the log-end offsets are
 *                            preferred because a window-long lag slope understates the arrival rate
 *                            while records still fill the channels (the lag curve bends upward)
 *   source catch-up rate   = backlog / catch-up duration (0 when the catch-up duration is 0)
 *   downstream targets     = Σ upstream target × upstream output/input ratio (same for catch-up);
 *                            a source's ratio is 1: it forwards what it reads. Where an upstream
 *                            rate was not measured (no meter and no counter) the edge's flow is
 *                            unknown and the vertex's own measured input is its target instead
 *   required capacity      = catch-up + target·(restart / catch-up duration) + target / target utilisation
 *                            (the restart term is 0 when the catch-up duration is 0: Flink's
 *                            `catch-up.duration: 0` turns backlog handling off)
 *   parallelism            = ceil(required / true rate per subtask)
 * then: no change while utilisation (target + catch-up) / current capacity ∈ [low, high] and not
 * lagging; never a scale-down while lagging; capped by max parallelism (and partitions for
 * sources) and `maxScaleUpFactor`; rounded up (at most `alignmentOvershoot`) to divide the key groups
 * (or partitions) evenly. Skewed vertices are held: more parallelism does not help a hot key.
 * A vertex whose processed rate was not measured is "no data": kept, never planned down.
 * Every change leaves the vertex at or below the target utilisation measured against its own
 * input: `to` ≥ ceil(own records/s / (true rate per subtask × target utilisation)) (unless capped).
 * Scale-down, as the Flink autoscaler's `applyScaleDownInterval` / `scale-down.max-factor`: only
 * when the vertex's load has been observed for `scaleDownIntervalMs` (`loadObservedMs`), planned
 * for the highest input rate within it (`peakRate`), and to no less than
 * ceil(from × (1 − `maxScaleDownFactor`)). Deliberate difference: Flink keeps the highest
 * *recommended parallelism* of its evaluations within the interval in its state store; streamtune
 * is stateless between diagnoses, so it reads the load history of the interval and plans once for
 * its highest input rate — the same answer for a steady true rate, without state to lose.
 */
import type { PlannerSettings } from '../rules/index.ts';
import type { VertexWindow } from './window.ts';

/** What the planner needs of one vertex: its topology fields (as in {@link VertexWindow}) and its
 * measured rates. Vertices must come in topological order (sources first). */
export interface VertexPlanInput extends Pick<VertexWindow, 'id' | 'name' | 'parallelism' | 'maxParallelism' | 'inputs' | 'isSource' | 'partitions' | 'keyedInput'> {
  /** records/s processed, summed over subtasks (sources: records read); undefined = not measured */
  processedRate?: number;
  /** records/s emitted, summed over subtasks; undefined = not measured (the edges out of it carry an unknown flow) */
  outRate?: number;
  /** busy time, MAX over subtasks, ms/s; undefined = no data */
  busyMaxMsPerSecond?: number;
  /** sources: backlog, records */
  backlog?: number;
  /** sources: lag growth, records/s (negative = draining) */
  lagGrowthRate?: number;
  /** sources: arrival rate, records/s — the slope of the log-end offsets of the partitions it
   * reads; when set it is the target rate and `lagGrowthRate` is not used for it */
  arrivalRate?: number;
  /** records/s: the highest processed rate within the scale-down interval (a scale-down plans for it) */
  peakRate?: number;
  /** ms of load history behind `peakRate` (a scale-down needs `scaleDownIntervalMs` of it); undefined = none */
  loadObservedMs?: number;
  /** hold parallelism (skew): more parallelism will not help */
  hold?: 'skew';
}

/** Decision for one vertex. */
export interface VertexPlan {
  id: string;
  name: string;
  from: number;
  to: number;
  /** 'scale-down-delayed': over-provisioned, but its load has not been observed for the scale-down interval yet */
  decision: 'keep' | 'scale-up' | 'scale-down' | 'scale-down-delayed' | 'hold-skew' | 'no-data';
  /** records/s one subtask can process at 100% busy */
  trueRatePerSubtask?: number;
  /** records/s to sustain */
  targetRate: number;
  /** 'own-input' when an upstream rate was not measured and the vertex's own input is its target */
  targetFrom?: 'upstream' | 'own-input';
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
 * no upstream contribution. See the module comment for the model. Never NaN or Infinity: a
 * catch-up duration of 0 drops the restart and backlog terms.
 * @returns one {@link VertexPlan} per vertex, in input order
 */
export function planParallelism(vertices: readonly VertexPlanInput[], settings: PlannerSettings, opts: PlanOptions = {}): VertexPlan[] {
  const lagging = opts.lagging ?? false;
  const catchUpS = settings.catchUpMs / 1000;
  // restart time over catch-up duration: the share of the target piling up during a restart that
  // must be caught up too; Flink drops it with catch-up.duration 0 (AutoScalerUtils)
  const restartShare = settings.catchUpMs > 0 ? settings.restartMs / settings.catchUpMs : 0;
  const capacityFor = (target: number, catchUp: number) => catchUp + target * restartShare + target / settings.targetUtilization;
  /** flow on the edges out of each vertex; undefined = unknown (an unmeasured rate on the way) */
  const flows = new Map<string, { target: number; catchUp: number } | undefined>();
  const plans: VertexPlan[] = [];
  for (const v of vertices) {
    const source = v.isSource || v.inputs.length === 0;
    const own = v.processedRate;
    let target: number | undefined = 0;
    let catchUp = 0;
    if (source) {
      const read = own === undefined ? undefined : own + (v.lagGrowthRate ?? 0);
      target = v.arrivalRate ?? read;
      if (target !== undefined) target = Math.max(0, target);
      catchUp = catchUpS > 0 ? (v.backlog ?? 0) / catchUpS : 0;
    } else {
      for (const id of v.inputs) {
        if (!flows.has(id)) continue;
        const f = flows.get(id);
        if (f === undefined) target = undefined;
        else {
          if (target !== undefined) target += f.target;
          catchUp += f.catchUp;
        }
      }
    }
    let targetFrom: VertexPlan['targetFrom'] = 'upstream';
    if (target === undefined && own !== undefined) {
      // an upstream rate is unknown: what this vertex receives now is its target, not 0 records/s
      target = own;
      targetFrom = 'own-input';
    }
    // A source forwards what it reads: Flink sources report no numRecordsIn (processed = out), and
    // the bundled runtime chains nothing onto a source, so its in/out meters differ only by the
    // records between read and emit — which in a short window under backpressure bent the
    // downstream target ~10% below the arrival rate.
    const ratio = source ? 1 : own === undefined || v.outRate === undefined ? undefined : own > 0 ? v.outRate / own : 1;
    flows.set(v.id, target === undefined || ratio === undefined ? undefined : { target: target * ratio, catchUp: catchUp * ratio });
    const base = { id: v.id, name: v.name, from: v.parallelism, targetRate: target ?? 0, catchUpRate: catchUp, ...(source ? {} : { targetFrom }) };
    const busy = v.busyMaxMsPerSecond;
    if (busy === undefined || own === undefined || target === undefined || (own <= 0 && target <= 0)) {
      plans.push({ ...base, to: v.parallelism, decision: 'no-data', reason: own === undefined ? 'records/s not measured (no meter, no counter): parallelism kept' : 'no busy-time or rate data: parallelism kept' });
      continue;
    }
    const busyRatio = Math.max(busy, 1) / 1000;
    const perSubtask = own / busyRatio / v.parallelism;
    if (!(perSubtask > 0)) {
      plans.push({ ...base, to: v.parallelism, decision: 'no-data', reason: 'the vertex processed no records: true rate unknown, parallelism kept' });
      continue;
    }
    const required = capacityFor(target, catchUp);
    const utilization = (target + catchUp) / (perSubtask * v.parallelism);
    const common = { ...base, trueRatePerSubtask: perSubtask, requiredCapacity: required, utilization };
    if (v.hold === 'skew') {
      plans.push({ ...common, to: v.parallelism, decision: 'hold-skew', expectedUtilization: utilization, reason: 'skewed: the hot subtask carries hot keys that more parallelism cannot spread; parallelism kept' });
      continue;
    }
    let cap = v.maxParallelism > 0 ? v.maxParallelism : Infinity;
    if (v.isSource && v.partitions) cap = Math.min(cap, v.partitions);
    if (settings.maxScaleUpFactor > 0) cap = Math.min(cap, Math.max(v.parallelism, Math.floor(v.parallelism * settings.maxScaleUpFactor)));
    const units = v.isSource ? v.partitions : v.keyedInput ? v.maxParallelism : undefined;
    // at or below the target utilisation against its own measured input, after any change
    const ownFloor = Math.min(cap, Math.max(1, Math.ceil(own / (perSubtask * settings.targetUtilization) - 1e-9)));
    let p = Math.max(1, Math.ceil(required / perSubtask - 1e-9), ownFloor);
    p = Math.min(p, cap);
    p = alignedUp(p, units, cap, settings.alignmentOvershoot);
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
      const interval = settings.scaleDownIntervalMs;
      const observed = v.loadObservedMs ?? 0;
      // the highest load within the scale-down interval, and at most maxScaleDownFactor of the subtasks per step
      const peak = Math.max(target, v.peakRate ?? 0);
      const minStep = Math.ceil(v.parallelism * (1 - Math.min(1, Math.max(0, settings.maxScaleDownFactor))) - 1e-9);
      let down = Math.max(p, Math.ceil(capacityFor(peak, 0) / perSubtask - 1e-9), minStep);
      down = alignedUp(Math.min(down, cap), units, cap, settings.alignmentOvershoot);
      if (interval > 0 && observed < interval) {
        to = v.parallelism;
        decision = 'scale-down-delayed';
        reason = `utilisation ${Math.round(utilization * 100)}% is below ${settings.utilizationLow * 100}%, but the load has been observed for ${Math.round(observed / 60_000)} of the ${Math.round(interval / 60_000)} min scale-down interval: no scale-down yet`;
      } else if (down < v.parallelism) {
        to = down;
        decision = 'scale-down';
        reason = `utilisation ${Math.round(utilization * 100)}% is below ${settings.utilizationLow * 100}%; ${down} subtasks of ${Math.round(perSubtask)} records/s cover the highest load of the last ${Math.round(interval / 60_000)} min (${Math.round(peak)} records/s) at ${Math.round(settings.targetUtilization * 100)}% utilisation` +
          (down === minStep && minStep > p ? ` (at most ${Math.round(settings.maxScaleDownFactor * 100)}% fewer subtasks per step)` : '');
      } else {
        to = v.parallelism;
        decision = 'keep';
        reason = `the highest load of the last ${Math.round(interval / 60_000)} min (${Math.round(peak)} records/s) needs the current parallelism`;
      }
    } else {
      to = v.parallelism;
      decision = 'keep';
      reason = lagging && p < v.parallelism ? 'lagging: no scale-down' : 'current parallelism already meets the target';
    }
    plans.push({ ...common, to, decision, expectedUtilization: (target + catchUp) / (perSubtask * to), reason });
  }
  return plans;
}
