/**
 * One run of the tuner benchmark (bench/tuner.ts), in its own process:
 *   node --import tsx bench/_tuner-child.ts smallest LATENCY_MS
 *   node --import tsx bench/_tuner-child.ts loop LATENCY_MS PLANNER
 * Prints one JSON line `{ "result": TunerChildResult }` on stdout.
 *
 * The job: a dataset replay of the flights data (vega-datasets, 4 splits, arriving at
 * {@link SOURCE_RATE} records/s like a Kafka topic) → `enrich`, a map with `faults.latencyMs` per
 * record (a blocking remote call: one subtask does ≈ 1000 / LATENCY_MS records/s) → discard sink.
 * Only `enrich` is under-provisioned.
 *
 * - `smallest`: runs `enrich` at parallelism 1, 2, … (a fresh job each) for {@link PROBE_MS} ms and
 *   returns the first parallelism that keeps up: the backlog (arrived − read, from
 *   `LocalJob.sourceOffsets`) grows by less than {@link KEEP_UP_SLOPE} × the source rate over the
 *   last part of the run.
 * - `loop`: starts `enrich` at parallelism 1 and runs collect → diagnose → apply until no
 *   set-parallelism is recommended or the lag drains (at most {@link MAX_STEPS} steps). Collect:
 *   every {@link PULL_MS} ms `job.metricPoints()` and the dataset-replay lag points
 *   (collector/dataset-lag.ts, group = job name) go into an in-memory embedded store. Diagnose:
 *   `loadJobWindow` over the last {@link DIAGNOSE_WINDOW_MS} ms (step {@link STEP_MS} ms) and
 *   `diagnose` with the built-in rules and the bundled runtime's restart time (PLANNER 'shipped', what
 *   the control plane does) or with the Flink autoscaler's defaults (PLANNER 'flink-defaults'). Apply: `stopWithSavepoint`, then a new
 *   `LocalJob` with the same job id restored from the savepoint with the recommended parallelism.
 *   Downtime per operation: the last change of `enrich`'s numRecordsIn before the stop → the first
 *   change after the start, sampled every {@link DOWNTIME_SAMPLE_MS} ms.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { BUNDLED_RESTART_MS, type TopologyVertex } from '../platform/index.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createEmbeddedStore, type EmbeddedStore } from '../collector/store/index.ts';
import { datasetLagPoints } from '../collector/dataset-lag.ts';
import { diagnose, loadJobWindow } from '../diagnoser/index.ts';
import type { Diagnosis, TuningAction } from '../diagnoser/types.ts';
import { loadRules } from '../rules/loader.ts';
import type { RuleSet } from '../rules/types.ts';
import { LocalJob } from '../runtime/job.ts';
import type { JobSpec } from '../runtime/spec.ts';

/** records/s the dataset arrives at (all splits). */
export const SOURCE_RATE = 1000;
/** ms each parallelism is tried for by `smallest`. */
export const PROBE_MS = 14_000;
/** ms at the start of a probe that are not judged (start-up, first batches). */
const PROBE_WARMUP_MS = 4_000;
/** backlog growth below this share of the source rate counts as keeping up. */
export const KEEP_UP_SLOPE = 0.02;
/** ms between metric pulls in `loop` (the collector's interval, shortened for a short bench). */
export const PULL_MS = 1_000;
/** ms of metrics each diagnosis reads. */
export const DIAGNOSE_WINDOW_MS = 16_000;
/** ms skipped after each (re)start before the diagnosis window opens. */
const SETTLE_MS = 3_000;
/** loadJobWindow resolution, ms. */
const STEP_MS = 2_000;
/** tuning steps at most. */
export const MAX_STEPS = 4;
const DOWNTIME_SAMPLE_MS = 5;
const VERTEX = 'enrich';
/** Small buffers (records per buffer, buffers per channel) so backpressure reaches the source within
 * a second instead of after ~4,000 buffered records per channel (the runtime's defaults 512 × 8). */
const BUFFERS = { batchSize: 32, channelCapacity: 4 } as const;

/** What one child run reports. */
export interface TunerChildResult {
  mode: 'smallest' | 'loop';
  latencyMs: number;
  /** smallest: the first parallelism that kept up (undefined = none up to the cap) */
  smallest?: number;
  /** smallest: backlog growth per tried parallelism, records/s */
  probes?: Array<{ parallelism: number; lagSlope: number }>;
  /** loop: every tuning step */
  steps?: Array<{ from: number; to: number; downtimeMs: number; stopMs: number; restoreMs: number; expected?: Record<string, number>; rationale: string }>;
  /** loop: parallelism of enrich at the end */
  finalParallelism?: number;
  /** loop: why the loop ended */
  stopReason?: string;
  /** loop: root cause and recommendation titles of the last diagnosis */
  lastDiagnosis?: string;
  /** loop: backlog growth in the last window, records/s (negative = draining) */
  finalLagSlope?: number;
}

function spec(latencyMs: number, dir: string): JobSpec {
  return {
    name: 'tuner-bench',
    maxParallelism: 128,
    checkpoints: { interval: 5_000, dir: join(dir, 'checkpoints') },
    vertices: [
      { name: 'flights', type: 'dataset-source', path: 'pkg:vega-datasets/data/flights-3m.parquet', eventTime: 'date', columns: ['date', 'origin', 'delay'], limit: 400_000, rate: SOURCE_RATE, splits: 4, parallelism: 1 },
      { name: VERTEX, type: 'map', set: { delayed: 'delay > 15' }, faults: { latencyMs }, parallelism: 1 },
      { name: 'sink', type: 'discard-sink' },
    ],
    edges: [
      { from: 'flights', to: VERTEX, partitioning: 'rebalance' },
      { from: VERTEX, to: 'sink', partitioning: 'rebalance' },
    ],
  } as JobSpec;
}

/** Backlog of the dataset replay now: records arrived − records read, over all splits. */
function backlog(job: LocalJob, now = Date.now()): number {
  return job.sourceOffsets(now).reduce((s, o) => s + Math.max(0, o.arrivedOffset - o.readOffset), 0);
}

/** Least-squares slope of (ms, value) samples, value units per second. */
function slope(xs: Array<[number, number]>): number {
  if (xs.length < 2) return Number.NaN;
  const n = xs.length;
  const mt = xs.reduce((a, x) => a + x[0], 0) / n;
  const mv = xs.reduce((a, x) => a + x[1], 0) / n;
  let num = 0;
  let den = 0;
  for (const [t, v] of xs) {
    num += (t - mt) * (v - mv);
    den += (t - mt) ** 2;
  }
  return den > 0 ? (num / den) * 1000 : Number.NaN;
}

function recordsIn(job: LocalJob): number {
  let n = 0;
  for (const s of job.currentSubtasks()) if (s.vertex === VERTEX) n += s.metrics.numRecordsIn;
  return n;
}

async function smallest(latencyMs: number, dir: string): Promise<TunerChildResult> {
  const probes: Array<{ parallelism: number; lagSlope: number }> = [];
  const cap = 16;
  for (let p = 1; p <= cap; p++) {
    const job = new LocalJob(spec(latencyMs, join(dir, `p${p}`)), { ...BUFFERS, parallelism: { [VERTEX]: p } });
    await job.start();
    const t0 = Date.now();
    const samples: Array<[number, number]> = [];
    while (Date.now() - t0 < PROBE_MS) {
      await sleep(250);
      const now = Date.now();
      if (now - t0 >= PROBE_WARMUP_MS) samples.push([now, backlog(job, now)]);
    }
    await job.cancel();
    const s = slope(samples);
    probes.push({ parallelism: p, lagSlope: s });
    process.stderr.write(`tuner child: latency ${latencyMs} ms, parallelism ${p}: backlog ${s >= 0 ? '+' : ''}${Math.round(s)} records/s\n`);
    if (s < KEEP_UP_SLOPE * SOURCE_RATE) return { mode: 'smallest', latencyMs, smallest: p, probes };
  }
  return { mode: 'smallest', latencyMs, probes };
}

function topology(job: LocalJob): TopologyVertex[] {
  return job.vertices.map((v) => {
    const t: TopologyVertex = { id: v.id, name: v.name, parallelism: v.parallelism, maxParallelism: job.maxParallelism, inputs: v.inputs, keyedInput: v.keyed };
    if (v.partitions !== undefined) t.partitions = v.partitions;
    return t;
  });
}

async function loop(latencyMs: number, planner: string, dir: string): Promise<TunerChildResult> {
  const base = loadRules();
  // 'shipped': the built-in rules as the control plane applies them to a bundled job (its restart
  // time, BUNDLED_RESTART_MS). 'flink-defaults': the Flink autoscaler's defaults (restart 5 min,
  // target utilisation 0.7), for comparison.
  const rules: RuleSet = planner === 'flink-defaults' ? { ...base, planner: { ...base.planner, restartMs: 300_000, targetUtilization: 0.7 } } : base;
  const diagOpts = planner === 'flink-defaults' ? {} : { restartMs: BUNDLED_RESTART_MS };
  const store: EmbeddedStore = await createEmbeddedStore({ path: ':memory:', retentionDays: 0 });
  const s = spec(latencyMs, dir);
  let parallelism = 1;
  let job = new LocalJob(s, { ...BUFFERS, parallelism: { [VERTEX]: parallelism } });
  const jobId = job.id;
  const lagSamples: Array<[number, number]> = [];
  const pull = async (): Promise<void> => {
    const now = Date.now();
    if (job.state !== 'RUNNING') return;
    const pts = job.metricPoints(now);
    pts.push(...datasetLagPoints(job.name, job.sourceOffsets(now), now));
    lagSamples.push([now, backlog(job, now)]);
    await store.write(pts);
  };
  let pulling = Promise.resolve();
  const timer = setInterval(() => (pulling = pulling.then(pull).catch((e: unknown) => void process.stderr.write(`pull failed: ${(e as Error).message}\n`))), PULL_MS);
  const steps: NonNullable<TunerChildResult['steps']> = [];
  let stopReason = `no convergence after ${MAX_STEPS} steps`;
  let last: Diagnosis | undefined;
  let finalLagSlope = Number.NaN;
  try {
    await job.start();
    let windowFrom = Date.now() + SETTLE_MS;
    for (;;) {
      await sleep(windowFrom + DIAGNOSE_WINDOW_MS - Date.now());
      await pulling;
      const now = Date.now();
      const w = await loadJobWindow(store, jobId, windowFrom, now, now, { consumerGroup: s.name, stepMs: STEP_MS, topology: topology(job) });
      last = diagnose(rules, w, { type: 'manual' }, diagOpts);
      finalLagSlope = slope(lagSamples.filter(([t]) => t >= windowFrom));
      const actions = last.recommendations.flatMap((r) => r.actions).filter((a): a is Extract<TuningAction, { type: 'set-parallelism' }> => a.type === 'set-parallelism' && a.to !== a.from);
      process.stderr.write(`tuner child: latency ${latencyMs} ms, p ${parallelism}: ${last.rootCause.kind}, backlog ${Math.round(finalLagSlope)} records/s, actions ${JSON.stringify(actions)}\n`);
      if (steps.length > 0 && finalLagSlope < 0) {
        stopReason = 'lag draining';
        break;
      }
      if (actions.length === 0) {
        stopReason = 'no set-parallelism recommended';
        break;
      }
      if (steps.length >= MAX_STEPS) break;
      const rec = last.recommendations.find((r) => r.actions.some((a) => a.type === 'set-parallelism'))!;
      const overrides: Record<string, number> = {};
      for (const a of actions) overrides[a.vertex.name] = a.to;
      // apply: stop with savepoint, restore with the new parallelism; downtime from enrich's counters
      const old = job;
      let lastChange = performance.now();
      let prevIn = recordsIn(old);
      const watchOld = setInterval(() => {
        const n = recordsIn(old);
        if (n !== prevIn) {
          prevIn = n;
          lastChange = performance.now();
        }
      }, DOWNTIME_SAMPLE_MS);
      const tStop = performance.now();
      const sp = await old.stopWithSavepoint(join(dir, 'savepoints'));
      await old.done();
      clearInterval(watchOld);
      const stopMs = performance.now() - tStop;
      const tStart = performance.now();
      const next = new LocalJob(s, { ...BUFFERS, jobId, parallelism: { ...Object.fromEntries(old.vertices.map((v) => [v.name, v.parallelism])), ...overrides }, fromSavepoint: sp.path });
      job = next;
      await next.start();
      let firstAfter = 0;
      while (firstAfter === 0) {
        if (recordsIn(next) > 0) firstAfter = performance.now();
        else await sleep(DOWNTIME_SAMPLE_MS);
      }
      const from = parallelism;
      parallelism = next.vertices.find((v) => v.name === VERTEX)!.parallelism;
      steps.push({ from, to: parallelism, downtimeMs: firstAfter - lastChange, stopMs, restoreMs: firstAfter - tStart, expected: rec.expected, rationale: rec.rationale });
      process.stderr.write(`tuner child: step ${steps.length}: ${from} → ${parallelism}, downtime ${Math.round(firstAfter - lastChange)} ms\n`);
      windowFrom = Date.now() + SETTLE_MS;
    }
  } finally {
    clearInterval(timer);
    await pulling;
    await job.cancel();
    await store.close();
  }
  const out: TunerChildResult = { mode: 'loop', latencyMs, steps, finalParallelism: parallelism, stopReason, finalLagSlope };
  if (last) out.lastDiagnosis = `${last.rootCause.kind}: ${last.recommendations.map((r) => r.title).join('; ') || 'no recommendation'}`;
  return out;
}

const [mode, latencyArg, planner] = process.argv.slice(2);
const latencyMs = Number(latencyArg);
if ((mode !== 'smallest' && mode !== 'loop') || !(latencyMs > 0)) {
  process.stderr.write('usage: _tuner-child.ts smallest|loop LATENCY_MS [default|bundled]\n');
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), 'streamtune-tuner-bench-'));
process.env.STREAMTUNE_DATA_DIR = dir;
try {
  const result = mode === 'smallest' ? await smallest(latencyMs, dir) : await loop(latencyMs, planner ?? 'shipped', dir);
  process.stdout.write(`${JSON.stringify({ result })}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
