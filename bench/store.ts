/**
 * Store benchmark: points/s written to the embedded DuckDB store and to a real InfluxDB 1.6.7
 * (started with the test helper), and the peak buffered points / heap of the BufferedWriter while
 * the TSDB is down (bounded by `maxBufferedPoints`); then the Prometheus read path against the
 * embedded store on the same data (a real Prometheus 2.42, started with the test helper, filled by
 * remote write through the routed store, streamtune's lag in an embedded store beside it): one job's
 * diagnosis window (10 vertices × 8 subtasks, 15 min at 10 s: load + diagnose, median of 5) and the
 * 1,000-job sweep (4 points per series, `windowBatches` in batches of 100 as the service sweeps).
 * Run: `node --import tsx bench/store.ts` (prints the rows), or through bench/index.ts via `run()`.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BufferedWriter } from '../collector/buffer.ts';
import { createEmbeddedStore } from '../collector/store/embedded.ts';
import { createInfluxStore } from '../collector/store/influx.ts';
import type { MetricPoint } from '../core/points.ts';
import { startInfluxDB } from '../test/helpers/influxdb.ts';
import { startPrometheus } from '../test/helpers/prometheus.ts';
import { createPrometheusStore } from '../collector/store/prometheus.ts';
import { createPrometheusRoutedStore } from '../collector/store/routed.ts';
import type { MetricStore, SeriesQuery } from '../collector/store/types.ts';
import { diagnose } from '../diagnoser/diagnose.ts';
import { loadJobWindow, windowBatches } from '../diagnoser/load.ts';
import { loadRules } from '../rules/loader.ts';
import { jobPoints, T0 as JOB_T0 } from './diagnose.ts';
import { freePort, tempDir } from '../test/helpers/wait.ts';
import type { BenchRow } from './types.ts';

const T0 = 1_767_225_600_000;

/** Flink-shaped points: task tags, one field each, 10 ms apart per subtask. */
function makePoints(n: number, offset = 0): MetricPoint[] {
  const out: MetricPoint[] = new Array(n);
  const tagSets = Array.from({ length: 32 }, (_, s) => ({
    host: '10.42.0.17', job_id: '4f1d6b0e2c9a47e8b3d5a6c7e8f90123', job_name: 'orders-enrichment',
    task_id: 'cbc357ccb763df2852fee8c4fc7d55f2', task_name: 'Source: orders -> Map', subtask_index: String(s), tm_id: 'tm-1',
  }));
  for (let i = 0; i < n; i++) {
    const j = i + offset;
    out[i] = {
      measurement: j % 2 ? 'taskmanager_job_task_busyTimeMsPerSecond' : 'taskmanager_job_task_numRecordsIn',
      tags: tagSets[j % 32]!,
      fields: j % 2 ? { value: (j % 1000) + 0.5 } : { count: j },
      intFields: j % 2 ? undefined : ['count'],
      timestamp: T0 + Math.floor(j / 32) * 10,
    };
  }
  return out;
}

async function writeRate(write: (b: MetricPoint[]) => Promise<void>, total: number, batch: number): Promise<number> {
  const batches: MetricPoint[][] = [];
  for (let i = 0; i < total; i += batch) batches.push(makePoints(Math.min(batch, total - i), i));
  const t = process.hrtime.bigint();
  for (const b of batches) await write(b);
  const s = Number(process.hrtime.bigint() - t) / 1e9;
  return Math.round(total / s);
}

/** Runs the store benchmark; starts and stops its own influxd. */
export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const dir = tempDir('streamtune-bench-');
  try {
    const mem = await createEmbeddedStore({ path: ':memory:', retentionDays: 0 });
    await writeRate((b) => mem.write(b), 20_000, 5000); // warm-up
    rows.push({ suite: 'store', name: 'embedded write (:memory:, 5000/batch)', value: await writeRate((b) => mem.write(b), 500_000, 5000), unit: 'points/s', target: '>= 100000 points/s' });
    await mem.close();
    const file = await createEmbeddedStore({ path: join(dir, 'metrics.duckdb'), retentionDays: 0 });
    rows.push({ suite: 'store', name: 'embedded write (file, 5000/batch)', value: await writeRate((b) => file.write(b), 500_000, 5000), unit: 'points/s', target: '>= 100000 points/s' });
    const ms = async (read: () => Promise<unknown>): Promise<number> => {
      const t = process.hrtime.bigint();
      await read();
      return Math.round(Number(process.hrtime.bigint() - t) / 1e6);
    };
    const span = { start: T0, end: T0 + 1e9 };
    const busy = { measurement: 'taskmanager_job_task_busyTimeMsPerSecond', field: 'value', ...span };
    rows.push({ suite: 'store', name: 'embedded windowed mean by subtask over 250k points', value: await ms(() => file.query({ ...busy, groupBy: ['subtask_index'], window: 60_000, aggregate: 'mean' })), unit: 'ms' });
    rows.push({ suite: 'store', name: 'embedded raw read by subtask, 250k points returned', value: await ms(() => file.query({ ...busy, groupBy: ['subtask_index'] })), unit: 'ms' });
    rows.push({
      suite: 'store', name: 'embedded counter rate by subtask over 250k points (rate per series in JS)',
      value: await ms(() => file.query({ measurement: 'taskmanager_job_task_numRecordsIn', field: 'count', ...span, groupBy: ['subtask_index'], window: 60_000, aggregate: 'rate' })), unit: 'ms',
    });
    // as loadJobWindows issues them: queries of one shape at once share one statement
    rows.push({
      suite: 'store', name: 'embedded 4 windowed reads issued together (2 measurements × max/min, 2 statements)',
      value: await ms(() => Promise.all(['busyTimeMsPerSecond', 'numRecordsIn'].flatMap((m) => (['max', 'min'] as const).map((aggregate) =>
        file.query({ measurement: `taskmanager_job_task_${m}`, field: m === 'numRecordsIn' ? 'count' : 'value', ...span, where: { subtask_index: ['0', '1', '2', '3'] }, groupBy: ['subtask_index'], window: 10_000, aggregate }))))),
      unit: 'ms',
    });
    await file.close();

    const influxd = await startInfluxDB();
    try {
      const db = await influxd.createDatabase('bench');
      const influx = await createInfluxStore({ url: influxd.url, bucket: db, writeApi: 'v1' });
      rows.push({ suite: 'store', name: 'InfluxDB 1.6.7 write (/write, 5000/batch, gzip)', value: await writeRate((b) => influx.write(b), 200_000, 5000), unit: 'points/s' });
      await influx.close();
    } finally {
      await influxd.close();
    }

    // BufferedWriter while the TSDB is down: nothing listens on the port
    const downPort = await freePort();
    const down = await createInfluxStore({ url: `http://127.0.0.1:${downPort}`, bucket: 'x', writeApi: 'v1', retry: { retries: 0 } });
    const max = 50_000;
    globalThis.gc?.();
    const heap0 = process.memoryUsage().heapUsed;
    const w = new BufferedWriter({ store: down, maxBufferedPoints: max, flushIntervalMs: 100, retry: { initialMs: 20, maxMs: 200 } });
    let peakBuffered = 0;
    let peakHeap = 0;
    for (let i = 0; i < 20; i++) {
      w.add(makePoints(10_000, i * 10_000)); // 200,000 points offered in all
      await new Promise((r) => setTimeout(r, 20));
      peakBuffered = Math.max(peakBuffered, w.health().pointsBuffered);
      peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed - heap0);
    }
    const h = w.health();
    await w.close();
    await down.close();
    rows.push({ suite: 'store', name: 'BufferedWriter peak buffered points, TSDB down, 200k offered', value: peakBuffered, unit: 'points', target: `<= maxBufferedPoints (${max})` });
    rows.push({ suite: 'store', name: 'BufferedWriter points dropped (oldest), TSDB down', value: h.pointsDropped, unit: 'points' });
    rows.push({ suite: 'store', name: 'BufferedWriter peak heap growth, TSDB down', value: peakHeap, unit: 'bytes' });
    rows.push(...(await prometheusReads()));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

/** One job's window (load + diagnose, median of 5 after a warm-up) from `store`; also the number of store queries. */
async function oneJob(store: MetricStore): Promise<{ ms: number; queries: number; rootCause: string }> {
  const rules = loadRules();
  const steps = 90;
  const end = JOB_T0 + (steps - 1) * 10_000;
  const load = (s: MetricStore) => loadJobWindow(s, 'bench-job', JOB_T0, end, end, { consumerGroup: 'g' });
  await load(store);
  const times: number[] = [];
  let rootCause = '';
  for (let i = 0; i < 5; i++) {
    const t = process.hrtime.bigint();
    rootCause = diagnose(rules, await load(store), { type: 'manual' }).rootCause.kind;
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  times.sort((a, b) => a - b);
  let queries = 0;
  const counting: MetricStore = { ...store, query: (q: SeriesQuery) => (queries++, store.query(q)), tagValues: store.tagValues.bind(store), queryLogs: store.queryLogs.bind(store) };
  await load(counting);
  return { ms: Math.round(times[2]! * 10) / 10, queries, rootCause };
}

/** The 1,000-job sweep from `store` (data written already): total ms, ms diagnosing, findings. */
async function sweep(store: MetricStore, steps: number): Promise<{ ms: number; diagnoseMs: number; findings: number }> {
  const rules = loadRules();
  const end = JOB_T0 + (steps - 1) * 10_000;
  const jobs = Array.from({ length: 1000 }, (_, j) => ({ jobId: `job-${j}`, consumerGroup: `g-${j}` }));
  const t0 = process.hrtime.bigint();
  let diagnoseMs = 0;
  let findings = 0;
  for await (const { windows, error } of windowBatches(store, jobs, 100, { start: JOB_T0, end, now: end }, { stepMs: 10_000 })) {
    if (!windows) throw error;
    const td = process.hrtime.bigint();
    for (const w of windows.values()) findings += diagnose(rules, w, { type: 'sweep' }).findings.length;
    diagnoseMs += Number(process.hrtime.bigint() - td) / 1e6;
  }
  return { ms: Math.round(Number(process.hrtime.bigint() - t0) / 1e6), diagnoseMs: Math.round(diagnoseMs), findings };
}

/** The Prometheus read path against the embedded store, on the same points (see the module comment). */
async function prometheusReads(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const prom = await startPrometheus({ remoteWriteReceiver: true });
  const embedded = await createEmbeddedStore({ path: ':memory:', retentionDays: 0 });
  const routed = createPrometheusRoutedStore({
    prometheus: createPrometheusStore({ url: prom.url, remoteWrite: true }),
    local: await createEmbeddedStore({ path: ':memory:', retentionDays: 0 }),
    remoteWrite: 'job-metrics',
  });
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  try {
    const one = jobPoints('bench-job');
    await embedded.write(one);
    await routed.write(one);
    // interleaved rounds (the machine is shared: its load moves between runs), medians reported
    const e: Array<Awaited<ReturnType<typeof oneJob>>> = [];
    const p: Array<Awaited<ReturnType<typeof oneJob>>> = [];
    for (let i = 0; i < 3; i++) {
      e.push(await oneJob(embedded));
      p.push(await oneJob(routed));
    }
    rows.push({ suite: 'store', name: `one job's window (10 vertices × 8 subtasks, 15 min) loaded + diagnosed: embedded store (${e[0]!.queries} queries, ${e[0]!.rootCause}; median of 3 rounds)`, value: median(e.map((x) => x.ms)), unit: 'ms', target: '< 200 ms' });
    rows.push({ suite: 'store', name: `the same from Prometheus 2.42 + embedded (${p[0]!.queries} store queries, ${p[0]!.rootCause}; rounds interleaved)`, value: median(p.map((x) => x.ms)), unit: 'ms', target: '< 200 ms' });

    const steps = 4;
    let written = 0;
    let promNs = 0n;
    for (let j = 0; j < 1000; j++) {
      const pts = jobPoints(`job-${j}`, steps, `g-${j}`);
      written += pts.length;
      await embedded.write(pts);
      const t = process.hrtime.bigint();
      await routed.write(pts);
      promNs += process.hrtime.bigint() - t;
    }
    rows.push({ suite: 'store', name: `Prometheus 2.42 remote write through the routed store (${written} points of 1,000 jobs, snappy protobuf; the lag points to the embedded store)`, value: Math.round(written / (Number(promNs) / 1e9)), unit: 'points/s' });
    const se: Array<Awaited<ReturnType<typeof sweep>>> = [];
    const sp: Array<Awaited<ReturnType<typeof sweep>>> = [];
    for (let i = 0; i < 3; i++) {
      se.push(await sweep(embedded, steps));
      sp.push(await sweep(routed, steps));
    }
    rows.push({ suite: 'store', name: `sweep of 1,000 jobs × 10 vertices × 8 subtasks, embedded store (${se[0]!.findings} findings; median of 3: ${se.map((x) => x.ms).join(', ')} ms)`, value: median(se.map((x) => x.ms)), unit: 'ms', target: '< 5000 ms' });
    rows.push({ suite: 'store', name: `the same sweep from Prometheus 2.42 + embedded (${sp[0]!.findings} findings; median of 3, interleaved: ${sp.map((x) => x.ms).join(', ')} ms)`, value: median(sp.map((x) => x.ms)), unit: 'ms', target: '< 5000 ms' });
    rows.push({ suite: 'store', name: 'of which diagnosing, median of the 6 sweeps', value: median([...se, ...sp].map((x) => x.diagnoseMs)), unit: 'ms' });
  } finally {
    await routed.close();
    await embedded.close();
    await prom.close();
  }
  return rows;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const rows = await run();
  for (const r of rows) process.stdout.write(`${r.suite}\t${r.name}\t${r.value}\t${r.unit}${r.target ? `\t(target ${r.target})` : ''}\n`);
}
