/**
 * Diagnoser benchmark: time to load and diagnose one job from the embedded store (target < 200 ms),
 * and a sweep over 1,000 jobs × 10 vertices × 8 subtasks (target < 5 s). The sweep diagnoses
 * in-memory JobWindows (built like fixtures: 90 points of 10 s per series): writing the ~3.6M points
 * of 1,000 jobs into the store would measure the store, not the diagnoser; the row name says so.
 * Run: `node --import tsx bench/diagnose.ts` (prints the rows), or through bench/index.ts via `run()`.
 */
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { createEmbeddedStore } from '../collector/store/embedded.ts';
import type { MetricPoint } from '../core/points.ts';
import { diagnose } from '../diagnoser/diagnose.ts';
import { loadJobWindow } from '../diagnoser/load.ts';
import { loadRules } from '../rules/loader.ts';
import { buildWindow, type VertexSpec } from '../test/fixtures/diagnoser/build.ts';
import type { BenchRow } from './types.ts';

const T0 = Date.UTC(2024, 4, 1, 9, 0, 0);
const STEPS = 90;

function jobVertices(j: number): VertexSpec[] {
  return Array.from({ length: 10 }, (_, k) => ({
    id: `v${k}`, p: 8, source: k === 0, partitions: k === 0 ? 32 : undefined, inputs: k === 0 ? [] : [`v${k - 1}`], keyed: k > 0,
    in: (s: number) => 100 + ((s * 37 + j + k) % 13), busy: k === 5 && j % 3 === 0 ? 950 : 300 + ((j + k) % 200), bp: k < 5 && j % 3 === 0 ? 400 : 0,
  }));
}

function jobPoints(jobId: string): MetricPoint[] {
  const out: MetricPoint[] = [];
  const jm = { host: 'h', job_id: jobId, job_name: 'bench' };
  const V = jobVertices(0);
  for (let i = 0; i < STEPS; i++) {
    const t = T0 + i * 10_000;
    out.push({ measurement: 'jobmanager_job_numRestarts', tags: jm, fields: { value: 0 }, timestamp: t });
    out.push({ measurement: 'jobmanager_job_lastCheckpointDuration', tags: jm, fields: { value: 1000 }, timestamp: t });
    for (let p = 0; p < 8; p++) {
      out.push({ measurement: 'streamtune_kafka_partition_lag', tags: { group: 'g', topic: 't', partition: String(p) }, fields: { value: 1000 + i * 50 }, timestamp: t });
      out.push({ measurement: 'streamtune_kafka_partition_committedOffset', tags: { group: 'g', topic: 't', partition: String(p) }, fields: { value: i * 500 }, timestamp: t });
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
    const w = await loadJobWindow(store, 'bench-job', T0, end, end, { consumerGroup: 'g' });
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
  rows.push({ suite: 'diagnose', name: `sweep of 1,000 jobs × 10 vertices × 8 subtasks (in-memory windows, ${findings} findings)`, value: Math.round(ms), unit: 'ms', target: '< 5000 ms' });
  return rows;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const r of await run()) process.stdout.write(`${r.suite}\t${r.name}\t${r.value} ${r.unit}\t${r.target ?? ''}\n`);
}
