/**
 * One measured run of the collector benchmark, in its own process (spawned by bench/collector.ts):
 *   node --import tsx bench/_collector-child.ts MODE [ARG...]
 * MODE:
 * - `flights off [LIMIT]`: the flights job (jobs/flight-delays.yaml, no rate) to its end, no collector;
 * - `flights on [LIMIT]`: the same with the collector watching it at the default 5 s interval into a
 *   temporary embedded DuckDB file;
 * - `outage ROUNDS BOUND`: a small generator job watched by a collector whose store is an InfluxDB
 *   URL with nothing listening, `maxBufferedPoints` = BOUND, ROUNDS collection rounds run back to back.
 * LIMIT (rows of the dataset, 0 = all 3,000,000) cuts the flights run to a fixed-length slice.
 * Prints one JSON line `{"result": {...}}` on stdout as its last line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';
import { createCollector } from '../collector/collector.ts';
import { createEmbeddedStore } from '../collector/store/embedded.ts';
import { createInfluxStore } from '../collector/store/influx.ts';
import { LocalJob } from '../runtime/job.ts';
import { loadJobSpec, type JobSpec } from '../runtime/spec.ts';

const FLIGHTS_SPEC = fileURLToPath(new URL('../jobs/flight-delays.yaml', import.meta.url));

/** What one run measured. */
export interface CollectorChildResult {
  mode: string;
  /** records read by the flights source */
  records?: number;
  /** ms, start() → done() */
  wallMs?: number;
  /** collection rounds run */
  rounds?: number;
  /** ms spent in collection rounds and store writes during the run (an upper bound of the collector's main-thread time) */
  collectorMs?: number;
  /** points the store acknowledged */
  pointsWritten?: number;
  /** points waiting in the buffer at the end of the outage rounds */
  pointsBuffered?: number;
  pointsDropped?: number;
  /** the maxBufferedPoints bound used */
  bound?: number;
  /** bytes: RSS after the outage rounds − RSS after a warm-up round (both after a GC when exposed) */
  rssGrowthBytes?: number;
  externalGrowthBytes?: number;
  heapTotalGrowthBytes?: number;
  /** bytes: heap used after the outage rounds − after the warm-up round (after a GC when exposed) */
  heapGrowthBytes?: number;
  /** bytes, peak resident set size of this process */
  maxRssBytes: number;
}

const peakRss = (): number => process.resourceUsage().maxRSS * 1024;

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

async function flights(withCollector: boolean, limit: number, tmp: string): Promise<CollectorChildResult> {
  const spec = loadJobSpec(FLIGHTS_SPEC);
  if (limit > 0) for (const v of spec.vertices) if (v.type === 'dataset-source') v.limit = limit;
  const job = new LocalJob(spec, { outputDirs: { results: join(tmp, 'out') }, checkpoints: { interval: 10_000 } });
  const store = withCollector ? await createEmbeddedStore({ path: join(tmp, 'metrics.duckdb'), retentionDays: 0 }) : undefined;
  let busyMs = 0;
  if (store) {
    // time in store writes (ms, wall: includes DuckDB's own thread, so an upper bound of main-thread time)
    const write = store.write.bind(store);
    store.write = async (points) => {
      const t = performance.now();
      try {
        await write(points);
      } finally {
        busyMs += performance.now() - t;
      }
    };
  }
  const collector = store ? createCollector({ store }) : undefined;
  let rounds = 0;
  const t0 = performance.now();
  await job.start();
  if (collector) {
    collector.watchJob(job);
    const orig = collector.collectOnce.bind(collector);
    collector.collectOnce = async (now?: number) => {
      rounds++;
      const t = performance.now();
      try {
        await orig(now);
      } finally {
        busyMs += performance.now() - t;
      }
    };
    collector.start();
  }
  const res = await job.done();
  const wallMs = performance.now() - t0;
  if (res.state !== 'FINISHED') throw new Error(`flights ended ${res.state}: ${res.error?.message ?? ''}`);
  let records = 0;
  for (const s of job.currentSubtasks()) if (s.vertex === 'flights') records += s.metrics.numRecordsIn;
  let pointsWritten: number | undefined;
  if (collector && store) {
    await collector.collectOnce();
    await collector.stop();
    pointsWritten = collector.health().pointsWritten;
    await store.close();
  }
  return { mode: `flights-${withCollector ? 'on' : 'off'}`, records, wallMs, rounds: collector ? rounds : undefined, pointsWritten, collectorMs: collector ? busyMs : undefined, maxRssBytes: peakRss() };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function outage(rounds: number, bound: number, tmp: string): Promise<CollectorChildResult> {
  const store = await createInfluxStore({ url: `http://127.0.0.1:${await freePort()}`, bucket: 'down', writeApi: 'v1', retry: { retries: 0 }, timeoutMs: 1000 });
  const spec = {
    name: 'collector-outage',
    maxParallelism: 128,
    checkpoints: { interval: 60_000, dir: join(tmp, 'chk') },
    vertices: [
      { name: 'gen', type: 'generator-source', rate: 1000, keys: 100, splits: 4, parallelism: 2 },
      { name: 'work', type: 'map', set: { v2: 'value * 2' }, parallelism: 2 },
      { name: 'out', type: 'discard-sink' },
    ],
    edges: [
      { from: 'gen', to: 'work', partitioning: 'hash', key: 'key' },
      { from: 'work', to: 'out', partitioning: 'forward' },
    ],
  } as JobSpec;
  const job = new LocalJob(spec);
  await job.start();
  const collector = createCollector({ store, maxBufferedPoints: bound, retry: { initialMs: 50, maxMs: 1000 } });
  collector.watchJob(job);
  const t0 = Date.now();
  await collector.collectOnce(t0);
  gc();
  const m0 = process.memoryUsage();
  for (let r = 1; r < rounds; r++) await collector.collectOnce(t0 + r * 5000);
  gc();
  const m1 = process.memoryUsage();
  const h = collector.health();
  await job.cancel();
  await collector.stop();
  return { mode: 'outage', rounds, bound, pointsBuffered: h.pointsBuffered, pointsDropped: h.pointsDropped, pointsWritten: h.pointsWritten, rssGrowthBytes: m1.rss - m0.rss, heapGrowthBytes: m1.heapUsed - m0.heapUsed, externalGrowthBytes: m1.external - m0.external, heapTotalGrowthBytes: m1.heapTotal - m0.heapTotal, maxRssBytes: peakRss() };
}

const [mode, a, b] = process.argv.slice(2);
const tmp = mkdtempSync(join(tmpdir(), 'streamtune-bench-collector-'));
process.env.STREAMTUNE_DATA_DIR = tmp;
try {
  let r: CollectorChildResult;
  if (mode === 'flights') r = await flights(a === 'on', Number(b ?? 0), tmp);
  else if (mode === 'outage') r = await outage(Number(a ?? 200), Number(b ?? 1000), tmp);
  else throw new Error(`unknown mode ${mode ?? ''}`);
  process.stdout.write(`${JSON.stringify({ result: r })}\n`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
