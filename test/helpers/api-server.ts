/**
 * A real control plane (embedded store, bundled runtime, collector, diagnoser, tuner, audit log)
 * over a temp data dir, served by the real app (`createApp`) on a free loopback port, with a small
 * dataset-replay job submitted through the API: what the OpenAPI, security and API bad-input tests
 * exercise. Built as test/server-api.test.ts builds its own.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryLogger, type Logger } from '../../core/logger.ts';
import { createApp, listen, type Listening } from '../../dashboards/server/app.ts';
import { createAuth, SESSION_COOKIE, type Auth } from '../../dashboards/server/auth.ts';
import { createControlPlane, type AssembledControlPlane } from '../../control-plane/assemble.ts';
import { loadConfig, type ServerConfig } from '../../control-plane/config.ts';
import { tempDir } from './wait.ts';

/** The API token of the servers made here. */
export const API_TOKEN = 'api-server-token-0123456789abcdef';

/** A small job: a dataset replay of 40,000 records at 400 records/s, a map and a discard sink. */
export function smallJobSpec(name: string, dataFile: string): string {
  return `
name: ${name}
checkpoints: { interval: 2s, timeout: 30s, retained: 2 }
vertices:
  - { name: events, type: dataset-source, path: ${dataFile}, eventTime: ts, rate: 400, splits: 2, parallelism: 1 }
  - { name: work, type: map, set: { doubled: "v * 2" }, parallelism: 1 }
  - { name: out, type: discard-sink, parallelism: 1 }
edges:
  - { from: events, to: work, partitioning: rebalance }
  - { from: work, to: out }
`;
}

/** One HTTP answer. */
export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  /** the body as JSON, undefined when it is not JSON */
  json: any;
}

/** Options of a request made with {@link ApiServer.req}. */
export interface ReqInit {
  headers?: Record<string, string>;
  body?: string;
  cookie?: string;
  json?: unknown;
  form?: Record<string, string>;
  /** ms before the request is aborted. Default 30,000. */
  timeoutMs?: number;
}

/** A running server and what the tests need of it. */
export interface ApiServer {
  cp: AssembledControlPlane;
  auth: Auth;
  http: Listening;
  base: string;
  dir: string;
  rulesDir: string;
  config: ServerConfig;
  /** the job submitted at start, RUNNING */
  jobId: string;
  logger: MemoryLogger;
  bearer: Record<string, string>;
  req(method: string, path: string, init?: ReqInit): Promise<Answer>;
  /** A session logged in through a one-time link: its cookie and CSRF token. */
  loggedInSession(): Promise<{ cookie: string; csrf: string }>;
  /** The session cookie (name=value) a response set, if any. */
  sessionCookie(headers: Headers): string | undefined;
  close(): Promise<void>;
}

/** Options of {@link startApiServer}. */
export interface ApiServerOptions {
  /** `server.publicReads`. Default false. */
  publicReads?: boolean;
  /** Laid over the config (as `loadConfig` overrides): secrets, a Flink section, notify... */
  overrides?: Record<string, unknown>;
  /** The config's environment (e.g. STREAMTUNE_INFLUXDB_TOKEN). Default {}. */
  env?: NodeJS.ProcessEnv;
  /** Failed logins allowed per 15 min. Default 10 (the server's). */
  loginLimit?: number;
  /** Submit the small job. Default true. */
  submitJob?: boolean;
  /** Logger of the control plane and the app. Default a MemoryLogger at every level (kept in `logger`). */
  logger?: Logger;
  /** An existing data dir (a restart). Default a new temp dir. */
  dir?: string;
  /** The API token. Default {@link API_TOKEN}. */
  token?: string;
}

/** Starts a control plane and the app; see the module comment. */
export async function startApiServer(opts: ApiServerOptions = {}): Promise<ApiServer> {
  const dir = opts.dir ?? tempDir('streamtune-apisrv-');
  const rulesDir = join(dir, 'rules');
  mkdirSync(rulesDir, { recursive: true });
  writeFileSync(join(rulesDir, 'alerts.yaml'), readFileSync(new URL('../../jobs/demo-rules/alerts.yaml', import.meta.url), 'utf8').replace('for: 15s', 'for: 5s'));
  const dataFile = join(dir, 'events.jsonl');
  const t0 = Date.UTC(2024, 0, 1);
  // 10 minutes of input at the spec's 400 records/s: the job still runs at the end of the slowest suite on a loaded machine
  writeFileSync(dataFile, Array.from({ length: 240_000 }, (_, i) => JSON.stringify({ ts: t0 + i * 10, key: `k${i % 10}`, v: i })).join('\n') + '\n');
  const config = loadConfig({
    env: opts.env ?? {},
    defaults: { collector: { intervalMs: '1s' }, diagnoser: { alertIntervalMs: '1s', sweepCron: 'off', windowMs: '2m', stepMs: '1s' }, rules: { dir: rulesDir, watch: false } },
    overrides: { dataDir: dir, ...(opts.overrides ?? {}), server: { port: 0, apiToken: opts.token ?? API_TOKEN, publicReads: opts.publicReads ?? false, ...((opts.overrides?.server as object | undefined) ?? {}) } },
  });
  const memory = new MemoryLogger();
  const logger = opts.logger ?? memory;
  const cp = await createControlPlane(config, { logger });
  const token = opts.token ?? API_TOKEN;
  const auth = createAuth({ token, logger: logger.namespace('auth') });
  const http = await listen(createApp(cp, { auth, baseUrl: 'http://127.0.0.1', cacheTtlMs: 0, logger, publicReads: config.server.publicReads, ...(opts.loginLimit ? { loginRateLimit: { limit: opts.loginLimit } } : {}) }), 0, '127.0.0.1');
  const base = http.url;
  const bearer = { authorization: `Bearer ${token}` };
  const req = async (method: string, path: string, init: ReqInit = {}): Promise<Answer> => {
    const headers: Record<string, string> = { ...(init.headers ?? {}) };
    let body = init.body;
    if (init.json !== undefined) {
      headers['content-type'] ??= 'application/json';
      body = JSON.stringify(init.json);
    }
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    }
    if (init.cookie) headers.cookie = init.cookie;
    const res = await fetch(`${base}${path}`, { method, headers, redirect: 'manual', signal: AbortSignal.timeout(init.timeoutMs ?? 30_000), ...(body !== undefined ? { body } : {}) });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
  };
  const sessionCookie = (headers: Headers): string | undefined => {
    for (const c of headers.getSetCookie()) if (c.startsWith(`${SESSION_COOKIE}=`)) return c.split(';')[0];
    return undefined;
  };
  let jobId = '';
  if (opts.submitJob !== false) {
    const r = await req('POST', '/api/v1/jobs', { headers: { ...bearer, 'content-type': 'application/yaml' }, body: smallJobSpec('api-job', dataFile) });
    assert.equal(r.status, 201, r.text);
    jobId = r.json.job_id;
  }
  return {
    cp, auth, http, base, dir, rulesDir, config, jobId, logger: memory, bearer, req, sessionCookie,
    async loggedInSession() {
      const r = await req('GET', auth.createLoginLink());
      assert.equal(r.status, 303, r.text);
      const cookie = sessionCookie(r.headers);
      assert.ok(cookie, 'the one-time link sets a session cookie');
      const s = await req('GET', '/api/v1/session', { cookie });
      assert.equal(s.json.loggedIn, true);
      return { cookie, csrf: s.json.csrfToken };
    },
    async close() {
      await http.close(1000);
      await cp.close();
    },
  };
}
