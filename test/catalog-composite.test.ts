/**
 * The JobCatalog contract on the composite catalog of the bundled catalog and the Flink catalog
 * (fake Flink, OpenAPI-checked). The job under test runs on Flink, the second catalog, so every call
 * on it is routed past the first; the jobs started and ended meanwhile run on the bundled runtime.
 */
import assert from 'node:assert/strict';
import { CompositeCatalog } from '../platform/index.ts';
import { runCatalogContract } from './catalog-contract.ts';
import { bundledCatalogParts, FLINK_CONSUMER_GROUP, flinkCatalogParts } from './helpers/catalogs.ts';

runCatalogContract('composite catalog (bundled + Flink)', { mutable: true, snapshots: true }, async () => {
  const b = await bundledCatalogParts();
  const f = await flinkCatalogParts();
  return {
    catalog: new CompositeCatalog([b.catalog, f.catalog]),
    jobId: f.jobId,
    executor: 'flink',
    windowVertex: 'delay-by-origin',
    consumerGroup: FLINK_CONSUMER_GROUP,
    timeoutMs: 30_000,
    startJob: b.startJob,
    endJob: b.endJob,
    completeCheckpoint: f.completeCheckpoint,
    check: () => assert.deepEqual(f.fake.violations, [], 'requests and responses must match Flink’s OpenAPI spec'),
    cleanup: async () => {
      await f.cleanup();
      await b.cleanup();
    },
  };
});
