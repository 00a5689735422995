/**
 * Diagnoser benchmark:
 * - time to load and diagnose one job from the embedded store (target < 200 ms), and the number of
 *   store queries it takes;
 * - a sweep over 1,000 jobs × 10 vertices × 8 subtasks (target < 5 s), twice: on in-memory
 *   JobWindows (90 points of 10 s per series: the diagnoser alone), and from the embedded store
 *   (`windowBatches` in batches of 100 jobs, as the service sweeps; 4 points of 10 s per series,
 *   ~1.6M rows, because writing 15 minutes of 1,000 jobs would take minutes here), with the store
 *   read time shown apart;
 * - lag detection delay: a store fed every collection interval (10 s) with lag that starts at t0,
 *   the alerter evaluated after each write, with an alert `for` of 0 and of one interval; the delay
 *   is reported in collection intervals (target: within two).
 * Numbers are printed, never asserted. Run: `node --import tsx bench/diagnose.ts`, or `run()`.
 */
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { createEmbeddedStore } from '../collector/store/embedded.ts';
import type { MetricPoint } from '../core/points.ts';
import { diagnose } from '../diagnoser/diagnose.ts';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MetricStore } from '../collector/store/types.ts';
import { createMemoryBus } from '../core/bus-memory.ts';
import { createAlerter } from '../diagnoser/alerter.ts';
import { loadJobWindow, windowBatches } from '../diagnoser/load.ts';
import { loadRules } from '../rules/loader.ts';
import { RuleSetManager } from '../rules/manager.ts';
import type { JobCatalog, ManagedJob } from '../platform/index.ts';
import { buildWindow, type VertexSpec } from '../test/fixtures/diagnoser/build.ts';
import type { BenchRow } from './types.ts';

/** Start of the benchmark data, ms. */
export const T0 = Date.UTC(2024, 4, 1, 9, 0, 0);
const STEPS = 90;

function jobVertices(j: number): VertexSpec[] {
  return Array.from({ length: 10 }, (_, k) => ({
    id: `v${k}`, p: 8, source: k === 0, partitions: k === 0 ? 32 : undefined, inputs: k === 0 ? [] : [`v${k - 1}`], keyed: k > 0,
    in: (s: number) => 100 + ((s * 37 + j + k) % 13), busy: k === 5 && j % 3 === 0 ? 950 : 300 + ((j + k) % 200), bp: k < 5 && j % 3 === 0 ? 400 : 0,
  }));
}

/** The points of one benchmark job: 10 vertices × 8 subtasks, `steps` collections 10 s apart from T0, lag of 8 partitions of `group`. */
export function jobPoints(jobId: string, steps = STEPS, group = 'g'): MetricPoint[] {
  const out: MetricPoint[] = [];
  const jm = { host: 'h', job_id: jobId, job_name: 'bench' };
  const V = jobVertices(0);
  for (let i = 0; i < steps; i++) {
    const t = T0 + i * 10_000;
    out.push({ measurement: 'jobmanager_job_numRestarts', tags: jm, fields: { value: 0 }, timestamp: t });
    out.push({ measurement: 'jobmanager_job_lastCheckpointDuration', tags: jm, fields: { value: 1000 }, timestamp: t });
    for (let p = 0; p < 8; p++) {
      out.push({ measurement: 'streamtune_kafka_partition_lag', tags: { group, topic: 't', partition: String(p) }, fields: { value: 1000 + i * 50 }, timestamp: t });
      out.push({ measurement: 'streamtune_kafka_partition_committedOffset', tags: { group, topic: 't', partition: String(p) }, fields: { value: i * 500 }, timestamp: t });
    }
    for (const v of V) {
      for (let s = 0; s < 8; s++) {
        const tags = { ...jm, tm_id: 'tm-1', task_id: v.id, task_name: v.id, subtask_index: String(s) };
        const busy = typeof v.busy === 'number' ? v.busy : 300;
        out.push({ measurement: 'taskmanager_job_task_numRecordsInPerSecond', tags, fields: { rate: 100 + s }, timestamp: t });
        out.push({ measurement: 'taskmanager_job_task_numRecordsOutPerSecond', tags, fields: { rate: 100 + s }, timestamp: t });
        out.push({ measurement: 'taskmanager_job_task_busyTimeMsPerSecond', tags, fields: { value: busy }, timestamp: t });
        out.push({ measurement: 'taskmanager_job_task_backPressuredTimeMsPerSecond', tags, fields: { value: 0 }, timestamp: t });
        out.push({ measurement: 'taskmanager_job_task_idleTimeMsPerSecond', tags, fields: { value: 1000 - busy }, timestamp: t });
      }
    }
  }
  return out;
}

/** Runs the benchmark; see the module comment. */
export async function run(): Promise<BenchRow[]> {
  const rules = loadRules();
  const rows: BenchRow[] = [];
  const store = await createEmbeddedStore({ path: ':memory:', retentionDays: 0 });
  try {
    await store.write(jobPoints('bench-job'));
    const end = T0 + (STEPS - 1) * 10_000;
    // warm-up, then the median of 5
    await loadJobWindow(store, 'bench-job', T0, end, end, { consumerGroup: 'g' });
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      const w = await loadJobWindow(store, 'bench-job', T0, end, end, { consumerGroup: 'g' });
      diagnose(rules, w, { type: 'manual' });
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    let queries = 0;
    const counting = new Proxy(store, { get: (target, key) => (key === 'query' ? (q: Parameters<MetricStore['query']>[0]) => { queries++; return target.query(q); } : Reflect.get(target, key, target)) });
    const w = await loadJobWindow(counting, 'bench-job', T0, end, end, { consumerGroup: 'g' });
    rows.push({ suite: 'diagnose', name: 'store queries to load one job', value: queries, unit: 'queries' });
    const t0 = performance.now();
    for (let i = 0; i < 20; i++) diagnose(rules, w, { type: 'manual' });
    rows.push({ suite: 'diagnose', name: 'one job (10 vertices × 8 subtasks, 15 min): diagnose() alone, window already loaded', value: Math.round(((performance.now() - t0) / 20) * 100) / 100, unit: 'ms', target: '< 200 ms' });
    rows.push({ suite: 'diagnose', name: 'one job (10 vertices × 8 subtasks, 15 min) loaded from the embedded store + diagnosed', value: Math.round(times[2]! * 10) / 10, unit: 'ms', target: '< 200 ms' });
  } finally {
    await store.close();
  }
  const windows = Array.from({ length: 1000 }, (_, j) => buildWindow({ vertices: jobVertices(j), steps: STEPS, lag: (i) => 1000 + i * (j % 2 ? 50 : 0), lagPartitions: 8 }));
  const t = performance.now();
  let findings = 0;
  for (const w of windows) findings += diagnose(rules, w, { type: 'sweep' }).findings.length;
  const ms = performance.now() - t;
  // released before the store sweep: ~3 GB of windows kept alive would make its GC mark them over and over
  windows.length = 0;
  rows.push({ suite: 'diagnose', name: `sweep of 1,000 jobs × 10 vertices × 8 subtasks (in-memory windows, ${findings} findings)`, value: Math.round(ms), unit: 'ms', target: '< 5000 ms' });
  rows.push(...(await storeSweep(rules)));
  rows.push(...(await detectionDelay()));
  return rows;
}

/** The sweep from the embedded store: 1,000 jobs read in batches of 100 with windowBatches (as the service), each diagnosed while the next is read. */
export async function storeSweep(rules: ReturnType<typeof loadRules>): Promise<BenchRow[]> {
  const JOBS = 1000;
  const steps = 4;
  const store = await createEmbeddedStore({ path: ':memory:', retentionDays: 0 });
  try {
    let written = 0;
    for (let j = 0; j < JOBS; j++) {
      const pts = jobPoints(`job-${j}`, steps, `g-${j}`);
      written += pts.length;
      await store.write(pts);
    }
    const end = T0 + (steps - 1) * 10_000;
    const jobs = Array.from({ length: JOBS }, (_, j) => ({ jobId: `job-${j}`, consumerGroup: `g-${j}` }));
    const t0 = performance.now();
    let diagnoseMs = 0;
    let findings = 0;
    // the service's reader: batches of 100, the next read while this batch is diagnosed
    for await (const { windows, error } of windowBatches(store, jobs, 100, { start: T0, end, now: end }, { stepMs: 10_000 })) {
      if (!windows) throw error;
      const td = performance.now();
      for (const w of windows.values()) findings += diagnose(rules, w, { type: 'sweep' }).findings.length;
      diagnoseMs += performance.now() - td;
    }
    const total = performance.now() - t0;
    return [
      { suite: 'diagnose', name: `sweep of 1,000 jobs × 10 vertices × 8 subtasks from the embedded store (${steps} points per series, ${written} points, ${findings} findings)`, value: Math.round(total), unit: 'ms', target: '< 5000 ms' },
      { suite: 'diagnose', name: 'of which diagnosing (the rest is reading the windows, 10 batches of 100 jobs, not hidden behind the diagnosis)', value: Math.round(diagnoseMs), unit: 'ms' },
    ];
  } finally {
    await store.close();
  }
}

/**
 * Lag detection delay: lag 0 until t0, then 50,000 records; lag points written every collection
 * interval (10 s, as the lag collector polls), the alerter evaluated right after each write.
 */
async function detectionDelay(): Promise<BenchRow[]> {
  const interval = 10_000;
  const onset = T0 + 60_000;
  const rows: BenchRow[] = [];
  for (const forMs of [0, interval]) {
    const dir = mkdtempSync(join(tmpdir(), 'streamtune-bench-rules-'));
    writeFileSync(join(dir, 'alerts.yaml'), `alerts:\n  - id: lag.bench\n    metric: streamtune_kafka_partition_lag\n    groupBy: [group]\n    aggregate: sum\n    window: 5m\n    condition: "> 10000"\n    for: ${forMs / 1000}s\n    severity: severe\n    help: bench\n`);
    const manager = new RuleSetManager(dir, { extendBuiltin: false, watch: false });
    const store = await createEmbeddedStore({ path: ':memory:', retentionDays: 0 });
    const job: ManagedJob = { job_id: 'lag-job', name: 'lag', executor: 'bundled', state: 'RUNNING', consumerGroup: 'lag-g', topology: [] };
    const no = () => Promise.reject(new Error('unused'));
    const jobs: JobCatalog = { list: () => [job], get: (id) => (id === job.job_id ? job : undefined), submit: no, triggerSavepoint: no, stop: no, onChange: () => () => {} };
    const alerter = createAlerter({ store, rules: manager, bus: createMemoryBus(), jobs });
    try {
      let detectedAt: number | undefined;
      for (let t = T0; t <= onset + 10 * interval && detectedAt === undefined; t += interval) {
        await store.write([0, 1, 2, 3].map((p) => ({ measurement: 'streamtune_kafka_partition_lag', tags: { group: 'lag-g', topic: 't', partition: String(p) }, fields: { value: t >= onset ? 12_500 : 0 }, timestamp: t })));
        const ev = await alerter.evaluateOnce(t);
        if (ev.some((e) => e.state === 'fired')) detectedAt = t;
      }
      rows.push({ suite: 'diagnose', name: `lag detection delay, alert for=${forMs / 1000}s, collection every ${interval / 1000}s`, value: detectedAt === undefined ? -1 : (detectedAt - onset) / interval, unit: 'collection intervals', target: '<= 2 intervals' });
    } finally {
      manager.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return rows;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const r of await run()) process.stdout.write(`${r.suite}\t${r.name}\t${r.value} ${r.unit}\t${r.target ?? ''}\n`);
}
