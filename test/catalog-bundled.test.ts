/** The JobCatalog contract on the bundled catalog (jobs run by the bundled runtime in process). */
import { runCatalogContract } from './catalog-contract.ts';
import { bundledCatalogParts } from './helpers/catalogs.ts';

runCatalogContract('bundled catalog', { mutable: true, snapshots: true }, async () => {
  const b = await bundledCatalogParts();
  return { ...b, executor: 'bundled', windowVertex: 'agg', consumerGroup: b.jobName, timeoutMs: 30_000 };
});
