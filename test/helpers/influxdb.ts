/**
 * Test helper: a real InfluxDB 1.x (`influxd`, Debian package `influxdb`, 1.6.7 here) on 127.0.0.1
 * with a free HTTP port, a separate free RPC port (top-level `bind-address`) and a temporary
 * directory. Ready when `GET /ping` answers 204. Stopped by PID; can be stopped and started again
 * on the same port and directory (outage tests). See docs/TEST-SERVERS.md.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, tempDir, uniqueName, waitFor } from './wait.ts';

/** A running (or stopped) influxd. */
export interface InfluxServer {
  /** 'http://127.0.0.1:PORT' */
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** True while the process runs. */
  readonly running: boolean;
  /** Creates a database (quoted; hyphens allowed) and returns its name. Default name: unique. */
  createDatabase(name?: string): Promise<string>;
  /** Posts line protocol to /write?db=&precision= (default ns, like Flink's reporter). */
  writeLines(db: string, lines: string, precision?: 'ns' | 'ms'): Promise<void>;
  /** Stops the process by PID (SIGTERM, then SIGKILL after 20 s) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port and directory; waits for /ping. */
  start(): Promise<void>;
  /** Stops it and removes the temporary directory. */
  close(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

async function ping(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.status === 204;
  } catch {
    return false;
  }
}

/** Starts influxd; fails (throws) when it is missing or does not come up within 90 s. */
export async function startInfluxDB(): Promise<InfluxServer> {
  const dir = tempDir('streamtune-influxd-');
  const port = await freePort();
  let rpcPort = await freePort();
  while (rpcPort === port) rpcPort = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const conf = join(dir, 'influx.conf');
  writeFileSync(
    conf,
    [
      'reporting-disabled = true',
      `bind-address = "127.0.0.1:${rpcPort}"`,
      '[meta]',
      `  dir = "${dir}/meta"`,
      '[data]',
      `  dir = "${dir}/data"`,
      `  wal-dir = "${dir}/wal"`,
      '  query-log-enabled = false',
      '[http]',
      `  bind-address = "127.0.0.1:${port}"`,
      '  log-enabled = false',
      '[monitor]',
      '  store-enabled = false',
      '',
    ].join('\n'),
  );
  let proc: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const start = async (): Promise<void> => {
    if (proc) return;
    const logFd = openSync(join(dir, 'influxd.log'), 'a');
    const p = spawn('influxd', ['-config', conf], { stdio: ['ignore', logFd, logFd] });
    closeSync(logFd);
    proc = p;
    live.add(p);
    let spawnError: Error | undefined;
    p.on('error', (err) => (spawnError = err));
    exited = new Promise((resolve) => p.once('exit', () => resolve()));
    exited.then(() => {
      live.delete(p);
      if (proc === p) proc = undefined;
    });
    await waitFor(
      async () => {
        if (spawnError) throw new Error(`influxd could not start: ${spawnError.message}`);
        if (!proc) throw new Error(`influxd exited: ${readFileSync(join(dir, 'influxd.log'), 'utf8').slice(-2000)}`);
        return ping(url);
      },
      { timeoutMs: 90_000, intervalMs: 100, what: `influxd /ping on ${url}` },
    ).catch((err: unknown) => {
      p.kill('SIGKILL');
      throw err;
    });
  };

  const stop = async (): Promise<void> => {
    const p = proc;
    if (!p) return;
    p.kill('SIGTERM');
    const timer = setTimeout(() => p.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  };

  await start();
  return {
    url,
    port,
    dir,
    get running() {
      return proc !== undefined;
    },
    async createDatabase(name = uniqueName('st')) {
      const res = await fetch(`${url}/query`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ q: `CREATE DATABASE "${name}"` }).toString(),
      });
      const text = await res.text();
      if (res.status !== 200 || text.includes('"error"')) throw new Error(`CREATE DATABASE ${name}: ${res.status} ${text}`);
      return name;
    },
    async writeLines(db, lines, precision = 'ns') {
      const res = await fetch(`${url}/write?${new URLSearchParams({ db, precision })}`, { method: 'POST', body: lines });
      const text = await res.text();
      if (res.status !== 204) throw new Error(`write: ${res.status} ${text}`);
    },
    stop,
    start,
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
