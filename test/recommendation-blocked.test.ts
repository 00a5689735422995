/**
 * "Do not recommend the same action again for that job for a while": after an operation with an
 * action ended INEFFECTIVE, a diagnosis recommending that action again shows it as not recommended
 * until the block ends, on the diagnosis page (no Apply button) and in the API
 * (`blockedRecommendations`, `blocked`), from the tuner's real `blockedActions` over the operations.
 * Pages and API routers over the fixture control plane (real embedded and diagnosis stores).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ControlPlane } from '../control-plane/control-plane.ts';
import { createApiRouter } from '../dashboards/server/api.ts';
import { createPagesRouter } from '../dashboards/server/pages/index.ts';
import type { Operation } from '../tuner/types.ts';
import { DEFAULT_POLICY } from '../tuner/policy.ts';
import { NOW, SECRET, fixtureControlPlane, operation, serveFixture } from './helpers/pages-fixture.ts';

let served: { base: string; close(): Promise<void> };
let base: string;
let cp: ControlPlane;
const ops: Operation[] = [operation];

before(async () => {
  process.env.STREAMTUNE_API_TOKEN = SECRET;
  cp = await fixtureControlPlane(ops);
  served = await serveFixture((app) => {
    app.use('/api/v1', createApiRouter(cp, { cacheTtlMs: 0 }));
    app.use('/', createPagesRouter(cp, { baseUrl: 'http://127.0.0.1' }));
  });
  base = served.base;
});

after(async () => {
  await served.close();
  await cp.close();
});

test('a recommendation whose action was ineffective on the job lately is shown as not recommended again, without Apply', async () => {
  // before: rec-1 (enrich 2 → 6) is offered with Apply, nothing blocked
  let page = await (await fetch(`${base}/diagnoses/diag-1`)).text();
  assert.match(page, /data-apply="rec-1"/);
  assert.doesNotMatch(page, /data-rec-blocked/);
  let api = (await (await fetch(`${base}/api/v1/diagnoses/diag-1`)).json()) as { blockedRecommendations: Record<string, { until: number; reason: string }> };
  assert.deepEqual(api.blockedRecommendations, {});

  // an earlier scale-up of enrich, 10 min ago, was found ineffective: the same direction is blocked for blockIneffectiveMs
  const finishedAt = NOW - 600_000;
  ops.push({
    ...operation, id: 'op-ineffective', state: 'INEFFECTIVE', actions: [{ type: 'set-parallelism', vertex: { id: 'enrich', name: 'enrich' }, from: 2, to: 4 }],
    verification: { from: finishedAt - 60_000, to: finishedAt, throughputBefore: 1500, throughputAfter: 1510, effective: false, reason: 'throughput did not rise (1,500 → 1,510 records/s)' },
    createdAt: finishedAt - 120_000, updatedAt: finishedAt, finishedAt,
  });
  const until = finishedAt + DEFAULT_POLICY.blockIneffectiveMs;
  page = await (await fetch(`${base}/diagnoses/diag-1`)).text();
  assert.doesNotMatch(page, /data-apply="rec-1"/, 'no Apply for a blocked action');
  assert.match(page, new RegExp(`Not recommended again until ${new Date(until).toISOString()}: operation op-ineffective was ineffective: throughput did not rise`));
  assert.match(page, /data-dismiss="rec-1"/, 'it can still be dismissed');
  api = (await (await fetch(`${base}/api/v1/diagnoses/diag-1`)).json()) as typeof api;
  assert.equal(api.blockedRecommendations['rec-1']?.until, until);
  assert.match(api.blockedRecommendations['rec-1']!.reason, /op-ineffective/);
  const rec = (await (await fetch(`${base}/api/v1/recommendations/rec-1`)).json()) as { blocked?: { actionKey: string; operationId: string } };
  assert.equal(rec.blocked?.actionKey, 'set-parallelism:enrich:up');
  assert.equal(rec.blocked?.operationId, 'op-ineffective');

  // a scale-down of enrich is another action: an ineffective one blocks nothing here
  ops.pop();
  ops.push({ ...operation, id: 'op-down', state: 'INEFFECTIVE', actions: [{ type: 'set-parallelism', vertex: { id: 'enrich', name: 'enrich' }, from: 2, to: 1 }], createdAt: finishedAt - 120_000, updatedAt: finishedAt, finishedAt });
  page = await (await fetch(`${base}/diagnoses/diag-1`)).text();
  assert.match(page, /data-apply="rec-1"/);
});
