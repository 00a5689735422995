/**
 * The JobCatalog contract on the Flink catalog over the fake Flink REST server, which checks every
 * request and response against Flink's OpenAPI spec: every test ends with no violation recorded.
 */
import assert from 'node:assert/strict';
import { runCatalogContract } from './catalog-contract.ts';
import { FLINK_CONSUMER_GROUP, flinkCatalogParts } from './helpers/catalogs.ts';

runCatalogContract('Flink catalog (fake Flink, OpenAPI-checked)', { mutable: true, snapshots: true }, async () => {
  const f = await flinkCatalogParts();
  return {
    ...f,
    executor: 'flink',
    windowVertex: 'delay-by-origin',
    consumerGroup: FLINK_CONSUMER_GROUP,
    timeoutMs: 10_000,
    check: () => assert.deepEqual(f.fake.violations, [], 'requests and responses must match Flink’s OpenAPI spec'),
  };
});
