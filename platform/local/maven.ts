/**
 * Server jars from Maven Central (Apache Kafka, ZooKeeper, Flink modules) resolved into a plain
 * directory of jars, so that a local server is started as `java -cp DIR/lib/*`.
 *
 * How: a small POM listing the wanted artifacts as dependencies is written to
 * `cacheDir('maven/<name>-<version>')`, and Maven itself copies them with their runtime dependencies
 * into `lib/` (`mvn -q -B maven-dependency-plugin:copy-dependencies -DincludeScope=runtime`).
 * Maven's own local repository (`~/.m2`) is the download cache; a marker file (`resolved.json`,
 * holding the artifact list) makes every later call for the same list instant and offline.
 * Concurrent callers (two test files, two processes) are serialised by a lock file holding the PID.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, openSync, closeSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage, type Logger, silentLogger, StreamtuneError } from '../../core/index.ts';
import { cacheDir } from './cache.ts';

/**
 * The maven-dependency-plugin pinned for reproducible resolution (3.6.1, Java 8+; any Maven 3.6+
 * runs it). Source: https://maven.apache.org/plugins/maven-dependency-plugin/.
 */
export const MAVEN_DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.6.1';

/** Options of {@link resolveMavenJars}. */
export interface ResolveMavenOptions {
  /** Cache entry name, e.g. 'kafka': the jars go to `cacheDir('maven/<name>-<version>')/lib`. */
  name: string;
  /** Version label of the entry, e.g. '4.1.1' (the main artifact's version). */
  version: string;
  /**
   * Maven coordinates `groupId:artifactId:version` (or `groupId:artifactId:version:classifier`),
   * e.g. 'org.apache.kafka:kafka_2.13:4.1.1'. Each is resolved with its runtime dependencies.
   */
  artifacts: readonly string[];
  /**
   * Maven coordinates `groupId:artifactId` whose jars are left out wherever they come from (e.g. a
   * second logging binding). Default none.
   */
  exclusions?: readonly string[];
  /** The Maven executable. Default `mvn`. */
  mvn?: string;
  /** ms for one Maven run (downloads included). Default 600 000. */
  timeoutMs?: number;
  /** Default silent. */
  logger?: Logger;
  /** Environment for `cacheDir` and Maven. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

/** A resolved set of jars. */
export interface MavenJars {
  /** The cache entry directory (holds `pom.xml`, `lib/`, `resolved.json`). */
  dir: string;
  /** `dir/lib`, the jars. */
  libDir: string;
  /** Absolute paths of the jars, sorted by file name. */
  jars: string[];
  /** The jars joined with ':' for `java -cp`. */
  classpath: string;
}

const COORD = /^[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+:[A-Za-z0-9_.+-]+(:[A-Za-z0-9_.-]+)?$/;
const GA = /^[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+$/;
const inProcess = new Map<string, Promise<MavenJars>>();

/**
 * Resolves `artifacts` (and their runtime dependencies) into a directory of jars, downloading through
 * Maven on the first call and reading the cache afterwards.
 * @returns the jars of the cache entry `maven/<name>-<version>`
 * @throws StreamtuneError INVALID_ARGUMENT for a malformed coordinate;
 *   ARTIFACT_UNAVAILABLE when Maven is not installed or cannot resolve the artifacts (the message
 *   names the coordinates and carries Maven's output), or the run exceeds `timeoutMs`.
 */
export function resolveMavenJars(options: ResolveMavenOptions): Promise<MavenJars> {
  for (const a of options.artifacts) {
    if (!COORD.test(a)) throw new StreamtuneError('INVALID_ARGUMENT', `Maven coordinate must be groupId:artifactId:version[:classifier], got '${a}'`, { details: { field: 'artifacts' } });
  }
  for (const e of options.exclusions ?? []) {
    if (!GA.test(e)) throw new StreamtuneError('INVALID_ARGUMENT', `Maven exclusion must be groupId:artifactId, got '${e}'`, { details: { field: 'exclusions' } });
  }
  if (!/^[A-Za-z0-9_.-]+$/.test(options.name) || !/^[A-Za-z0-9_.+-]+$/.test(options.version)) {
    throw new StreamtuneError('INVALID_ARGUMENT', `Maven cache entry name and version must be plain words, got '${options.name}-${options.version}'`);
  }
  const dir = cacheDir(join('maven', `${options.name}-${options.version}`), options.env);
  const pending = inProcess.get(dir);
  if (pending) return pending;
  const p = resolveLocked(dir, options).finally(() => inProcess.delete(dir));
  inProcess.set(dir, p);
  return p;
}

/** The jars of an entry whose marker matches, or undefined. */
function readResolved(dir: string, wanted: string): MavenJars | undefined {
  const marker = join(dir, 'resolved.json');
  if (!existsSync(marker)) return undefined;
  try {
    const m = JSON.parse(readFileSync(marker, 'utf8')) as { key?: string };
    if (m.key !== wanted) return undefined;
  } catch {
    return undefined;
  }
  const libDir = join(dir, 'lib');
  if (!existsSync(libDir)) return undefined;
  const jars = readdirSync(libDir).filter((f) => f.endsWith('.jar')).sort().map((f) => join(libDir, f));
  if (jars.length === 0) return undefined;
  return { dir, libDir, jars, classpath: jars.join(':') };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function resolveLocked(dir: string, options: ResolveMavenOptions): Promise<MavenJars> {
  const key = JSON.stringify({ artifacts: options.artifacts, exclusions: options.exclusions ?? [] });
  const hit = readResolved(dir, key);
  if (hit) return hit;
  const logger = options.logger ?? silentLogger;
  const lock = join(dir, '.lock');
  const timeoutMs = options.timeoutMs ?? 600_000;
  const deadline = Date.now() + timeoutMs + 60_000;
  // Take the lock (O_EXCL); while another live process holds it, wait for its result.
  for (;;) {
    try {
      const fd = openSync(lock, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number(readFileSafe(lock));
    if (Number.isInteger(holder) && holder > 0 && !alive(holder)) {
      rmSync(lock, { force: true });
      continue;
    }
    const done = readResolved(dir, key);
    if (done) return done;
    if (Date.now() > deadline) {
      throw new StreamtuneError('ARTIFACT_UNAVAILABLE', `waited too long for another process (PID ${holder}) resolving ${options.artifacts.join(', ')} into ${dir}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  try {
    const again = readResolved(dir, key);
    if (again) return again;
    const libDir = join(dir, 'lib');
    rmSync(libDir, { recursive: true, force: true });
    rmSync(join(dir, 'resolved.json'), { force: true });
    mkdirSync(libDir, { recursive: true });
    writeFileSync(join(dir, 'pom.xml'), pomXml(options));
    const started = Date.now();
    logger.info('resolving Maven artifacts', { artifacts: options.artifacts, dir });
    await runMaven(options, dir, libDir, timeoutMs);
    writeFileSync(join(dir, 'resolved.json'), JSON.stringify({ key, resolvedAt: new Date().toISOString() }) + '\n');
    const out = readResolved(dir, key);
    if (!out) throw new StreamtuneError('ARTIFACT_UNAVAILABLE', `Maven copied no jars for ${options.artifacts.join(', ')} into ${libDir}`);
    logger.info('resolved Maven artifacts', { jars: out.jars.length, ms: Date.now() - started });
    return out;
  } finally {
    try {
      unlinkSync(lock);
    } catch {
      /* gone */
    }
  }
}

function readFileSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The POM: one `pom`-packaged project whose dependencies are the wanted artifacts. */
export function pomXml(options: Pick<ResolveMavenOptions, 'name' | 'version' | 'artifacts' | 'exclusions'>): string {
  const exclusions = (options.exclusions ?? []).map((e) => {
    const [g, a] = e.split(':');
    return `<exclusion><groupId>${xml(g!)}</groupId><artifactId>${xml(a!)}</artifactId></exclusion>`;
  }).join('');
  const deps = options.artifacts.map((c) => {
    const [g, a, v, classifier] = c.split(':');
    return [
      '    <dependency>',
      `<groupId>${xml(g!)}</groupId><artifactId>${xml(a!)}</artifactId><version>${xml(v!)}</version>`,
      classifier ? `<classifier>${xml(classifier)}</classifier>` : '',
      exclusions ? `<exclusions>${exclusions}</exclusions>` : '',
      '</dependency>',
    ].join('');
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!-- Written by streamtune (platform/local/maven.ts): the jars of one local server, copied to lib/. -->',
    '<project xmlns="http://maven.apache.org/POM/4.0.0">',
    '  <modelVersion>4.0.0</modelVersion>',
    '  <groupId>streamtune.local</groupId>',
    `  <artifactId>${xml(options.name)}</artifactId>`,
    `  <version>${xml(options.version)}</version>`,
    '  <packaging>pom</packaging>',
    '  <dependencies>',
    ...deps,
    '  </dependencies>',
    '</project>',
    '',
  ].join('\n');
}

function runMaven(options: ResolveMavenOptions, dir: string, libDir: string, timeoutMs: number): Promise<void> {
  const mvn = options.mvn ?? 'mvn';
  const args = ['-q', '-B', '-f', join(dir, 'pom.xml'), `${MAVEN_DEPENDENCY_PLUGIN}:copy-dependencies`, `-DoutputDirectory=${libDir}`, '-DincludeScope=runtime'];
  const what = options.artifacts.join(', ');
  return new Promise<void>((resolve, reject) => {
    const child = spawn(mvn, args, { cwd: dir, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const keep = (chunk: Buffer): void => {
      out = (out + chunk.toString('utf8')).slice(-8_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      reject(new StreamtuneError('ARTIFACT_UNAVAILABLE', missing
        ? `Maven ('${mvn}') is not installed, needed to fetch ${what} (Debian: apt-get install -y maven)`
        : `Maven ('${mvn}') could not start for ${what}: ${errorMessage(err)}`, { cause: err, details: { artifacts: options.artifacts } }));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve();
      const why = signal === 'SIGKILL' ? `did not finish within ${timeoutMs} ms` : `exited with ${code ?? signal}`;
      reject(new StreamtuneError('ARTIFACT_UNAVAILABLE', `Maven could not resolve ${what}: mvn ${why}\n${out.trim()}`, {
        retriable: true,
        details: { artifacts: options.artifacts, dir },
      }));
    });
  });
}
