/**
 * Builds streamtune's Java Flink jobs (`flink-jobs/<name>/`, Maven projects) into job jars kept in the
 * artifact cache (`cache.ts`), keyed by a hash of the job's sources, so a jar is built once per
 * change of its sources and a second run needs neither Maven nor the network.
 *
 * The build runs on a copy of the project (pom.xml and src/) in the cache, so the repository never
 * gets a `target/` folder: first offline (`mvn -q -B -o package`, enough once `~/.m2` has the
 * dependencies), then online when that fails. Maven keeps its own repository (`~/.m2`) as usual.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { errorMessage, type Logger, silentLogger, StreamtuneError } from '../../core/index.ts';
import { REPO_ROOT, cacheDir } from './cache.ts';
import { ensureFlinkDistribution, DEFAULT_FLINK_VERSION } from './flink.ts';

/** The flight-delays job's Maven project, relative to the repository root. */
export const FLIGHT_DELAYS_PROJECT = 'flink-jobs/flight-delays';

/** Options of {@link buildFlinkJob}. */
export interface BuildFlinkJobOptions {
  /** The Maven project folder; default `<repo>/flink-jobs/flight-delays`. */
  project?: string;
  /** The `mvn` to run; default `mvn` from PATH. */
  mvn?: string;
  logger?: Logger;
}

function projectFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(p);
    }
  };
  out.push(join(dir, 'pom.xml'));
  if (existsSync(join(dir, 'src'))) walk(join(dir, 'src'));
  return out;
}

/** sha256 over the relative paths and contents of pom.xml and src/** (hex, 16 characters). */
export function flinkJobSourceHash(project: string): string {
  const h = createHash('sha256');
  for (const f of projectFiles(project)) {
    h.update(relative(project, f));
    h.update('\0');
    h.update(readFileSync(f));
    h.update('\0');
  }
  return h.digest('hex').slice(0, 16);
}

function runMaven(mvn: string, args: string[], cwd: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    let out = '';
    const child = spawn(mvn, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (b: Buffer): void => {
      out = (out + b.toString('utf8')).slice(-20_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('error', (err) => {
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      reject(new StreamtuneError('ARTIFACT_UNAVAILABLE', missing ? `Maven ('${mvn}') is not installed (Debian: apt-get install -y maven)` : `${mvn}: ${errorMessage(err)}`, { cause: err }));
    });
    child.once('exit', (code) => resolve({ code, out }));
  });
}

/**
 * The job jar of a Maven project in `flink-jobs/`, built on first use into
 * `cacheDir('flink-jobs')/<artifact>-<source hash>.jar`.
 * @returns the jar's path
 * @throws StreamtuneError ARTIFACT_UNAVAILABLE when Maven is missing or the build fails offline and
 *   online (the message carries Maven's output)
 */
export async function buildFlinkJob(opts: BuildFlinkJobOptions = {}): Promise<string> {
  const project = opts.project ?? join(REPO_ROOT, FLIGHT_DELAYS_PROJECT);
  const log = (opts.logger ?? silentLogger).namespace('flink-job');
  const pom = readFileSync(join(project, 'pom.xml'), 'utf8');
  const finalName = /<finalName>([^<]+)<\/finalName>/.exec(pom)?.[1];
  if (!finalName) throw new StreamtuneError('INVALID_CONFIG', `${join(project, 'pom.xml')}: no <build><finalName>, so the job jar's name is unknown`);
  const jobs = cacheDir('flink-jobs');
  const jar = join(jobs, `${finalName}-${flinkJobSourceHash(project)}.jar`);
  if (existsSync(jar)) return jar;
  const work = mkdtempSync(join(jobs, `.build-${finalName}-`));
  try {
    copyFileSync(join(project, 'pom.xml'), join(work, 'pom.xml'));
    cpSync(join(project, 'src'), join(work, 'src'), { recursive: true });
    const mvn = opts.mvn ?? 'mvn';
    const started = Date.now();
    let r = await runMaven(mvn, ['-q', '-B', '-o', 'package', '-DskipTests'], work);
    if (r.code !== 0) {
      log.info('offline Maven build failed; building online (fetches the dependencies into ~/.m2)', { project });
      r = await runMaven(mvn, ['-q', '-B', 'package', '-DskipTests'], work);
    }
    const built = join(work, 'target', `${finalName}.jar`);
    if (r.code !== 0 || !existsSync(built)) {
      throw new StreamtuneError('ARTIFACT_UNAVAILABLE', `Maven build of ${project} failed (exit ${r.code}):\n${r.out.slice(-6_000)}`);
    }
    renameSync(built, jar);
    log.info('job jar built', { jar, ms: Date.now() - started });
    return jar;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * The flight-delays job jar (`flink-jobs/flight-delays`: KafkaSource → enrich → 1-hour windows per
 * origin → exactly-once FileSink), built once per change of its sources. See {@link buildFlinkJob}.
 */
export function buildFlightDelaysJob(opts: Omit<BuildFlinkJobOptions, 'project'> = {}): Promise<string> {
  return buildFlinkJob({ ...opts, project: join(REPO_ROOT, FLIGHT_DELAYS_PROJECT) });
}

/**
 * Fetches everything the real-Flink tests need so that they never download within their time
 * budget: the Flink distribution (PyPI sdist, unpacked into the cache) and the flight-delays job jar
 * (Maven dependencies into ~/.m2, the jar into the cache). For CI: `node --import tsx
 * scripts/prefetch-flink.ts` before the tests.
 * @returns the distribution's folder and the job jar's path
 */
export async function prefetchFlink(opts: { logger?: Logger; version?: string } = {}): Promise<{ flinkHome: string; jobJar: string }> {
  const dist = ensureFlinkDistribution(opts.version ?? DEFAULT_FLINK_VERSION, { logger: opts.logger });
  const jobJar = await buildFlightDelaysJob({ logger: opts.logger });
  return { flinkHome: dist.home, jobJar };
}
