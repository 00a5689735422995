/**
 * API load benchmark (suite 'api-load', issue 18 "Load"): the load a team makes on one server, not
 * one URL repeated. The server runs in a child process (bench/_api-load-child.ts): `streamtune
 * serve`'s control plane with its collector, alerter, diagnoser sweeps (every 5 min, as serve) and tuner,
 * 1,000 fleet jobs with 30 minutes of stored history (lag per partition, vertex metrics) whose
 * collection rounds keep being written every 5 s, 5 running bundled jobs, and the diagnoses of a
 * first sweep. `STREAMTUNE_BENCH_LOAD_CLIENTS` (default 100) clients on keep-alive connections each
 * loop, without pause: pick a random job, then one after the other
 * - `GET /api/v1/jobs/:id` (the job's overview),
 * - `GET /api/v1/jobs/:id/lag?from=&to=&step=` with the range and step the job page charts use
 *   (dashboards/server/pages/job.ts `RANGES`: 5 min/5 s, 15 min/10 s, 1 h/30 s, one at random;
 *   from/to absolute ms ending now, so the response cache cannot answer them),
 * - `GET /api/v1/jobs/:id/metrics?metric=busy&groupBy=vertex&from=&to=&step=` (same range),
 * - `GET /api/v1/diagnoses?job=:id`.
 * Browser `Accept-Encoding: gzip, deflate, br`. The first 5 s are a warm-up, not counted.
 *
 * The embedded store's in-memory head is on (its default); `STREAMTUNE_STORE_HEAD_MINUTES=0` runs the
 * server without it (every read a DuckDB statement), for comparison.
 * Duration: `STREAMTUNE_BENCH_LOAD_SECONDS` (default 60); `STREAMTUNE_BENCH_LOAD_LONG=1` runs 30
 * minutes (the RSS-levels-off check). Every 10 s the server's RSS (/proc/<pid>/status VmRSS) and the
 * machine's 1-min load average are sampled (and printed to stderr with the window's p99).
 * Rows: p50/p99 latency (ms) per request kind and overall, throughput (requests/s), errors, RSS at
 * start, at 5 min, at the end and its slope over the second half (MB/min, least squares), load
 * average. Target p99 < 50 ms. Numbers are printed, never asserted; throws when the child fails.
 *
 * Run: `npm run bench -- api-load`, or `node --import tsx bench/api-load.ts`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { BenchRow } from './types.ts';

const CHILD = fileURLToPath(new URL('./_api-load-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SUITE = 'api-load';
const KINDS = ['overview', 'lag', 'metrics', 'diagnoses'] as const;
type Kind = (typeof KINDS)[number];
/** The job page's chart ranges and steps, ms (dashboards/server/pages/job.ts RANGES). */
const RANGES = [{ ms: 5 * 60_000, step: 5_000 }, { ms: 15 * 60_000, step: 10_000 }, { ms: 60 * 60_000, step: 30_000 }] as const;
const SAMPLE_MS = 10_000;
const WARMUP_MS = 5_000;

/** What the child reports once ready. */
interface Ready { url: string; jobIds: string[]; setup: Record<string, number> }
/** The child's periodic line. */
interface ChildStats { at: number; elu: number; rss: number; heapUsed: number; sweeps: number; warnings: number; errors: number; lastWarning: string; rounds: number; roundPoints: number; roundWriteMsMean: number; roundWriteMsMax: number; head?: { points: number; series: number; coveredFrom: number | null; hits: number; misses: number } | null }
/** One 10 s sample. */
interface Sample { s: number; rssMB: number; load1: number; requests: number; p99: number; elu?: number; heapMB?: number; sweeps?: number }

function startChild(): Promise<{ child: ChildProcess; ready: Ready; stats: ChildStats[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    let err = '';
    const stats: ChildStats[] = [];
    child.stderr!.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-4000);
      process.stderr.write(d); // the child's progress lines
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = JSON.parse(line) as Ready | { stats: ChildStats };
      if ('stats' in m) stats.push(m.stats);
      else resolve({ child, ready: m, stats });
    });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`api-load child exited with ${code}: ${err}`)));
  });
}

/** RSS of a process, bytes (Linux /proc). */
function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : Number.NaN;
}

function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n < 2) return Number.NaN;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return num / den;
}

/** One GET on the keep-alive agent; resolves with the status once the body is read. */
function get(agent: Agent, base: URL, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ agent, host: base.hostname, port: base.port, path, method: 'GET', headers: { 'accept-encoding': 'gzip, deflate, br', accept: 'application/json' } }, (res) => {
      res.on('data', () => {});
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(30_000, () => req.destroy(new Error(`timeout: ${path}`)));
    req.end();
  });
}

/** Runs the benchmark; see the module comment. */
export async function run(): Promise<BenchRow[]> {
  const seconds = process.env.STREAMTUNE_BENCH_LOAD_LONG === '1' ? 1800 : Number(process.env.STREAMTUNE_BENCH_LOAD_SECONDS ?? 60);
  const clients = Number(process.env.STREAMTUNE_BENCH_LOAD_CLIENTS ?? 100);
  const log = (l: string) => process.stderr.write(`api-load: ${l}\n`);
  log(`starting the server (1,000 jobs, history)... load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const { child, ready, stats } = await startChild();
  log(`ready: ${JSON.stringify(ready.setup)}; ${clients} clients for ${seconds} s`);
  const base = new URL(ready.url);
  const agent = new Agent({ keepAlive: true, maxSockets: clients });
  const lat: Record<Kind, number[]> = { overview: [], lag: [], metrics: [], diagnoses: [] };
  let window: number[] = [];
  let errors = 0;
  let lastError = '';
  let counting = false;
  let stop = false;
  const samples: Sample[] = [];
  const rows: BenchRow[] = [];
  try {
    const client = async (): Promise<void> => {
      while (!stop) {
        const id = ready.jobIds[Math.floor(Math.random() * ready.jobIds.length)]!;
        const r = RANGES[Math.floor(Math.random() * RANGES.length)]!;
        const to = Date.now();
        const range = `from=${to - r.ms}&to=${to}&step=${r.step}`;
        const paths: Record<Kind, string> = {
          overview: `/api/v1/jobs/${id}`,
          lag: `/api/v1/jobs/${id}/lag?${range}`,
          metrics: `/api/v1/jobs/${id}/metrics?metric=busy&groupBy=vertex&${range}`,
          diagnoses: `/api/v1/diagnoses?job=${id}`,
        };
        for (const kind of KINDS) {
          if (stop) return;
          const t0 = performance.now();
          try {
            const status = await get(agent, base, paths[kind]);
            if (status !== 200) {
              errors++;
              lastError = `${status} ${paths[kind]}`;
            }
          } catch (err) {
            errors++;
            lastError = (err as Error).message;
          }
          const ms = performance.now() - t0;
          if (counting) {
            lat[kind].push(ms);
            window.push(ms);
          }
        }
      }
    };
    const loops = Array.from({ length: clients }, () => client());
    await new Promise((r) => setTimeout(r, WARMUP_MS));
    counting = true;
    const start = performance.now();
    const sample = (): void => {
      const w = Float64Array.from(window).sort();
      window = [];
      const st = stats[stats.length - 1];
      const s: Sample = { s: Math.round((performance.now() - start) / 1000), rssMB: rssOf(child.pid!) / 2 ** 20, load1: loadavg()[0]!, requests: w.length, p99: percentile(w, 0.99) };
      if (st) Object.assign(s, { elu: st.elu, heapMB: st.heapUsed / 2 ** 20, sweeps: st.sweeps });
      samples.push(s);
      log(`t=${s.s}s rss=${s.rssMB.toFixed(0)}MB load1=${s.load1.toFixed(2)} req/s=${(s.requests / (SAMPLE_MS / 1000)).toFixed(0)} p99=${s.p99.toFixed(1)}ms elu=${s.elu?.toFixed(2) ?? '?'} heap=${s.heapMB?.toFixed(0) ?? '?'}MB sweeps=${s.sweeps ?? '?'} errors=${errors}${lastError ? ` (${lastError})` : ''}`);
    };
    samples.push({ s: 0, rssMB: rssOf(child.pid!) / 2 ** 20, load1: loadavg()[0]!, requests: 0, p99: Number.NaN });
    const timer = setInterval(sample, SAMPLE_MS);
    await new Promise((r) => setTimeout(r, seconds * 1000));
    clearInterval(timer);
    sample(); // the end
    const elapsed = (performance.now() - start) / 1000;
    counting = false;
    stop = true;
    await Promise.all(loops);

    const all: number[] = [];
    let total = 0;
    for (const kind of KINDS) {
      const xs = Float64Array.from(lat[kind]).sort();
      total += xs.length;
      for (const x of lat[kind]) all.push(x);
      rows.push({ suite: SUITE, name: `${kind}: ${pathName(kind)} p50, ${clients} clients`, value: percentile(xs, 0.5), unit: 'ms' });
      rows.push({ suite: SUITE, name: `${kind}: ${pathName(kind)} p99, ${clients} clients`, value: percentile(xs, 0.99), unit: 'ms', target: '< 50 ms' });
    }
    const xs = Float64Array.from(all).sort();
    const loads = samples.slice(1).map((s) => s.load1);
    const loadNote = `load average (1 min) over the run ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)} on ${2} cores`;
    rows.push({ suite: SUITE, name: `all requests p50, ${clients} clients, ${Math.round(elapsed)} s`, value: percentile(xs, 0.5), unit: 'ms' });
    rows.push({ suite: SUITE, name: `all requests p99, ${clients} clients, ${Math.round(elapsed)} s (${loadNote})`, value: percentile(xs, 0.99), unit: 'ms', target: '< 50 ms' });
    rows.push({ suite: SUITE, name: 'all requests max', value: xs[xs.length - 1] ?? Number.NaN, unit: 'ms' });
    rows.push({ suite: SUITE, name: `throughput (${total} requests)`, value: total / elapsed, unit: 'requests/s' });
    rows.push({ suite: SUITE, name: `errors (non-200 or failed)${lastError ? `, last: ${lastError.slice(0, 120)}` : ''}`, value: errors, unit: 'requests' });
    const at = (sec: number) => samples.reduce((best, s) => (Math.abs(s.s - sec) < Math.abs(best.s - sec) ? s : best), samples[0]!);
    const last = samples[samples.length - 1]!;
    rows.push({ suite: SUITE, name: 'server RSS at the start of the load', value: samples[0]!.rssMB, unit: 'MB' });
    if (elapsed >= 300) rows.push({ suite: SUITE, name: 'server RSS at 5 min', value: at(300).rssMB, unit: 'MB' });
    rows.push({ suite: SUITE, name: `server RSS at the end (${Math.round(elapsed)} s)`, value: last.rssMB, unit: 'MB' });
    rows.push({ suite: SUITE, name: 'server RSS max', value: Math.max(...samples.map((s) => s.rssMB)), unit: 'MB' });
    const half = samples.filter((s) => s.s >= elapsed / 2);
    rows.push({ suite: SUITE, name: `server RSS slope over the second half (${half.length} samples, 10 s apart)`, value: slope(half.map((s) => s.s / 60), half.map((s) => s.rssMB)), unit: 'MB/min', target: 'levels off (~0)' });
    const finalStats = stats[stats.length - 1];
    if (finalStats) {
      rows.push({ suite: SUITE, name: 'server event-loop utilisation, last 10 s', value: finalStats.elu, unit: 'share' });
      rows.push({ suite: SUITE, name: `sweeps of ${ready.jobIds.length} jobs finished during the run (${finalStats.warnings} warnings, ${finalStats.errors} errors logged)`, value: finalStats.sweeps - 1, unit: 'sweeps' });
      const h = finalStats.head;
      if (h) rows.push({ suite: SUITE, name: `store head (in memory): points held at the end (${h.series} series; reads from memory ${h.hits}, from DuckDB ${h.misses}; covered from ${h.coveredFrom === null ? '-' : `${Math.round((finalStats.at - h.coveredFrom) / 60_000)} min before the end`})`, value: h.points, unit: 'points' });
      rows.push({ suite: SUITE, name: `fleet collection round store write (${finalStats.rounds} rounds of ${finalStats.rounds ? Math.round(finalStats.roundPoints / finalStats.rounds) : 0} points), mean / max ${finalStats.roundWriteMsMax.toFixed(0)} ms`, value: finalStats.roundWriteMsMean, unit: 'ms' });
    }
    rows.push({ suite: SUITE, name: `setup: first sweep of ${ready.jobIds.length} jobs (${ready.setup.firstSweepWithFindings} with findings), before the load`, value: ready.setup.firstSweepMs ?? Number.NaN, unit: 'ms' });
    rows.push({ suite: SUITE, name: `setup: history written (${ready.setup.historyPoints} points)`, value: ready.setup.historyWriteMs ?? Number.NaN, unit: 'ms' });
    log(`samples ${JSON.stringify(samples.map((s) => ({ ...s, rssMB: Math.round(s.rssMB), p99: Math.round(s.p99 * 10) / 10, load1: Math.round(s.load1 * 100) / 100, heapMB: s.heapMB === undefined ? undefined : Math.round(s.heapMB), elu: s.elu === undefined ? undefined : Math.round(s.elu * 100) / 100 })))}`);
  } finally {
    stop = true;
    agent.destroy();
    child.removeAllListeners('exit');
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
  return rows;
}

function pathName(kind: Kind): string {
  return { overview: 'GET /api/v1/jobs/:id', lag: 'GET /api/v1/jobs/:id/lag?from&to&step', metrics: 'GET /api/v1/jobs/:id/metrics?metric=busy&from&to&step', diagnoses: 'GET /api/v1/diagnoses?job=:id' }[kind];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await run()) process.stdout.write(`${r.suite}\t${r.name}\t${Number.isFinite(r.value) ? r.value.toFixed(2) : 'n/a'} ${r.unit}${r.target ? `\t(target ${r.target})` : ''}\n`);
}
