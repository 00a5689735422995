/**
 * FlinkExecutor and FlinkRestClient against the fake Flink REST server, which checks every request
 * and response against Flink's OpenAPI spec: each test ends by asserting no violation was recorded.
 */
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { StreamtuneError } from '../core/errors.ts';
import { FlinkExecutor, FlinkRestClient, formatParallelismOverrides, newTriggerId, operatorMetricId } from '../platform/index.ts';
import { isRetriableHttpStatus as isRetriableStatus } from '../core/index.ts';
import { startFakeFlink, hexId, type FakeFlink, type FakeJobInit } from './helpers/fake-flink.ts';
import { waitFor } from './helpers/wait.ts';

const SRC = 'cbc357ccb763df2852fee8c4fc7d55f2';
const WIN = '90bea66de1c231edf33913ecd54406c1';

function template(): FakeJobInit {
  return {
    name: 'orders-enrichment',
    vertices: [
      { id: SRC, name: 'Source: orders -> Map', parallelism: 2, maxParallelism: 128, metrics: { busyTimeMsPerSecond: ['734.0', '701.5'] } },
      { id: WIN, name: 'Window(Tumbling 10s) -> Sink: enriched', parallelism: 2, maxParallelism: 128, inputs: [SRC] },
    ],
  };
}

let fake: FakeFlink;
let adaptive: FakeFlink;
before(async () => {
  fake = await startFakeFlink();
  adaptive = await startFakeFlink({ scheduler: 'adaptive' });
});
after(async () => {
  await fake.close();
  await adaptive.close();
});
afterEach(() => {
  assert.deepEqual(fake.violations, [], 'requests and responses must match Flink’s OpenAPI spec');
  assert.deepEqual(adaptive.violations, [], 'requests and responses must match Flink’s OpenAPI spec');
});

function executor(f: FakeFlink, extra: Partial<ConstructorParameters<typeof FlinkExecutor>[0]> = {}): FlinkExecutor {
  return new FlinkExecutor({
    rest: { baseUrl: f.url, retryBackoffMs: 10 },
    jarId: 'f1e2d3c4_orders.jar',
    entryClass: 'com.example.OrdersJob',
    programArgs: ['--topic', 'orders'],
    pollIntervalMs: 20,
    ...extra,
  });
}

test('stop-with-savepoint then start with per-vertex parallelism overrides sends the savepoint and the override map', async () => {
  const job = fake.addJob(template());
  fake.addJar('f1e2d3c4_orders.jar', 'com.example.OrdersJob', template());
  fake.savepointBehaviour = { mode: 'complete', polls: 2 };
  const ex = executor(fake);

  const topo = await ex.describe(job.jid);
  assert.deepEqual(topo.vertices.map((v) => [v.id, v.parallelism, v.maxParallelism]), [[SRC, 2, 128], [WIN, 2, 128]]);
  assert.equal(topo.state, 'RUNNING');

  const { savepointPath } = await ex.stopWithSavepoint(job.jid, { targetDirectory: 's3://bucket/savepoints', timeoutMs: 60_000 });
  assert.match(savepointPath, /^s3:\/\/bucket\/savepoints\/savepoint-/);
  assert.equal(fake.jobs.get(job.jid)!.state, 'FINISHED');
  const stopReq = fake.requestsOf('triggerStopWithSavepoint')[0]!;
  assert.deepEqual(Object.keys(stopReq.body as object).sort(), ['drain', 'targetDirectory', 'triggerId']);
  assert.equal(fake.requestsOf('getSavepointStatus').length, 3, 'two IN_PROGRESS polls, then COMPLETED');

  const { jobId } = await ex.start({ jobId: job.jid, savepointPath, parallelism: { [WIN]: 6, [SRC]: 4 }, checkpointing: { interval: 30_000 } });
  assert.notEqual(jobId, job.jid);
  const run = fake.runRequests.at(-1)!;
  assert.equal(run.savepointPath, savepointPath);
  assert.equal(run.entryClass, 'com.example.OrdersJob');
  assert.deepEqual(run.programArgsList, ['--topic', 'orders']);
  const conf = run.flinkConfiguration as Record<string, string>;
  assert.equal(conf['pipeline.jobvertex-parallelism-overrides'], `${WIN}:6,${SRC}:4`.split(',').sort().join(','));
  assert.equal(conf['execution.checkpointing.interval'], '30000 ms');

  await ex.waitUntilRunning(jobId, 60_000);
  const after = await ex.describe(jobId);
  assert.deepEqual(Object.fromEntries(after.vertices.map((v) => [v.id, v.parallelism])), { [SRC]: 4, [WIN]: 6 });
});

test('a savepoint that fails with a failure-cause throws OPERATION_FAILED with the reason and leaves the job running', async () => {
  const job = fake.addJob(template());
  fake.savepointBehaviour = { mode: 'fail', polls: 1, failureMessage: 'Checkpoint expired before completing.' };
  const before = fake.requests.length;
  const err = await executor(fake).stopWithSavepoint(job.jid, { timeoutMs: 60_000 }).catch((e: unknown) => e);
  assert.ok(err instanceof StreamtuneError);
  assert.equal(err.code, 'OPERATION_FAILED');
  assert.equal(err.retriable, false);
  assert.equal(err.details.reason, 'failure-cause');
  assert.match(err.message, /Checkpoint expired before completing/);
  assert.equal(err.details.failureClass, 'org.apache.flink.runtime.checkpoint.CheckpointException');
  assert.equal(fake.jobs.get(job.jid)!.state, 'RUNNING');
  const ops = fake.requests.slice(before).map((r) => r.operationId);
  assert.ok(!ops.includes('cancelJob') && !ops.includes('submitJobFromJar'), `job must be left untouched, saw ${ops.join(',')}`);
});

test('a savepoint that never completes times out with a retriable OPERATION_FAILED and the job still running', async () => {
  const job = fake.addJob(template());
  fake.savepointBehaviour = { mode: 'hang' };
  const err = await executor(fake).stopWithSavepoint(job.jid, { timeoutMs: 300 }).catch((e: unknown) => e);
  assert.ok(err instanceof StreamtuneError);
  assert.equal(err.code, 'OPERATION_FAILED');
  assert.equal(err.details.reason, 'timeout');
  assert.equal(err.retriable, true);
  assert.equal(fake.jobs.get(job.jid)!.state, 'RUNNING');
  fake.savepointBehaviour = { mode: 'complete', polls: 1 };
});

test('a stop that completes after its timeout: the operation times out, then the job is started again from that savepoint with the parallelism it ran with', async () => {
  const t = template();
  const job = fake.addJob({ ...t, vertices: t.vertices.map((v) => ({ ...v, parallelism: v.id === SRC ? 3 : 5 })) });
  fake.addJar('f1e2d3c4_orders.jar', 'com.example.OrdersJob', template()); // the jar's own parallelism is 2
  fake.savepointBehaviour = { mode: 'complete', polls: 25 }; // 25 polls of 20 ms in progress: longer than the 200 ms timeout
  const runsBefore = fake.runRequests.length;
  const err = await executor(fake).stopWithSavepoint(job.jid, { timeoutMs: 200 }).catch((e: unknown) => e);
  fake.savepointBehaviour = { mode: 'complete', polls: 1 };
  assert.ok(err instanceof StreamtuneError);
  assert.equal(err.code, 'OPERATION_FAILED');
  assert.equal(err.details.reason, 'timeout');
  assert.equal(fake.runRequests.length, runsBefore, 'nothing started while the stop is in progress');

  // Flink completes the stop later: the job is FINISHED, and the executor runs it again from that savepoint, unchanged
  const run = await waitFor(() => fake.runRequests[runsBefore], { timeoutMs: 10_000, intervalMs: 20, what: 'the job started again' });
  assert.equal(fake.jobs.get(job.jid)!.state, 'FINISHED');
  const statuses = fake.requestsOf('getSavepointStatus').filter((r) => r.path.startsWith(`/jobs/${job.jid}/`));
  assert.ok(statuses.length > 25, 'the stop was watched to its end');
  assert.match(String(run.savepointPath), /^file:\/tmp\/savepoints\/savepoint-/);
  const conf = run.flinkConfiguration as Record<string, string>;
  assert.equal(conf['pipeline.jobvertex-parallelism-overrides'], [`${SRC}:3`, `${WIN}:5`].sort().join(','));
  const restarted = [...fake.jobs.values()].find((j) => j.jid !== job.jid && j.startTime >= fake.jobs.get(job.jid)!.endTime!)!;
  assert.equal(restarted.state, 'RUNNING');
  assert.deepEqual(Object.fromEntries(restarted.vertices.map((v) => [v.id, v.parallelism])), { [SRC]: 3, [WIN]: 5 });
});

test('triggerSavepoint uses the kebab-case savepoint body and keeps the job running', async () => {
  const job = fake.addJob(template());
  fake.savepointBehaviour = { mode: 'complete', polls: 0 };
  const { savepointPath } = await executor(fake).triggerSavepoint(job.jid, { targetDirectory: 'file:/sp' });
  assert.match(savepointPath, /^file:\/sp\//);
  const req = fake.requestsOf('triggerSavepoint').at(-1)!;
  assert.deepEqual(Object.keys(req.body as object).sort(), ['cancel-job', 'target-directory', 'triggerId']);
  assert.equal(fake.jobs.get(job.jid)!.state, 'RUNNING');
});

test('rescaleInPlace PUTs resource requirements listing every vertex with upperBound = target', async () => {
  const job = adaptive.addJob(template());
  job.resourceRequirements[SRC] = { lowerBound: 2, upperBound: 2 };
  const ex = executor(adaptive, { scheduler: 'adaptive' });
  await ex.rescaleInPlace(job.jid, { [WIN]: 8, [SRC]: 1 });
  const put = adaptive.requestsOf('updateJobResourceRequirements').at(-1)!;
  assert.deepEqual(put.body, {
    [SRC]: { parallelism: { lowerBound: 1, upperBound: 1 } },
    [WIN]: { parallelism: { lowerBound: 1, upperBound: 8 } },
  });
  assert.equal(adaptive.jobs.get(job.jid)!.vertices.find((v) => v.id === WIN)!.parallelism, 8);

  const bad = await ex.rescaleInPlace(job.jid, { [WIN]: 500 }).catch((e: unknown) => e);
  assert.ok(bad instanceof StreamtuneError && bad.code === 'INVALID_ARGUMENT', 'target above maxParallelism is refused before any PUT');
  const notAdaptive = await executor(adaptive).rescaleInPlace(job.jid, { [WIN]: 4 }).catch((e: unknown) => e);
  assert.ok(notAdaptive instanceof StreamtuneError && notAdaptive.code === 'INVALID_CONFIG');
});

test('HTTP errors map to FLINK_API with retriable from the table; 5xx on idempotent calls is retried', async () => {
  assert.equal(isRetriableStatus(503), true);
  assert.equal(isRetriableStatus(0), true);
  assert.equal(isRetriableStatus(404), false);
  assert.equal(isRetriableStatus(400), false);
  const job = fake.addJob(template());
  const client = new FlinkRestClient({ baseUrl: fake.url, retryBackoffMs: 5, retries: 2 });
  fake.failNext('GET', new RegExp(`^/jobs/${job.jid}$`), 503, 2);
  const d = await client.jobDetails(job.jid);
  assert.equal(d.jid, job.jid);

  const missing = await client.jobDetails(hexId()).catch((e: unknown) => e);
  assert.ok(missing instanceof StreamtuneError);
  assert.equal(missing.code, 'FLINK_API');
  assert.equal(missing.retriable, false);
  assert.equal(missing.details.status, 404);

  fake.failNext('GET', new RegExp(`^/jobs/${job.jid}$`), 502, 5);
  const down = await client.jobDetails(job.jid).catch((e: unknown) => e);
  assert.ok(down instanceof StreamtuneError && down.retriable && down.details.status === 502);

  const refused = await new FlinkRestClient({ baseUrl: 'http://127.0.0.1:1', retries: 0 }).jobsOverview().catch((e: unknown) => e);
  assert.ok(refused instanceof StreamtuneError && refused.code === 'FLINK_API' && refused.retriable, 'connection refused is retriable');
});

test('a retried stop with the same triggerId names the same operation (idempotent)', async () => {
  const job = fake.addJob(template());
  fake.savepointBehaviour = { mode: 'hang' };
  const client = new FlinkRestClient({ baseUrl: fake.url });
  const tid = newTriggerId();
  const a = await client.stopWithSavepoint(job.jid, { triggerId: tid });
  const b = await client.stopWithSavepoint(job.jid, { triggerId: tid });
  assert.equal(a, tid);
  assert.equal(b, tid);
  fake.savepointBehaviour = { mode: 'complete', polls: 1 };
});

test('cancel sends PATCH ?mode=cancel and the job ends CANCELED', async () => {
  const job = fake.addJob(template());
  await executor(fake).cancel(job.jid);
  assert.equal(fake.jobs.get(job.jid)!.state, 'CANCELED');
  assert.equal(fake.requestsOf('cancelJob').at(-1)!.query.mode, 'cancel');
});

test('the authorization header is sent when configured', async () => {
  const secured = await startFakeFlink({ requireAuthorization: 'Bearer t0ken' });
  try {
    const job = secured.addJob(template());
    const ok = await new FlinkRestClient({ baseUrl: secured.url, authorization: 'Bearer t0ken' }).jobDetails(job.jid);
    assert.equal(ok.jid, job.jid);
    const denied = await new FlinkRestClient({ baseUrl: secured.url }).jobDetails(job.jid).catch((e: unknown) => e);
    assert.ok(denied instanceof StreamtuneError && denied.details.status === 401 && !denied.retriable);
    assert.deepEqual(secured.violations, []);
  } finally {
    await secured.close();
  }
});

test('aggregated subtask metrics: agg list, operator metric naming and a bare-array answer', async () => {
  const job = fake.addJob({
    name: 'agg',
    vertices: [{ id: SRC, name: 'Source: orders', parallelism: 2, maxParallelism: 128, metrics: { busyTimeMsPerSecond: ['800.0', '200.0'], 'Source__orders.pendingRecords': ['10', '30'] } }],
  });
  assert.equal(operatorMetricId('Source: orders', 'pendingRecords'), 'Source__orders.pendingRecords');
  assert.equal(operatorMetricId('Window(Tumbling 10s), a.b', 'x'), 'Window(Tumbling_10s)__a_b.x');
  const client = new FlinkRestClient({ baseUrl: fake.url });
  const res = await client.aggregatedSubtaskMetrics(job.jid, SRC, ['busyTimeMsPerSecond', operatorMetricId('Source: orders', 'pendingRecords')], ['min', 'max', 'sum', 'avg', 'skew']);
  const busy = res.find((m) => m.id === 'busyTimeMsPerSecond')!;
  assert.deepEqual([busy.min, busy.max, busy.sum, busy.avg, busy.skew], [200, 800, 1000, 500, 60]);
  assert.equal(res.find((m) => m.id === 'Source__orders.pendingRecords')!.sum, 40);
  assert.equal(formatParallelismOverrides({ b: 8, a: 4 }), 'a:4,b:8');
});

test('keepJobId: a submit refused as a duplicate JobID (previous execution still cleaning up) is retried and starts under the same JobID', async () => {
  const job = fake.addJob(template());
  fake.addJar('f1e2d3c4_orders.jar', 'com.example.OrdersJob', template());
  fake.savepointBehaviour = { mode: 'complete', polls: 0 };
  const ex = executor(fake, { keepJobId: true });
  const { savepointPath } = await ex.stopWithSavepoint(job.jid, { timeoutMs: 60_000 });
  const runsBefore = fake.requestsOf('submitJobFromJar').length;
  fake.failNext('POST', /\/jars\/[^/]+\/run$/, 500, 2, 'org.apache.flink.runtime.client.DuplicateJobSubmissionException: Job has already been submitted.');
  const { jobId } = await ex.start({ jobId: job.jid, savepointPath, parallelism: { [WIN]: 3 } });
  assert.equal(jobId, job.jid);
  assert.equal(fake.requestsOf('submitJobFromJar').length - runsBefore, 3, 'two refusals, then accepted');
  assert.equal(fake.runRequests.at(-1)!.jobId, job.jid);
});

test('keepJobId: any other submit failure, or a duplicate past duplicateJobRetryMs, is thrown as FLINK_API', async () => {
  const job = fake.addJob(template());
  fake.addJar('f1e2d3c4_orders.jar', 'com.example.OrdersJob', template());
  fake.savepointBehaviour = { mode: 'complete', polls: 0 };
  const ex = executor(fake, { keepJobId: true, duplicateJobRetryMs: 100 });
  const { savepointPath } = await ex.stopWithSavepoint(job.jid, { timeoutMs: 60_000 });
  fake.failNext('POST', /\/jars\/[^/]+\/run$/, 400, 1, 'org.apache.flink.client.program.ProgramInvocationException: The main method caused an error');
  await assert.rejects(ex.start({ jobId: job.jid, savepointPath }), (e: unknown) => e instanceof StreamtuneError && e.code === 'FLINK_API' && /main method/.test(e.message));
  fake.failNext('POST', /\/jars\/[^/]+\/run$/, 500, 1000, 'DuplicateJobSubmissionException: Job has already been submitted.');
  await assert.rejects(ex.start({ jobId: job.jid, savepointPath }), (e: unknown) => e instanceof StreamtuneError && e.code === 'FLINK_API' && /already been submitted/.test(e.message));
  fake.clearFailures();
});

test('a savepoint operation that fails with FlinkJobNotFoundException (Flink 1.20 accepts the trigger of an unknown job) throws NOT_FOUND', async () => {
  const job = fake.addJob(template());
  fake.savepointBehaviour = { mode: 'fail', polls: 0, failureMessage: `org.apache.flink.runtime.messages.FlinkJobNotFoundException: Could not find Flink job (${job.jid})` };
  const err = await executor(fake).triggerSavepoint(job.jid, { timeoutMs: 10_000 }).catch((e: unknown) => e);
  fake.savepointBehaviour = { mode: 'complete', polls: 1 };
  assert.ok(err instanceof StreamtuneError);
  assert.equal(err.code, 'NOT_FOUND', err.message);
});

test("per-job programs: a restart runs the job's own jar, entry class and program arguments (by JobID, else by name), over the cluster-wide ones", async () => {
  const job = fake.addJob(template());
  fake.addJar('f1e2d3c4_orders.jar', 'com.example.OrdersJob', template());
  fake.addJar('a9b8_other.jar', 'com.example.OtherJob', template());
  fake.savepointBehaviour = { mode: 'complete', polls: 1 };
  const byName = executor(fake, { jobs: { 'orders-enrichment': { programArgs: ['--topic', 'orders-eu', '--group-id', 'eu'] } } });
  const { savepointPath } = await byName.stopWithSavepoint(job.jid, { timeoutMs: 60_000 });
  await byName.start({ jobId: job.jid, savepointPath });
  let run = fake.runRequests.at(-1)!;
  assert.deepEqual(run.programArgsList, ['--topic', 'orders-eu', '--group-id', 'eu']);
  assert.equal(run.entryClass, 'com.example.OrdersJob', 'the cluster-wide entry class where the job names none');
  // the JobID's entry wins over the name's
  const byId = executor(fake, { jobs: { 'orders-enrichment': { programArgs: ['--x'] }, [job.jid]: { jarId: 'a9b8_other.jar', entryClass: 'com.example.OtherJob', programArgs: ['--y'] } } });
  await byId.describe(job.jid);
  await byId.start({ jobId: job.jid, savepointPath });
  run = fake.runRequests.at(-1)!;
  assert.deepEqual([run.entryClass, run.programArgsList], ['com.example.OtherJob', ['--y']]);
  assert.match(fake.requestsOf('submitJobFromJar').at(-1)!.path, /^\/jars\/a9b8_other\.jar\/run/);
});
