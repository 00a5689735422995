/**
 * Where downloaded server artifacts (Apache Kafka and Apache Flink jars, the Flink distribution from
 * PyPI, Maven-built job jars) are kept between runs, so that a second run starts without the network.
 *
 * Default: `.cache/` at the repository root (git-ignored). `STREAMTUNE_CACHE_DIR` moves it, e.g. to
 * share one cache between several checkouts. Maven's own repository (`~/.m2`) and pip's own cache
 * are used as the tools keep them.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Environment variable that moves the artifact cache. */
export const CACHE_DIR_ENV = 'STREAMTUNE_CACHE_DIR';

/** The repository root (the folder holding `package.json`), from this file's location. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The artifact cache directory, created if missing; with `sub`, that sub-directory of it.
 * @param env read for `STREAMTUNE_CACHE_DIR`; default `process.env`
 */
export function cacheDir(sub?: string, env: NodeJS.ProcessEnv = process.env): string {
  const root = env[CACHE_DIR_ENV] ? resolve(env[CACHE_DIR_ENV]) : join(REPO_ROOT, '.cache');
  const dir = sub ? join(root, sub) : root;
  mkdirSync(dir, { recursive: true });
  return dir;
}
