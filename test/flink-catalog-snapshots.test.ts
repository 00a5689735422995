/**
 * The Flink catalog announces each job's latest completed checkpoint from `GET /jobs/:jid/checkpoints`
 * (fake Flink REST server, spec-validated), once per checkpoint, and the tuner service records it in
 * its journal, so `snapshots(job)` lists Flink checkpoints as it does the bundled runtime's.
 */
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { createStoreFromEnv } from '../collector/store/index.ts';
import { createBus } from '../core/bus-factory.ts';
import { createDiagnosisStore } from '../diagnoser/diagnosis-store.ts';
import { FlinkCatalog, FlinkExecutor, type SnapshotRecord } from '../platform/index.ts';
import { createTunerService } from '../tuner/service.ts';
import { startFakeFlink } from './helpers/fake-flink.ts';
import { tempDir, waitFor } from './helpers/wait.ts';
import { join } from 'node:path';

const JID = '1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d';
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

test('Flink checkpoints are announced once each and recorded in the tuner journal, newest first', async () => {
  const fake = await startFakeFlink();
  cleanups.push(() => fake.close());
  const job = fake.addJob({
    jid: JID,
    name: 'orders-enrichment',
    vertices: [{ id: 'cbc357ccb763df2852fee8c4fc7d55f2', name: 'Source: orders -> Sink', parallelism: 2, maxParallelism: 128 }],
    checkpoints: { completed: 7, failed: 0, latest: { id: 7, endToEndDurationMs: 120, checkpointedSizeBytes: 4096, stateSizeBytes: 8192, triggerTimestamp: 1_700_000_000_000 } },
  });
  const executor = new FlinkExecutor({ rest: { baseUrl: fake.url, retryBackoffMs: 10 } });
  const catalog = new FlinkCatalog({ executor });
  const seen: SnapshotRecord[] = [];
  catalog.onSnapshot((s) => seen.push(s));

  const dataDir = tempDir('streamtune-flink-snaps-');
  const store = await createStoreFromEnv({}, { dataDir });
  cleanups.push(() => store.close());
  const bus = await createBus({});
  cleanups.push(() => bus.close());
  const diagnoses = await createDiagnosisStore({ dir: join(dataDir, 'diagnoses') });
  cleanups.push(() => diagnoses.close());
  const tuner = await createTunerService({ executor, executors: { flink: executor }, jobs: catalog, store, diagnoses, bus, dataDir });
  cleanups.push(() => tuner.close());

  await catalog.refresh();
  await catalog.refresh(); // the same checkpoint again: not announced twice
  assert.deepEqual(seen, [{ job_id: JID, kind: 'checkpoint', path: 'file:/tmp/chk/7', completedAt: 1_700_000_000_120, sizeBytes: 4096 }]);

  job.checkpoints = { completed: 8, failed: 0, latest: { id: 8, endToEndDurationMs: 80, checkpointedSizeBytes: 5000, stateSizeBytes: 9000, triggerTimestamp: 1_700_000_060_000 } };
  await catalog.refresh();
  assert.deepEqual(seen.map((s) => s.path), ['file:/tmp/chk/7', 'file:/tmp/chk/8']);

  await waitFor(() => tuner.snapshots(JID).length === 2, { timeoutMs: 5000, what: 'both checkpoints in the journal' });
  assert.deepEqual(tuner.snapshots(JID).map((s) => [s.kind, s.path]), [['checkpoint', 'file:/tmp/chk/8'], ['checkpoint', 'file:/tmp/chk/7']]);
  assert.deepEqual(fake.violations, []);
});
