/**
 * The JobCatalog contract on the mirror catalog: the read-only copy a process without the `jobs`
 * role keeps of the bundled catalog another process announces on the bus (in-process bus here:
 * announceCatalog → topic 'jobs' → subscribeMirrorCatalog). Mutations throw FORBIDDEN.
 */
import { createMemoryBus } from '../core/index.ts';
import { announceCatalog, subscribeMirrorCatalog, type PlatformEvents } from '../platform/index.ts';
import { runCatalogContract } from './catalog-contract.ts';
import { bundledCatalogParts } from './helpers/catalogs.ts';
import { waitFor } from './helpers/wait.ts';

runCatalogContract('mirror catalog (of a bundled catalog, over the bus)', { mutable: false, snapshots: false }, async () => {
  const b = await bundledCatalogParts();
  const bus = createMemoryBus<PlatformEvents>();
  const mirror = await subscribeMirrorCatalog(bus);
  const stopAnnouncing = announceCatalog(bus, b.catalog, 'contract-jobs-process', { intervalMs: 1000 });
  await waitFor(() => mirror.get(b.jobId), { what: 'the job announced to the mirror' });
  return {
    catalog: mirror,
    jobId: b.jobId,
    executor: 'bundled',
    windowVertex: 'agg',
    consumerGroup: b.jobName,
    timeoutMs: 30_000,
    startJob: async () => {
      const id = await b.startJob();
      await waitFor(() => mirror.get(id), { what: `job ${id} announced to the mirror` });
      return id;
    },
    endJob: b.endJob,
    cleanup: async () => {
      stopAnnouncing();
      await mirror.close();
      await bus.close();
      await b.cleanup();
    },
  };
});
