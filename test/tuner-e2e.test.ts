/**
 * Issue 5's end-to-end test on the bundled runtime, through the real control plane
 * (`createControlPlane` over a temp data dir: embedded store, collector, alerter, diagnoser, tuner)
 * and the REST API the dashboard uses, served by the real app on a free loopback port.
 *
 * The job is the demo's graph (jobs/flight-delays-demo.yaml): dataset source `flights` replaying
 * real flights at {@link RATE} records/s → lookup `enrich` taking {@link LATENCY_MS} ms per record
 * (parallelism 1 handles under 1,000 records/s, so it cannot keep up) → `delay-by-origin` 1 h window
 * aggregation → a JSONL sink instead of the demo's discard sink. The input is the first
 * {@link ROWS} rows of vega-datasets' flights-3m.parquet in event-time order (75 s of input at the
 * rate), written once to a temp parquet file with DuckDB, which also computes the ground truth over
 * that same file (a LIMIT over ties in `date` read twice could pick different rows).
 *
 * The story: the job lags; the lag alert fires (short `for`) and the diagnoser recommends raising
 * `enrich`'s parallelism; `POST /api/v1/recommendations/:id/apply` with the bearer token starts an
 * operation; it reaches SUCCEEDED with its steps, downtime and savepoint in the journal
 * (`GET /api/v1/operations/:id`: 'savepoint' = stop with savepoint, 'start' = start from it,
 * 'wait-running' = until RUNNING, 'verify'); the group's
 * lag (`GET /api/v1/jobs/:id/lag`) comes back to zero within the rules' catch-up target
 * ({@link CATCH_UP_MS}, set as `planner.catchUpDuration` in the test's rules folder, so the planner
 * sizes the step for it); the job runs to the end of its input
 * and its output equals DuckDB's per-origin count and sum of delay with no duplicate window: the
 * savepoint restart lost and repeated nothing.
 */
import { writeLagAlertRules } from './helpers/rules.ts';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { silentLogger } from '../core/logger.ts';
import type { Diagnosis, Recommendation } from '../diagnoser/types.ts';
import { createApp, listen, type Listening } from '../dashboards/server/app.ts';
import { createControlPlane, type AssembledControlPlane } from '../control-plane/assemble.ts';
import { createAuth } from '../dashboards/server/auth.ts';
import { loadConfig } from '../control-plane/config.ts';
import { DEMO_JOB } from '../control-plane/demo.ts';
import type { Operation } from '../tuner/types.ts';
import { VERIFY_SETTLE_MS, VERIFY_STEP_MS, ZERO_LAG_RECORDS } from '../tuner/verify.ts';
import { committedRecords, duplicateWindows, flightsInReadOrder, sumsByOrigin } from './helpers/flights.ts';
import { tempDir, waitFor } from './helpers/wait.ts';

const TOKEN = 'tuner-e2e-test-token-7c1d9e04b2';
const JOB_NAME = 'flights-e2e';
/** rows of flights-3m in the slice (first in event-time order) */
const ROWS = 300_000;
/** records/s the flights arrive at */
const RATE = 4000;
/** ms per record of the lookup: one `enrich` subtask handles at most 1,000 records/s */
const LATENCY_MS = 1;
/** ms: the rules' catch-up target (`planner.catchUpDuration`): after the restart the backlog must be gone within it */
const CATCH_UP_MS = 60_000;
/** ms after the restart before verification: the after window starts VERIFY_SETTLE_MS after the first
 * record and needs two lag points at VERIFY_STEP_MS resolution (epoch-aligned windows that start
 * inside it), so settle + 3 steps leaves one step of slack: 10 s + 15 s = 25 s. */
const VERIFY_AFTER_MS = VERIFY_SETTLE_MS + 3 * VERIFY_STEP_MS;

let dir: string;
let outDir: string;
let slice: string;
let truth: Map<string, { count: number; sumDelay: number }>;
let cp: AssembledControlPlane | undefined;
let http: Listening | undefined;
let base: string;

async function api(method: string, path: string, json?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any; text: string }> {
  const h: Record<string, string> = { ...headers };
  if (json !== undefined && h['content-type'] === undefined) h['content-type'] = 'application/json';
  const body = json === undefined ? undefined : typeof json === 'string' ? json : JSON.stringify(json);
  const res = await fetch(`${base}${path}`, { method, headers: h, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, json: parsed, text };
}
const bearer = { authorization: `Bearer ${TOKEN}` };

/** The demo job graph on the slice, with the rate, the lookup latency and a JSONL sink of this test. */
function jobSpecYaml(): string {
  const spec = parseYaml(readFileSync(DEMO_JOB, 'utf8')) as { name: string; vertices: Array<Record<string, unknown>>; edges: unknown[] };
  spec.name = JOB_NAME;
  const v = (name: string) => {
    const x = spec.vertices.find((y) => y.name === name);
    assert.ok(x, `the demo job has a vertex ${name}`);
    return x;
  };
  Object.assign(v('flights'), { path: slice, rate: RATE, parallelism: 1 });
  Object.assign(v('enrich'), { latencyMs: LATENCY_MS, parallelism: 1 });
  const sink = v('results');
  for (const k of Object.keys(sink)) delete sink[k];
  Object.assign(sink, { name: 'results', type: 'jsonl-sink', path: outDir, parallelism: 1 });
  return stringifyYaml(spec);
}

before(async () => {
  dir = tempDir('streamtune-tuner-e2e-');
  outDir = join(dir, 'out');
  slice = join(dir, `flights-${ROWS}.parquet`);
  // the slice in event-time order, and the ground truth over the very same file
  const inst = await DuckDBInstance.create(':memory:');
  const con = await inst.connect();
  await con.run(`COPY ${flightsInReadOrder(ROWS)} TO '${slice}' (FORMAT parquet)`);
  const r = await con.runAndReadAll(`SELECT origin, count(*)::DOUBLE, sum(delay)::DOUBLE FROM '${slice}' GROUP BY origin`);
  truth = new Map(r.getRows().map((row) => [String(row[0]), { count: Number(row[1]), sumDelay: Number(row[2]) }]));
  con.closeSync();
  inst.closeSync();

  // the demo's lag alert, firing after 3 s; the catch-up target of the planner
  const rulesDir = writeLagAlertRules(dir, '3s');
  writeFileSync(join(rulesDir, 'planner.yaml'), `planner:\n  catchUpDuration: ${CATCH_UP_MS / 1000}s\n`);
  const config = loadConfig({
    env: {},
    defaults: {
      rules: { dir: rulesDir, watch: false },
      collector: { intervalMs: '1s' },
      diagnoser: { windowMs: '1m', stepMs: '1s', rediagnoseMs: '5s', alertIntervalMs: '1s', sweepCron: 'off' },
      tuner: { policies: { '*': { mode: 'recommend', verifyAfterMs: VERIFY_AFTER_MS, cooldownMs: '1s' } } },
    },
    overrides: { dataDir: join(dir, 'data'), server: { port: 0, host: '127.0.0.1', apiToken: TOKEN } },
  });
  cp = await createControlPlane(config, { logger: silentLogger, startJobs: false });
  http = await listen(createApp(cp, { auth: createAuth({ token: TOKEN }), baseUrl: 'http://127.0.0.1', cacheTtlMs: 0, logger: silentLogger }), 0, '127.0.0.1');
  base = http.url;
});

after(async () => {
  await http?.close(1000);
  await cp?.close();
});

test('flights job: lags → diagnosed → Apply through the API → SUCCEEDED, lag back to zero within the catch-up target, output exact', { timeout: 420_000 }, async (t) => {
  const t0 = Date.now();
  const at = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;

  // submit the job through the API, as the dashboard's user would
  const submitted = await api('POST', '/api/v1/jobs', jobSpecYaml(), { ...bearer, 'content-type': 'application/yaml' });
  assert.equal(submitted.status, 201, submitted.text);
  const jobId = submitted.json.job_id as string;
  assert.equal(submitted.json.consumerGroup, JOB_NAME);
  t.diagnostic(`${at()}: job ${jobId} running`);

  // it lags: the group's total lag grows past the alert's 5,000 records
  await waitFor(async () => {
    const r = await api('GET', `/api/v1/jobs/${jobId}/lag?from=now-1m&step=1s`);
    return (r.json.total.records.at(-1)?.v ?? 0) > 5000;
  }, { timeoutMs: 60_000, intervalMs: 500, what: 'the job lagging by more than 5,000 records' });
  t.diagnostic(`${at()}: lagging`);

  // the alert fires and the diagnoser recommends more parallelism for enrich
  const isScaleUp = (r: Recommendation) => r.actions.some((a) => a.type === 'set-parallelism' && a.vertex.name === 'enrich' && a.to > a.from);
  const diagnosis = await waitFor(async () => {
    const r = await api('GET', `/api/v1/diagnoses?job=${jobId}`);
    return (r.json.diagnoses as Diagnosis[]).find((d) => d.trigger.type === 'alert' && d.recommendations.some(isScaleUp));
  }, { timeoutMs: 120_000, intervalMs: 500, what: 'a diagnosis of the lag alert recommending more parallelism for enrich' });
  assert.equal(diagnosis.rootCause.kind, 'under-provisioned', diagnosis.rootCause.explanation);
  assert.equal(diagnosis.rootCause.vertex, 'enrich');
  const rec = diagnosis.recommendations.find(isScaleUp)!;
  const action = rec.actions.find((a) => a.type === 'set-parallelism' && a.vertex.name === 'enrich')!;
  assert.ok(action.type === 'set-parallelism' && action.from === 1 && action.to > 1);
  t.diagnostic(`${at()}: diagnosis ${diagnosis.id}: ${rec.title}; expected ${JSON.stringify(rec.expected)}`);

  // Apply, as the dashboard does: the REST API with the bearer token
  assert.equal((await api('POST', `/api/v1/recommendations/${rec.id}/apply`, {})).status, 401, 'no token, no apply');
  const applied = await api('POST', `/api/v1/recommendations/${rec.id}/apply`, {}, bearer);
  assert.equal(applied.status, 202, applied.text);
  const opId = applied.json.id as string;
  assert.equal(applied.json.recommendationId, rec.id);
  assert.deepEqual(applied.json.actions, rec.actions);

  let last: Operation | undefined;
  const op = await waitFor(async () => {
    const o = (await api('GET', `/api/v1/operations/${opId}`, undefined, bearer)).json as Operation;
    if (!last || last.steps.length !== o.steps.length) t.diagnostic(`${at()}: operation ${o.state}: ${o.steps.map((s) => `${s.name} ${s.status}`).join(', ')}`);
    last = o;
    return ['SUCCEEDED', 'FAILED', 'ROLLED_BACK', 'INEFFECTIVE', 'UNVERIFIED'].includes(o.state) ? o : undefined;
  }, { timeoutMs: 180_000, intervalMs: 500, what: 'the operation to finish' });
  t.diagnostic(`${at()}: operation ${op.state}, downtime ${op.downtimeMs} ms; steps ${op.steps.map((s) => `${s.name} ${s.status} (${s.message ?? ''})`).join('; ')}`);
  assert.equal(op.state, 'SUCCEEDED', JSON.stringify(op, null, 2));

  // the journal: savepoint (stop with savepoint), start (from it, until RUNNING), verify — each ended
  assert.deepEqual(op.steps.map((s) => [s.name, s.status]), [['savepoint', 'succeeded'], ['start', 'succeeded'], ['wait-running', 'succeeded'], ['verify', 'succeeded']]);
  for (const s of op.steps) assert.ok(s.finishedAt !== undefined && s.finishedAt >= s.startedAt, `step ${s.name} has its times`);
  for (let i = 1; i < op.steps.length; i++) assert.ok(op.steps[i]!.startedAt >= op.steps[i - 1]!.finishedAt!, 'steps in order');
  const [spStep, startStep, waitStep, verifyStep] = op.steps as [Operation['steps'][number], Operation['steps'][number], Operation['steps'][number], Operation['steps'][number]];
  assert.equal(typeof op.savepointPath, 'string');
  assert.equal(spStep.message, op.savepointPath, 'the savepoint step names the savepoint');
  assert.ok(typeof op.downtimeMs === 'number' && op.downtimeMs >= 0, `downtimeMs ${op.downtimeMs}`);
  assert.ok(op.verification?.effective, op.verification?.reason);
  assert.match(startStep.message ?? '', /^started from /);
  assert.match(waitStep.message ?? '', /^running, from /);
  assert.match(verifyStep.message ?? '', /^effective scale-up/);
  const snaps = (await api('GET', `/api/v1/jobs/${jobId}/checkpoints`, undefined, bearer)).json.snapshots as Array<{ kind: string; path: string; operationId?: string }>;
  assert.ok(snaps.some((s) => s.kind === 'savepoint' && s.path === op.savepointPath && s.operationId === opId), 'the savepoint is recorded with the job');
  const job = (await api('GET', `/api/v1/jobs/${jobId}`)).json;
  assert.equal(job.summary.parallelism.enrich, action.to, 'the job runs with the recommended parallelism');
  assert.equal(job.summary.lastOperation.id, opId);
  assert.equal((await api('GET', `/api/v1/recommendations/${rec.id}`)).json.state.status, 'applied');

  // the backlog survived the restart (the arrival clock is in the savepoint, as on Kafka) and drains:
  // the lag comes back to zero within the catch-up target after the restart. Zero: at most
  // ZERO_LAG_RECORDS (100 records, 25 ms of input: what arrived since the source's last poll).
  const restartedAt = waitStep.finishedAt!;
  const lagSince = async (from: number) =>
    ((await api('GET', `/api/v1/jobs/${jobId}/lag?from=${from}&step=1s`)).json.total.records as Array<{ t: number; v: number }>).filter((p) => p.t >= from);
  const caughtUp = await waitFor(async () => (await lagSince(restartedAt)).find((p) => p.v <= ZERO_LAG_RECORDS), {
    timeoutMs: CATCH_UP_MS + 30_000, intervalMs: 1000, what: `the lag back to at most ${ZERO_LAG_RECORDS} records`,
  });
  const afterRestart = await lagSince(restartedAt);
  t.diagnostic(`${at()}: lag ${caughtUp.v} records ${caughtUp.t - restartedAt} ms after the restart (catch-up target ${CATCH_UP_MS} ms); lag per second since the restart: ${afterRestart.map((p) => p.v).join(', ')}`);
  assert.ok(afterRestart[0]!.v > 5000, `the backlog is still there after the restart: ${afterRestart[0]!.v} records`);
  assert.ok(caughtUp.t - restartedAt <= CATCH_UP_MS, `caught up ${caughtUp.t - restartedAt} ms after the restart; target ${CATCH_UP_MS} ms`);
  // and stays caught up, as the tuner's verification counts it: at most max(ZERO_LAG_RECORDS, 1 s of input)
  const later = await waitFor(async () => {
    const pts = await lagSince(caughtUp.t + 1000);
    return pts.length >= 5 ? pts : undefined;
  }, { timeoutMs: 60_000, intervalMs: 1000, what: 'five lag samples after catching up' });
  assert.ok(later.every((p) => p.v <= Math.max(ZERO_LAG_RECORDS, RATE)), `lag after catching up: ${later.map((p) => p.v).join(', ')}`);

  // run to the end of the bounded input; the output is exact against DuckDB
  await waitFor(async () => (await api('GET', `/api/v1/jobs/${jobId}`)).json.state === 'FINISHED', {
    timeoutMs: 240_000, intervalMs: 1000, what: 'the job to finish its input',
  });
  t.diagnostic(`${at()}: job FINISHED`);
  const records = committedRecords(outDir);
  assert.deepEqual(duplicateWindows(records), [], 'no window result twice');
  const got = sumsByOrigin(records);
  assert.equal(got.size, truth.size);
  assert.deepEqual(got, truth, 'per-origin count and sum of delay equal DuckDB GROUP BY origin');
  assert.equal([...got.values()].reduce((a, e) => a + e.count, 0), ROWS);
});
