/**
 * The demo of `npm start` (`streamtune demo`): the control-plane server with the embedded store,
 * running `jobs/flight-delays-demo.yaml` (flights replayed at 5,000 records/s with an
 * under-provisioned lookup, so it lags) and the demo rules of `jobs/demo-rules/` (the lag alert fires
 * after 15 s), so that within a minute the lag is diagnosed and one click on Apply fixes it.
 *
 * Stale data: the demo keeps everything in `<data dir>/demo/` (data dir: `STREAMTUNE_DATA_DIR`,
 * default `./data`) and starts from scratch every time: that folder is emptied first (only when it
 * carries the demo's marker file, so a folder that is not the demo's is never deleted), so a previous
 * run — with its job already scaled up, its diagnoses and operations — never changes the story.
 * `streamtune demo --keep` resumes the previous run instead (the job from its latest checkpoint).
 */
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StreamtuneError } from '../core/index.ts';
import { loadConfig, type ServerConfig } from './config.ts';

/** The demo job spec. */
export const DEMO_JOB = fileURLToPath(new URL('../jobs/flight-delays-demo.yaml', import.meta.url));
/** The demo rules folder (laid over the built-in rules). */
export const DEMO_RULES = fileURLToPath(new URL('../jobs/demo-rules/', import.meta.url));
/** Marker file that makes a folder the demo's (and so deletable by the reset). */
export const DEMO_MARKER = '.streamtune-demo';

/** `<STREAMTUNE_DATA_DIR or ./data>/demo`, absolute. */
export function demoDataDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.STREAMTUNE_DATA_DIR?.trim() || './data';
  return resolve(base, 'demo');
}

/**
 * Empties the demo folder for a fresh run and marks it as the demo's. A missing folder is created.
 * @throws StreamtuneError INVALID_CONFIG when the folder exists, is not empty and has no demo marker
 *   (it is not the demo's: nothing is deleted).
 */
export function resetDemoData(dir: string): void {
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    if (!existsSync(join(dir, DEMO_MARKER))) {
      throw new StreamtuneError('INVALID_CONFIG', `${dir} is not empty and was not made by the demo (no ${DEMO_MARKER}); not deleting it. Move it away or set STREAMTUNE_DATA_DIR.`, { details: { file: dir } });
    }
    rmSync(dir, { recursive: true, force: true });
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, DEMO_MARKER), 'made by `streamtune demo`; emptied at every demo start\n');
}

/** Options of {@link demoConfig}. */
export interface DemoOptions {
  env?: NodeJS.ProcessEnv;
  /** `--port`. Default `STREAMTUNE_PORT` or 8080. */
  port?: number;
  /** an extra config file laid over the demo defaults (`--config`) */
  file?: string;
}

/**
 * The demo configuration: the data dir of {@link demoDataDir}, the demo job and rules, 5 s collection
 * and alerting, a 5 min diagnosis window re-diagnosed every 20 s while the alert fires, and a tuner
 * that verifies 30 s after the restart. The environment and `file` still apply on top (but the data
 * dir is always the demo's).
 */
export function demoConfig(opts: DemoOptions = {}): ServerConfig {
  const env = opts.env ?? process.env;
  const dataDir = demoDataDir(env);
  return loadConfig({
    env,
    ...(opts.file ? { file: opts.file } : {}),
    defaults: {
      rules: { dir: DEMO_RULES },
      jobs: [DEMO_JOB],
      collector: { intervalMs: '5s' },
      diagnoser: { windowMs: '5m', stepMs: '5s', rediagnoseMs: '20s', alertIntervalMs: '5s', sweepCron: '*/2 * * * *' },
      tuner: { policies: { '*': { mode: 'recommend', verifyAfterMs: '30s', cooldownMs: '1m' } } },
    },
    overrides: { dataDir, ...(opts.port !== undefined ? { server: { port: opts.port } } : {}) },
  });
}
