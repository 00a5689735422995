/**
 * API latency benchmark: autocannon with 100 concurrent connections against the control-plane
 * server on loopback, run in a child process (bench/_api-child.ts) with a running job and 30 minutes
 * of synthetic lag and task-metric history in the embedded store. Two routes, each for
 * `STREAMTUNE_BENCH_API_SECONDS` (default 10) s: `GET /api/v1/jobs` (the overview: lag, throughput,
 * diagnoses, last operation of every job) and `GET /api/v1/jobs/:id/lag` (15 min of total and
 * per-partition lag series, records and seconds). Rows: p50 and p99 latency (ms) and requests/s.
 * Target p99 < 50 ms. The server reuses overview/series results for 1 s (its default cache), as
 * it does in production, serialised and gzip-compressed once per entry (dashboards/server/prepared.ts).
 * Requests carry a browser's `Accept-Encoding: gzip, deflate, br`; the lag route is also measured
 * without it (scripts, curl). Throws when the child fails or a request errors.
 *
 * Run: `node --import tsx bench/api.ts`, or through bench/index.ts via `run()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { BenchRow } from './types.ts';

const CHILD = fileURLToPath(new URL('./_api-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The part of autocannon's result used here (latency in ms). */
interface CannonResult {
  latency: { p50: number; p99: number };
  requests: { average: number };
  errors: number;
  non2xx: number;
  timeouts: number;
}
type Autocannon = (opts: { url: string; connections: number; duration: number; pipelining?: number; headers?: Record<string, string> }) => Promise<CannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

function startChild(): Promise<{ child: ChildProcess; url: string; jobId: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) {
        const r = JSON.parse(line) as { url: string; jobId: string };
        resolve({ child, url: r.url, jobId: r.jobId });
      }
    });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`api bench child exited with ${code}: ${err.slice(-2000)}`)));
  });
}

/** Runs the benchmark; see the module comment. */
export async function run(): Promise<BenchRow[]> {
  const seconds = Number(process.env.STREAMTUNE_BENCH_API_SECONDS ?? 10);
  const { child, url, jobId } = await startChild();
  const rows: BenchRow[] = [];
  try {
    // browsers (the dashboard's clients) ask for gzip; the plain variant is what curl or a script gets
    const gzip = { 'accept-encoding': 'gzip, deflate, br' };
    for (const [name, path, headers] of [
      ['GET /api/v1/jobs', '/api/v1/jobs', gzip],
      ['GET /api/v1/jobs/:id/lag (15 min)', `/api/v1/jobs/${jobId}/lag`, gzip],
      ['GET /api/v1/jobs/:id/lag (15 min, no gzip)', `/api/v1/jobs/${jobId}/lag`, {}],
    ] as const) {
      await autocannon({ url: `${url}${path}`, connections: 10, duration: 1, headers }); // warm-up
      const r = await autocannon({ url: `${url}${path}`, connections: 100, duration: seconds, headers });
      if (r.errors > 0 || r.non2xx > 0 || r.timeouts > 0) throw new Error(`${name}: ${r.errors} errors, ${r.non2xx} non-2xx, ${r.timeouts} timeouts`);
      rows.push({ suite: 'api', name: `${name} p50, 100 connections`, value: r.latency.p50, unit: 'ms' });
      rows.push({ suite: 'api', name: `${name} p99, 100 connections`, value: r.latency.p99, unit: 'ms', target: '< 50 ms' });
      rows.push({ suite: 'api', name: `${name} throughput`, value: r.requests.average, unit: 'requests/s' });
    }
  } finally {
    child.removeAllListeners('exit');
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await run()) process.stdout.write(`${r.name}: ${r.value.toFixed(1)} ${r.unit}${r.target ? ` (target ${r.target})` : ''}\n`);
}
