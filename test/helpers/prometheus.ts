/**
 * Test helper: a real Prometheus server (Debian package `prometheus`, 2.42 here) on 127.0.0.1 with a
 * free port and a temporary TSDB directory, started through platform/local/process.ts (log file,
 * stop by PID: SIGTERM, then SIGKILL). Ready when `GET /-/ready` answers 200. A missing binary fails
 * the test (startProcess throws); it never skips. See docs/TEST-SERVERS.md.
 *
 * Scrape targets are given as URLs (`http://127.0.0.1:PORT/metrics`), one scrape job each, with a
 * short `scrape_interval` (default 1 s). Remote write is accepted with `remoteWriteReceiver: true`
 * (`--web.enable-remote-write-receiver`). With no targets Prometheus scrapes nothing (not even
 * itself), so samples written for a past time (the store contract's) are not "out of bounds".
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startProcess } from '../../platform/local/process.ts';
import { freePort, tempDir, waitFor } from './wait.ts';

/** Options of {@link startPrometheus}. */
export interface PrometheusOptions {
  /** Scrape URLs, e.g. 'http://127.0.0.1:9249/metrics'; one scrape job per URL, named by `jobNames` or `target-N`. */
  targets?: string[];
  /** Scrape job names, same order as `targets`. */
  jobNames?: string[];
  /** Scrape interval, a Prometheus duration. Default '1s'. */
  scrapeInterval?: string;
  /** `--web.enable-remote-write-receiver`. Default false. */
  remoteWriteReceiver?: boolean;
}

/** A running Prometheus. */
export interface PrometheusServer {
  /** 'http://127.0.0.1:PORT' */
  readonly url: string;
  readonly dir: string;
  /** Scrape targets and their health (`GET /api/v1/targets`, active ones). */
  targets(): Promise<Array<{ scrapeUrl: string; health: string; lastError: string; job: string }>>;
  /** Waits until every target was scraped successfully at least once. */
  waitTargetsUp(timeoutMs?: number): Promise<void>;
  /** Stops it by PID and removes the directory. */
  close(): Promise<void>;
}

/** Starts prometheus; throws when it is missing or not ready within 90 s. */
export async function startPrometheus(opts: PrometheusOptions = {}): Promise<PrometheusServer> {
  const dir = tempDir('streamtune-prometheus-');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const interval = opts.scrapeInterval ?? '1s';
  const targets = opts.targets ?? [];
  const jobs = targets.map((t, i) => {
    const u = new URL(t);
    return [
      `  - job_name: ${JSON.stringify(opts.jobNames?.[i] ?? `target-${i}`)}`,
      `    scrape_interval: ${interval}`,
      `    scrape_timeout: ${interval}`,
      `    metrics_path: ${JSON.stringify(u.pathname)}`,
      `    static_configs:`,
      `      - targets: [${JSON.stringify(u.host)}]`,
    ].join('\n');
  });
  const config = join(dir, 'prometheus.yml');
  writeFileSync(config, [`global:`, `  scrape_interval: ${interval}`, `scrape_configs:${jobs.length ? '' : ' []'}`, ...jobs, ''].join('\n'));
  const args = [
    `--config.file=${config}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
    ...(opts.remoteWriteReceiver ? ['--web.enable-remote-write-receiver'] : []),
  ];
  let proc;
  try {
    proc = await startProcess({
      name: 'Prometheus',
      command: 'prometheus',
      args,
      logFile: join(dir, 'prometheus.log'),
      cwd: dir,
      timeoutMs: 90_000,
      intervalMs: 100,
      ready: async () => {
        const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2000) });
        await res.arrayBuffer();
        return res.status === 200;
      },
    });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const p = proc;
  const listTargets = async () => {
    const res = await fetch(`${url}/api/v1/targets?state=active`);
    const body = (await res.json()) as { data: { activeTargets: Array<{ scrapeUrl: string; health: string; lastError: string; labels: { job: string } }> } };
    return body.data.activeTargets.map((t) => ({ scrapeUrl: t.scrapeUrl, health: t.health, lastError: t.lastError, job: t.labels.job }));
  };
  return {
    url,
    dir,
    targets: listTargets,
    async waitTargetsUp(timeoutMs = 60_000) {
      await waitFor(async () => {
        const t = await listTargets();
        return t.length === targets.length && t.every((x) => x.health === 'up');
      }, { timeoutMs, intervalMs: 200, what: `Prometheus targets up (${targets.join(', ')})` });
    },
    async close() {
      await p.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
