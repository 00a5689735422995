/**
 * A standalone Apache ZooKeeper server on 127.0.0.1, from the Debian `zookeeper` package's jars
 * (`/usr/share/java/zookeeper.jar`, whose manifest Class-Path names its dependencies in
 * `/usr/share/java`). Burrow 1.x keeps its own coordination in ZooKeeper; Kafka itself runs without
 * it (KRaft). See docs/servers-kafka.md.
 *
 * Started as `java -cp zookeeper.jar:slf4j-simple.jar org.apache.zookeeper.server.ZooKeeperServerMain
 * zoo.cfg` with `clientPortAddress=127.0.0.1`, a free `clientPort`, the data in a temporary
 * directory, the embedded admin HTTP server off (it would take port 8080) and the `srvr` four-letter
 * command allowed: ready when `srvr` reports `Mode: standalone` (`ruok` answers `imok` before the
 * server accepts sessions). Config keys:
 * https://zookeeper.apache.org/doc/r3.8.0/zookeeperAdmin.html#sc_configuration.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StreamtuneError } from '../../core/index.ts';
import { freePort } from './ports.ts';
import { startProcess, type LocalProcess } from './process.ts';

/** The Debian package's server jar (package `zookeeper`, via `libzookeeper-java`). */
export const DEBIAN_ZOOKEEPER_JAR = '/usr/share/java/zookeeper.jar';
/** An SLF4J binding from Debian (`libslf4j-java`) so the server logs to its log file. */
export const DEBIAN_SLF4J_SIMPLE_JAR = '/usr/share/java/slf4j-simple.jar';

/** Options of {@link startZooKeeper}; all optional. */
export interface ZooKeeperOptions {
  /** The server jar. Default {@link DEBIAN_ZOOKEEPER_JAR}. */
  jar?: string;
  /** Client port on 127.0.0.1. Default: a free port. */
  port?: number;
  /** The java executable. Default `$JAVA_HOME/bin/java`, else `java`. */
  java?: string;
  /** ms until the server takes sessions. Default 60 000. */
  readyTimeoutMs?: number;
}

/** A running standalone ZooKeeper. */
export interface ZooKeeperServer {
  /** '127.0.0.1:<port>' */
  readonly connectString: string;
  readonly port: number;
  /** Temporary directory with `zoo.cfg`, `data/` and `zookeeper.log`. */
  readonly dir: string;
  readonly process: LocalProcess;
  /** Stops the server (SIGTERM, SIGKILL after 10 s) and removes its directory. Idempotent. */
  close(): Promise<void>;
}

/**
 * Whether the Debian ZooKeeper jars are installed.
 * @throws StreamtuneError ARTIFACT_UNAVAILABLE naming the package to install when they are not.
 */
export function checkZooKeeperInstalled(jar: string = DEBIAN_ZOOKEEPER_JAR): void {
  if (!existsSync(jar)) {
    throw new StreamtuneError('ARTIFACT_UNAVAILABLE', `ZooKeeper is not installed (${jar} missing): apt-get install -y zookeeper`);
  }
}

/** Sends a four-letter command and resolves with the answer ('' on any error). */
export function fourLetterWord(port: number, word: string, timeoutMs = 2_000): Promise<string> {
  return new Promise((resolve) => {
    let out = '';
    const sock = connect({ host: '127.0.0.1', port });
    const done = (): void => { sock.destroy(); resolve(out); };
    sock.setTimeout(timeoutMs, done);
    sock.on('connect', () => sock.write(word));
    sock.on('data', (b) => { out += b.toString('utf8'); });
    sock.on('end', done);
    sock.on('error', () => resolve(''));
  });
}

/**
 * Starts a standalone ZooKeeper server from the Debian jars and resolves once it takes sessions.
 * @throws StreamtuneError ARTIFACT_UNAVAILABLE when the jars are missing; INTERNAL when the server
 *   exits early or is not ready in time (with its log's tail).
 */
export async function startZooKeeper(options: ZooKeeperOptions = {}): Promise<ZooKeeperServer> {
  const jar = options.jar ?? DEBIAN_ZOOKEEPER_JAR;
  checkZooKeeperInstalled(jar);
  const dir = mkdtempSync(join(tmpdir(), 'streamtune-zookeeper-'));
  const port = options.port ?? (await freePort());
  const cfg = join(dir, 'zoo.cfg');
  writeFileSync(cfg, [
    '# Written by streamtune (platform/local/zookeeper.ts)',
    'tickTime=2000',
    `dataDir=${join(dir, 'data')}`,
    `clientPort=${port}`,
    'clientPortAddress=127.0.0.1',
    'admin.enableServer=false',
    '4lw.commands.whitelist=ruok,srvr',
    'maxClientCnxns=100',
    '',
  ].join('\n'));
  const classpath = [jar, ...(existsSync(DEBIAN_SLF4J_SIMPLE_JAR) ? [DEBIAN_SLF4J_SIMPLE_JAR] : [])].join(':');
  const java = options.java ?? (process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java');
  let proc: LocalProcess;
  try {
    proc = await startProcess({
      name: `ZooKeeper (127.0.0.1:${port})`,
      command: java,
      args: ['-Xmx128m', '-Dzookeeper.admin.enableServer=false', '-cp', classpath, 'org.apache.zookeeper.server.ZooKeeperServerMain', cfg],
      logFile: join(dir, 'zookeeper.log'),
      // `ruok` answers imok before the server takes sessions; `srvr` says so until it does
      ready: async () => /Mode: standalone/.test(await fourLetterWord(port, 'srvr')),
      timeoutMs: options.readyTimeoutMs ?? 60_000,
      stopGraceMs: 10_000,
    });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  let closed = false;
  return {
    connectString: `127.0.0.1:${port}`,
    port,
    dir,
    process: proc,
    close: async () => {
      if (closed) return;
      closed = true;
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
