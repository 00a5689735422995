/**
 * Scenario runner for the diagnoser on the bundled runtime: runs a `LocalJob` for a few seconds with
 * per-second metrics (`metricsWindowMs` 1000), collects its metric points and log events into an
 * embedded in-memory store every `collectEveryMs` (the way the collector does, pulling
 * `job.metricPoints()`), then loads the job's window with `loadJobWindow` (topology from the job's
 * vertices, `stepMs` 1000) and diagnoses it with the built-in rules, scaled for windows of seconds
 * (see {@link shortWindowRules}).
 *
 * `startScenario` gives the pieces (job, store, diagnose at any time, extra point sources such as
 * the Kafka lag collector) for scenarios that act on the job while it runs; `runScenario` is the
 * common case: start, let it warm up, collect one window, diagnose, stop.
 */
import type { MetricPoint } from '../../core/points.ts';
import { createEmbeddedStore, type EmbeddedStore } from '../../collector/store/index.ts';
import { loadJobWindow } from '../../diagnoser/load.ts';
import { type TopologyVertex } from '../../platform/index.ts';
import { diagnose } from '../../diagnoser/diagnose.ts';
import type { Diagnosis, TuningAction } from '../../diagnoser/types.ts';
import type { JobWindow } from '../../diagnoser/window.ts';
import { loadRules } from '../../rules/index.ts';
import type { RuleSet } from '../../rules/types.ts';
import { LocalJob, type JobOptions } from '../../runtime/job.ts';
import type { JobSpec } from '../../runtime/spec.ts';
import { waitFor } from './wait.ts';

/**
 * The built-in rules with the planner scaled for windows of seconds instead of minutes:
 * catch-up duration 60 s (default 30 min: a backlog built in seconds would weigh nothing) and
 * restart time 1 s (default 5 min; the bundled runtime restarts in about a second), scale-down
 * after the load stayed low for 4 s (default 1 h); Burrow's STOP after 2 s without a new commit
 * (default 2 min: the bundled jobs checkpoint every few hundred ms); a heap trend fitted over any span
 * (default at least 3 min; these windows last seconds).
 * Other detector thresholds are unchanged. `over` adjusts further (documented in the test using it).
 */
export function shortWindowRules(over: (r: RuleSet) => RuleSet = (r) => r): RuleSet {
  const base = loadRules();
  const scaled = withDetector(withDetector(base, 'lag.burrow', { params: { minStopSilenceMs: 2_000 } }), 'memory.heap', { params: { minSpanMinutes: 0 } });
  return over({ ...scaled, planner: { ...base.planner, catchUpMs: 60_000, restartMs: 1_000, scaleDownIntervalMs: 4_000 } });
}

/** Returns `r` with detector `id`'s params / thresholds changed. */
export function withDetector(r: RuleSet, id: string, change: { params?: Record<string, number>; thresholds?: [number, number, number, number] }): RuleSet {
  const d = r.detectors[id];
  if (!d) throw new Error(`no detector rule ${id}`);
  const nd = { ...d, params: { ...d.params, ...(change.params ?? {}) } };
  if (change.thresholds && d.severity) nd.severity = { ...d.severity, thresholds: change.thresholds };
  return { ...r, detectors: { ...r.detectors, [id]: nd } };
}

/** Options of {@link startScenario}. */
export interface ScenarioOptions {
  /** runtime options; `metricsWindowMs` defaults to 1000 */
  job?: JobOptions;
  /** ms between two collections. Default 500. */
  collectEveryMs?: number;
  /** the job's consumer group (lag is loaded for it) */
  consumerGroup?: string;
  /** more points per collection (e.g. the Kafka lag collector's); called every `collectEveryMs` */
  extraPoints?: () => MetricPoint[];
}

/** A running scenario. */
export interface Scenario {
  job: LocalJob;
  store: EmbeddedStore;
  /** ms epoch when the job started */
  startedAt: number;
  /** number of collections written so far */
  collections(): number;
  /** loads the window [from, now] (ms epoch) and diagnoses it with `rules` (default {@link shortWindowRules}) */
  diagnose(from: number, rules?: RuleSet): Promise<{ diagnosis: Diagnosis; window: JobWindow }>;
  /** stops collecting job metrics but the topology (a cancelled job reports no task metrics; its plan is still known; extra points keep coming) */
  stopJobMetrics(): void;
  /** cancels the job if it still runs, stops collecting, closes the store */
  stop(): Promise<void>;
}

/** The job's topology for `loadJobWindow`, from its built vertices. */
export function topologyOf(job: LocalJob): TopologyVertex[] {
  return job.vertices.map((v) => {
    const t: TopologyVertex = { id: v.id, name: v.name, parallelism: v.parallelism, maxParallelism: job.maxParallelism, inputs: v.inputs, keyedInput: v.keyed };
    if (v.partitions !== undefined) t.partitions = v.partitions;
    return t;
  });
}

/** Starts `spec` and collects its metrics into an in-memory store. */
export async function startScenario(spec: JobSpec, opts: ScenarioOptions = {}): Promise<Scenario> {
  const store = await createEmbeddedStore({ path: ':memory:' });
  const job = new LocalJob(spec, { metricsWindowMs: 1000, ...opts.job });
  const pending: Array<Promise<unknown>> = [];
  job.onLog((e) => void pending.push(store.writeLogs([e])));
  let n = 0;
  let jobMetrics = true;
  let busy = false;
  const collect = async () => {
    if (busy) return;
    busy = true;
    try {
      const now = Date.now();
      // a stopped job reports no task metrics; its plan (streamtune_job_vertex) is still known
      const own = jobMetrics ? job.metricPoints(now) : job.metricPoints(now).filter((p) => p.measurement === 'streamtune_job_vertex');
      const pts = [...own, ...(opts.extraPoints?.() ?? [])];
      if (pts.length) await store.write(pts);
      n++;
    } finally {
      busy = false;
    }
  };
  await job.start();
  const startedAt = job.startedAt;
  const timer = setInterval(() => void collect().catch(() => undefined), opts.collectEveryMs ?? 500);
  return {
    job,
    store,
    startedAt,
    collections: () => n,
    async diagnose(from, rules = shortWindowRules()) {
      await collect();
      await Promise.all(pending);
      const now = Date.now();
      const window = await loadJobWindow(store, job.id, from, now, now, {
        stepMs: 1000,
        historyMs: rules.planner.scaleDownIntervalMs,
        topology: topologyOf(job),
        ...(opts.consumerGroup ? { consumerGroup: opts.consumerGroup } : {}),
      });
      return { diagnosis: diagnose(rules, window, { type: 'manual' }), window };
    },
    stopJobMetrics() {
      jobMetrics = false;
    },
    async stop() {
      clearInterval(timer);
      await job.cancel();
      await waitFor(() => !busy, { what: 'last collection' });
      await Promise.all(pending);
      await store.close();
    },
  };
}

/** Options of {@link runScenario}. */
export interface RunScenarioOptions extends ScenarioOptions {
  /** ms after start before the window opens (rates settle). Default 2000. */
  warmupMs?: number;
  /** ms of window. Default 6000. */
  windowMs?: number;
  /** rules; default {@link shortWindowRules} */
  rules?: RuleSet;
}

/** Result of {@link runScenario}. */
export interface ScenarioResult {
  diagnosis: Diagnosis;
  window: JobWindow;
  job: LocalJob;
}

/**
 * Starts the job, waits `warmupMs + windowMs` (polling, no fixed sleep: until enough collections
 * landed in the window), diagnoses [start + warmup, now], stops the job.
 */
export async function runScenario(spec: JobSpec, opts: RunScenarioOptions = {}): Promise<ScenarioResult> {
  const sc = await startScenario(spec, opts);
  try {
    const from = sc.startedAt + (opts.warmupMs ?? 2000);
    const until = from + (opts.windowMs ?? 6000);
    await waitFor(() => Date.now() >= until, { timeoutMs: (opts.warmupMs ?? 2000) + (opts.windowMs ?? 6000) + 30_000, intervalMs: 100, what: 'the window to fill' });
    const r = await sc.diagnose(from, opts.rules);
    return { ...r, job: sc.job };
  } finally {
    await sc.stop();
  }
}

/** The set-parallelism actions of a diagnosis. */
export function setParallelism(d: Diagnosis): Array<Extract<TuningAction, { type: 'set-parallelism' }>> {
  return d.recommendations.flatMap((r) => r.actions).filter((a): a is Extract<TuningAction, { type: 'set-parallelism' }> => a.type === 'set-parallelism');
}

/** A compact view of a diagnosis for assertion messages. */
export function explain(d: Diagnosis): string {
  return JSON.stringify({ rootCause: d.rootCause, lag: d.lagStatus, findings: d.findings.map((f) => ({ rule: f.ruleId, sev: f.severity, vertex: f.vertex, summary: f.summary })), recs: d.recommendations.map((r) => ({ title: r.title, actions: r.actions })) }, null, 1);
}
