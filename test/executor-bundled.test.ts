/** The JobExecutor contract on the bundled runtime: its executor over a real bundled catalog. */
import { createBundledCatalog } from '../platform/index.ts';
import { runExecutorContract } from './executor-contract.ts';
import { generatorWindowSpec } from './helpers/bundled-jobs.ts';
import { tempDir } from './helpers/wait.ts';

runExecutorContract('bundled runtime', async () => {
  const catalog = await createBundledCatalog({ dataDir: tempDir('streamtune-exec-contract-'), snapshotPollMs: 50 });
  const job = await catalog.submitSpec(generatorWindowSpec('executor-contract'));
  return {
    executor: catalog.executor,
    jobId: job.job_id,
    windowVertex: 'agg',
    timeoutMs: 30_000,
    failNextStart: () => {
      catalog.executor.faults.failNextRun = true;
      return catalog.executor;
    },
    cleanup: () => catalog.close(),
  };
});
