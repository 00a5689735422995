/**
 * Test helper: the job catalogs of the catalog contract (test/catalog-contract.ts), each over a
 * running job and with the moves the suite needs (start another job, end one, complete a
 * checkpoint) made by whatever runs the jobs. Composed by the catalog-*.test.ts files.
 */
import { createBundledCatalog, FlinkCatalog, FlinkExecutor, type BundledCatalog } from '../../platform/index.ts';
import { generatorWindowSpec } from './bundled-jobs.ts';
import { startFakeFlink, type FakeFlink, type FakeJobInit } from './fake-flink.ts';
import { tempDir, uniqueName, waitFor } from './wait.ts';

/** A catalog, its running job and the moves on its jobs. */
export interface CatalogParts<C> {
  catalog: C;
  /** the running job the factory started */
  jobId: string;
  /** starts another running job; resolves with its id once the catalog lists it */
  startJob(): Promise<string>;
  /** cancels a job by what runs it; resolves once the catalog can have seen it */
  endJob(jobId: string): Promise<void>;
  /** makes a job complete one more checkpoint; resolves with its path once the catalog can have seen it */
  completeCheckpoint(jobId: string): Promise<string>;
  cleanup(): Promise<void>;
}

/** The bundled catalog running {@link generatorWindowSpec} jobs (the window vertex is `agg`; consumer group = job name). */
export async function bundledCatalogParts(): Promise<CatalogParts<BundledCatalog> & { jobName: string }> {
  const catalog = await createBundledCatalog({ dataDir: tempDir('streamtune-catalog-contract-'), snapshotPollMs: 50 });
  const jobName = uniqueName('catalog-contract');
  const job = await catalog.submitSpec(generatorWindowSpec(jobName));
  return {
    catalog,
    jobId: job.job_id,
    jobName,
    startJob: async () => (await catalog.submitSpec(generatorWindowSpec(uniqueName('catalog-contract')))).job_id,
    endJob: (jobId) => catalog.executor.cancel(jobId),
    completeCheckpoint: async (jobId) => {
      const job = catalog.localJob(jobId);
      if (!job) throw new Error(`job ${jobId} has no execution in this process`);
      const done = () => job.stats.history.filter((h) => 'path' in h && !h.savepoint);
      const before = Math.max(0, ...done().map((h) => h.id));
      const next = await waitFor(() => done().find((h) => h.id > before), { what: `a checkpoint of ${jobId} after #${before}` });
      return (next as { path: string }).path;
    },
    cleanup: () => catalog.close(),
  };
}

/** A job shaped like flight-delays on Flink: source → keyed window `delay-by-origin` → sink, parallelism 2. */
export function fakeFlightDelays(name = 'flight-delays'): FakeJobInit {
  return {
    name,
    vertices: [
      { id: 'bc764cd8ddf7a0cff126f51c16239658', name: 'Source: flights -> enrich', parallelism: 2, maxParallelism: 128 },
      { id: '20ba6b65f97481d5570070de90e4e791', name: 'delay-by-origin', parallelism: 2, maxParallelism: 128, inputs: ['bc764cd8ddf7a0cff126f51c16239658'] },
      { id: 'ea632d67b7d595e5b851708ae9ad79d6', name: 'results: Writer -> results: Committer', parallelism: 2, maxParallelism: 128, inputs: ['20ba6b65f97481d5570070de90e4e791'] },
    ],
  };
}

/** The consumer group the Flink catalog is told for the job named flight-delays (server config `flink.jobs`). */
export const FLINK_CONSUMER_GROUP = 'flight-delays-readers';

/**
 * The Flink catalog over the fake Flink REST server (OpenAPI-checked), with one running job
 * `flight-delays` whose consumer group the catalog is told. Polls only when asked (`refresh`).
 */
export async function flinkCatalogParts(): Promise<CatalogParts<FlinkCatalog> & { fake: FakeFlink }> {
  const fake = await startFakeFlink();
  const executor = new FlinkExecutor({ rest: { baseUrl: fake.url, retryBackoffMs: 10 }, pollIntervalMs: 20 });
  const catalog = new FlinkCatalog({ executor, jobs: { 'flight-delays': { consumerGroup: FLINK_CONSUMER_GROUP, topics: ['flights'] } } });
  const job = fake.addJob(fakeFlightDelays());
  await catalog.refresh();
  let checkpointId = 0;
  return {
    catalog,
    fake,
    jobId: job.jid,
    startJob: async () => {
      const j = fake.addJob(fakeFlightDelays(uniqueName('flight-delays')));
      await catalog.refresh();
      return j.jid;
    },
    endJob: async (jobId) => {
      Object.assign(fake.jobs.get(jobId)!, { state: 'CANCELED', endTime: Date.now() });
      await catalog.refresh();
    },
    completeCheckpoint: async (jobId) => {
      checkpointId += 1;
      const now = Date.now();
      fake.jobs.get(jobId)!.checkpoints = {
        completed: checkpointId,
        failed: 0,
        latest: { id: checkpointId, endToEndDurationMs: 40, checkpointedSizeBytes: 1024 * checkpointId, stateSizeBytes: 2048 * checkpointId, triggerTimestamp: now - 40 },
      };
      // two polls see the same latest checkpoint: it must be reported once
      await catalog.refresh();
      await catalog.refresh();
      return `file:/tmp/chk/${checkpointId}`;
    },
    cleanup: async () => {
      await catalog.close();
      await fake.close();
    },
  };
}
