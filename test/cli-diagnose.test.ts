/**
 * `streamtune diagnose` on a file in Flink's reporter format names the bottleneck vertex: the file is
 * recorded from a bundled-runtime job whose `enrich` vertex is slowed with the latency knob.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LocalJob } from '../runtime/job.ts';
import { toLineProtocol } from '../core/line-protocol.ts';
import type { MetricPoint } from '../core/points.ts';
import { tempDir } from './helpers/wait.ts';
import { vertexId } from '../runtime/ids.ts';

test('diagnose from line protocol names the bottleneck vertex', { timeout: 120_000 }, async () => {
  const job = new LocalJob(
    {
      name: 'diag-file',
      checkpoints: { interval: 1000, dir: tempDir() },
      vertices: [
        { name: 'orders', type: 'generator-source', rate: 6000, keys: 100 },
        { name: 'enrich', type: 'map', faults: { latencyMs: 0.5 } },
        { name: 'out', type: 'discard-sink' },
      ],
      edges: [
        { from: 'orders', to: 'enrich', partitioning: 'rebalance' },
        { from: 'enrich', to: 'out' },
      ],
    },
    { metricsWindowMs: 3000 },
  );
  const points: MetricPoint[] = [];
  job.addReporter({ report: (p) => void points.push(...p) }, 1000);
  await job.start();
  await sleep(20_000);
  await job.cancel();
  const file = join(tempDir(), 'metrics.lp');
  writeFileSync(file, toLineProtocol(points));
  const r = spawnSync(process.execPath, ['bin/streamtune.js', 'diagnose', '--metrics', file, '--job', job.id, '--window', '15s'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const d = JSON.parse(r.stdout) as { rootCause: { kind: string; vertex?: string }; findings: Array<{ ruleId: string; vertex?: string }>; recommendations: Array<{ actions: Array<{ type: string; vertex: { id: string; name: string }; from: number; to: number }> }> };
  const bottleneck = d.findings.find((f) => f.ruleId.startsWith('backpressure'));
  assert.equal(bottleneck?.vertex, 'enrich', JSON.stringify(d.findings, null, 1));
  assert.equal(d.rootCause.kind, 'under-provisioned');
  const action = d.recommendations.flatMap((x) => x.actions).find((a) => a.type === 'set-parallelism' && (a.vertex.name === 'enrich' || a.vertex.id === vertexId('diag-file', 'enrich')));
  assert.ok(action && action.to > action.from, JSON.stringify(d.recommendations));
});
