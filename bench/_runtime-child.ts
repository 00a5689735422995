/**
 * One measured run of the runtime benchmark, in its own process so that peak RSS and the dataset
 * cache belong to that run alone. Spawned by bench/runtime.ts:
 *   node --import tsx bench/_runtime-child.ts MODE [ARG]
 * MODE: `flights P` (the flights job, delay-by-origin parallelism P), `stateless`, `plain`
 * (the same aggregation as a Node.js stream pipeline), `savepoint KEYS`, `cpu P` (a CPU-bound map
 * at parallelism P on 2 TaskManagers), `busy` (busy time of a no-fault filter next to a CPU-bound map).
 * Prints one JSON line `{"result": {...}}` on stdout as its last line: counts, wall ms, maxRSS bytes.
 */
import { createHash } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { parse } from 'csv-parse/sync';
import { LocalJob, type JobOptions } from '../runtime/job.ts';
import { readCheckpoint } from '../runtime/checkpoint/storage.ts';
import type { KeyGroupBlock } from '../runtime/operators/window-state.ts';
import { loadJobSpec, type JobSpec } from '../runtime/spec.ts';
import { resolveDataPath } from '../runtime/paths.ts';

const FLIGHTS_SPEC = fileURLToPath(new URL('../jobs/flight-delays.yaml', import.meta.url));
const CHECKPOINT_INTERVAL_MS = 10_000;
const METRICS_INTERVAL_MS = 5_000;

/** Result of one run: everything the parent turns into rows. */
export interface ChildResult {
  mode: string;
  /** records read by the source(s) */
  records?: number;
  /** ms, start() → done() (or the whole pipeline) */
  wallMs?: number;
  /** bytes, peak resident set size of this process */
  maxRssBytes: number;
  checkpoints?: number;
  metricPolls?: number;
  outputRecords?: number;
  /** sha-256 prefix of the sorted output lines */
  outputDigest?: string;
  savepointBytes?: number;
  keysInState?: number;
  stopMs?: number;
  restoreMs?: number;
  downtimeMs?: number;
  /** ms from the stopWithSavepoint call to the last record processed before the stop */
  lastRecordAfterStopCallMs?: number;
  /** ms from new LocalJob to start() resolved (state restored) */
  restoreStartedMs?: number;
  /** ms, trigger → savepoint written (the coordinator's duration) */
  savepointDurationMs?: number;
  checkpointsBeforeStop?: number;
  /** `busy`: mean busy time of the vertices, ms/s */
  busyMsPerSecond?: Record<string, number>;
  /** `busy`: mean back-pressured time of the vertices, ms/s */
  backPressuredMsPerSecond?: Record<string, number>;
}

function peakRss(): number {
  return process.resourceUsage().maxRSS * 1024; // maxRSS is in KiB
}

/** Sums numRecordsIn of a vertex's subtasks. */
function recordsIn(job: LocalJob, vertex: string): number {
  let n = 0;
  for (const s of job.currentSubtasks()) if (s.vertex === vertex) n += s.metrics.numRecordsIn;
  return n;
}

/** Runs a job to its end with checkpoints every 10 s and a metric pull every 5 s (as the collector). */
async function runJob(spec: JobSpec, opts: JobOptions, sourceVertex: string): Promise<{ records: number; wallMs: number; checkpoints: number; metricPolls: number }> {
  const job = new LocalJob(spec, { ...opts, checkpoints: { interval: CHECKPOINT_INTERVAL_MS } });
  let metricPolls = 0;
  const t0 = performance.now();
  await job.start();
  const poll = setInterval(() => {
    job.metricPoints();
    metricPolls++;
  }, METRICS_INTERVAL_MS);
  const res = await job.done();
  const wallMs = performance.now() - t0;
  clearInterval(poll);
  if (res.state !== 'FINISHED') throw new Error(`job ${spec.name} ended ${res.state}: ${res.error?.message ?? ''}`);
  return { records: recordsIn(job, sourceVertex), wallMs, checkpoints: job.stats.numberOfCompletedCheckpoints, metricPolls };
}

/** Output lines and a digest of them in sorted order (equal digests = the same result set). */
function outputOf(files: string[]): { lines: number; digest: string } {
  const all: string[] = [];
  for (const f of files) for (const l of readFileSync(f, 'utf8').split('\n')) if (l) all.push(l);
  all.sort();
  const h = createHash('sha256');
  for (const l of all) h.update(l).update('\n');
  return { lines: all.length, digest: h.digest('hex').slice(0, 16) };
}

async function flights(parallelism: number, tmp: string): Promise<ChildResult> {
  const spec = loadJobSpec(FLIGHTS_SPEC);
  const out = join(tmp, 'out');
  const r = await runJob(spec, { parallelism: { 'delay-by-origin': parallelism }, outputDirs: { results: out } }, 'flights');
  const o = outputOf(readdirSync(out).filter((f) => f.endsWith('.jsonl')).map((f) => join(out, f)));
  return { mode: `flights-${parallelism}`, ...r, outputRecords: o.lines, outputDigest: o.digest, maxRssBytes: peakRss() };
}

async function stateless(): Promise<ChildResult> {
  const flightsSpec = loadJobSpec(FLIGHTS_SPEC);
  const src = flightsSpec.vertices.find((v) => v.name === 'flights')!;
  const spec: JobSpec = {
    name: 'flights-map-filter',
    maxParallelism: 128,
    baseDir: flightsSpec.baseDir,
    vertices: [
      { ...src },
      { name: 'hours', type: 'map', set: { delayHours: 'delay / 60' } },
      { name: 'delayed', type: 'filter', condition: 'delay > 15' },
      { name: 'discard', type: 'discard-sink' },
    ],
    edges: [
      { from: 'flights', to: 'hours', partitioning: 'forward' },
      { from: 'hours', to: 'delayed', partitioning: 'forward' },
      { from: 'delayed', to: 'discard', partitioning: 'forward' },
    ],
  } as JobSpec;
  const r = await runJob(spec, {}, 'flights');
  return { mode: 'stateless', ...r, maxRssBytes: peakRss() };
}

/**
 * The flights aggregation as a plain Node.js stream pipeline: a DuckDB query over the same parquet
 * file, the same columns in the same event-time order as the runtime's dataset loader, read chunk by
 * chunk as JS values into an objectMode Readable → enrich Transform (airports.csv map) → 1 h tumbling
 * window per origin (fired when event time passes the window end) → JSONL file Writable. (The
 * runtime's loader asks DuckDB for dictionary codes of the string columns instead of strings; that
 * is the runtime's own optimisation, so the baseline keeps the idiomatic row-by-row read.)
 */
async function plain(tmp: string): Promise<ChildResult> {
  const spec = loadJobSpec(FLIGHTS_SPEC);
  const baseDir = spec.baseDir!;
  const file = resolveDataPath('pkg:vega-datasets/data/flights-3m.parquet', baseDir);
  const airportsFile = resolveDataPath('pkg:vega-datasets/data/airports.csv', baseDir);
  const size = 3_600_000;
  const t0 = performance.now();

  const instance = await DuckDBInstance.create(':memory:');
  const con = await instance.connect();
  // event time as epoch ms, numbers as DOUBLE, strings as is, in event-time order (the loader's columns)
  const sql =
    `SELECT CAST(epoch_ms(CAST("date" AS TIMESTAMP)) AS DOUBLE), CAST("delay" AS DOUBLE), CAST("distance" AS DOUBLE), "origin", "destination" ` +
    `FROM read_parquet('${file.replace(/'/g, "''")}') ORDER BY "date"`;
  const result = await con.stream(sql);
  let records = 0;
  let reading = false;
  const source = new Readable({
    objectMode: true,
    highWaterMark: 4096,
    read() {
      if (reading) return;
      reading = true;
      void (async () => {
        try {
          for (;;) {
            const chunk = await result.fetchChunk();
            if (!chunk || chunk.rowCount === 0) {
              this.push(null);
              return;
            }
            const cols = chunk.getColumns();
            const [date, delay, distance, origin, destination] = cols as [unknown[], unknown[], unknown[], unknown[], unknown[]];
            const n = chunk.rowCount;
            let more = true;
            for (let i = 0; i < n; i++) {
              records++;
              more = this.push({
                date: Number(date[i]),
                delay: delay[i] === null ? null : Number(delay[i]),
                distance: distance[i] === null ? null : Number(distance[i]),
                origin: origin[i] ?? null,
                destination: destination[i] ?? null,
              });
            }
            if (!more) return; // resume on the next read()
          }
        } catch (err) {
          this.destroy(err as Error);
        } finally {
          reading = false;
        }
      })();
    },
  });

  const airports = new Map<string, Record<string, string>>();
  for (const r of parse(readFileSync(airportsFile), { columns: true, skip_empty_lines: true, bom: true }) as Record<string, string>[]) airports.set(r.iata!, r);
  const enrich = new Transform({
    objectMode: true,
    highWaterMark: 4096,
    transform(r: Record<string, unknown>, _enc, cb) {
      const row = airports.get(String(r.origin));
      r.originCity = row ? (row.city ?? null) : null;
      r.originState = row ? (row.state ?? null) : null;
      cb(null, r);
    },
  });

  interface Acc { count: number; sum: number; n: number }
  const windows = new Map<number, Map<unknown, Acc>>();
  let nextEnd = Number.POSITIVE_INFINITY;
  const fire = (push: (o: unknown) => void, upTo: number) => {
    const due = [...windows.keys()].filter((s) => s + size <= upTo).sort((a, b) => a - b);
    for (const start of due) {
      const byKey = windows.get(start)!;
      windows.delete(start);
      const keys = [...byKey.keys()].sort((a, b) => (String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0));
      const ws = new Date(start).toISOString();
      const we = new Date(start + size).toISOString();
      for (const k of keys) {
        const a = byKey.get(k)!;
        push({ origin: k, windowStart: ws, windowEnd: we, count: a.count, sumDelay: a.sum, avgDelay: a.n > 0 ? a.sum / a.n : null });
      }
    }
    nextEnd = Number.POSITIVE_INFINITY;
    for (const s of windows.keys()) nextEnd = Math.min(nextEnd, s + size);
  };
  const aggregate = new Transform({
    objectMode: true,
    highWaterMark: 4096,
    transform(r: Record<string, unknown>, _enc, cb) {
      const t = r.date as number;
      if (t >= nextEnd) fire((o) => this.push(o), t);
      const start = t - (((t % size) + size) % size);
      let byKey = windows.get(start);
      if (!byKey) {
        windows.set(start, (byKey = new Map()));
        nextEnd = Math.min(nextEnd, start + size);
      }
      const key = r.origin ?? null;
      let a = byKey.get(key);
      if (!a) byKey.set(key, (a = { count: 0, sum: 0, n: 0 }));
      a.count++;
      const d = r.delay;
      if (typeof d === 'number' && Number.isFinite(d)) {
        a.sum += d;
        a.n++;
      }
      cb();
    },
    flush(cb) {
      fire((o) => this.push(o), Number.POSITIVE_INFINITY);
      cb();
    },
  });

  const outFile = join(tmp, 'plain.jsonl');
  const fd = openSync(outFile, 'w');
  let outputRecords = 0;
  let pendingText = '';
  const sink = new Writable({
    objectMode: true,
    highWaterMark: 4096,
    write(o: unknown, _enc, cb) {
      pendingText += `${JSON.stringify(o)}\n`;
      outputRecords++;
      if (pendingText.length > 1 << 20) {
        writeSync(fd, pendingText);
        pendingText = '';
      }
      cb();
    },
    final(cb) {
      if (pendingText) writeSync(fd, pendingText);
      closeSync(fd);
      cb();
    },
  });

  await pipeline(source, enrich, aggregate, sink);
  const wallMs = performance.now() - t0;
  con.closeSync();
  instance.closeSync();
  const o = outputOf([outFile]);
  if (o.lines !== outputRecords) throw new Error(`plain pipeline wrote ${outputRecords} records but ${outFile} has ${o.lines} lines`);
  return { mode: 'plain', records, wallMs, outputRecords, outputDigest: o.digest, maxRssBytes: peakRss() };
}

async function savepoint(keys: number, tmp: string): Promise<ChildResult> {
  const spec: JobSpec = {
    name: 'savepoint-1m-keys',
    maxParallelism: 128,
    checkpoints: { dir: join(tmp, 'checkpoints') },
    vertices: [
      { name: 'gen', type: 'generator-source', rate: 0, keys, count: Math.round(3.2 * keys), splits: 4 },
      { name: 'agg', type: 'window-aggregate', key: 'key', size: '1000d', aggregations: { count: 'count', total: 'sum(value)' } },
      { name: 'discard', type: 'discard-sink' },
    ],
    edges: [
      { from: 'gen', to: 'agg', partitioning: 'hash', key: 'key' },
      { from: 'agg', to: 'discard', partitioning: 'forward' },
    ],
  } as JobSpec;
  const job = new LocalJob(spec, { checkpoints: { interval: CHECKPOINT_INTERVAL_MS } });
  await job.start();
  const poll = setInterval(() => job.metricPoints(), METRICS_INTERVAL_MS);
  // uniform keys: after n records K·(1 − e^(−n/K)) distinct keys are in state; stop at n = 3 K (95 %),
  // before the source (count 3.2 K) runs dry
  const stopAt = 3 * keys;
  while (recordsIn(job, 'agg') < stopAt) {
    if (job.state !== 'RUNNING') throw new Error(`job ended (${job.state}) before ${stopAt} records reached the window`);
    await sleep(20);
  }
  // downtime clock: every batch a window subtask processes bumps its numRecordsIn; an accessor on
  // those counters timestamps the last batch before the stop and the first one after the restore
  let lastRecordAt = performance.now();
  const lastIn = watchRecordsIn(job, 'agg', () => (lastRecordAt = performance.now()));
  const tStop = performance.now();
  const sp = await job.stopWithSavepoint(join(tmp, 'savepoints'));
  await job.done();
  const stopMs = performance.now() - tStop;
  clearInterval(poll);
  const finalIn = lastIn();
  const tRestore = performance.now();
  const job2 = new LocalJob(spec, { fromSavepoint: sp.path, checkpoints: { interval: CHECKPOINT_INTERVAL_MS } });
  let firstAfter = 0;
  let startedMs = 0;
  const first = new Promise<void>((resolve) => {
    void job2.start().then(() => {
      startedMs = performance.now() - tRestore;
      const now = performance.now();
      if (recordsIn(job2, 'agg') > 0) {
        firstAfter = now;
        resolve();
        return;
      }
      watchRecordsIn(job2, 'agg', () => {
        if (firstAfter === 0) firstAfter = performance.now();
        resolve();
      });
    });
  });
  await first;
  const restoreMs = firstAfter - tRestore;
  await job2.cancel();
  const keysInState = countKeys(sp.path);
  return {
    mode: 'savepoint',
    savepointBytes: sp.size,
    keysInState,
    stopMs,
    restoreMs,
    downtimeMs: firstAfter - lastRecordAt,
    lastRecordAfterStopCallMs: lastRecordAt - tStop,
    restoreStartedMs: startedMs,
    savepointDurationMs: sp.duration,
    checkpointsBeforeStop: job.stats.numberOfCompletedCheckpoints,
    records: finalIn,
    maxRssBytes: peakRss(),
  };
}

/** Calls `onBatch` whenever numRecordsIn of a vertex's subtasks grows; returns a reader of their sum. */
function watchRecordsIn(job: LocalJob, vertex: string, onBatch: () => void): () => number {
  const tasks = job.currentSubtasks().filter((s) => s.vertex === vertex);
  for (const t of tasks) {
    let v = t.metrics.numRecordsIn;
    Object.defineProperty(t.metrics, 'numRecordsIn', {
      configurable: true,
      enumerable: true,
      get: () => v,
      set: (x: number) => {
        if (x > v) onBatch();
        v = x;
      },
    });
  }
  return () => tasks.reduce((n, t) => n + t.metrics.numRecordsIn, 0);
}

function countKeys(path: string): number {
  const meta = readCheckpoint(path);
  let n = 0;
  for (const st of meta.vertices.agg?.subtasks ?? []) {
    for (const [, s] of st?.keyed ?? []) {
      // format 1: an array of per-key tuples; format 2: columns per window group (window-state.ts)
      if (Array.isArray(s)) n += s.length;
      else for (const g of (s as KeyGroupBlock).g) n += g.k !== undefined ? g.k.split('\u0000').length : (g.ka ?? []).length;
    }
  }
  return n;
}

/** Records and ms of CPU per record of the `cpu` mode: 3 s of CPU work in total. */
const CPU_RECORDS = 15_000;
const CPU_MS = 0.2;

/**
 * A CPU-bound vertex: generator (bounded, as fast as possible) → map burning {@link CPU_MS} ms per
 * record at `parallelism` → keyed count → discard, on 2 TaskManagers. Wall time from start()
 * resolved (the worker TaskManager is up) to done().
 */
async function cpu(parallelism: number, tmp: string): Promise<ChildResult> {
  const spec: JobSpec = {
    name: 'cpu-bound',
    taskManagers: 2,
    checkpoints: { dir: join(tmp, 'checkpoints') },
    vertices: [
      { name: 'gen', type: 'generator-source', rate: 0, keys: 1000, count: CPU_RECORDS, splits: 4 },
      { name: 'parse', type: 'map', parallelism, faults: { cpuMs: CPU_MS } },
      { name: 'count', type: 'window-aggregate', key: 'key', size: '1h', aggregations: { n: 'count' } },
      { name: 'discard', type: 'discard-sink' },
    ],
    edges: [
      { from: 'gen', to: 'parse', partitioning: 'rebalance' },
      { from: 'parse', to: 'count', partitioning: 'hash', key: 'key' },
      { from: 'count', to: 'discard', partitioning: 'forward' },
    ],
  };
  const job = new LocalJob(spec, { checkpoints: { interval: CHECKPOINT_INTERVAL_MS } });
  await job.start();
  const t0 = performance.now();
  const res = await job.done();
  const wallMs = performance.now() - t0;
  if (res.state !== 'FINISHED') throw new Error(`job ${spec.name} ended ${res.state}: ${res.error?.message ?? ''}`);
  return { mode: `cpu-${parallelism}`, records: recordsIn(job, 'parse'), wallMs, maxRssBytes: peakRss() };
}

/**
 * Busy time of a vertex with no fault next to a CPU-bound one, all on one TaskManager (one event
 * loop): generator at 2,000 records/s → filter → map burning 1 ms per record → keyed count →
 * discard, for 8 s; the mean of each vertex's busy and back-pressured ms/s over the last 5 s
 * (sampled every 500 ms from metricPoints()).
 */
async function busy(tmp: string): Promise<ChildResult> {
  const spec: JobSpec = {
    name: 'busy-next-to-cpu',
    taskManagers: 1,
    checkpoints: { dir: join(tmp, 'checkpoints'), interval: 0 },
    vertices: [
      { name: 'gen', type: 'generator-source', rate: 2000, keys: 100, splits: 4 },
      { name: 'keep', type: 'filter', condition: 'value >= 0' },
      { name: 'parse', type: 'map', faults: { cpuMs: 1 } },
      { name: 'count', type: 'window-aggregate', key: 'key', size: '1h', aggregations: { n: 'count' } },
      { name: 'discard', type: 'discard-sink' },
    ],
    edges: [
      { from: 'gen', to: 'keep' },
      { from: 'keep', to: 'parse' },
      { from: 'parse', to: 'count', partitioning: 'hash', key: 'key' },
      { from: 'count', to: 'discard' },
    ],
  };
  const job = new LocalJob(spec, { metricsWindowMs: 1000 });
  await job.start();
  const sums = new Map<string, { busy: number; bp: number; n: number }>();
  const t0 = performance.now();
  while (performance.now() - t0 < 8000) {
    await sleep(500);
    if (performance.now() - t0 < 3000) continue;
    for (const p of job.metricPoints()) {
      const v = p.tags.task_name;
      if (!v) continue;
      const e = sums.get(v) ?? { busy: 0, bp: 0, n: 0 };
      if (p.measurement === 'taskmanager_job_task_busyTimeMsPerSecond') {
        e.busy += Number(p.fields.value);
        e.n++;
      } else if (p.measurement === 'taskmanager_job_task_backPressuredTimeMsPerSecond') e.bp += Number(p.fields.value);
      sums.set(v, e);
    }
  }
  await job.cancel();
  const busyMs: Record<string, number> = {};
  const bpMs: Record<string, number> = {};
  for (const [v, e] of sums) {
    busyMs[v] = e.n > 0 ? e.busy / e.n : Number.NaN;
    bpMs[v] = e.n > 0 ? e.bp / e.n : Number.NaN;
  }
  return { mode: 'busy', busyMsPerSecond: busyMs, backPressuredMsPerSecond: bpMs, maxRssBytes: peakRss() };
}

const [mode, arg] = process.argv.slice(2);
const tmp = mkdtempSync(join(tmpdir(), 'streamtune-bench-runtime-'));
process.env.STREAMTUNE_DATA_DIR = tmp;
try {
  let r: ChildResult;
  if (mode === 'flights') r = await flights(Number(arg ?? 1), tmp);
  else if (mode === 'stateless') r = await stateless();
  else if (mode === 'plain') r = await plain(tmp);
  else if (mode === 'savepoint') r = await savepoint(Number(arg ?? 1_000_000), tmp);
  else if (mode === 'cpu') r = await cpu(Number(arg ?? 1), tmp);
  else if (mode === 'busy') r = await busy(tmp);
  else throw new Error(`unknown mode ${mode ?? ''}`);
  process.stdout.write(`${JSON.stringify({ result: r })}\n`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
