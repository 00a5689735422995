/**
 * Child process of bench/api-load.ts: the server of `streamtune serve` (control plane with its
 * collector, alerter, diagnoser sweeps and tuner, the API on a free loopback port) over a temporary
 * data dir and an embedded DuckDB file, knowing `STREAMTUNE_BENCH_LOAD_JOBS` (default 1,000) fleet
 * jobs plus `BUNDLED` small running bundled jobs (so that the real collector has jobs to collect).
 *
 * The fleet jobs are listed by an extra catalog (`createControlPlane`'s `extraCatalogs`), as a Flink
 * cluster's jobs would be; their metrics are written into the store every collection interval (5 s,
 * the collector's default) by this process, in the measurements and tags the Flink collection writes
 * (docs/FLINK-CONTRACT.md): per job 4 vertices (7 subtasks) × 5 task metrics, source record counters,
 * lag, committed offset and lag in seconds of 4 partitions, 2 JobManager metrics: 55 points per job
 * per round. Before serving, `HISTORY_MIN` (default 30) minutes of history at a 10 s step are written,
 * then one sweep runs (its diagnoses are what the diagnoses route lists). One job in 10 has growing
 * lag, one in 7 a busy bottleneck vertex, so sweeps find problems.
 *
 * stdout: one JSON line `{ url, jobIds, setup }` when ready, then one JSON line `{ stats }` every
 * 10 s (event-loop utilisation, heap, sweeps finished, store write time of the fleet rounds). SIGTERM
 * closes it. Env: STREAMTUNE_BENCH_LOAD_JOBS, STREAMTUNE_BENCH_LOAD_HISTORY_MIN,
 * STREAMTUNE_BENCH_LOAD_SWEEP_CRON (default serve's every 5 min: a 60 s run may see none; an
 * every-minute sweep of 1,000 jobs ran back to back on the loaded machine, see BENCHMARKS.md),
 * STREAMTUNE_BENCH_LOAD_CPU_PROFILE (a file: a .cpuprofile of this process during the load, written at SIGTERM),
 * STREAMTUNE_STORE_HEAD_MINUTES (the embedded store's in-memory head; 0 turns it off; its size and
 * hits are in the stats lines as `head`).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { silentLogger, type Logger, type LogMeta, type MetricPoint } from '../core/index.ts';
import { createApp, createAuth, listen } from '../dashboards/index.ts';
import { createControlPlane, jobSummary, lagSeries, loadConfig, metricSeries } from '../control-plane/index.ts';
import type { JobCatalog, ManagedJob, TopologyVertex } from '../platform/index.ts';
import type { EmbeddedStore } from '../collector/index.ts';

const JOBS = Number(process.env.STREAMTUNE_BENCH_LOAD_JOBS ?? 1000);
const HISTORY_MIN = Number(process.env.STREAMTUNE_BENCH_LOAD_HISTORY_MIN ?? 30);
const SWEEP_CRON = process.env.STREAMTUNE_BENCH_LOAD_SWEEP_CRON ?? '*/5 * * * *';
const BUNDLED = 5;
const INTERVAL_MS = 5_000;
const HISTORY_STEP_MS = 10_000;
const PARTITIONS = 4;

/** Vertices of every fleet job: id, name, parallelism. */
const VERTICES = [
  { id: 'a0000000000000000000000000000001', name: 'Source: events', p: 2 },
  { id: 'a0000000000000000000000000000002', name: 'parse', p: 2 },
  { id: 'a0000000000000000000000000000003', name: 'window-agg', p: 2 },
  { id: 'a0000000000000000000000000000004', name: 'Sink: out', p: 1 },
] as const;

const hex = (n: number) => n.toString(16).padStart(32, '0');
const topology: TopologyVertex[] = VERTICES.map((v, k) => ({
  id: v.id, name: v.name, parallelism: v.p, maxParallelism: 128, inputs: k === 0 ? [] : [VERTICES[k - 1]!.id],
  ...(k === 0 ? { partitions: PARTITIONS } : { keyedInput: k === 2 }),
}));
const started = Date.now() - HISTORY_MIN * 60_000 - 60_000;
const fleet: ManagedJob[] = Array.from({ length: JOBS }, (_, j) => ({
  job_id: hex(0xf1ee7000000 + j), name: `fleet-${String(j).padStart(4, '0')}`, executor: 'flink', state: 'RUNNING',
  consumerGroup: `fleet-${j}`, topics: [`events-${j}`], topology, startedAt: started, runningSince: started,
  checkpointing: { interval: 60_000, timeout: 600_000, minPause: 0, unaligned: false },
}));
const byId = new Map(fleet.map((j) => [j.job_id, j]));
const refuse = (): Promise<never> => Promise.reject(new Error('fleet jobs are read-only in this benchmark'));
/** The fleet as a catalog: listed, never changed. */
const fleetCatalog: JobCatalog = {
  list: () => fleet,
  get: (id) => byId.get(id),
  submit: refuse, triggerSavepoint: refuse, stop: refuse,
  onChange: () => () => {},
};

/** One collection round of job `j` at `t` (ms): what the Flink collection and the lag collector write. */
function roundPoints(j: number, t: number, out: MetricPoint[]): void {
  const job = fleet[j]!;
  const min = (t - started) / 60_000;
  const lagging = j % 10 === 0;
  const bottleneck = j % 7 === 0;
  const rate = 100 + (j % 50);
  const jm = { host: 'jm-1', job_id: job.job_id, job_name: job.name };
  out.push({ measurement: 'jobmanager_job_numRestarts', tags: jm, fields: { value: 0 }, timestamp: t });
  out.push({ measurement: 'jobmanager_job_lastCheckpointDuration', tags: jm, fields: { value: 800 + (j % 400) }, timestamp: t });
  for (let p = 0; p < PARTITIONS; p++) {
    const tags = { group: job.consumerGroup!, topic: job.topics![0]!, partition: String(p) };
    const lag = Math.round(lagging ? 500 + min * 2000 : 50 + 40 * Math.abs(Math.sin(t / 60_000 + p + j)));
    out.push({ measurement: 'streamtune_kafka_partition_lag', tags, fields: { value: lag }, intFields: ['value'], timestamp: t });
    out.push({ measurement: 'streamtune_kafka_partition_committedOffset', tags, fields: { value: Math.round(min * 60 * rate / PARTITIONS) }, intFields: ['value'], timestamp: t });
    out.push({ measurement: 'streamtune_kafka_partition_lagSeconds', tags, fields: { value: lag / (rate / PARTITIONS) }, timestamp: t });
  }
  VERTICES.forEach((v, k) => {
    for (let s = 0; s < v.p; s++) {
      const tags = { ...jm, tm_id: `tm-${(j + s) % 50}`, task_id: v.id, task_name: v.name, subtask_index: String(s) };
      const busy = bottleneck && k === 2 ? 960 : 150 + ((j * 7 + k * 31 + s * 13) % 300);
      const bp = bottleneck && k < 2 ? 500 : 0;
      out.push({ measurement: 'taskmanager_job_task_numRecordsInPerSecond', tags, fields: { rate: rate / v.p }, timestamp: t });
      out.push({ measurement: 'taskmanager_job_task_numRecordsOutPerSecond', tags, fields: { rate: rate / v.p }, timestamp: t });
      out.push({ measurement: 'taskmanager_job_task_busyTimeMsPerSecond', tags, fields: { value: busy }, timestamp: t });
      out.push({ measurement: 'taskmanager_job_task_backPressuredTimeMsPerSecond', tags, fields: { value: bp }, timestamp: t });
      out.push({ measurement: 'taskmanager_job_task_idleTimeMsPerSecond', tags, fields: { value: Math.max(0, 1000 - busy - bp) }, timestamp: t });
      if (k === 0) out.push({ measurement: 'taskmanager_job_task_numRecordsOut', tags, fields: { count: Math.round(((t - started) / 1000) * (rate / v.p)) }, intFields: ['count'], timestamp: t });
    }
  });
}

/** Keeps the few log lines counted here (sweeps done, warnings, errors), nothing else. */
const counts = { sweeps: 0, sweepAt: [] as number[], warnings: 0, errors: 0, lastWarning: '' };
const countingLogger: Logger = {
  debug() {},
  info(msg: string) {
    if (msg === 'sweep done') {
      counts.sweeps++;
      counts.sweepAt.push(Date.now());
      if (counts.sweepAt.length > 10) counts.sweepAt.shift();
    }
  },
  warn(msg: string, meta?: LogMeta) { counts.warnings++; counts.lastWarning = `${msg} ${JSON.stringify(meta ?? {}).slice(0, 300)}`; },
  error(msg: string, meta?: LogMeta) { counts.errors++; counts.lastWarning = `${msg} ${JSON.stringify(meta ?? {}).slice(0, 300)}`; },
  namespace() { return countingLogger; },
  child() { return countingLogger; },
};

const dir = mkdtempSync(join(tmpdir(), 'streamtune-bench-load-'));
const config = loadConfig({
  // STREAMTUNE_STORE_HEAD_MINUTES (0: the embedded store without its in-memory head, for comparison)
  env: process.env.STREAMTUNE_STORE_HEAD_MINUTES !== undefined ? { STREAMTUNE_STORE_HEAD_MINUTES: process.env.STREAMTUNE_STORE_HEAD_MINUTES } : {},
  overrides: { dataDir: dir, server: { port: 0, apiToken: 'bench-token-0123456789abcdef' } },
  defaults: { rules: { watch: false }, diagnoser: { sweepCron: SWEEP_CRON } },
});
const setup: Record<string, number> = {};
let t = performance.now();
const cp = await createControlPlane(config, { logger: countingLogger, extraCatalogs: [fleetCatalog] });
for (let i = 0; i < BUNDLED; i++) {
  await cp.catalog.submit(`
name: bundled-${i}
checkpoints: { interval: 60s, timeout: 60s, retained: 1 }
vertices:
  - { name: events, type: generator-source, rate: 20, keys: 10, splits: 4, parallelism: 2 }
  - { name: work, type: map, parallelism: 2 }
  - { name: out, type: discard-sink, parallelism: 1 }
edges:
  - { from: events, to: work, partitioning: rebalance }
  - { from: work, to: out }
`, { source: `bundled-${i}.yaml` });
}
setup.startMs = Math.round(performance.now() - t);

// history: HISTORY_MIN minutes at a 10 s step, one store write per round of every job
t = performance.now();
const now0 = Date.now();
let historyPoints = 0;
for (let ts = now0 - HISTORY_MIN * 60_000; ts < now0; ts += HISTORY_STEP_MS) {
  const pts: MetricPoint[] = [];
  for (let j = 0; j < JOBS; j++) roundPoints(j, ts, pts);
  historyPoints += pts.length;
  await cp.store.write(pts);
  if (historyPoints % (pts.length * 30) === 0) process.stderr.write(`api-load child: history ${Math.round((ts - now0) / 60_000)} min, ${historyPoints} points, ${Math.round(performance.now() - t)} ms\n`);
}
setup.historyPoints = historyPoints;
setup.historyWriteMs = Math.round(performance.now() - t);

// where the time goes: each read alone (no load, no collection round, no sweep), median of 5, ms: the store statement of one
// job's series over the page's ranges, and a job's summary (lag and throughput now)
const probeJob = fleet[1]!;
const median5 = async (fn: () => Promise<unknown>): Promise<number> => {
  const xs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const s = performance.now();
    await fn();
    xs.push(performance.now() - s);
  }
  return Math.round(xs.sort((a, b) => a - b)[2]! * 10) / 10;
};
for (const [label, ms, step] of [['5m', 5 * 60_000, 5_000], ['15m', 15 * 60_000, 10_000], ['1h', 60 * 60_000, 30_000]] as const) {
  const n = Date.now();
  setup[`aloneLag${label}Ms`] = await median5(() => lagSeries(cp, probeJob, n - ms, n, step));
  setup[`aloneMetrics${label}Ms`] = await median5(() => metricSeries(cp, probeJob, 'busy', 'vertex', n - ms, n, step));
}
setup.aloneSummaryMs = await median5(() => jobSummary(cp, probeJob, Date.now()));

// the fleet's collection rounds from now on, every 5 s
const rounds = { n: 0, writeMs: 0, maxWriteMs: 0, points: 0 };
let writing = false;
const collect = async (): Promise<void> => {
  if (writing) return; // a round still writing: skip this one, as a collector's round overruns
  writing = true;
  try {
    const ts = Date.now();
    const pts: MetricPoint[] = [];
    for (let j = 0; j < JOBS; j++) roundPoints(j, ts, pts);
    const w = performance.now();
    await cp.store.write(pts);
    const ms = performance.now() - w;
    rounds.n++;
    rounds.writeMs += ms;
    rounds.maxWriteMs = Math.max(rounds.maxWriteMs, ms);
    rounds.points += pts.length;
  } finally {
    writing = false;
  }
};
await collect();
const collector = setInterval(() => void collect().catch((err: unknown) => { counts.errors++; counts.lastWarning = String(err); }), INTERVAL_MS);

process.stderr.write(`api-load child: history written, ${historyPoints} points in ${setup.historyWriteMs} ms; first sweep...\n`);
// one sweep before serving (the server has been running: its diagnoses exist)
t = performance.now();
const made = await cp.diagnoser.sweep();
setup.firstSweepMs = Math.round(performance.now() - t);
setup.firstSweepDiagnoses = made.length;
setup.firstSweepWithFindings = made.filter((d) => d.findings.length > 0).length;


process.stderr.write(`api-load child: ${JSON.stringify(setup)}\n`);
const auth = createAuth({ token: config.server.apiToken! });
const http = await listen(createApp(cp, { auth, baseUrl: 'http://127.0.0.1', logger: silentLogger }), 0, '127.0.0.1');
const jobIds = cp.jobs.list().map((j) => j.job_id);
// STREAMTUNE_BENCH_LOAD_CPU_PROFILE=<file>: a CPU profile of this process from now until SIGTERM (the load only, not the setup)
const profileFile = process.env.STREAMTUNE_BENCH_LOAD_CPU_PROFILE;
const profiler = profileFile ? new Session() : undefined;
if (profiler) {
  profiler.connect();
  await profiler.post('Profiler.enable');
  await profiler.post('Profiler.start');
}
process.stdout.write(`${JSON.stringify({ url: http.url, jobIds, setup })}\n`);

let elu = performance.eventLoopUtilization();
const stats = setInterval(() => {
  const e = performance.eventLoopUtilization(elu);
  elu = performance.eventLoopUtilization();
  const m = process.memoryUsage();
  process.stdout.write(`${JSON.stringify({ stats: { at: Date.now(), elu: e.utilization, rss: m.rss, heapUsed: m.heapUsed, external: m.external, sweeps: counts.sweeps, sweepAt: counts.sweepAt, warnings: counts.warnings, errors: counts.errors, lastWarning: counts.lastWarning, rounds: rounds.n, roundPoints: rounds.points, roundWriteMsMean: rounds.n ? rounds.writeMs / rounds.n : 0, roundWriteMsMax: rounds.maxWriteMs, head: 'headStats' in cp.store ? (cp.store as EmbeddedStore).headStats() : null } })}\n`);
}, 10_000);

process.on('SIGTERM', () => {
  clearInterval(collector);
  clearInterval(stats);
  if (profiler) {
    void profiler.post('Profiler.stop').then(({ profile }) => writeFileSync(profileFile!, JSON.stringify(profile)));
  }
  void http.close(1000).then(() => cp.close()).finally(() => {
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  });
});
