/**
 * The lag status the read model shows (overview, job page, API, /metrics, digest) judges a consumer
 * group with the `lag.burrow` parameters of the rule set in force, as the diagnoses do
 * (control-plane/read-model.ts `lagEvaluateOptions`): a user's rules folder that shortens
 * `minStopSilenceMs` changes both.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createEmbeddedStore } from '../collector/store/index.ts';
import type { MetricPoint } from '../core/points.ts';
import { lagEvaluateOptions, lagNow } from '../control-plane/read-model.ts';
import { RuleSetManager } from '../rules/manager.ts';
import type { ManagedJob } from '../platform/index.ts';
import { tempDir } from './helpers/wait.ts';

const T0 = Date.UTC(2024, 4, 1, 9, 0, 0);
const job: ManagedJob = { job_id: 'j1', name: 'orders', executor: 'bundled', state: 'RUNNING', consumerGroup: 'g', topology: [] };

/** Polls every 5 s for 3 minutes: the group commits for the first 2 minutes, then stops while records keep arriving. */
function points(): MetricPoint[] {
  const out: MetricPoint[] = [];
  const tags = { group: 'g', topic: 'orders', partition: '0' };
  for (let i = 0; i <= 36; i++) {
    const t = T0 + i * 5000;
    const leo = 1000 + i * 100;
    const committed = i <= 24 ? leo - 50 : 1000 + 24 * 100 - 50;
    out.push({ measurement: 'streamtune_kafka_partition_logEndOffset', tags, fields: { value: leo }, timestamp: t });
    out.push({ measurement: 'streamtune_kafka_partition_committedOffset', tags, fields: { value: committed }, timestamp: t });
    out.push({ measurement: 'streamtune_kafka_partition_lag', tags, fields: { value: leo - committed }, timestamp: t });
  }
  return out;
}

test('the read model evaluates lag with the rule set\'s lag.burrow params: STOP after 60 s of silence only where the rules say 30 s is enough', async () => {
  const store = await createEmbeddedStore({ path: ':memory:', retentionDays: 0 });
  await store.write(points());
  const dir = tempDir();
  writeFileSync(join(dir, 'lag.yaml'), 'detectors:\n  lag.burrow:\n    help: our consumers commit every 10 s\n    params: { minStopSilenceMs: 30000 }\n');
  const builtin = new RuleSetManager(tempDir(), { watch: false });
  const mine = new RuleSetManager(dir, { watch: false });
  try {
    const now = T0 + 36 * 5000;
    assert.deepEqual(lagEvaluateOptions({ rules: builtin }), { allowedLag: 0, windowSize: 10, minStopSilenceMs: 120_000 });
    assert.deepEqual(lagEvaluateOptions({ rules: mine }), { allowedLag: 0, windowSize: 10, minStopSilenceMs: 30_000 });
    assert.deepEqual(lagEvaluateOptions({}), {});
    const withBuiltin = await lagNow({ store, rules: builtin }, job, now);
    const withMine = await lagNow({ store, rules: mine }, job, now);
    assert.notEqual(withBuiltin.status, 'ERR', `60 s without a commit is no STOP under the 2-minute default: ${JSON.stringify(withBuiltin.partitions)}`);
    assert.equal(withMine.status, 'ERR', JSON.stringify(withMine.partitions));
    assert.equal(withMine.partitions[0]?.status, 'STOP');
  } finally {
    builtin.close(); mine.close(); await store.close();
  }
});
