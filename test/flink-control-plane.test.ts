/**
 * A Flink cluster through the whole control plane: `createControlPlane` with a `flink` config
 * section pointing at the fake Flink REST server (every request and response checked against
 * Flink's OpenAPI spec), the embedded store and the HTTP API. The fake runs a job whose window
 * vertex is the bottleneck (busy ~980 ms/s while the source is back-pressured). The job must show in
 * GET /api/v1/jobs, the collector must write its points, a diagnosis must recommend set-parallelism
 * and applying it must go through Flink: stop-with-savepoint then `/jars/:jarid/run` with the
 * parallelism overrides (default scheduler), or PUT resource-requirements and no savepoint
 * (adaptive scheduler).
 */
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../core/logger.ts';
import { createApp, listen, type Listening } from '../dashboards/server/app.ts';
import { createControlPlane, type AssembledControlPlane } from '../control-plane/assemble.ts';
import { createAuth } from '../dashboards/server/auth.ts';
import { loadConfig } from '../control-plane/config.ts';
import type { Operation } from '../tuner/types.ts';
import { startFakeFlink, type FakeFlink, type FakeJobInit } from './helpers/fake-flink.ts';
import { tempDir, waitFor } from './helpers/wait.ts';

const TOKEN = 'test-token-0123456789abcdef0123456789';
const JID = '6a0c8e1f2b3d4c5e6f708192a3b4c5d6';
const SRC = 'cbc357ccb763df2852fee8c4fc7d55f2';
const WIN = '90bea66de1c231edf33913ecd54406c1';
const JAR = 'f1e2d3c4_orders.jar';
const SECRET = 'Bearer flink-secret-7e1f';

/** Source back-pressured 600 ms/s, window busy 980 ms/s: the window is the bottleneck. */
/** The job streamtune finds: running for 10 minutes (a Flink job's meters read low for its first 60 s, and the diagnoser skips them). */
function bottleneckJob(): FakeJobInit {
  return {
    jid: JID,
    startTime: Date.now() - 10 * 60_000,
    name: 'orders-enrichment',
    vertices: [
      {
        id: SRC,
        name: 'Source: orders -> Map',
        parallelism: 2,
        maxParallelism: 128,
        metrics: {
          numRecordsOut: ['500000', '500000'],
          numRecordsOutPerSecond: ['1000.0', '1000.0'],
          busyTimeMsPerSecond: ['300.0', '300.0'],
          backPressuredTimeMsPerSecond: ['600', '600'],
          idleTimeMsPerSecond: ['100', '100'],
          'Source__orders.pendingRecords': ['250000', '250000'],
        },
      },
      {
        id: WIN,
        name: 'Window(Tumbling 10s) -> Sink: enriched',
        parallelism: 2,
        maxParallelism: 128,
        inputs: [SRC],
        metrics: {
          numRecordsIn: ['500000', '500000'],
          numRecordsInPerSecond: ['1000.0', '1000.0'],
          numRecordsOutPerSecond: ['10.0', '10.0'],
          busyTimeMsPerSecond: ['980.0', '980.0'],
          backPressuredTimeMsPerSecond: ['0', '0'],
          idleTimeMsPerSecond: ['20', '20'],
        },
      },
    ],
    checkpoints: { completed: 10, failed: 0, latest: { id: 10, endToEndDurationMs: 800, checkpointedSizeBytes: 1_048_576, stateSizeBytes: 4_194_304, triggerTimestamp: Date.now() } },
    checkpointConfig: { interval: 30_000, timeout: 600_000, minPause: 5_000 },
  };
}

interface Stack {
  fake: FakeFlink;
  cp: AssembledControlPlane;
  http: Listening;
  base: string;
}
let stack: Stack | undefined;

afterEach(async () => {
  await stack?.http.close(1000);
  await stack?.cp.close();
  await stack?.fake.close();
  stack = undefined;
});

async function setup(scheduler: 'default' | 'adaptive'): Promise<Stack> {
  const fake = await startFakeFlink({ scheduler, requireAuthorization: SECRET });
  fake.addJob(bottleneckJob());
  const { startTime: _running, ...fromJar } = bottleneckJob();
  fake.addJar(JAR, 'com.example.OrdersJob', { ...fromJar, jid: undefined });
  const dir = tempDir('streamtune-flink-cp-');
  const config = loadConfig({
    env: { STREAMTUNE_FLINK_URL: fake.url, STREAMTUNE_FLINK_AUTHORIZATION: SECRET },
    defaults: { collector: { intervalMs: '1s' }, diagnoser: { sweepCron: 'off', windowMs: '2m', stepMs: '1s' }, rules: { watch: false } },
    overrides: {
      dataDir: dir,
      server: { port: 0, apiToken: TOKEN },
      flink: { jarId: JAR, entryClass: 'com.example.OrdersJob', scheduler, pollIntervalMs: '1s', jobs: { 'orders-enrichment': { consumerGroup: 'orders-enricher', topics: ['orders'] } } },
      tuner: { policies: { '*': { cooldownMs: 0, verifyAfterMs: 0 } } },
    },
  });
  const cp = await createControlPlane(config, { logger: silentLogger });
  const http = await listen(createApp(cp, { auth: createAuth({ token: TOKEN }), baseUrl: 'http://127.0.0.1', cacheTtlMs: 0, logger: silentLogger }), 0, '127.0.0.1');
  stack = { fake, cp, http, base: http.url };
  return stack;
}

async function api(s: Stack, method: string, path: string, json?: unknown): Promise<{ status: number; json: any }> {
  const headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` };
  if (json !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${s.base}${path}`, { method, headers, ...(json !== undefined ? { body: JSON.stringify(json) } : {}) });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

/** The job is listed, its points are collected, and a diagnosis recommends raising the window's parallelism; returns the recommendation id. */
async function diagnoseBottleneck(s: Stack): Promise<{ recId: string; to: number }> {
  const jobs = await api(s, 'GET', '/api/v1/jobs');
  assert.equal(jobs.status, 200);
  const listed = jobs.json.jobs.find((j: { job_id: string }) => j.job_id === JID);
  assert.ok(listed, 'the Flink job is listed by GET /api/v1/jobs');
  assert.equal(listed.name, 'orders-enrichment');
  const job = await api(s, 'GET', `/api/v1/jobs/${JID}`);
  assert.equal(job.json.executor, 'flink');
  assert.equal(job.json.consumerGroup, 'orders-enricher');
  assert.deepEqual(job.json.topology.map((v: { id: string; parallelism: number; inputs: string[] }) => [v.id, v.parallelism, v.inputs]), [[SRC, 2, []], [WIN, 2, [SRC]]]);
  assert.deepEqual(job.json.checkpointing, { interval: 30_000, timeout: 600_000, minPause: 5_000, unaligned: false });

  // the collector pulls the job over REST every round and writes reporter-shaped points
  await waitFor(
    async () => {
      const series = await s.cp.store.query({ measurement: 'taskmanager_job_task_busyTimeMsPerSecond', field: 'value', start: Date.now() - 60_000, end: Date.now() + 1000, where: { job_id: JID, task_id: WIN }, groupBy: ['subtask_index'], window: 1000, aggregate: 'mean' });
      return series.length === 2 && series.every((x) => x.points.some((p) => p.v === 980)) && series[0]!.points.length >= 3;
    },
    { timeoutMs: 30_000, intervalMs: 250, what: 'busy time points of the window vertex' },
  );

  const d = await waitFor(
    async () => {
      const r = await api(s, 'POST', '/api/v1/diagnoses', { job_id: JID });
      assert.equal(r.status, 201);
      return r.json.recommendations.some((x: { actions: Array<{ type: string }> }) => x.actions.some((a) => a.type === 'set-parallelism')) ? r.json : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 500, what: 'a diagnosis recommending set-parallelism' },
  );
  assert.equal(d.rootCause.vertex, 'Window(Tumbling 10s) -> Sink: enriched', `root cause: ${JSON.stringify(d.rootCause)}`);
  const rec = d.recommendations.find((x: { actions: Array<{ type: string }> }) => x.actions.some((a) => a.type === 'set-parallelism'));
  const action = rec.actions.find((a: { vertex: { name: string } }) => a.vertex.name === 'Window(Tumbling 10s) -> Sink: enriched');
  assert.ok(action, `the recommendation scales the window vertex: ${JSON.stringify(rec.actions)}`);
  assert.equal(action.from, 2);
  assert.ok(action.to > 2, `scale up, got ${action.to}`);
  return { recId: rec.id, to: action.to };
}

test('default scheduler: applying the recommendation stops the Flink job with a savepoint and runs the jar from it with the parallelism overrides', { timeout: 120_000 }, async () => {
  const s = await setup('default');
  const { recId, to } = await diagnoseBottleneck(s);
  const srcTo = (await api(s, 'GET', `/api/v1/recommendations/${recId}`)).json.recommendation.actions.find((a: { vertex: { name: string } }) => a.vertex.name === 'Source: orders -> Map')?.to as number | undefined;
  const srcNow = s.fake.jobs.get(JID)!.vertices.find((v) => v.id === SRC)!.parallelism;
  // each step is published once journaled: note what had been sent to Flink by then
  const journaled: Array<{ step: string; stops: number; runs: number }> = [];
  await s.cp.bus.subscribe('operations', (op) => {
    const last = op.steps.at(-1);
    if (last?.status === 'started') journaled.push({ step: last.name, stops: s.fake.requestsOf('triggerStopWithSavepoint').length, runs: s.fake.requestsOf('submitJobFromJar').length });
  });

  const applied = await api(s, 'POST', `/api/v1/recommendations/${recId}/apply`, {});
  assert.equal(applied.status, 202);
  const done: Operation = await s.cp.tuner.waitFor(applied.json.id, 60_000);
  assert.equal(done.state, 'SUCCEEDED', `operation ended ${done.state}: ${done.error ?? ''}`);
  assert.deepEqual(done.steps.map((x) => [x.name, x.status]), [['savepoint', 'succeeded'], ['start', 'succeeded'], ['wait-running', 'succeeded'], ['verify', 'skipped']]);
  assert.match(done.savepointPath ?? '', /^file:\/tmp\/savepoints\/savepoint-/);
  assert.deepEqual(journaled.filter((j) => j.step === 'savepoint' || j.step === 'start'), [
    { step: 'savepoint', stops: 0, runs: 0 },
    { step: 'start', stops: 1, runs: 0 },
  ], 'each step journaled before its request went to Flink');

  const stops = s.fake.requestsOf('triggerStopWithSavepoint');
  assert.equal(stops.length, 1);
  assert.equal(stops[0]!.path, `/jobs/${JID}/stop`);
  assert.equal(stops[0]!.headers.authorization, SECRET);
  const runs = s.fake.requestsOf('submitJobFromJar');
  assert.equal(runs.length, 1);
  assert.equal(runs[0]!.path, `/jars/${JAR}/run`);
  // every vertex is named, the unchanged source at its current parallelism: Flink would run a vertex
  // the overrides leave out at the parallelism the job was submitted with
  const expectedOverrides = [`${WIN}:${to}`, `${SRC}:${srcTo ?? srcNow}`].sort();
  const body = runs[0]!.body as { jobId: string; entryClass: string; savepointPath: string; flinkConfiguration: Record<string, string> };
  // Flink without HA never takes a JobID twice: the new execution runs under the JobID streamtune
  // picked and journaled with the 'start' step before asking for the run
  assert.match(done.restartedAs ?? '', /^[0-9a-f]{32}$/);
  assert.notEqual(done.restartedAs, JID);
  assert.equal(body.jobId, done.restartedAs, 'the run asks for the journaled JobID');
  assert.match(done.steps.find((x) => x.name === 'start')!.message ?? '', new RegExp(`as job ${done.restartedAs}`));
  assert.equal(body.entryClass, 'com.example.OrdersJob');
  assert.equal(body.savepointPath, done.savepointPath);
  assert.deepEqual(body.flinkConfiguration['pipeline.jobvertex-parallelism-overrides']!.split(',').sort(), expectedOverrides);
  assert.deepEqual(s.fake.violations, [], 'every request and response matched Flink’s OpenAPI spec');
  const now = done.restartedAs!;
  assert.equal(s.fake.jobs.get(now)!.vertices.find((v) => v.id === WIN)!.parallelism, to);

  // the catalog sees the restarted job with its new parallelism at its next poll
  await waitFor(() => s.cp.jobs.get(now)?.state === 'RUNNING' && s.cp.jobs.get(now)!.topology.find((v) => v.id === WIN)?.parallelism === to, { timeoutMs: 10_000, what: 'the catalog to show the new parallelism' });
  // the operation is listed for the new execution too (its history carries over), and so the
  // cooldown after it holds for the new JobID
  assert.ok(s.cp.tuner.operations({ job_id: now }).some((o) => o.id === done.id));
  s.cp.tuner.setPolicy(now, { cooldownMs: 600_000 });
  await assert.rejects(
    s.cp.tuner.apply({ job_id: now, actions: [{ type: 'set-parallelism', vertex: WIN, from: to, to: to + 1 }], origin: 'user' }),
    (e: Error & { code?: string }) => e.code === 'CONFLICT' && /cooldown: operation/.test(e.message),
  );
  // the secret is sent to Flink and nowhere else
  assert.doesNotMatch(JSON.stringify((await api(s, 'GET', `/api/v1/jobs/${now}`)).json), /flink-secret/);
});

test('default scheduler: a job run with the new parallelism that reaches FAILED instead of RUNNING is rolled back from the same savepoint with the previous parallelism', { timeout: 120_000 }, async () => {
  const s = await setup('default');
  const { recId } = await diagnoseBottleneck(s);
  s.fake.runStates = ['FAILED'];
  const applied = await api(s, 'POST', `/api/v1/recommendations/${recId}/apply`, {});
  assert.equal(applied.status, 202);
  const done: Operation = await s.cp.tuner.waitFor(applied.json.id, 60_000);
  assert.equal(done.state, 'ROLLED_BACK', `operation ended ${done.state}: ${done.error ?? ''}`);
  assert.deepEqual(done.steps.map((x) => [x.name, x.status]), [['savepoint', 'succeeded'], ['start', 'succeeded'], ['wait-running', 'failed'], ['rollback', 'succeeded']]);
  assert.match(done.steps.find((x) => x.name === 'wait-running')!.message ?? '', /reached FAILED instead of RUNNING/);
  assert.match(done.error ?? '', /the job did not run with the new settings/);
  const runs = s.fake.requestsOf('submitJobFromJar').map((r) => r.body as { savepointPath: string; flinkConfiguration?: Record<string, string> });
  assert.equal(runs.length, 2, 'one run with the new settings, one rollback run');
  assert.equal(runs[1]!.savepointPath, done.savepointPath, 'the rollback starts from the same savepoint');
  const job = s.fake.jobs.get(done.restartedAs!)!;
  assert.equal(job.state, 'RUNNING');
  assert.equal(job.vertices.find((v) => v.id === WIN)!.parallelism, 2, 'the window runs with its previous parallelism');
  assert.equal((runs[1] as { jobId?: string }).jobId, done.restartedAs, 'the rollback runs under the JobID journaled with it');
  assert.deepEqual(s.fake.violations, [], 'every request and response matched Flink’s OpenAPI spec');
});

test('adaptive scheduler: applying the recommendation rescales in place through PUT resource-requirements, with no savepoint', { timeout: 120_000 }, async () => {
  const s = await setup('adaptive');
  const { recId, to } = await diagnoseBottleneck(s);
  const applied = await api(s, 'POST', `/api/v1/recommendations/${recId}/apply`, {});
  assert.equal(applied.status, 202);
  const done: Operation = await s.cp.tuner.waitFor(applied.json.id, 60_000);
  assert.equal(done.state, 'SUCCEEDED', `operation ended ${done.state}: ${done.error ?? ''}`);
  assert.deepEqual(done.steps.map((x) => [x.name, x.status]), [['rescale', 'succeeded'], ['verify', 'skipped']]);
  assert.equal(done.savepointPath, undefined);

  assert.equal(s.fake.requestsOf('triggerStopWithSavepoint').length, 0, 'no stop-with-savepoint');
  assert.equal(s.fake.requestsOf('triggerSavepoint').length, 0, 'no savepoint');
  assert.equal(s.fake.requestsOf('submitJobFromJar').length, 0, 'no resubmission');
  const puts = s.fake.requestsOf('updateJobResourceRequirements');
  assert.equal(puts.length, 1);
  assert.equal(puts[0]!.path, `/jobs/${JID}/resource-requirements`);
  const bounds = puts[0]!.body as Record<string, { parallelism: { lowerBound: number; upperBound: number } }>;
  assert.deepEqual(bounds[WIN], { parallelism: { lowerBound: 1, upperBound: to } });
  assert.ok(bounds[SRC], 'every vertex is listed');
  assert.deepEqual(s.fake.violations, [], 'every request and response matched Flink’s OpenAPI spec');
  assert.equal(s.fake.jobs.get(JID)!.vertices.find((v) => v.id === WIN)!.parallelism, to);
});
