/**
 * Malformed requests to the real API (any server: the app in process, or `streamtune serve` in a
 * child process), made by fast-check from the routes of the OpenAPI document: path parameters
 * (unknown, empty-ish, badly percent-encoded, 600 characters), query strings (each declared
 * parameter absent, valid, of the wrong type or range, repeated, as `a[]=`, raw `%zz` and `&&==`
 * junk, unknown parameters), bodies (each route's valid body changed 1–4 times, random JSON, JSON that
 * does not parse, 5,000 levels deep, job specs as YAML from the spec generator, form-encoded fields,
 * other content types, more than the 1 MiB limit), with the API token (mostly) or without.
 *
 * What must come back (clear.ts): a documented status, never 5xx, within 20 s; a JSON error body
 * `{error: {code, message}}` without a stack frame for every 4xx; a 400 names the field: a path,
 * query or body field of the route (its root), `body`, or for a job spec a spec field with its line;
 * 401 only to requests without the token. A job spec that is accepted (201) is stopped again at once.
 */
import fc from 'fast-check';
import { appendFileSync } from 'node:fs';
import { API_ROUTES, openApiDocument, type ApiRoute } from '../../../dashboards/server/openapi.ts';
import { isTerminalJobState } from '../../../platform/index.ts';
import { STACK_FRAME, type Outcome } from './clear.ts';
import { preview, treeMutation, weirdValue, type Json } from './mutate.ts';
import { specTextArbitrary } from './kinds/spec.ts';

/** What the fuzzer knows about the server it talks to. */
export interface ApiTarget {
  /** e.g. 'http://127.0.0.1:8080' */
  base: string;
  token: string;
  /** a RUNNING job the fuzzer reads (never stops) */
  jobId: string;
  /** a recommendation whose job does not exist (apply ends in a 404 from the tuner, never an operation) */
  recommendationId: string;
  diagnosisId: string;
  /** a dataset file for valid-looking specs */
  dataFile: string;
}

/** One request. */
export interface ApiCase {
  route: ApiRoute | undefined;
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  body?: string;
  withToken: boolean;
}

const weirdSegment = fc.oneof(
  // ('.' and '..' are left out: the client resolves them, so the request reaches another route)
  fc.constantFrom('nope', '%', '%zz', '%E0%A4%A', '%2F', '%00', ' ', '%20', 'a'.repeat(600), '🙂', '%F0%9F%99%82', '__proto__', 'constructor', "'", '"', '<x>', '\\'),
  fc.string({ minLength: 1, maxLength: 12 }).filter((x) => x !== '.' && x !== '..').map(encodeURIComponent),
);

/** A query value that is often wrong for any parameter. */
const weirdQueryValue = fc.oneof(
  weirdValue.map((v) => encodeURIComponent(typeof v === 'string' ? v : JSON.stringify(v) ?? '')),
  fc.constantFrom('', '0', '-1', '1001', '10001', '99999999999999999999', '1.5', 'now', 'now-1m', 'now-99999999999d', 'now+1m', '2024-13-45', '1e3', '%zz', '%', 'x%00y', '10s', '1ms', '999h', 'busy', 'vertex', 'job'),
);

function queryArbitrary(route: ApiRoute | undefined): fc.Arbitrary<string> {
  const names = Object.keys(route?.query ?? {});
  const param = fc.tuple(fc.oneof(fc.constantFrom(...(names.length ? names : ['x'])), fc.constantFrom('from', 'to', 'step', 'limit', 'metric', 'groupBy', 'job', 'action', 'keyword', 'unknown', '__proto__', 'a[]', 'from[x]')), weirdQueryValue, fc.constantFrom('one', 'repeated', 'bracket', 'bare'))
    .map(([k, v, shape]) => (shape === 'repeated' ? `${k}=${v}&${k}=${v}` : shape === 'bracket' ? `${k}[]=${v}` : shape === 'bare' ? k : `${k}=${v}`));
  return fc.oneof(
    { weight: 6, arbitrary: fc.array(param, { minLength: 1, maxLength: 4 }).map((ps) => ps.join('&')) },
    { weight: 1, arbitrary: fc.constantFrom('&&&', '==', '=&=', '%', '%zz=1', 'a=%', '&from', `from=${'9'.repeat(5000)}`, `${'a=1&'.repeat(2000)}a=1`) },
    { weight: 1, arbitrary: fc.constant('') },
  );
}

/** A valid body of each POST route, for the body mutations. */
function validBody(route: ApiRoute, t: ApiTarget): Json | undefined {
  switch (route.operationId) {
    case 'submitJob':
      return { spec: { name: 'fuzz-job', vertices: [{ name: 'gen', type: 'generator-source', rate: 10, count: 100 }, { name: 'out', type: 'discard-sink' }], edges: [{ from: 'gen', to: 'out' }] }, parallelism: { gen: 1 } };
    case 'diagnoseNow':
      return { job_id: t.jobId };
    case 'applyRecommendation':
      return { actions: [{ type: 'set-parallelism', vertex: 'work', from: 1, to: 2 }, { type: 'set-checkpointing', interval: 1000 }, { type: 'set-memory', heapBytes: 1_000_000 }] };
    default:
      return undefined;
  }
}

function bodyArbitrary(route: ApiRoute | undefined, t: ApiTarget): fc.Arbitrary<{ headers: Record<string, string>; body?: string }> {
  const json = (v: Json | undefined) => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(v) ?? 'null' });
  const valid = route ? validBody(route, t) : undefined;
  const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
  const options: Array<fc.WeightedArbitrary<{ headers: Record<string, string>; body?: string }>> = [
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => json(v as Json)) },
    { weight: 1, arbitrary: fc.constantFrom('{"a":', '[', '{"job_id": "x",}', 'NaN', "{'a': 1}", '\u0000', '', '{"__proto__": {"x": 1}}', deep, `{"a":"${'x'.repeat(1_100_000)}"}`).map((body) => ({ headers: { 'content-type': 'application/json' }, body })) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom('application/xml', 'text/html', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', 'application/json; charset=utf-16', 'application/octet-stream', 'nonsense'), fc.string({ maxLength: 50 })).map(([ct, body]) => ({ headers: { 'content-type': ct }, body })) },
    { weight: 1, arbitrary: fc.dictionary(fc.constantFrom('job_id', 'job', 'spec', 'actions', 'actions[0]', 'parallelism', '_csrf', 'x'), fc.string({ maxLength: 10 }), { maxKeys: 3 }).map((f) => ({ headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(f).toString() })) },
    { weight: 1, arbitrary: fc.constant({ headers: {} }) },
  ];
  if (valid !== undefined) options.push({ weight: 6, arbitrary: treeMutation(valid).map(json) });
  if (route?.operationId === 'submitJob') {
    options.push({ weight: 4, arbitrary: specTextArbitrary(specBases(t)).map((body) => ({ headers: { 'content-type': 'application/yaml' }, body })) });
    options.push({ weight: 2, arbitrary: specTextArbitrary(specBases(t)).map((spec) => json({ spec })) });
  }
  return fc.oneof(...options);
}

/** Valid specs for POST /jobs that start quickly (no Kafka): a generator and a dataset replay. */
function specBases(t: ApiTarget): string[] {
  return [
    `name: fuzz-gen\nvertices:\n  - { name: gen, type: generator-source, rate: 10, count: 100, splits: 2, parallelism: 1 }\n  - { name: work, type: map, set: { y: "value + 1" } }\n  - { name: keep, type: filter, condition: "y > 3" }\n  - { name: win, type: window-aggregate, key: key, size: 1s, aggregations: { n: count } }\n  - { name: out, type: discard-sink }\nedges:\n  - { from: gen, to: work }\n  - { from: work, to: keep }\n  - { from: keep, to: win, partitioning: hash, key: key }\n  - { from: win, to: out }\n`,
    `name: fuzz-data\ncheckpoints: { interval: 5s }\nvertices:\n  - { name: events, type: dataset-source, path: ${JSON.stringify(t.dataFile)}, eventTime: ts, rate: 10, splits: 2 }\n  - { name: mem, type: collect-sink }\nedges:\n  - { from: events, to: mem }\n`,
  ];
}

/** Requests to the API. Never stop or savepoint the target's job: those routes get unknown ids only. */
export function apiCaseArbitrary(t: ApiTarget): fc.Arbitrary<ApiCase> {
  const routeArb = fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom(...API_ROUTES) as fc.Arbitrary<ApiRoute | undefined> },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
  return routeArb.chain((route) => {
    const idArb = !route?.params
      ? fc.constant('')
      : route.operationId === 'stopJob' || route.operationId === 'triggerSavepoint'
        ? weirdSegment
        : fc.oneof({ weight: 2, arbitrary: fc.constant(route.path.startsWith('/recommendations/') ? t.recommendationId : route.path.startsWith('/diagnoses/') ? t.diagnosisId : t.jobId) }, { weight: 1, arbitrary: weirdSegment });
    const method = route ? route.method.toUpperCase() : 'GET';
    return fc.record({
      id: idArb,
      unknownPath: fc.oneof(weirdSegment, fc.constantFrom('jobs/x/y/z', 'Jobs', 'jobs/', 'openapi.yaml', 'audit/1', 'health/x')),
      query: queryArbitrary(route),
      body: route?.method === 'post' ? bodyArbitrary(route, t) : fc.constant<{ headers: Record<string, string>; body?: string }>({ headers: {} }),
      withToken: fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    }).map(({ id, unknownPath, query, body, withToken }) => {
      const path = route ? `/api/v1${route.path.replace(/\{[^}]+\}/g, id)}` : `/api/v1/${unknownPath}`;
      return { route, method, path, query, headers: body.headers, ...(body.body !== undefined ? { body: body.body } : {}), withToken };
    });
  });
}

const DOC = openApiDocument() as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };

/** The statuses the document lists for a route. */
function documented(r: ApiRoute): number[] {
  return Object.keys(DOC.paths[r.path]?.[r.method]?.responses ?? {}).map(Number);
}

/** The top-level fields a request's body carries (JSON object or form), which a 400 may name. */
function sentFields(c: ApiCase): string[] {
  if (c.body === undefined) return [];
  try {
    if ((c.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) return [...new URLSearchParams(c.body).keys()];
    const v = JSON.parse(c.body) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? Object.keys(v) : [];
  } catch {
    return [];
  }
}

/** The first segment of a field path: `actions[0].to` → `actions`, `parallelism.work` → `parallelism`. */
function fieldRoot(field: string): string {
  return field.split(/[.[]/)[0]!;
}

/**
 * Stops a job the fuzzer got accepted, until it has ended (60 s bound): a job whose spec fails when
 * it runs may be RESTARTING when the first stop comes, and a stop with savepoint of a restarting job
 * fails, so the stop is asked again until the job is in a terminal state or gone.
 */
async function stopAccepted(t: ApiTarget, id: string): Promise<void> {
  const url = `${t.base}/api/v1/jobs/${encodeURIComponent(id)}`;
  const headers = { authorization: `Bearer ${t.token}` };
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    await fetch(`${url}/stop`, { method: 'POST', headers, signal: AbortSignal.timeout(60_000) }).then((r) => r.arrayBuffer()).catch(() => undefined);
    const state = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) })
      .then(async (r) => (r.status === 404 ? 'GONE' : ((await r.json()) as { state?: string }).state))
      .catch(() => undefined);
    if (state === 'GONE' || (state !== undefined && isTerminalJobState(state))) return;
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** The answer of one case: fetches it (20 s bound) and judges it; cleans up an accepted job. */
export async function runApiCase(t: ApiTarget, c: ApiCase, timeoutMs = 20_000): Promise<Outcome> {
  let res: Response;
  let text: string;
  try {
    res = await fetch(`${t.base}${c.path}${c.query ? `?${c.query}` : ''}`, {
      method: c.method,
      headers: { ...c.headers, ...(c.withToken ? { authorization: `Bearer ${t.token}` } : {}) },
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
      ...(c.body !== undefined ? { body: c.body } : {}),
    });
    text = await res.text();
  } catch (err) {
    const e = err as Error;
    return { kind: 'unclear', why: e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : `the request failed: ${e.message} ${String((e as { cause?: unknown }).cause ?? '')}` };
  }
  const status = res.status;
  if (STACK_FRAME.test(text)) return { kind: 'unclear', why: `${status} with a stack frame: ${text.slice(0, 300)}` };
  if (status >= 500) return { kind: 'unclear', why: `${status}: ${text.slice(0, 300)}` };
  let json: { error?: { code?: unknown; message?: unknown; field?: unknown; line?: unknown } } | undefined;
  try {
    json = JSON.parse(text) as typeof json;
  } catch {
    return { kind: 'unclear', why: `${status} is not JSON: ${text.slice(0, 200)}` };
  }
  if (status < 300) {
    if (c.route?.operationId === 'submitJob') {
      // accepted after all: stop it again, so the server keeps only its own job
      const id = (json as { job_id?: string }).job_id;
      if (id) await stopAccepted(t, id);
    }
    return { kind: 'accepted' };
  }
  const e = json?.error;
  if (!e || typeof e.code !== 'string' || typeof e.message !== 'string' || e.message === '') return { kind: 'unclear', why: `${status} without {error: {code, message}}: ${text.slice(0, 200)}` };
  if (status === 401) return c.withToken && e.code !== 'RATE_LIMITED' ? { kind: 'unclear', why: `401 with the token: ${text.slice(0, 200)}` } : { kind: 'rejected' };
  if (!c.route) return (status === 404 && e.code === 'NOT_FOUND') || (status === 400 && e.field === 'path') ? { kind: 'rejected' } : { kind: 'unclear', why: `an unknown route answered ${status}: ${text.slice(0, 200)}` };
  if (!documented(c.route).includes(status)) return { kind: 'unclear', why: `status ${status} is not documented for ${c.route.operationId}: ${text.slice(0, 200)}` };
  if (status === 400) {
    if (e.code === 'INVALID_SPEC') {
      if (c.route.operationId !== 'submitJob') return { kind: 'unclear', why: `INVALID_SPEC from ${c.path}` };
      const hasLine = typeof e.line === 'number' && e.line >= 1;
      if (!hasLine && (typeof e.field !== 'string' || e.field === '')) return { kind: 'unclear', why: `a spec refused without a line or a field: ${text.slice(0, 300)}` };
      if (c.headers['content-type'] === 'application/yaml' && !hasLine) return { kind: 'unclear', why: `a YAML spec refused without a line: ${text.slice(0, 300)}` };
      return { kind: 'rejected' };
    }
    if (typeof e.field !== 'string' || e.field === '') return { kind: 'unclear', why: `400 without a field: ${text.slice(0, 300)}` };
    const allowed = new Set(['body', '_csrf', ...Object.keys(c.route.params ?? {}), ...Object.keys(c.route.query ?? {}), ...Object.keys(((c.route.body?.json as { properties?: object } | undefined)?.properties) ?? {}), ...sentFields(c)]);
    if (!allowed.has(fieldRoot(e.field)) && !allowed.has(e.field)) return { kind: 'unclear', why: `400 names '${e.field}', not a field of ${c.method} ${c.route.path}: ${text.slice(0, 300)}` };
  }
  return { kind: 'rejected' };
}

/** The request, short, for reports. */
export function previewCase(c: ApiCase): string {
  return preview(`${c.withToken ? '' : '(no token) '}${c.method} ${c.path}${c.query ? `?${c.query}` : ''}${c.body !== undefined ? ` [${c.headers['content-type'] ?? 'no type'}] ${c.body}` : ''}`, 400);
}

/** Counts of a run of {@link runApiFuzz}. */
export interface ApiFuzzReport {
  tried: number;
  rejected: number;
  accepted: number;
  unclear: number;
  failures: Array<{ input: string; why: string }>;
  seed: number;
  /** ms of the slowest answer */
  slowestMs: number;
}

/** Sends `numRuns` requests from {@link apiCaseArbitrary}, one at a time, and counts the outcomes. */
export async function runApiFuzz(t: ApiTarget, numRuns: number, seed = process.env.STREAMTUNE_FUZZ_SEED ? Number(process.env.STREAMTUNE_FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31)): Promise<ApiFuzzReport> {
  const r: ApiFuzzReport = { tried: 0, rejected: 0, accepted: 0, unclear: 0, failures: [], seed, slowestMs: 0 };
  const seen = new Set<string>();
  await fc.check(
    fc.asyncProperty(apiCaseArbitrary(t), async (c) => {
      // STREAMTUNE_FUZZ_TRACE=<file>: each request is written there before it is sent (a crash of the process names its input)
      if (process.env.STREAMTUNE_FUZZ_TRACE) appendFileSync(process.env.STREAMTUNE_FUZZ_TRACE, `${previewCase(c)}\n`);
      const t0 = performance.now();
      const o = await runApiCase(t, c);
      r.slowestMs = Math.max(r.slowestMs, performance.now() - t0);
      r.tried++;
      r[o.kind]++;
      if (o.kind === 'unclear' && r.failures.length < 20 && !seen.has(o.why.slice(0, 60))) {
        seen.add(o.why.slice(0, 60));
        r.failures.push({ input: previewCase(c), why: o.why });
      }
      return true;
    }),
    { numRuns, seed },
  );
  return r;
}
