/**
 * The operation runner's in-place rescale (Flink adaptive scheduler), through the tuner service with
 * the Flink catalog and executor over the fake Flink REST server (spec-validated) and the embedded
 * store: the 'rescale' step is journaled before the PUT, a refused rescale fails with the job
 * unchanged, a rescale the cluster does not carry out is rolled back in place. No savepoint in any case.
 */
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createStoreFromEnv } from '../collector/store/index.ts';
import { createBus } from '../core/bus-factory.ts';
import { createDiagnosisStore } from '../diagnoser/diagnosis-store.ts';
import { FlinkCatalog, FlinkExecutor } from '../platform/index.ts';
import { createTunerService, type TunerServiceImpl } from '../tuner/service.ts';
import type { Operation } from '../tuner/types.ts';
import { startFakeFlink, type FakeFlink } from './helpers/fake-flink.ts';
import { tempDir } from './helpers/wait.ts';

const JID = '0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e';
const SRC = 'cbc357ccb763df2852fee8c4fc7d55f2';
const WIN = '90bea66de1c231edf33913ecd54406c1';
const scaleWin = (to: number) => [{ type: 'set-parallelism' as const, vertex: 'Window(Tumbling 10s) -> Sink: enriched', from: 2, to }];

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function stack(): Promise<{ fake: FakeFlink; tuner: TunerServiceImpl; published: Array<{ op: Operation; puts: number }> }> {
  const fake = await startFakeFlink({ scheduler: 'adaptive' });
  cleanups.push(() => fake.close());
  fake.addJob({
    jid: JID,
    name: 'orders-enrichment',
    vertices: [
      { id: SRC, name: 'Source: orders -> Map', parallelism: 2, maxParallelism: 128 },
      { id: WIN, name: 'Window(Tumbling 10s) -> Sink: enriched', parallelism: 2, maxParallelism: 128, inputs: [SRC] },
    ],
  });
  const dataDir = tempDir('streamtune-inplace-');
  const store = await createStoreFromEnv({}, { dataDir });
  cleanups.push(() => store.close());
  const bus = await createBus({});
  cleanups.push(() => bus.close());
  const diagnoses = await createDiagnosisStore({ dir: join(dataDir, 'diagnoses') });
  cleanups.push(() => diagnoses.close());
  const executor = new FlinkExecutor({ rest: { baseUrl: fake.url, retryBackoffMs: 10 }, scheduler: 'adaptive', pollIntervalMs: 20 });
  const catalog = new FlinkCatalog({ executor });
  await catalog.refresh();
  // the bundled executor is not involved: every job here is a Flink job
  const tuner = await createTunerService({
    executor, executors: { flink: executor }, jobs: catalog, store, diagnoses, bus, dataDir,
    policies: { '*': { cooldownMs: 0, verifyAfterMs: 0 } }, timeouts: { runningMs: 1500 },
  });
  cleanups.push(() => tuner.close());
  const published: Array<{ op: Operation; puts: number }> = [];
  await bus.subscribe('operations', (op) => void published.push({ op, puts: fake.requestsOf('updateJobResourceRequirements').length }));
  return { fake, tuner, published };
}

test('in place: the rescale step is journaled before the PUT, the job runs with the new parallelism, no savepoint', { timeout: 60_000 }, async () => {
  const { fake, tuner, published } = await stack();
  const op = await tuner.apply({ job_id: JID, actions: scaleWin(5), origin: 'user' });
  const done = await tuner.waitFor(op.id, 30_000);
  assert.equal(done.state, 'SUCCEEDED', done.error);
  assert.deepEqual(done.steps.map((s) => [s.name, s.status]), [['rescale', 'succeeded'], ['verify', 'skipped']]);
  const started = published.find((p) => p.op.steps.at(-1)?.name === 'rescale' && p.op.steps.at(-1)?.status === 'started');
  assert.ok(started, 'a started rescale step was published');
  assert.equal(started.op.state, 'STARTING');
  assert.equal(started.puts, 0, 'journaled before PUT resource-requirements was sent');
  assert.equal(fake.jobs.get(JID)!.vertices.find((v) => v.id === WIN)!.parallelism, 5);
  assert.equal(fake.requestsOf('triggerStopWithSavepoint').length + fake.requestsOf('triggerSavepoint').length + fake.requestsOf('submitJobFromJar').length, 0);
  assert.deepEqual(fake.violations, []);
});

test('in place: a refused rescale fails the operation and leaves the job as it ran', { timeout: 60_000 }, async () => {
  const { fake, tuner } = await stack();
  fake.failNext('PUT', /\/resource-requirements$/, 400);
  const op = await tuner.apply({ job_id: JID, actions: scaleWin(5), origin: 'user' });
  const done = await tuner.waitFor(op.id, 30_000);
  assert.equal(done.state, 'FAILED');
  assert.match(done.error ?? '', /rescale in place refused, the job keeps running with its previous parallelism/);
  assert.deepEqual(done.steps.map((s) => [s.name, s.status]), [['rescale', 'failed']]);
  const job = fake.jobs.get(JID)!;
  assert.equal(job.state, 'RUNNING');
  assert.deepEqual(job.vertices.map((v) => v.parallelism), [2, 2]);
  assert.equal(fake.requestsOf('triggerStopWithSavepoint').length, 0);
  assert.deepEqual(fake.violations, []);
});

test('in place: a rescale the cluster does not carry out within runningMs is rolled back in place', { timeout: 60_000 }, async () => {
  const { fake, tuner } = await stack();
  fake.rescaleApplies = false; // e.g. no free slots for the new parallelism
  const op = await tuner.apply({ job_id: JID, actions: scaleWin(5), origin: 'user' });
  const done = await tuner.waitFor(op.id, 30_000);
  assert.equal(done.state, 'ROLLED_BACK', done.error);
  assert.match(done.error ?? '', /rescale in place did not take/);
  assert.deepEqual(done.steps.map((s) => [s.name, s.status]), [['rescale', 'failed'], ['rollback', 'succeeded']]);
  const puts = fake.requestsOf('updateJobResourceRequirements').map((r) => (r.body as Record<string, { parallelism: { upperBound: number } }>)[WIN]!.parallelism.upperBound);
  assert.deepEqual(puts, [5, 2], 'the new parallelism requested, then the previous one again');
  assert.deepEqual(fake.jobs.get(JID)!.resourceRequirements[WIN], { lowerBound: 1, upperBound: 2 });
  assert.equal(fake.requestsOf('triggerStopWithSavepoint').length, 0);
  assert.deepEqual(fake.violations, []);
});
