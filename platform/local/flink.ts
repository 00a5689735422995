/**
 * A real Apache Flink session cluster on this machine, for tests and local runs against real Flink:
 * one JobManager (`StandaloneSessionClusterEntrypoint`) and one TaskManager (`TaskManagerRunner`),
 * each its own JVM, as the distribution's `bin/jobmanager.sh` and `bin/taskmanager.sh` start them.
 *
 * The distribution: Maven Central does not serve `flink-dist`, but PyPI's `apache-flink-libraries`
 * source distribution (the jars PyFlink ships) carries the distribution's `lib/` (flink-dist and
 * log4j), `opt/`, `plugins/` (the metric reporters) and `bin/bash-java-utils.jar`. It is fetched
 * once with pip into the artifact cache (`cache.ts`) and only those four folders are kept.
 *
 * Everything of one cluster lives in one directory: `conf/config.yaml` (the YAML config file read
 * since Flink 1.19), `conf/log4j.properties`, `log/` (each JVM's log4j log and its stdout/stderr),
 * `checkpoints/`, `savepoints/`, `tmp/` (io.tmp.dirs, blobs, web uploads) and `plugins/` (links to the
 * enabled reporters' plugin folders). Ports: REST and JobManager RPC on free ports of 127.0.0.1; blob
 * server, TaskManager RPC and data ports are 0 (the OS picks). The JVM memory flags come from Flink's
 * own `BashJavaUtils` (GET_JM_RESOURCE_PARAMS / GET_TM_RESOURCE_PARAMS), exactly as the scripts do,
 * so they agree with `jobmanager.memory.*` / `taskmanager.memory.*`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { stringify } from 'yaml';
import { errorMessage, type Logger, silentLogger, StreamtuneError } from '../../core/index.ts';
import { cacheDir } from './cache.ts';
import { freePorts } from './ports.ts';
import { startProcess, type LocalProcess } from './process.ts';

/** The Flink version the local cluster runs by default (the newest 1.20.x on PyPI as sdist). */
export const DEFAULT_FLINK_VERSION = '1.20.3';

/** An unpacked Flink distribution (the parts of it streamtune uses). */
export interface FlinkDistribution {
  version: string;
  /** the root folder, holding lib/, opt/, plugins/, bin/ */
  home: string;
  /** lib/ */
  lib: string;
  /** plugins/ (one folder per plugin: metrics-influx, metrics-prometheus, ...) */
  plugins: string;
  /** lib/flink-dist-VERSION.jar */
  distJar: string;
  /** bin/bash-java-utils.jar */
  bashJavaUtilsJar: string;
}

/** Options of {@link ensureFlinkDistribution}. */
export interface EnsureFlinkOptions {
  /** The Python interpreter whose pip fetches the sdist. Default `python3`. */
  python?: string;
  logger?: Logger;
}

function distributionOf(version: string, home: string): FlinkDistribution {
  return {
    version,
    home,
    lib: join(home, 'lib'),
    plugins: join(home, 'plugins'),
    distJar: join(home, 'lib', `flink-dist-${version}.jar`),
    bashJavaUtilsJar: join(home, 'bin', 'bash-java-utils.jar'),
  };
}

/**
 * The Flink distribution `version` in `cacheDir('flink/VERSION')`, fetched and unpacked on the first
 * call: `pip download --no-deps --no-binary :all: apache-flink-libraries==VERSION` (an sdist of
 * ~230 MB) into `cacheDir('flink/download')`, then only `deps/lib`, `deps/opt`, `deps/plugins` and
 * `deps/bin` are extracted (tar) into a temporary sibling that is renamed into place, so a reader
 * never sees a half-unpacked distribution and two concurrent callers do no harm.
 * @throws StreamtuneError INTERNAL when pip or tar fails, or the archive lacks flink-dist.
 */
export function ensureFlinkDistribution(version: string = DEFAULT_FLINK_VERSION, opts: EnsureFlinkOptions = {}): FlinkDistribution {
  const log = (opts.logger ?? silentLogger).namespace('flink-dist');
  const home = join(cacheDir('flink'), version);
  const dist = distributionOf(version, home);
  if (existsSync(join(home, '.complete'))) return dist;
  const archive = join(cacheDir('flink/download'), `apache-flink-libraries-${version}.tar.gz`);
  if (!existsSync(archive)) {
    const tmp = mkdtempSync(join(cacheDir('flink/download'), '.pip-'));
    log.info('fetching the Flink distribution from PyPI (apache-flink-libraries sdist)', { version });
    const r = spawnSync(
      opts.python ?? 'python3',
      ['-m', 'pip', 'download', '--no-deps', '--no-binary', ':all:', '--disable-pip-version-check', `apache-flink-libraries==${version}`, '-d', tmp],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const got = join(tmp, basename(archive));
    if (r.status !== 0 || !existsSync(got)) {
      rmSync(tmp, { recursive: true, force: true });
      throw new StreamtuneError('INTERNAL', `pip download apache-flink-libraries==${version} failed (exit ${r.status ?? r.signal}): ${(r.stderr || r.stdout || errorMessage(r.error)).slice(-2000)}`);
    }
    renameSync(got, archive);
    rmSync(tmp, { recursive: true, force: true });
  }
  const staging = mkdtempSync(join(cacheDir('flink'), `.${version}-`));
  const top = `apache-flink-libraries-${version}`;
  const r = spawnSync('tar', ['-xzf', archive, '-C', staging, '--strip-components=2', ...['lib', 'opt', 'plugins', 'bin'].map((d) => `${top}/deps/${d}`)], {
    encoding: 'utf8',
  });
  const staged = distributionOf(version, staging);
  if (r.status !== 0 || !existsSync(staged.distJar) || !existsSync(staged.bashJavaUtilsJar)) {
    rmSync(staging, { recursive: true, force: true });
    throw new StreamtuneError('INTERNAL', `cannot unpack ${archive}: ${r.status !== 0 ? r.stderr.slice(-2000) : `no ${basename(staged.distJar)} or bash-java-utils.jar in it`}`);
  }
  writeFileSync(join(staging, '.complete'), `${version}\n`);
  try {
    renameSync(staging, home);
  } catch (err) {
    // another caller won the race (home exists and is complete), or home is a stale partial folder
    if (existsSync(join(home, '.complete'))) {
      rmSync(staging, { recursive: true, force: true });
      return dist;
    }
    rmSync(home, { recursive: true, force: true });
    try {
      renameSync(staging, home);
    } catch (err2) {
      throw new StreamtuneError('INTERNAL', `cannot move the Flink distribution into ${home}: ${errorMessage(err2)} (first: ${errorMessage(err)})`);
    }
  }
  log.info('Flink distribution ready', { version, home });
  return dist;
}

/** Where the InfluxDB reporter sends metrics (InfluxDB 1.x `/write` API). */
export interface InfluxReporterTarget {
  /** 'http://127.0.0.1:8086' */
  url: string;
  /** database (must exist) */
  db: string;
  /** reporting interval, seconds; default 2 */
  intervalSeconds?: number;
}

/** Options of {@link startFlinkCluster}; all optional. */
export interface FlinkClusterOptions {
  /** Default: {@link ensureFlinkDistribution}() (fetches on first use). */
  distribution?: FlinkDistribution;
  /** `taskmanager.numberOfTaskSlots`; default 8. */
  slots?: number;
  /** `jobmanager.scheduler`; default 'default'. 'adaptive' allows PUT /jobs/:jid/resource-requirements. */
  scheduler?: 'default' | 'adaptive';
  /** Enables Flink's InfluxDB reporter (plugin metrics-influx) under the reporter name `influxdb`. */
  influxdb?: InfluxReporterTarget;
  /**
   * Enables Flink's Prometheus reporter (plugin metrics-prometheus) under the reporter name `prom`,
   * each JVM on its own free port; the scrape URLs are in {@link FlinkCluster.prometheusTargets}.
   */
  prometheus?: boolean;
  /** `jobmanager.memory.process.size`; default '768m'. */
  jobManagerMemory?: string;
  /** `taskmanager.memory.process.size`; default '1536m'. */
  taskManagerMemory?: string;
  /** Further config.yaml keys (flat, e.g. `{'metrics.fetcher.update-interval': '2 s'}`); they win over the defaults. */
  config?: Record<string, string | number | boolean>;
  /** The cluster's directory; default a new temporary one, removed by stop(). A given one is kept. */
  dir?: string;
  /** Keep the temporary directory on stop() (logs, checkpoints, savepoints). Default false. */
  keepDir?: boolean;
  /** The `java` to run; default `$JAVA_HOME/bin/java`, else `java` from PATH. */
  java?: string;
  /** ms to wait for each JVM to be ready; default 120 000. */
  startTimeoutMs?: number;
  logger?: Logger;
}

/** A running Flink session cluster. */
export interface FlinkCluster {
  /** 'http://127.0.0.1:PORT' (the REST API and web UI) */
  readonly restUrl: string;
  /** the cluster directory (conf/, log/, checkpoints/, savepoints/, tmp/) */
  readonly dir: string;
  /** file:// URI of the default savepoint directory (`execution.checkpointing.savepoint-dir`) */
  readonly savepointDir: string;
  /** file:// URI of the checkpoint directory (`execution.checkpointing.dir`) */
  readonly checkpointDir: string;
  readonly version: string;
  readonly jobManager: LocalProcess;
  /** The current TaskManager process (replaced by startTaskManager()). */
  readonly taskManager: LocalProcess | undefined;
  /** The current TaskManager's resource id (`taskmanager.resource-id`, as in GET /taskmanagers). */
  readonly taskManagerId: string | undefined;
  /** Prometheus scrape URLs ('http://127.0.0.1:PORT/metrics') by process; empty without the reporter. */
  readonly prometheusTargets: { jobManager?: string; taskManager?: string };
  /** The effective config.yaml keys. */
  readonly config: Readonly<Record<string, string | number | boolean>>;
  /** SIGKILLs the TaskManager (a machine loss); resolves once it has exited. */
  killTaskManager(): Promise<void>;
  /** Starts a (new) TaskManager with the same config; resolves when it is registered with its slots. */
  startTaskManager(): Promise<LocalProcess>;
  /**
   * Uploads a job jar (POST /jars/upload, multipart field `jarfile`) and returns its jar id.
   * @throws StreamtuneError FLINK_API when Flink refuses it
   */
  uploadJar(path: string): Promise<string>;
  /** Stops the TaskManager, then the JobManager (SIGTERM, then SIGKILL), and removes a temporary dir. Idempotent. */
  stop(): Promise<void>;
}

/**
 * JVM options Flink 1.20's default config.yaml sets for every process (`env.java.opts.all`) so that
 * it runs on Java 17 (module access for Kryo, Pekko and the compiler of the table planner).
 * Source: flink-dist `config.yaml` of 1.20.3.
 */
export const FLINK_JAVA17_OPTS = [
  '--add-exports=java.base/sun.net.util=ALL-UNNAMED',
  '--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED',
  '--add-exports=jdk.compiler/com.sun.tools.javac.api=ALL-UNNAMED',
  '--add-exports=jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED',
  '--add-exports=jdk.compiler/com.sun.tools.javac.parser=ALL-UNNAMED',
  '--add-exports=jdk.compiler/com.sun.tools.javac.tree=ALL-UNNAMED',
  '--add-exports=jdk.compiler/com.sun.tools.javac.util=ALL-UNNAMED',
  '--add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED',
  '--add-opens=java.base/java.lang=ALL-UNNAMED',
  '--add-opens=java.base/java.net=ALL-UNNAMED',
  '--add-opens=java.base/java.io=ALL-UNNAMED',
  '--add-opens=java.base/java.nio=ALL-UNNAMED',
  '--add-opens=java.base/sun.nio.ch=ALL-UNNAMED',
  '--add-opens=java.base/java.lang.reflect=ALL-UNNAMED',
  '--add-opens=java.base/java.text=ALL-UNNAMED',
  '--add-opens=java.base/java.time=ALL-UNNAMED',
  '--add-opens=java.base/java.util=ALL-UNNAMED',
  '--add-opens=java.base/java.util.concurrent=ALL-UNNAMED',
  '--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED',
  '--add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED',
];

/** log4j2 config: one file per JVM at `${sys:log.file}` (what the REST log endpoints serve), Flink's layout. */
const LOG4J_PROPERTIES = `# written by streamtune (platform/local/flink.ts); Flink's default layout
monitorInterval = 0
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = MainAppender
logger.pekko.name = org.apache.pekko
logger.pekko.level = INFO
logger.kafka.name = org.apache.kafka
logger.kafka.level = WARN
logger.netty.name = org.jboss.netty.channel.DefaultChannelPipeline
logger.netty.level = OFF
appender.main.name = MainAppender
appender.main.type = File
appender.main.append = true
appender.main.fileName = \${sys:log.file}
appender.main.layout.type = PatternLayout
appender.main.layout.pattern = %d{yyyy-MM-dd HH:mm:ss,SSS} %-5p %-60c %x - %m%n
`;

function javaBin(opt?: string): string {
  if (opt) return opt;
  const home = process.env.JAVA_HOME;
  return home && existsSync(join(home, 'bin', 'java')) ? join(home, 'bin', 'java') : 'java';
}

/** lib/*.jar in name order with flink-dist last, as the scripts' `constructFlinkClassPath` builds it. */
function flinkClassPath(dist: FlinkDistribution): string {
  const jars = readdirSync(dist.lib)
    .filter((f) => f.endsWith('.jar') && join(dist.lib, f) !== dist.distJar)
    .sort()
    .map((f) => join(dist.lib, f));
  return [...jars, dist.distJar].join(':');
}

/**
 * Runs BashJavaUtils `cmd` (GET_JM_RESOURCE_PARAMS | GET_TM_RESOURCE_PARAMS) on the config dir, as
 * `bin/config.sh` `runBashJavaUtilsCmd` does: returns the JVM flags (line 1) and the `-D key=value`
 * dynamic properties (line 2) of the lines prefixed `BASH_JAVA_UTILS_EXEC_RESULT:`.
 */
function resourceParams(java: string, dist: FlinkDistribution, confDir: string, cmd: string): { jvm: string[]; dynamic: string[] } {
  const r = spawnSync(
    java,
    ['-classpath', `${dist.bashJavaUtilsJar}:${dist.distJar}`, 'org.apache.flink.runtime.util.bash.BashJavaUtils', cmd, '--configDir', confDir],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const out = `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
  const results = out
    .split('\n')
    .filter((l) => l.startsWith('BASH_JAVA_UTILS_EXEC_RESULT:'))
    .map((l) => l.slice('BASH_JAVA_UTILS_EXEC_RESULT:'.length).trim());
  if (r.status !== 0 || results.length < 2) {
    throw new StreamtuneError('INVALID_CONFIG', `Flink BashJavaUtils ${cmd} failed (exit ${r.status ?? r.signal}): ${out.slice(-3000)}`);
  }
  const split = (s: string) => s.split(/\s+/).filter((x) => x.length > 0);
  return { jvm: split(results[0]!), dynamic: split(results[1]!) };
}

async function getJson(url: string): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  if (res.status !== 200) {
    await res.arrayBuffer();
    throw new Error(`GET ${url}: ${res.status}`);
  }
  return res.json();
}

/**
 * Starts a Flink session cluster: writes the config, starts the JobManager and waits for its REST
 * API (`GET /overview`), then starts the TaskManager and waits until `/taskmanagers` lists it and
 * `/overview` counts its slots. Memory: JobManager 768m process size (heap 192m), TaskManager 1536m
 * (task heap ~614m, managed fraction 0.1 since jobs keep state on the heap, network ~109m) unless
 * overridden.
 * @throws StreamtuneError INVALID_CONFIG when Flink rejects the memory settings; INTERNAL when a
 *   JVM does not start or is not ready in time (the message carries the log's tail)
 */
export async function startFlinkCluster(opts: FlinkClusterOptions = {}): Promise<FlinkCluster> {
  const log = (opts.logger ?? silentLogger).namespace('flink-cluster');
  const dist = opts.distribution ?? ensureFlinkDistribution();
  const java = javaBin(opts.java);
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'streamtune-flink-'));
  const confDir = join(dir, 'conf');
  const logDir = join(dir, 'log');
  const pluginsDir = join(dir, 'plugins');
  for (const d of [confDir, logDir, pluginsDir, join(dir, 'tmp'), join(dir, 'checkpoints'), join(dir, 'savepoints')]) mkdirSync(d, { recursive: true });
  const slots = opts.slots ?? 8;
  if (!Number.isInteger(slots) || slots < 1) throw new StreamtuneError('INVALID_ARGUMENT', `slots must be a positive integer, got ${slots}`);
  const [restPort, rpcPort, promJm, promTm] = await freePorts(4);
  const checkpointDir = `file://${join(dir, 'checkpoints')}`;
  const savepointDir = `file://${join(dir, 'savepoints')}`;
  const config: Record<string, string | number | boolean> = {
    'jobmanager.rpc.address': '127.0.0.1',
    'jobmanager.rpc.port': rpcPort!,
    'jobmanager.bind-host': '127.0.0.1',
    'jobmanager.memory.process.size': opts.jobManagerMemory ?? '768m',
    'jobmanager.scheduler': opts.scheduler ?? 'default',
    'taskmanager.host': '127.0.0.1',
    'taskmanager.bind-host': '127.0.0.1',
    'taskmanager.rpc.port': '0',
    'taskmanager.data.port': 0,
    'taskmanager.numberOfTaskSlots': slots,
    'taskmanager.memory.process.size': opts.taskManagerMemory ?? '1536m',
    'taskmanager.memory.managed.fraction': 0.1,
    'blob.server.port': '0',
    'rest.address': '127.0.0.1',
    'rest.bind-address': '127.0.0.1',
    'rest.port': restPort!,
    'parallelism.default': 1,
    'io.tmp.dirs': join(dir, 'tmp'),
    'blob.storage.directory': join(dir, 'tmp', 'blobs'),
    'web.tmpdir': join(dir, 'tmp', 'web'),
    'web.upload.dir': join(dir, 'tmp', 'web-upload'),
    'execution.checkpointing.dir': checkpointDir,
    'execution.checkpointing.savepoint-dir': savepointDir,
    'state.backend.type': 'hashmap',
    'env.java.opts.all': FLINK_JAVA17_OPTS.join(' '),
  };
  const pluginDirs: string[] = [];
  if (opts.influxdb) {
    let u: URL;
    try {
      u = new URL(opts.influxdb.url);
    } catch {
      throw new StreamtuneError('INVALID_ARGUMENT', `influxdb.url is not a URL: '${opts.influxdb.url}'`);
    }
    pluginDirs.push('metrics-influx');
    Object.assign(config, {
      'metrics.reporter.influxdb.factory.class': 'org.apache.flink.metrics.influxdb.InfluxdbReporterFactory',
      'metrics.reporter.influxdb.scheme': u.protocol.replace(':', ''),
      'metrics.reporter.influxdb.host': u.hostname,
      'metrics.reporter.influxdb.port': Number(u.port || (u.protocol === 'https:' ? 443 : 8086)),
      'metrics.reporter.influxdb.db': opts.influxdb.db,
      'metrics.reporter.influxdb.interval': `${opts.influxdb.intervalSeconds ?? 2} s`,
      'metrics.reporter.influxdb.scope.variables.excludes': 'task_attempt_id;task_attempt_num',
    });
  }
  if (opts.prometheus) {
    pluginDirs.push('metrics-prometheus');
    Object.assign(config, {
      'metrics.reporter.prom.factory.class': 'org.apache.flink.metrics.prometheus.PrometheusReporterFactory',
      // per process by a -D dynamic property below; this range is only the fallback
      'metrics.reporter.prom.port': `${promJm}-${promTm}`,
    });
  }
  Object.assign(config, opts.config ?? {});
  for (const p of pluginDirs) {
    const src = join(dist.plugins, p);
    if (!existsSync(src)) throw new StreamtuneError('INTERNAL', `the Flink distribution has no plugins/${p} (${dist.home})`);
    if (!existsSync(join(pluginsDir, p))) symlinkSync(src, join(pluginsDir, p));
  }
  // Every value as a YAML string: Flink 1.20 hands reporter options to the reporter as a
  // java.util.Properties (MetricConfig), whose getProperty() ignores non-String values, so an
  // unquoted `metrics.reporter.influxdb.port: 8087` is silently read as the default 8086.
  const asStrings = Object.fromEntries(Object.entries(config).map(([k, v]) => [k, String(v)]));
  writeFileSync(join(confDir, 'config.yaml'), `# written by streamtune (platform/local/flink.ts)\n${stringify(asStrings)}`);
  writeFileSync(join(confDir, 'log4j.properties'), LOG4J_PROPERTIES);
  const restUrl = `http://127.0.0.1:${restPort}`;
  const classPath = flinkClassPath(dist);
  const env = { ...process.env, FLINK_PLUGINS_DIR: pluginsDir, FLINK_CONF_DIR: confDir, FLINK_LOG_DIR: logDir, FLINK_HOME: dist.home };
  const jvmArgs = (name: string): string[] => [
    ...FLINK_JAVA17_OPTS,
    `-Dlog.file=${join(logDir, `${name}.log`)}`,
    `-Dlog4j.configurationFile=file:${join(confDir, 'log4j.properties')}`,
    '-classpath',
    classPath,
  ];
  const timeoutMs = opts.startTimeoutMs ?? 120_000;

  const jm = resourceParams(java, dist, confDir, 'GET_JM_RESOURCE_PARAMS');
  const tm = resourceParams(java, dist, confDir, 'GET_TM_RESOURCE_PARAMS');
  const promArgs = (port: number | undefined): string[] => (opts.prometheus ? ['-D', `metrics.reporter.prom.port=${port}`] : []);

  log.info('starting the JobManager', { restUrl, dir });
  const jobManager = await startProcess({
    name: 'Flink JobManager',
    command: java,
    args: [
      ...jm.jvm,
      ...jvmArgs('jobmanager'),
      'org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint',
      '--configDir',
      confDir,
      ...jm.dynamic,
      ...promArgs(promJm),
    ],
    logFile: join(logDir, 'jobmanager.out'),
    cwd: dir,
    env,
    timeoutMs,
    ready: async () => {
      await getJson(`${restUrl}/overview`);
      return true;
    },
  });

  let taskManager: LocalProcess | undefined;
  let taskManagerId: string | undefined;
  let tmCount = 0;
  let stopped = false;
  const startTaskManager = async (): Promise<LocalProcess> => {
    if (taskManager?.running) throw new StreamtuneError('CONFLICT', `a TaskManager is running already (pid ${taskManager.pid})`);
    tmCount++;
    const id = `streamtune-tm-${tmCount}`;
    log.info('starting a TaskManager', { id });
    const p = await startProcess({
      name: 'Flink TaskManager',
      command: java,
      args: [
        ...tm.jvm,
        ...jvmArgs(`taskmanager-${tmCount}`),
        'org.apache.flink.runtime.taskexecutor.TaskManagerRunner',
        '--configDir',
        confDir,
        ...tm.dynamic,
        '-D',
        `taskmanager.resource-id=${id}`,
        ...promArgs(promTm),
      ],
      logFile: join(logDir, `taskmanager-${tmCount}.out`),
      cwd: dir,
      env,
      timeoutMs,
      ready: async () => {
        const tms = (await getJson(`${restUrl}/taskmanagers`)) as { taskmanagers?: Array<{ id: string; slotsNumber: number }> };
        return (tms.taskmanagers ?? []).some((t) => t.id === id && t.slotsNumber === slots);
      },
    });
    taskManager = p;
    taskManagerId = id;
    return p;
  };
  try {
    await startTaskManager();
  } catch (err) {
    await jobManager.stop();
    throw err;
  }

  return {
    restUrl,
    dir,
    savepointDir,
    checkpointDir,
    version: dist.version,
    jobManager,
    get taskManager() {
      return taskManager;
    },
    get taskManagerId() {
      return taskManagerId;
    },
    prometheusTargets: opts.prometheus
      ? { jobManager: `http://127.0.0.1:${promJm}/metrics`, taskManager: `http://127.0.0.1:${promTm}/metrics` }
      : {},
    config,
    async killTaskManager() {
      await taskManager?.kill();
    },
    startTaskManager,
    async uploadJar(path: string): Promise<string> {
      const form = new FormData();
      form.append('jarfile', new Blob([readFileSync(path)], { type: 'application/x-java-archive' }), basename(path));
      const res = await fetch(`${restUrl}/jars/upload`, { method: 'POST', body: form });
      const text = await res.text();
      let body: { filename?: string; status?: string; errors?: string[] } = {};
      try {
        body = JSON.parse(text) as typeof body;
      } catch {
        /* not JSON */
      }
      if (res.status !== 200 || body.status !== 'success' || !body.filename) {
        throw new StreamtuneError('FLINK_API', `POST /jars/upload ${basename(path)}: ${res.status} ${text.slice(0, 1000)}`);
      }
      return basename(body.filename);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await taskManager?.stop();
      await jobManager.stop();
      if (ownDir && !opts.keepDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
