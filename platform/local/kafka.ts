/**
 * A real Apache Kafka broker on this machine, from Maven Central jars: one JVM in KRaft combined mode
 * (broker and controller in one process, a single-voter quorum), listening on 127.0.0.1 with free
 * ports, its data in a temporary (or given) directory. For tests, the demo, benchmarks and local
 * development; see docs/servers-kafka.md.
 *
 * Start sequence (as the distribution's `kafka-storage.sh format` and `kafka-server-start.sh` do it):
 * 1. jars: `org.apache.kafka:kafka_2.13:<version>` with its runtime dependencies and a Log4j 2 binding,
 *    resolved by {@link resolveMavenJars} into the artifact cache (first run downloads, later runs are
 *    offline);
 * 2. `server.properties`: `process.roles=broker,controller`, a PLAINTEXT listener for clients and a
 *    CONTROLLER listener, `controller.quorum.voters=1@127.0.0.1:<controller port>`, replication factor
 *    1 and min ISR 1 for `__consumer_offsets` and the transaction state log,
 *    `group.initial.rebalance.delay.ms=0`, topic auto-creation on;
 * 3. `java -cp ... kafka.tools.StorageTool format -t <cluster id> -c server.properties` (once per
 *    directory);
 * 4. `java -Xmx512m -cp ... kafka.Kafka server.properties`; ready when a kafkajs admin's
 *    `describeCluster` lists the broker and the offsets of every existing topic can be read (after a
 *    restart the broker answers metadata a moment before it serves the partitions it leads).
 * Config keys: https://kafka.apache.org/documentation/#brokerconfigs and the KRaft section of
 * https://kafka.apache.org/documentation/#kraft_config.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { errorMessage, type Logger, silentLogger, StreamtuneError } from '../../core/index.ts';
import { resolveMavenJars, type MavenJars } from './maven.ts';
import { freePorts } from './ports.ts';
import { startProcess, type LocalProcess } from './process.ts';

/**
 * The Kafka version started by default: the 4.1 line (KRaft only; Java 17 for the broker). kafkajs
 * 2.2.4 was checked against it (docs/servers-kafka.md).
 */
export const DEFAULT_KAFKA_VERSION = '4.1.1';

/**
 * The newest 3.x release, for peers whose Kafka client predates Kafka 4.0's removal of old protocol
 * versions (KIP-896), such as Burrow 1.2.1.
 */
export const KAFKA_3_VERSION = '3.9.1';

/**
 * Log4j 2 version for the broker's logging: the version Kafka 4.1 itself depends on. The SLF4J 1
 * binding (`log4j-slf4j-impl`) and the Log4j 1.x API bridge (`log4j-1.2-api`, used by Kafka 3.x's
 * log4j controller) let one Log4j 2 config serve both 3.9 and 4.x.
 */
export const KAFKA_LOG4J_VERSION = '2.24.3';

/** The Maven coordinates resolved for a Kafka `version` (the broker and its logging). */
export function kafkaArtifacts(version: string): string[] {
  return [
    `org.apache.kafka:kafka_2.13:${version}`,
    `org.apache.logging.log4j:log4j-core:${KAFKA_LOG4J_VERSION}`,
    `org.apache.logging.log4j:log4j-slf4j-impl:${KAFKA_LOG4J_VERSION}`,
    `org.apache.logging.log4j:log4j-1.2-api:${KAFKA_LOG4J_VERSION}`,
  ];
}

/** Options of {@link ensureKafkaArtifacts}. */
export interface KafkaArtifactsOptions {
  /** The Maven executable. Default `mvn`. */
  mvn?: string;
  /** Default silent. */
  logger?: Logger;
  /** For `STREAMTUNE_CACHE_DIR`. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

/**
 * The jars of Kafka `version` in the artifact cache (`cacheDir('maven/kafka-<version>')`),
 * downloading them through Maven if missing. CI calls it before the tests so that no test waits on a
 * download: `node --import tsx -e "await (await import('./platform/local/kafka.ts')).ensureKafkaArtifacts()"`.
 * @param version default {@link DEFAULT_KAFKA_VERSION}
 * @throws StreamtuneError ARTIFACT_UNAVAILABLE when Maven is missing or cannot resolve the jars.
 */
export function ensureKafkaArtifacts(version: string = DEFAULT_KAFKA_VERSION, options: KafkaArtifactsOptions = {}): Promise<MavenJars> {
  return resolveMavenJars({
    name: 'kafka',
    version,
    artifacts: kafkaArtifacts(version),
    ...(options.mvn ? { mvn: options.mvn } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.env ? { env: options.env } : {}),
  });
}

/** Options of {@link startKafkaBroker}; every field is optional. */
export interface KafkaBrokerOptions {
  /** Kafka release, e.g. '4.1.1' or '3.9.1'. Default {@link DEFAULT_KAFKA_VERSION}. */
  version?: string;
  /**
   * Directory for the config, the data (`data/`) and the log (`broker.log`). Default: a new
   * temporary directory, removed by `close()` and when the Node.js process exits. A given directory
   * is created if missing and never removed; one already formatted is started as it is.
   */
  dir?: string;
  /** Client (PLAINTEXT) port on 127.0.0.1. Default: a free port. */
  port?: number;
  /** CONTROLLER listener port on 127.0.0.1. Default: a free port. */
  controllerPort?: number;
  /** Partitions of an auto-created topic (`num.partitions`). Default 1 (Kafka's default). */
  numPartitions?: number;
  /** Extra or overriding broker properties, e.g. `{ 'log.retention.ms': 60000 }`. */
  properties?: Record<string, string | number | boolean>;
  /** JVM heap flags. Default `['-Xms128m', '-Xmx512m']`. */
  heap?: string[];
  /** More JVM flags. Default none. */
  jvmArgs?: string[];
  /** The java executable. Default `$JAVA_HOME/bin/java`, else `java` on the PATH. */
  java?: string;
  /** The Maven executable (first run only). Default `mvn`. */
  mvn?: string;
  /** ms until the broker answers kafkajs. Default 120 000. */
  readyTimeoutMs?: number;
  /** ms between SIGTERM and SIGKILL on `stop()`. Default 30 000. */
  stopGraceMs?: number;
  /** Default silent. */
  logger?: Logger;
}

/** A local Kafka broker (KRaft combined mode). */
export interface KafkaBroker {
  /** ['127.0.0.1:<port>'] for clients. Stable across `stop()`/`start()`. */
  readonly bootstrap: string[];
  /** The Kafka release running, e.g. '4.1.1'. */
  readonly version: string;
  /** Its directory (config, `data/`, `broker.log`). */
  readonly dir: string;
  /** The client port. */
  readonly port: number;
  /** The CONTROLLER listener port. */
  readonly controllerPort: number;
  /** The cluster id written at format time (base64url of 16 bytes). */
  readonly clusterId: string;
  /** PID of the current JVM; undefined while stopped. */
  readonly pid: number | undefined;
  /** True while the JVM runs. */
  readonly running: boolean;
  /** The broker's log (stdout and stderr, appended across restarts). */
  readonly logFile: string;
  /** The last `bytes` (default 4 000) of the log. */
  logTail(bytes?: number): string;
  /** Starts the JVM again on the same directory and ports (no-op while running); resolves when ready. */
  start(): Promise<void>;
  /** SIGTERM (controlled shutdown), SIGKILL after the grace period; resolves once it exited. */
  stop(): Promise<void>;
  /** SIGKILL at once (a crash); resolves once it exited. */
  kill(): Promise<void>;
  /**
   * Creates `name` with `partitions` partitions (default 1), replication factor 1, and waits for its
   * leaders; a topic that exists already is left as it is.
   * @throws StreamtuneError KAFKA_ERROR when the broker refuses it.
   */
  createTopic(name: string, partitions?: number): Promise<void>;
  /** Stops the broker (SIGKILL when its directory is temporary) and removes a temporary directory. */
  close(): Promise<void>;
  /**
   * Lets the Node.js process exit while the broker runs (now and after every later `start()`); the
   * JVM is then killed, and a temporary directory removed, when the process exits. For a broker
   * shared by all tests of a file.
   */
  unref(): void;
}

/** JVM flags for the short storage-tool run: start fast, no optimising compiler (~2.4 → ~1.7 s here). */
const SHORT_LIVED_JVM = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC'];

/** ms a new topic may take until every partition has a leader that serves it. */
const TOPIC_READY_TIMEOUT_MS = 60_000;

/** Temporary broker directories still in use → the PID of their running JVM, if any. */
const tempDirs = new Map<string, () => number | undefined>();
let exitHook = false;
function removeTempDirsOnExit(dir: string, pid: () => number | undefined): void {
  tempDirs.set(dir, pid);
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const [d, running] of tempDirs) {
      // the JVM first (process.ts' own exit hook may run after this one), then its files
      let p: number | undefined;
      try {
        p = running();
      } catch {
        p = undefined; // the launcher failed before its JVM existed
      }
      if (p) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
      rmSync(d, { recursive: true, force: true });
    }
  });
}

/**
 * A Kafka cluster id as the storage tool's `random-uuid` makes it: 16 random bytes in base64url
 * without padding, not starting with '-' (Kafka's `Uuid.randomUuid`).
 */
export function newKafkaClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/** The broker's `server.properties` text (KRaft combined mode, node id 1). */
export function kafkaServerProperties(o: {
  version: string;
  port: number;
  controllerPort: number;
  dataDir: string;
  numPartitions: number;
  properties?: Record<string, string | number | boolean>;
}): string {
  const major = Number(o.version.split('.')[0]);
  const props: Record<string, string | number | boolean> = {
    'process.roles': 'broker,controller',
    'node.id': 1,
    'controller.quorum.voters': `1@127.0.0.1:${o.controllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${o.port},CONTROLLER://127.0.0.1:${o.controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${o.port}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'log.dirs': o.dataDir,
    'num.partitions': o.numPartitions,
    'default.replication.factor': 1,
    'offsets.topic.replication.factor': 1,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'group.initial.rebalance.delay.ms': 0,
    'auto.create.topics.enable': true,
    // Kafka 4.0 added share groups (KIP-932) with their own internal topic.
    ...(major >= 4 ? { 'share.coordinator.state.topic.replication.factor': 1, 'share.coordinator.state.topic.min.isr': 1 } : {}),
    ...o.properties,
  };
  return ['# Written by streamtune (platform/local/kafka.ts)', ...Object.entries(props).map(([k, v]) => `${k}=${String(v)}`), ''].join('\n');
}

/**
 * Log4j 2 config: INFO to stdout (the broker log file); the state-change logger and the request
 * logger (Kafka 3.x logs every request of a deprecated protocol version at INFO there, one long line
 * per request from an old client such as Burrow) at WARN.
 */
const LOG4J2_PROPERTIES = `# Written by streamtune (platform/local/kafka.ts)
status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
logger.state.name = state.change.logger
logger.state.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
`;

function javaPath(java?: string): string {
  if (java) return java;
  return process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
}

/** Runs a short-lived java command (the storage tool) to its end. */
function runJava(java: string, args: string[], logFile: string, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    const child = spawn(java, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (b: Buffer): void => { out = (out + b.toString('utf8')).slice(-6_000); };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('error', (err) => {
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      reject(new StreamtuneError('ARTIFACT_UNAVAILABLE', missing
        ? `Java ('${java}') is not installed; Kafka needs Java 17 (Debian: apt-get install -y openjdk-17-jre-headless)`
        : `${what}: java could not start: ${errorMessage(err)}`, { cause: err }));
    });
    child.once('exit', (code) => {
      writeFileSync(logFile, out, { flag: 'a' });
      if (code === 0) resolve();
      else reject(new StreamtuneError('INTERNAL', `${what} failed (exit ${code}):\n${out.slice(-3_000)}`));
    });
  });
}

/** A kafkajs client for the launcher's own checks: no logs, short timeouts, no retries. */
function probeClient(bootstrap: string[]): Kafka {
  return new Kafka({ clientId: 'streamtune-broker-probe', brokers: bootstrap, logLevel: logLevel.NOTHING, connectionTimeout: 2_000, requestTimeout: 5_000, retry: { retries: 0 } });
}

/**
 * Starts one Kafka broker in KRaft combined mode and resolves once kafkajs can talk to it.
 * First call for a version downloads its jars through Maven (~45 MB); later calls start in ~3 s.
 * @throws StreamtuneError ARTIFACT_UNAVAILABLE when Maven or Java is missing or the jars cannot be
 *   resolved; INVALID_ARGUMENT for a bad option; INTERNAL when the broker exits early or is not ready
 *   within `readyTimeoutMs` (the message carries the log's tail).
 */
export async function startKafkaBroker(options: KafkaBrokerOptions = {}): Promise<KafkaBroker> {
  const version = options.version ?? DEFAULT_KAFKA_VERSION;
  if (!/^\d+\.\d+\.\d+$/.test(version)) throw new StreamtuneError('INVALID_ARGUMENT', `Kafka version must be like 4.1.1, got '${version}'`, { details: { field: 'version' } });
  const numPartitions = options.numPartitions ?? 1;
  if (!Number.isInteger(numPartitions) || numPartitions < 1) throw new StreamtuneError('INVALID_ARGUMENT', `numPartitions must be a positive integer, got ${numPartitions}`, { details: { field: 'numPartitions' } });
  const logger = (options.logger ?? silentLogger).namespace('kafka-broker');
  const java = javaPath(options.java);
  const jars = await ensureKafkaArtifacts(version, { ...(options.mvn ? { mvn: options.mvn } : {}), logger });

  const temporary = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'streamtune-kafka-'));
  if (temporary) removeTempDirsOnExit(dir, () => (proc?.running ? proc.pid : undefined));
  mkdirSync(dir, { recursive: true });
  const [p1, p2] = await freePorts(2);
  const port = options.port ?? p1!;
  const controllerPort = options.controllerPort ?? (p2 === port ? p1! : p2!);
  const dataDir = join(dir, 'data');
  const propsFile = join(dir, 'server.properties');
  const log4jFile = join(dir, 'log4j2.properties');
  const logFile = join(dir, 'broker.log');
  writeFileSync(propsFile, kafkaServerProperties({ version, port, controllerPort, dataDir, numPartitions, ...(options.properties ? { properties: options.properties } : {}) }));
  writeFileSync(log4jFile, LOG4J2_PROPERTIES);
  const baseJvm = ['-Djava.awt.headless=true', `-Dlog4j2.configurationFile=${log4jFile}`, `-Dkafka.logs.dir=${dir}`];

  let clusterId = '';
  const metaFile = join(dataDir, 'meta.properties');
  const dropTempDir = (): void => {
    if (!temporary) return;
    rmSync(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
  };
  if (!existsSync(metaFile)) {
    clusterId = newKafkaClusterId();
    try {
      await runJava(java, ['-Xmx256m', ...SHORT_LIVED_JVM, ...baseJvm, '-cp', jars.classpath, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', propsFile], logFile, `formatting the Kafka ${version} log directory ${dataDir}`);
    } catch (err) {
      dropTempDir();
      throw err;
    }
  } else {
    const m = /cluster\.id=(\S+)/.exec(readFileSync(metaFile, 'utf8'));
    clusterId = m?.[1] ?? '';
  }

  const bootstrap = [`127.0.0.1:${port}`];
  let proc: LocalProcess | undefined;
  let unrefd = false;
  let starting: Promise<void> | undefined;
  const readyTimeoutMs = options.readyTimeoutMs ?? 120_000;

  const start = (): Promise<void> => {
    if (proc?.running) return Promise.resolve();
    if (starting) return starting;
    starting = (async () => {
      const t0 = Date.now();
      proc = await startProcess({
        name: `Kafka ${version} broker (${bootstrap[0]})`,
        command: java,
        args: [...(options.heap ?? ['-Xms128m', '-Xmx512m']), ...baseJvm, ...(options.jvmArgs ?? []), '-cp', jars.classpath, 'kafka.Kafka', propsFile],
        logFile,
        ready: async () => {
          const admin = probeClient(bootstrap).admin();
          try {
            await admin.connect();
            const c = await admin.describeCluster();
            if (!c.brokers.some((b) => b.port === port)) return false;
            // After a restart the broker answers metadata before it serves every partition it leads
            // (NOT_LEADER_OR_FOLLOWER from ListOffsets for a moment): ready once each topic's
            // offsets can be read.
            const md = await admin.fetchTopicMetadata();
            for (const t of md.topics) {
              if (t.partitions.some((p) => p.leader < 0)) return false;
              await admin.fetchTopicOffsets(t.name);
            }
            // ... and the group coordinator has loaded `__consumer_offsets` (ListGroups answers
            // COORDINATOR_LOAD_IN_PROGRESS until then, and so would OffsetFetch for a group).
            if (md.topics.some((t) => t.name === '__consumer_offsets')) await admin.listGroups();
            return true;
          } finally {
            await admin.disconnect().catch(() => {});
          }
        },
        timeoutMs: readyTimeoutMs,
        intervalMs: 250,
        stopGraceMs: options.stopGraceMs ?? 30_000,
      });
      if (unrefd) proc.unref();
      logger.info('Kafka broker ready', { version, bootstrap: bootstrap[0], pid: proc.pid, ms: Date.now() - t0 });
    })().finally(() => { starting = undefined; });
    return starting;
  };

  try {
    await start();
  } catch (err) {
    dropTempDir();
    throw err;
  }

  const createTopic = async (name: string, partitions = 1): Promise<void> => {
    const admin = new Kafka({ clientId: 'streamtune-broker-admin', brokers: bootstrap, logLevel: logLevel.NOTHING, retry: { retries: 5, initialRetryTime: 100 } }).admin();
    try {
      await admin.connect();
      // Retry and wait for the leaders ourselves: kafkajs gives up after a few quick retries, and on
      // a loaded machine the metadata takes longer to know the new topic (UNKNOWN_TOPIC_OR_PARTITION
      // meanwhile). A retried create of a topic that exists answers false.
      const deadline = Date.now() + TOPIC_READY_TIMEOUT_MS;
      for (;;) {
        try {
          await admin.createTopics({ topics: [{ topic: name, numPartitions: partitions, replicationFactor: 1 }] });
          break;
        } catch (err) {
          if (Date.now() > deadline || (err as { retriable?: boolean }).retriable === false) throw err;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      for (;;) {
        try {
          const md = await admin.fetchTopicMetadata({ topics: [name] });
          const parts = md.topics[0]?.partitions ?? [];
          if (parts.length > 0 && parts.every((p) => p.leader >= 0)) {
            await admin.fetchTopicOffsets(name);
            return;
          }
        } catch (err) {
          if (Date.now() > deadline) throw err;
        }
        if (Date.now() > deadline) throw new Error(`no leader for every partition within ${TOPIC_READY_TIMEOUT_MS} ms`);
        await new Promise((r) => setTimeout(r, 100));
      }
    } catch (err) {
      throw new StreamtuneError('KAFKA_ERROR', `creating topic ${name} (${partitions} partitions) on ${bootstrap[0]} failed: ${errorMessage(err)}`, { cause: err, details: { topic: name } });
    } finally {
      await admin.disconnect().catch(() => {});
    }
  };

  let closed = false;
  return {
    bootstrap,
    version,
    dir,
    port,
    controllerPort,
    clusterId,
    get pid() {
      return proc?.running ? proc.pid : undefined;
    },
    get running() {
      return proc?.running ?? false;
    },
    logFile,
    logTail: (bytes = 4_000) => {
      try {
        return readFileSync(logFile, 'utf8').slice(-bytes);
      } catch {
        return '';
      }
    },
    start,
    stop: async () => { await proc?.stop(); },
    kill: async () => { await proc?.kill(); },
    createTopic,
    unref: () => {
      unrefd = true;
      proc?.unref();
    },
    close: async () => {
      if (closed) return;
      closed = true;
      if (temporary) {
        await proc?.kill();
        dropTempDir();
      } else {
        await proc?.stop();
      }
    },
  };
}
