/**
 * Test helper: a real VictoriaMetrics (`victoria-metrics`) on 127.0.0.1 with a free port and a
 * temporary storage directory; ready when `GET /health` answers `OK`; stopped by PID.
 * It accepts the InfluxDB v2 write API (`/api/v2/write`); a point of measurement `m` with field
 * `value` becomes the series `m_value`. See docs/TEST-SERVERS.md.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, tempDir, waitFor } from './wait.ts';

/** One exported series: labels (incl. `__name__`), values and timestamps (ms). */
export interface VmSeries {
  metric: Record<string, string>;
  values: number[];
  timestamps: number[];
}

/** A running VictoriaMetrics. */
export interface VictoriaServer {
  readonly url: string;
  /** `/internal/force_flush`: what was written becomes searchable now. */
  flush(): Promise<void>;
  /** `/internal/force_flush`, then `/api/v1/export?match[]=SELECTOR`, parsed (one JSON object per line). */
  exportSeries(selector: string): Promise<VmSeries[]>;
  /** Stops it by PID and removes the directory. */
  close(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

/** Options of {@link startVictoria}. */
export interface VictoriaOptions {
  /**
   * More command-line flags, e.g. `-retentionPeriod=100y` (samples older than the retention period,
   * default 1 month, are refused), `-search.latencyOffset=0s` (by default the newest 30 s are not
   * returned by queries), `-promscrape.config=FILE`.
   */
  args?: string[];
}

/** Starts victoria-metrics; throws when it is missing or not healthy within 90 s. */
export async function startVictoria(opts: VictoriaOptions = {}): Promise<VictoriaServer> {
  const dir = tempDir('streamtune-vm-');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const logFd = openSync(join(dir, 'vm.log'), 'a');
  const proc = spawn('victoria-metrics', [`-storageDataPath=${join(dir, 'data')}`, `-httpListenAddr=127.0.0.1:${port}`, ...(opts.args ?? [])], {
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  live.add(proc);
  let spawnError: Error | undefined;
  let alive = true;
  proc.on('error', (err) => (spawnError = err));
  const exited = new Promise<void>((resolve) =>
    proc.once('exit', () => {
      alive = false;
      live.delete(proc);
      resolve();
    }),
  );
  const close = async (): Promise<void> => {
    if (alive) {
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      async () => {
        if (spawnError) throw new Error(`victoria-metrics could not start: ${spawnError.message}`);
        if (!alive) throw new Error(`victoria-metrics exited: ${readFileSync(join(dir, 'vm.log'), 'utf8').slice(-2000)}`);
        const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
        return res !== undefined && res.status === 200 && (await res.text()).trim() === 'OK';
      },
      { timeoutMs: 90_000, intervalMs: 100, what: `victoria-metrics /health on ${url}` },
    );
  } catch (err) {
    await close();
    throw err;
  }
  return {
    url,
    async flush() {
      const res = await fetch(`${url}/internal/force_flush`);
      await res.arrayBuffer();
    },
    async exportSeries(selector) {
      const flush = await fetch(`${url}/internal/force_flush`);
      await flush.arrayBuffer();
      const res = await fetch(`${url}/api/v1/export?${new URLSearchParams({ 'match[]': selector })}`);
      const text = await res.text();
      if (res.status !== 200) throw new Error(`export: ${res.status} ${text}`);
      return text
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as VmSeries);
    },
    close,
  };
}
