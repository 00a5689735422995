/**
 * `streamtune serve [--config FILE] [--port N] [--host H] [--roles LIST]`: one process running the
 * collector, alerting, diagnoser, tuner and the dashboard/API server, or the roles of LIST only
 * (alerting and diagnosis in processes of their own, over the Kafka bus: {@link runRoles}); and `streamtune demo` (`npm start`), the
 * same with the demo configuration (control-plane/demo.ts). Prints the dashboard URL, a one-time
 * login URL and where the API token is kept; SIGINT/SIGTERM close everything gracefully (jobs stop
 * with a savepoint and resume from it at the next start). The API token itself is never printed
 * or logged.
 */
import { Command, InvalidArgumentError } from 'commander';
import { createLogger, errorMessage, type Logger, StreamtuneError } from '../core/index.ts';
import { createApp, createAuth, ensureApiToken, listen, type Listening } from '../dashboards/index.ts';
import { exitWithParentWanted, ignoreBrokenStdio, watchParent } from './parent-watch.ts';
import { type AssembledControlPlane, createControlPlane, createWorker, demoConfig, demoDataDir, type FlinkDemo, loadConfig, resetDemoData, ROLES, type ServerConfig, startFlinkDemo } from '../control-plane/index.ts';

/** A running server. */
export interface RunningServer {
  cp: AssembledControlPlane;
  http: Listening;
  /** the dashboard's root URL, e.g. 'http://127.0.0.1:8080' */
  url: string;
  /** one-time login URL (single use, valid 10 min) */
  loginUrl: string;
  /** HTTP server first, then the control plane (jobs stopped with a savepoint). Idempotent. */
  close(): Promise<void>;
}

/** Options of {@link runServer}. */
export interface RunServerOptions {
  logger?: Logger;
  /** where the URLs and progress lines go. Default stdout. */
  out?: (line: string) => void;
}

/**
 * Starts the control plane, listens, prints the URLs, then submits the startup jobs.
 * @throws StreamtuneError from the parts (INVALID_CONFIG, INVALID_RULES, INVALID_SPEC...); a listen
 *   error is rethrown as INVALID_CONFIG naming `server.port`. Whatever started is closed first.
 */
export async function runServer(config: ServerConfig, opts: RunServerOptions = {}): Promise<RunningServer> {
  const logger = opts.logger ?? createLogger();
  const out = opts.out ?? ((l: string) => process.stdout.write(`${l}\n`));
  const token = ensureApiToken(config.server.apiToken, config.dataDir, logger.namespace('serve'));
  const cp = await createControlPlane(config, { logger, startJobs: false });
  let http: Listening;
  try {
    http = await listen(undefined, config.server.port, config.server.host);
  } catch (err) {
    await cp.close();
    const e = err as NodeJS.ErrnoException;
    throw new StreamtuneError('INVALID_CONFIG', `cannot listen on ${config.server.host}:${config.server.port}: ${e.code === 'EADDRINUSE' ? 'the port is in use (use --port or STREAMTUNE_PORT)' : errorMessage(err)}`, { details: { field: 'server.port' }, cause: err });
  }
  const url = config.server.port === 0 ? http.url : config.server.baseUrl;
  const auth = createAuth({ token: token.token, secureCookies: url.startsWith('https://'), logger: logger.namespace('auth') });
  http.server.on('request', createApp(cp, { auth, baseUrl: url, logger, publicReads: config.server.publicReads }));
  const loginUrl = `${url}${auth.createLoginLink()}`;
  out(`streamtune: dashboard   ${url}/`);
  if (cp.prometheusReporter) out(`streamtune: Prometheus  ${cp.prometheusReporter.url}   (bundled jobs' metrics, Flink's reporter format)`);
  out(`streamtune: log in      ${loginUrl}   (one-time link, valid 10 min)`);
  out(
    token.source === 'config'
      ? 'streamtune: API token   from STREAMTUNE_API_TOKEN (or server.apiToken)'
      : `streamtune: API token   in ${token.file} (mode 0600): Authorization: Bearer $(cat ${token.file})`,
  );
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      await http.close();
      await cp.close();
    })());
  try {
    const jobs = await cp.startJobs();
    for (const j of jobs) out(`streamtune: job ${j.name} ${j.state}   ${url}/jobs/${j.job_id}`);
  } catch (err) {
    await close();
    throw err;
  }
  return { cp, http, url, loginUrl, close };
}

/**
 * Starts what `config.roles` says this process runs: with `server`, {@link runServer}; with `jobs`
 * but no `server`, the control plane and its startup jobs without HTTP; without `jobs`, the alerter
 * and/or diagnoser worker (control-plane/worker.ts). Resolves with a close function.
 * @throws StreamtuneError as runServer, createControlPlane and createWorker do.
 */
export async function runRoles(config: ServerConfig, opts: RunServerOptions = {}): Promise<{ close(): Promise<void> }> {
  const logger = opts.logger ?? createLogger();
  const out = opts.out ?? ((l: string) => process.stdout.write(`${l}\n`));
  if (config.roles.includes('server')) return runServer(config, { ...opts, logger, out });
  if (config.roles.includes('jobs')) {
    const cp = await createControlPlane(config, { logger, startJobs: false });
    try {
      const jobs = await cp.startJobs();
      out(`streamtune: roles ${config.roles.join(', ')} (no dashboard/API server in this process)`);
      for (const j of jobs) out(`streamtune: job ${j.name} ${j.state}`);
    } catch (err) {
      await cp.close();
      throw err;
    }
    return cp;
  }
  const worker = await createWorker(config, { logger });
  out(`streamtune: roles ${config.roles.join(', ')} (no jobs, collector, tuner or server in this process; jobs from the bus topic 'jobs')`);
  return worker;
}

/**
 * Runs until SIGINT/SIGTERM or, when started through npm/npx ({@link exitWithParentWanted}), until
 * the parent process is gone; then closes gracefully (and `after`, e.g. the demo's servers). A second
 * signal exits at once.
 */
async function serveUntilSignal(config: ServerConfig, exit: (code: number) => void, after?: () => Promise<void>): Promise<void> {
  const logger = createLogger();
  let served: { close(): Promise<void> };
  try {
    served = await runRoles(config, { logger });
  } catch (err) {
    process.stderr.write(`streamtune serve: ${errorMessage(err)}\n`);
    await after?.().catch(() => undefined);
    exit(1);
    return;
  }
  const running = after ? { close: async () => { await served.close(); await after(); } } : served;
  await new Promise<void>((resolve) => {
    let signalled = false;
    const onSignal = (sig: string) => {
      if (signalled) {
        process.stderr.write(`streamtune: ${sig} again, exiting without waiting\n`);
        process.exit(130);
      }
      signalled = true;
      process.stdout.write(`streamtune: ${sig}: stopping jobs with a savepoint and closing...\n`);
      running.close().then(
        () => resolve(),
        (err) => {
          process.stderr.write(`streamtune: close failed: ${errorMessage(err)}\n`);
          exit(1);
          resolve();
        },
      );
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    if (exitWithParentWanted()) {
      watchParent(() => {
        ignoreBrokenStdio();
        onSignal('parent process exited (npm/npx do not pass SIGTERM on)');
      });
    }
  });
  process.stdout.write('streamtune: closed\n');
}

function portArg(v: string): number {
  if (!/^[0-9]+$/.test(v) || Number(v) > 65535) throw new InvalidArgumentError('must be an integer port 0..65535');
  return Number(v);
}

function rolesArg(v: string): string[] {
  const list = v.split(',').map((x) => x.trim()).filter(Boolean);
  const bad = list.filter((r) => !(ROLES as readonly string[]).includes(r));
  if (list.length === 0 || bad.length > 0) throw new InvalidArgumentError(`${bad.length ? `unknown role ${bad.join(', ')}` : 'empty list'}; roles are ${ROLES.join(', ')}`);
  return list;
}

/** `streamtune serve`. */
export function serveCommand(exit: (code: number) => void): Command {
  return new Command('serve')
    .description('run the control plane: collector, alerting, diagnoser, tuner and the dashboard/API server')
    .option('-c, --config <file>', 'YAML config file (STREAMTUNE_* environment variables override it)')
    .option('-p, --port <n>', 'TCP port (default 8080, STREAMTUNE_PORT)', portArg)
    .option('--host <host>', 'interface to listen on (default 127.0.0.1, STREAMTUNE_HOST)')
    .option('--prometheus-port <n>', "serve the bundled jobs' metrics for Prometheus at http://HOST:N/metrics, in Flink's reporter format (STREAMTUNE_PROMETHEUS_PORT)", portArg)
    .option('--roles <list>', `comma-separated parts this process runs, of ${ROLES.join(', ')} (default all; STREAMTUNE_ROLES). ` +
      "Split over processes they need bus 'kafka' and store.influxUrl; server and notify run beside jobs", rolesArg)
    .action(async (o: { config?: string; port?: number; host?: string; roles?: string[]; prometheusPort?: number }) => {
      let config: ServerConfig;
      try {
        const server: Record<string, unknown> = {};
        if (o.port !== undefined) server.port = o.port;
        if (o.host !== undefined) server.host = o.host;
        const overrides: Record<string, unknown> = Object.keys(server).length ? { server } : {};
        if (o.roles) overrides.roles = o.roles;
        if (o.prometheusPort !== undefined) overrides.prometheusReporter = { port: o.prometheusPort };
        config = loadConfig({ ...(o.config ? { file: o.config } : {}), overrides });
      } catch (err) {
        process.stderr.write(`streamtune serve: ${errorMessage(err)}\n`);
        exit(2);
        return;
      }
      await serveUntilSignal(config, exit);
    });
}

/** `streamtune demo` (`npm start`). */
export function demoCommand(exit: (code: number) => void): Command {
  return new Command('demo')
    .description('the demo (npm start): serve with the embedded store, running the lagging flight-delays-demo job; starts fresh in <data dir>/demo')
    .option('-p, --port <n>', 'TCP port (default 8080, STREAMTUNE_PORT)', portArg)
    .option('-c, --config <file>', 'extra YAML config laid over the demo settings')
    .option('--keep', 'resume the previous demo run instead of starting fresh')
    .option('--flink', 'run the demo job on real Apache Flink and Kafka, started locally from cached artifacts (needs Java 17, Maven, pip; the first run fetches them)')
    .action(async (o: { port?: number; config?: string; keep?: boolean; flink?: boolean }) => {
      if (o.flink) {
        let demo: FlinkDemo;
        try {
          demo = await startFlinkDemo({ ...(o.port !== undefined ? { port: o.port } : {}), logger: createLogger(), out: (l) => process.stdout.write(`${l}\n`) });
        } catch (err) {
          process.stderr.write(`streamtune demo --flink: ${errorMessage(err)}\n`);
          exit(1);
          return;
        }
        process.stdout.write(`streamtune: demo data in ${demo.config.dataDir} (fresh)\n`);
        await serveUntilSignal(demo.config, exit, () => demo.close());
        return;
      }
      let config: ServerConfig;
      try {
        if (!o.keep) resetDemoData(demoDataDir());
        config = demoConfig({ ...(o.port !== undefined ? { port: o.port } : {}), ...(o.config ? { file: o.config } : {}) });
      } catch (err) {
        process.stderr.write(`streamtune demo: ${errorMessage(err)}\n`);
        exit(2);
        return;
      }
      process.stdout.write(`streamtune: demo data in ${config.dataDir}${o.keep ? ' (resumed)' : ' (fresh)'}\n`);
      await serveUntilSignal(config, exit);
    });
}
