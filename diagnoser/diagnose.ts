/**
 * `diagnose`: composes the detectors into findings, one root cause and recommendations, following
 * Meituan's diagnosis flow (docs/PRIOR-ART.md): restarts first (the exception from the logs), then a stalled
 * consumer, then a lag spike already draining, then the bottleneck vertex from back-pressure and why
 * it is slow (GC, skew, too little parallelism, the source), then risks without lag (checkpoints,
 * memory) and over-provisioning. The lag status and the `lag.burrow` finding come from Burrow's
 * evaluator (`evaluateGroupLag` over `lagInputsFromWindow`, detectors/lag.ts) at `window.now`.
 * Every recommendation carries a forecast of the time until the lag is back under one minute of
 * input (`lagUnderOneMinuteMs`, diagnoser/forecast.ts).
 * Pure: no clock, no I/O; the id is a hash of job, window and trigger.
 */
import { createHash } from 'node:crypto';
import type { DetectorRule, RuleSet } from '../rules/index.ts';
import type { Diagnosis, Finding, Recommendation, RootCauseKind, TuningAction } from './types.ts';
import type { JobWindow } from './window.ts';
import { makeFinding, measuredRate, param, processedRate, severityRank, summarise, worst, gradeRule, type VertexStats } from './detectors/common.ts';
import { loadPeaks, type VertexLoadPeak } from './history.ts';
import { detectBottleneck } from './detectors/backpressure.ts';
import { detectSkew } from './detectors/skew.ts';
import { detectCheckpoints } from './detectors/checkpoint.ts';
import { detectRestarts } from './detectors/restarts.ts';
import { detectMemory } from './detectors/memory.ts';
import { detectInsufficientData, detectOverProvisioned, detectSourceBound } from './detectors/capacity.ts';
import { commitCadenceMs, detectStalled, detectTransientSpike, lagTrend, totalLagSeries } from './detectors/lagtrend.ts';
import { DEFAULT_MIN_STOP_SILENCE_MS, evaluateGroupLag, lagFinding, lagInputsFromWindow, type GroupLagResult } from './detectors/lag.ts';
import { planParallelism, type VertexPlan, type VertexPlanInput } from './plan.ts';
import { checkpointRemedy, skewRemedy } from './remedies.ts';
import { jobCapacity, lagUnderOneMinuteMs } from './forecast.ts';
import { lastOf, round, slopePerSecond, wholeSteps } from './series.ts';

/** What started the diagnosis. */
export type DiagnoseTrigger = Diagnosis['trigger'];

/** Options of {@link diagnose}. */
export interface DiagnoseOptions {
  /** diagnosis id; default a hash of job id, window and trigger */
  id?: string;
  /**
   * ms a rescale restart of this job takes, when known (measured, or typical of its executor):
   * replaces the planner's `restartTime` (Flink autoscaler `job.autoscaler.restart.time`, 5 min by
   * default, which its restart-time tracking likewise replaces by the observed restart time).
   */
  restartMs?: number;
}

/**
 * Findings a crash loop causes by itself: lag (the job reads nothing between restarts) and failed
 * checkpoints (a checkpoint in flight fails with the task; on a real Flink job whose attempts die
 * before their first checkpoint completes, every checkpoint fails) and slow checkpoints (the
 * checkpoints of a job that keeps restarting are taken while it replays from the last one, its
 * channels full, so barriers wait behind the replay; seen on the bundled runtime's poison-record
 * scenario under load).
 */
const CRASH_LOOP_SYMPTOMS = new Set(['consumer.stalled', 'lag.burrow', 'lag.transient-spike', 'checkpoint.failures', 'checkpoint.duration']);

/** Confidence factor of a memory-pressure root cause whose task manager also runs other jobs. */
const SHARED_TM_CONFIDENCE = 0.6;

const OFF: DetectorRule = { id: 'off', enabled: false, help: '', params: {}, origin: { file: '', line: 0 } };

function rule(rules: RuleSet, id: string): DetectorRule {
  return rules.detectors[id] ?? { ...OFF, id };
}

/** Deterministic id of a diagnosis: sha1 of job id, window and trigger, 16 hex digits. */
export function diagnosisId(w: JobWindow, trigger: DiagnoseTrigger): string {
  return createHash('sha1').update(`${w.jobId}|${w.start}|${w.end}|${JSON.stringify(trigger)}`).digest('hex').slice(0, 16);
}

/**
 * Arrival rate of the consumer group's partitions over the window, records/s: the sum over
 * partitions of the least-squares slope of the log-end offset, a partial last step left out
 * ({@link wholeSteps}). undefined when no partition has two log-end offset observations at
 * distinct times.
 */
export function arrivalRate(w: JobWindow): number | undefined {
  let sum: number | undefined;
  for (const p of w.consumerLag?.partitions ?? []) {
    const g = slopePerSecond(wholeSteps(p.logEndOffset, w.end, w.stepMs));
    if (g !== undefined) sum = (sum ?? 0) + Math.max(0, g);
  }
  return sum;
}

/**
 * Planner inputs from the window: processed rates (undefined where neither the meter nor the
 * counter was reported: "no data", never 0), busy MAX, the highest rate within the load history
 * (`peaks`, from {@link loadPeaks}), and for sources the backlog, lag growth (the source's
 * pendingRecords, or the group's total lag split over sources by rate share) and, when the group's
 * log-end offsets are known, the arrival rate (`arrival`, records/s, split the same way).
 */
export function planInputs(w: JobWindow, stats: readonly VertexStats[], totalLag: number | undefined, lagGrowth: number | undefined, skewed: ReadonlySet<string> = new Set(), arrival?: number, peaks: ReadonlyMap<string, VertexLoadPeak> = new Map()): VertexPlanInput[] {
  const sources = stats.filter((s) => s.vertex.isSource);
  const srcRate = sources.reduce((a, s) => a + processedRate(s), 0);
  return stats.map((s) => {
    const v = s.vertex;
    const inp: VertexPlanInput = {
      id: v.id, name: v.name, parallelism: v.parallelism, maxParallelism: v.maxParallelism, inputs: v.inputs,
      isSource: v.isSource, keyedInput: v.keyedInput,
    };
    const rate = measuredRate(s);
    if (rate !== undefined) inp.processedRate = rate;
    if (s.outRateKnown) inp.outRate = s.outRate;
    const peak = peaks.get(v.id);
    if (peak) {
      inp.peakRate = peak.peakRate;
      inp.loadObservedMs = peak.observedMs;
    }
    if (v.partitions !== undefined) inp.partitions = v.partitions;
    if (s.busyMax !== undefined) inp.busyMaxMsPerSecond = s.busyMax;
    if (skewed.has(v.id)) inp.hold = 'skew';
    if (v.isSource) {
      const share = sources.length === 1 ? 1 : srcRate > 0 ? processedRate(s) / srcRate : 1 / sources.length;
      const pend = lastOf(v.pendingRecords);
      if (totalLag !== undefined) inp.backlog = totalLag * share;
      else if (pend !== undefined) inp.backlog = pend;
      if (arrival !== undefined) inp.arrivalRate = arrival * share;
      if (lagGrowth !== undefined) inp.lagGrowthRate = lagGrowth * share;
      else {
        const g = slopePerSecond(v.pendingRecords);
        if (g !== undefined) inp.lagGrowthRate = g;
      }
    }
    return inp;
  });
}

function parallelismRecommendation(w: JobWindow, plans: readonly VertexPlan[], ruleId: string, only: 'up' | 'down' | 'any', catchUpMs: number): Omit<Recommendation, 'id' | 'lagUnderOneMinuteMs'> | undefined {
  const changed = plans.filter((p) => p.to !== p.from && (only === 'any' || (only === 'up' ? p.to > p.from : p.to < p.from)));
  if (changed.length === 0) return undefined;
  const actions: TuningAction[] = changed.map((p) => ({ type: 'set-parallelism', vertex: { id: p.id, name: p.name }, from: p.from, to: p.to }));
  const main = [...changed].sort((a, b) => (b.utilization ?? 0) - (a.utilization ?? 0))[0]!;
  const cap = (main.trueRatePerSubtask ?? 0) * main.to;
  const spare = cap - main.targetRate;
  const expected: Record<string, number> = {
    throughputRecordsPerSecond: Math.round(cap),
    targetRecordsPerSecond: Math.round(main.targetRate),
    expectedUtilization: round(main.expectedUtilization ?? 0, 3),
    subtasksDelta: changed.reduce((a, p) => a + (p.to - p.from), 0),
  };
  // backlog (in the main vertex's input records) = catch-up rate × catch-up duration; it drains with the spare capacity
  const backlog = main.catchUpRate * (catchUpMs / 1000);
  if (backlog > 0 && spare > 0) expected.catchUpMs = Math.round((backlog / spare) * 1000);
  return {
    ruleId,
    title: `Set parallelism: ${changed.map((p) => `${p.name} ${p.from} → ${p.to}`).join(', ')}`,
    rationale: changed
      .map((p) => `${p.name}: ${p.reason}; one subtask processes ${Math.round(p.trueRatePerSubtask ?? 0)} records/s at full busy time, utilisation ${Math.round((p.utilization ?? 0) * 100)}% → ${Math.round((p.expectedUtilization ?? 0) * 100)}%`)
      .join('. ') + ' (DS2 / Flink autoscaler model, all vertices in one pass).',
    expected,
    actions,
  };
}

/**
 * Diagnoses one job over one window.
 * @param rules the rule set in force (thresholds, help texts, planner settings)
 * @param window the job's data (diagnoser/window.ts)
 * @param trigger what started it (alert, sweep, manual); default manual
 * @returns a Diagnosis: findings (each with its rule id), root cause with confidence and explanation,
 *   recommendations with typed actions. Never throws on missing data: that is 'insufficient-data'.
 */
export function diagnose(rules: RuleSet, window: JobWindow, trigger: DiagnoseTrigger = { type: 'manual' }, opts: DiagnoseOptions = {}): Diagnosis {
  const w = window;
  const id = opts.id ?? diagnosisId(w, trigger);
  const stats = summarise(w);
  const findings: Finding[] = [];
  const on = (rid: string): DetectorRule | undefined => {
    const r = rules.detectors[rid];
    return r && r.enabled ? r : undefined;
  };

  // Lag: status (Burrow rules) and trend.
  const lagRule = rule(rules, 'lag.burrow');
  const allowedLag = param(lagRule, 'allowedLag', 0);
  const windowSize = Math.max(1, Math.round(param(lagRule, 'windowSize', 10)));
  const lagInputs = lagInputsFromWindow(w.consumerLag, { windowSize });
  // Burrow's evaluator (detectors/lag.ts); UNKNOWN when the group has no partition in the window
  const minStopSilenceMs = param(lagRule, 'minStopSilenceMs', DEFAULT_MIN_STOP_SILENCE_MS);
  const burrow: GroupLagResult | undefined = lagInputs.length > 0 ? evaluateGroupLag(lagInputs, { now: w.now, allowedLag, windowSize, minStopSilenceMs }) : undefined;
  const lagStatus = { status: burrow ? burrow.status : ('UNKNOWN' as const), totalLag: burrow?.totalLag ?? 0 };
  const lagSeries = totalLagSeries(w);
  const trend = lagTrend(lagSeries, w.start, w.end, w.stepMs);
  const hasLagData = lagSeries.length > 0 || !!burrow;
  const lagNow = burrow ? burrow.totalLag : trend.lag;
  const growing = (trend.growthRate ?? 0) > 0 && (lagNow ?? 0) > allowedLag;
  const lagging = lagStatus.status === 'WARN' || lagStatus.status === 'ERR' || (lagStatus.status === 'UNKNOWN' && growing);
  if (lagRule.enabled && burrow) {
    const f = lagFinding(w.consumerLag?.group ?? '', burrow);
    if (f) {
      f.help = lagRule.help ? `${lagRule.help} ${f.help}` : f.help;
      f.evidence.lagGrowthRecordsPerSecond = trend.growthRate !== undefined ? round(trend.growthRate, 1) : null;
      findings.push(f);
    }
  }

  // Restarts and the exception behind them.
  const rr = rule(rules, 'restarts.crash-loop');
  const restarts = rr.enabled ? detectRestarts(w.numRestarts, w.logs, rr) : { findings: [], restarts: 0, exceptions: [] };
  findings.push(...restarts.findings);
  // A crash-looping job reads nothing between restarts: lag grows and the sources look idle. Those
  // are its symptoms (marked below), and the detectors whose claim contradicts a restarting job
  // (source-bound: "reading is limited outside the job"; over-provisioned: idle subtasks) do not run.
  const crashLoop = restarts.restarts >= param(rr, 'crashLoopRestarts', 1) && restarts.findings.length > 0;

  const ins = on('data.insufficient') ? detectInsufficientData(stats, rule(rules, 'data.insufficient')) : { insufficient: false, coverage: 1, findings: [] };
  const base = {
    id, job_id: w.jobId, windowStart: w.start, windowEnd: w.end, createdAt: w.now, trigger,
    lagStatus: lagStatus.status,
  } as const;
  const withName = <T extends object>(d: T): T & { job_name?: string } => (w.jobName !== undefined ? { ...d, job_name: w.jobName } : d);
  if (ins.insufficient && restarts.restarts === 0 && !hasLagData) {
    return withName({
      ...base, findings: ins.findings, recommendations: [], severity: 'none',
      rootCause: { kind: 'insufficient-data', confidence: 1, explanation: `${ins.findings[0]?.summary ?? 'no data'}; nothing to diagnose yet.` },
    });
  }

  // Back-pressure, skew, checkpoints, memory.
  const bn = detectBottleneck(stats, rule(rules, 'backpressure.bottleneck'));
  if (on('backpressure.bottleneck')) findings.push(...bn.findings);
  const sk = on('skew.keyed') ? detectSkew(stats, rule(rules, 'skew.keyed')) : { findings: [], skewed: [] };
  findings.push(...sk.findings);
  const cp = detectCheckpoints(w.checkpoints, bn.anyBackpressure, {
    'checkpoint.duration': rules.detectors['checkpoint.duration'], 'checkpoint.failures': rules.detectors['checkpoint.failures'],
    'checkpoint.alignment': rules.detectors['checkpoint.alignment'], 'checkpoint.size-growth': rules.detectors['checkpoint.size-growth'],
  });
  findings.push(...cp.findings);
  const mem = detectMemory(w.jvm, w.start, w.end, { 'memory.gc': rules.detectors['memory.gc'], 'memory.heap': rules.detectors['memory.heap'] });
  findings.push(...mem.findings);

  // Lag-shaped causes.
  const st = on('consumer.stalled') ? detectStalled(w, stats, lagNow, rule(rules, 'consumer.stalled')) : { findings: [], stalledPartitions: [], notProcessing: false };
  findings.push(...st.findings);
  const tr = on('lag.transient-spike') && !ins.insufficient ? detectTransientSpike(trend, rules.planner.catchUpMs, allowedLag, rule(rules, 'lag.transient-spike'), stats.filter((s) => s.vertex.isSource).reduce((a, s) => a + processedRate(s), 0), w.consumerLag ? commitCadenceMs(w) : 0) : [];
  findings.push(...tr);
  const sb = on('source.bound') && lagging && !crashLoop ? detectSourceBound(stats, bn.anyBackpressure, trend.growthRate, rule(rules, 'source.bound')) : { findings: [] };
  findings.push(...sb.findings);
  // The plan for every vertex (skewed vertices held).
  const skewedIds = new Set(sk.skewed.map((s) => s.vertexId));
  const peaks = loadPeaks(w);
  const plans = planParallelism(planInputs(w, stats, burrow ? burrow.totalLag : trend.lag, trend.growthRate, skewedIds, arrivalRate(w), peaks), opts.restartMs !== undefined ? { ...rules.planner, restartMs: opts.restartMs } : rules.planner, { lagging });
  const planOf = (vid: string | undefined) => plans.find((p) => p.id === vid);

  // Over-provisioning: idle subtasks now, and a scale-down in the plan — which needs the load to
  // have stayed low for the scale-down interval and plans for its highest load (diagnoser/plan.ts).
  const lagOk = !lagging && (lagNow ?? 0) <= allowedLag;
  const opAll = on('capacity.over-provisioned') && !crashLoop ? detectOverProvisioned(stats, !lagOk, rule(rules, 'capacity.over-provisioned')) : { findings: [], vertices: [] };
  const downIds = new Set(opAll.vertices.filter((id) => planOf(id)?.decision === 'scale-down'));
  const op = { vertices: [...downIds], findings: opAll.findings.filter((_, i) => downIds.has(opAll.vertices[i]!)) };
  opAll.findings.forEach((f, i) => {
    const peak = peaks.get(opAll.vertices[i]!);
    if (!downIds.has(opAll.vertices[i]!) || !peak) return;
    f.evidence.peakRecordsPerSecond = round(peak.peakRate, 1);
    f.evidence.loadObservedMs = peak.observedMs;
  });
  findings.push(...op.findings);
  const nameOf = (vid: string | undefined) => w.vertices.find((v) => v.id === vid)?.name;

  // Root cause.
  const recs: Array<Omit<Recommendation, 'id' | 'lagUnderOneMinuteMs'>> = [];
  let kind: RootCauseKind = 'healthy';
  let vertex: string | undefined;
  let confidence = 0.9;
  let explanation = 'No detector fired: lag is OK, no vertex is back-pressured, checkpoints and memory are fine.';
  const bottleneckId = bn.bottlenecks[0]?.vertexId ?? (lagging ? ('scalableSource' in sb && sb.scalableSource ? sb.scalableSource : bn.sourceCandidate) : undefined);
  const gcSev = severityRank(worst(mem.findings.filter((f) => f.ruleId === 'memory.gc').map((f) => f.severity)));
  const memSev = severityRank(worst(mem.findings.map((f) => f.severity)));
  const cpSev = severityRank(worst(cp.findings.map((f) => f.severity)));
  const skewOfBottleneck = sk.skewed.find((s) => s.vertexId === bottleneckId) ?? (lagging ? sk.skewed[0] : undefined);
  const bottleneckPlan = planOf(bottleneckId);
  // A lagging job whose bottleneck has measured spare capacity (it needs less than its subtasks
  // process at full busy time) is not under-provisioned: the lag comes from something else
  // (checkpoint pauses, GC, a stalled consumer), so the causes below it are tried instead.
  const capacityShort = (p: typeof bottleneckPlan): boolean | undefined =>
    p?.requiredCapacity && p.trueRatePerSubtask ? p.requiredCapacity > p.trueRatePerSubtask * p.from : undefined;

  if (crashLoop) {
    kind = 'crash-loop';
    const top = restarts.exceptions[0];
    vertex = top?.vertices[0];
    confidence = top ? 0.9 : 0.6;
    explanation = top
      ? `The job restarted ${restarts.restarts} time(s) in the window. Root cause in the logs: ${top.exceptionClass || 'error'}: ${top.message} (${top.count} time(s), first ${new Date(top.firstSeen).toISOString()}, last ${new Date(top.lastSeen).toISOString()}${top.vertices.length ? `, in ${top.vertices.join(', ')}` : ''}).`
      : `The job restarted ${restarts.restarts} time(s) in the window; no exception was found in the logs of the window.`;
    recs.push({
      ruleId: rr.id,
      title: top ? `Fix the cause of ${top.exceptionClass || 'the failure'}: ${top.message}` : 'Find why the job restarts',
      rationale: `${explanation} Restarting or rescaling will fail the same way; no tuning action applies until the cause is fixed.`,
      expected: { restartsInWindow: restarts.restarts, exceptionCount: top?.count ?? 0 },
      actions: [],
    });
  } else if (st.findings.length > 0) {
    kind = 'consumer-stalled';
    confidence = st.stalledPartitions.length > 0 ? 0.85 : 0.7;
    // the source reading the stalled partitions: the one named like their topic, else the only source
    const topics = new Set(st.stalledPartitions.map((p) => p.slice(0, p.lastIndexOf('/'))));
    const srcs = w.vertices.filter((v) => v.isSource);
    vertex = (srcs.find((v) => topics.has(v.name)) ?? (srcs.length === 1 ? srcs[0] : undefined))?.name;
    explanation = `${st.findings[0]!.summary}. The consumer is not making progress, so lag only grows; scaling cannot help a consumer that does not run or commit.`;
    recs.push({ ruleId: 'consumer.stalled', title: 'Check that the job runs, checkpoints complete and the source owns its partitions', rationale: explanation, expected: { stalledPartitions: st.stalledPartitions.length, lag: Math.round(lagNow ?? 0) }, actions: [] });
  } else if (tr.length > 0) {
    kind = 'transient-spike';
    confidence = 0.75;
    explanation = `${tr[0]!.summary}.`;
  } else if (bottleneckId && gcSev >= 2 && (lagging || bn.bottlenecks.length > 0)) {
    kind = 'memory-pressure';
    // GC pauses stall every task of the task manager: without a back-pressure bottleneck, the
    // busiest vertex (the one allocating) is named rather than the source
    vertex = nameOf(bn.bottlenecks[0]?.vertexId ?? bn.busiest ?? bottleneckId);
    confidence = 0.75;
    explanation = `Vertex ${vertex} is the bottleneck and the task managers spend ${Math.round(mem.stats.gcTimeMsPerSecond ?? 0)} ms/s in garbage collection: it is slow because of memory, not too few subtasks.`;
  } else if (skewOfBottleneck && (lagging || bn.bottlenecks.length > 0)) {
    kind = 'data-skew';
    vertex = skewOfBottleneck.vertexName;
    confidence = 0.8;
    explanation = `Vertex ${vertex} is the bottleneck and its input is skewed: subtask ${skewOfBottleneck.hotSubtask} gets ${Math.round(skewOfBottleneck.hotSubtaskShare * 100)}% of the records` +
      (skewOfBottleneck.hotKeyGroups.length ? ` (hot key groups ${skewOfBottleneck.hotKeyGroups.slice(0, 3).map((h) => h.keyGroup).join(', ')})` : '') + '. More parallelism would not relieve the hot subtask.';
  } else if (sb.findings.length > 0) {
    kind = 'source-bound';
    vertex = sb.findings[0]!.vertex;
    confidence = 0.7;
    explanation = `${sb.findings[0]!.summary}.`;
    recs.push({
      ruleId: 'source.bound',
      title: 'reason' in sb && sb.reason === 'partitions' ? `Add partitions to the topic read by ${vertex}` : `Raise the read limit of ${vertex} (fetch settings, broker quotas, network)`,
      rationale: explanation + ' The job itself has spare capacity downstream; more parallelism past one subtask per partition reads nothing more.',
      expected: { lagGrowthRecordsPerSecond: round(trend.growthRate ?? 0, 1) },
      actions: [],
    });
  } else if (bottleneckId && (bottleneckPlan?.decision === 'scale-up' || (lagging && capacityShort(bottleneckPlan) !== false))) {
    kind = 'under-provisioned';
    vertex = nameOf(bottleneckId);
    const p = bottleneckPlan;
    confidence = bn.bottlenecks.length > 0 ? 0.85 : 0.7;
    explanation = `Vertex ${vertex} is the bottleneck` + (bn.bottlenecks.length ? ` (busy ${Math.round(bn.bottlenecks[0]!.busyRatio * 1000)} ms/s, upstream back-pressured)` : ' (no back-pressure: the source itself)') +
      (p?.trueRatePerSubtask ? `: one subtask processes ${Math.round(p.trueRatePerSubtask)} records/s at full busy time, ${p.from} subtasks give ${Math.round(p.trueRatePerSubtask * p.from)} records/s against a target of ${Math.round(p.targetRate)} records/s plus ${Math.round(p.catchUpRate)} records/s to catch up.` : '.');
    const ur = rule(rules, 'capacity.under-provisioned');
    if (p?.requiredCapacity && p.trueRatePerSubtask) {
      const ratio = p.requiredCapacity / (p.trueRatePerSubtask * p.from);
      findings.push(makeFinding(ur, severityRank(gradeRule(ur, ratio)) === 0 ? 'low' : gradeRule(ur, ratio), `vertex ${vertex} needs ${round(ratio, 2)}× its current capacity`, {
        requiredRecordsPerSecond: Math.round(p.requiredCapacity), capacityRecordsPerSecond: Math.round(p.trueRatePerSubtask * p.from), parallelism: p.from, recommended: p.to,
      }, vertex));
    }
  } else if (cpSev >= 2) {
    kind = 'checkpoint-pressure';
    confidence = 0.7;
    explanation = `Checkpoints are at risk: ${cp.findings.map((f) => f.summary).join('; ')}.`;
  } else if (memSev >= 2) {
    kind = 'memory-pressure';
    confidence = 0.65;
    if (gcSev >= 2 && bn.busiest) vertex = nameOf(bn.busiest);
    explanation = `Memory is at risk: ${mem.findings.map((f) => f.summary).join('; ')}` + (vertex ? `; the busiest vertex is ${vertex}` : '') + '.';
  } else if (op.findings.length > 0) {
    kind = 'over-provisioned';
    confidence = 0.8;
    vertex = op.findings[0]!.vertex;
    explanation = `The group is not lagging and ${op.findings.map((f) => f.summary).join('; ')}.`;
  } else {
    const other = findings.filter((f) => severityRank(f.severity) >= 2).sort((a, b) => severityRank(b.severity) - severityRank(a.severity))[0];
    if (other) {
      const map: Record<string, RootCauseKind> = { 'skew.keyed': 'data-skew', 'backpressure.bottleneck': 'under-provisioned', 'lag.burrow': 'under-provisioned' };
      kind = map[other.ruleId] ?? 'healthy';
      vertex = other.vertex;
      confidence = 0.5;
      explanation = `${other.summary}.`;
    } else if (ins.insufficient) {
      kind = 'insufficient-data';
      confidence = 1;
      explanation = ins.findings[0]?.summary ?? 'not enough data';
      findings.push(...ins.findings);
    }
  }

  if (kind === 'crash-loop') {
    for (const f of findings) {
      if (!CRASH_LOOP_SYMPTOMS.has(f.ruleId)) continue;
      f.consequenceOf = rr.id;
      f.summary += ' — a symptom of the crash loop (the job restarts and replays from its last checkpoint), not a cause of its own';
    }
  }

  // A TaskManager shared with other jobs has one heap and one GC for all of them: its memory
  // numbers do not single this job out, so the cause is less certain and the explanation says so.
  if (kind === 'memory-pressure' && mem.stats.sharedWith?.length) {
    confidence = round(confidence * SHARED_TM_CONFIDENCE, 2);
    explanation += ` The task manager also runs ${mem.stats.sharedWith.slice(0, 5).join(', ')}${mem.stats.sharedWith.length > 5 ? ', ...' : ''}: the heap and GC time may be theirs; diagnose those jobs too before changing this one.`;
  }

  // Recommendations by cause.
  if (kind === 'under-provisioned') {
    const r = parallelismRecommendation(w, plans, 'capacity.under-provisioned', 'up', rules.planner.catchUpMs);
    if (r) recs.push(r);
  }
  if (kind === 'over-provisioned') {
    const r = parallelismRecommendation(w, plans.map((p) => (op.vertices.includes(p.id) ? p : { ...p, to: p.from })), 'capacity.over-provisioned', 'down', rules.planner.catchUpMs);
    if (r) recs.push(r);
  }
  for (const s of sk.skewed) {
    if (kind !== 'data-skew' && severityRank(sk.findings.find((f) => f.vertex === s.vertexName)?.severity ?? 'none') < 2) continue;
    const p = planOf(s.vertexId);
    const v = w.vertices.find((x) => x.id === s.vertexId);
    recs.push(skewRemedy({ skew: s, parallelism: Math.max(1, v?.parallelism ?? 1), maxParallelism: v?.maxParallelism ?? 128, ...(p?.trueRatePerSubtask ? { trueRatePerSubtask: p.trueRatePerSubtask } : {}) }));
  }
  const cfg = w.checkpoints.config;
  // a draining spike is watched, not acted on: checkpoints slowed by its catch-up recover with it;
  // a crash-looping job's checkpoints fail with its tasks: no tuning action until the cause is fixed
  if (cp.findings.length > 0 && (kind === 'checkpoint-pressure' || (cpSev >= 2 && kind !== 'transient-spike' && kind !== 'crash-loop')) && cfg) {
    const r = checkpointRemedy({
      stats: cp.stats, config: cfg, findings: cp.findings, backpressured: bn.anyBackpressure,
      intervalShare: param(rule(rules, 'checkpoint.duration'), 'intervalShare', 0.5),
    });
    if (r) recs.push(r);
  }
  if (kind === 'memory-pressure' && mem.stats.heapMax) {
    const growth = param(rule(rules, 'memory.gc'), 'heapGrowthFactor', 1.5);
    const heap = Math.ceil((mem.stats.heapMax * growth) / 1048576) * 1048576;
    recs.push({
      ruleId: gcSev >= 2 ? 'memory.gc' : 'memory.heap',
      title: `Raise the task heap from ${Math.round(mem.stats.heapMax / 1048576)} MiB to ${Math.round(heap / 1048576)} MiB`,
      rationale: `${mem.findings.map((f) => f.summary).join('; ')}. A larger heap lowers GC frequency; if the heap floor keeps rising, state is leaking onto the heap: use RocksDB or a state TTL.`,
      expected: { heapBytes: heap, gcTimeMsPerSecondBefore: Math.round(mem.stats.gcTimeMsPerSecond ?? 0) },
      actions: [{ type: 'set-memory', heapBytes: heap, fromHeapBytes: Math.round(mem.stats.heapMax) }],
    });
  }

  // Forecast: time until the lag is back under one minute of input once each recommendation is applied.
  const restartMs = opts.restartMs ?? rules.planner.restartMs;
  const sourcePlans = plans.filter((p) => w.vertices.find((v) => v.id === p.id)?.isSource);
  const inputRate = arrivalRate(w) ?? (sourcePlans.some((p) => p.decision !== 'no-data') ? sourcePlans.reduce((a, p) => a + p.targetRate, 0) : undefined);
  const forecast = (r: Omit<Recommendation, 'id' | 'lagUnderOneMinuteMs'>): number | null => {
    if (lagNow === undefined || inputRate === undefined) return null;
    if (r.actions.length === 0) return lagNow <= 60 * inputRate && !lagging ? 0 : null;
    const to = new Map(r.actions.flatMap((a) => (a.type === 'set-parallelism' ? [[a.vertex.id, a.to] as const] : [])));
    const capacity = jobCapacity(plans, inputRate, (p) => to.get(p.id) ?? p.from);
    return capacity === undefined ? null : lagUnderOneMinuteMs({ lag: lagNow, inputRate, capacity, restartMs });
  };
  const recommendations: Recommendation[] = recs.map((r, i) => {
    const f = forecast(r);
    return { id: `${id}-r${i + 1}`, ...r, expected: f === null ? r.expected : { ...r.expected, lagUnderOneMinuteMs: f }, lagUnderOneMinuteMs: f };
  });
  const rootCause: Diagnosis['rootCause'] = { kind, confidence, explanation };
  if (vertex !== undefined) rootCause.vertex = vertex;
  return withName({ ...base, findings, rootCause, recommendations, severity: worst(findings.map((f) => f.severity)) });
}
