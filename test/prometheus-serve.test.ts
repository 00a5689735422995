/**
 * Pointing `streamtune serve` at Prometheus: the settings (`store.prometheusUrl`,
 * `store.prometheusRemoteWrite`, `prometheusReporter.port` and their `STREAMTUNE_PROMETHEUS_*`
 * variables, validated with errors naming the variable or FILE:LINE), and a control plane that
 * serves its bundled job's metrics on the reporter port, scraped by a real Prometheus 2.42, and
 * diagnoses the job from what Prometheus scraped (its own measurements in the embedded store).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveStoreSettings } from '../collector/store/index.ts';
import { loadConfig } from '../control-plane/config.ts';
import { createControlPlane } from '../control-plane/assemble.ts';
import { silentLogger } from '../core/logger.ts';
import { StreamtuneError } from '../core/errors.ts';
import { startPrometheus } from './helpers/prometheus.ts';
import { freePort, tempDir, waitFor } from './helpers/wait.ts';

function configError(fn: () => unknown): StreamtuneError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof StreamtuneError, String(err));
    assert.equal(err.code, 'INVALID_CONFIG');
    return err;
  }
  assert.fail('expected INVALID_CONFIG');
}

test('Prometheus settings from the environment and the file; bad ones name the variable or the line', () => {
  const c = loadConfig({ env: { STREAMTUNE_PROMETHEUS_URL: 'http://prom:9090/', STREAMTUNE_PROMETHEUS_REMOTE_WRITE: 'all', STREAMTUNE_PROMETHEUS_PORT: '9249' } });
  assert.equal(c.store.prometheusUrl, 'http://prom:9090/');
  assert.equal(c.store.prometheusRemoteWrite, 'all');
  assert.deepEqual(c.prometheusReporter, { port: 9249, host: '127.0.0.1' });
  assert.deepEqual(resolveStoreSettings({}, c.store).prometheus, { url: 'http://prom:9090', remoteWrite: 'all' });
  assert.equal(resolveStoreSettings({}, {}).prometheus, undefined);
  assert.deepEqual(resolveStoreSettings({ STREAMTUNE_PROMETHEUS_URL: 'https://vm.example:8428' }, {}).prometheus, { url: 'https://vm.example:8428', remoteWrite: 'none' });

  const bad = configError(() => loadConfig({ env: { STREAMTUNE_PROMETHEUS_URL: 'prom:9090' } }));
  assert.match(bad.message, /STREAMTUNE_PROMETHEUS_URL: store\.prometheusUrl: .*http/);
  const creds = configError(() => resolveStoreSettings({ STREAMTUNE_PROMETHEUS_URL: 'http://u:p@prom:9090' }, {}));
  assert.match(creds.message, /STREAMTUNE_PROMETHEUS_URL must not carry credentials/);
  const mode = configError(() => loadConfig({ env: { STREAMTUNE_PROMETHEUS_URL: 'http://prom:9090', STREAMTUNE_PROMETHEUS_REMOTE_WRITE: 'some' } }));
  assert.match(mode.message, /STREAMTUNE_PROMETHEUS_REMOTE_WRITE: store\.prometheusRemoteWrite: must be one of "none", "own", "job-metrics", "all"/);
  const noUrl = configError(() => resolveStoreSettings({ STREAMTUNE_PROMETHEUS_REMOTE_WRITE: 'all' }, {}));
  assert.match(noUrl.message, /needs a Prometheus URL/);

  const f = join(tempDir('streamtune-config-'), 'streamtune.yaml');
  writeFileSync(f, ['store:', '  prometheusUrl: http://prom:9090', 'prometheusReporter:', '  port: 99999', ''].join('\n'));
  const port = configError(() => loadConfig({ file: f, env: {} }));
  assert.match(port.message, new RegExp(`${f.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:4: prometheusReporter\\.port: must be <= 65535`));
});

test('serve with Prometheus: the bundled job is exposed on the reporter port, scraped, and diagnosed from Prometheus', { timeout: 180_000 }, async () => {
  const port = await freePort();
  const prom = await startPrometheus({ targets: [`http://127.0.0.1:${port}/metrics`], jobNames: ['streamtune'], scrapeInterval: '500ms' });
  const dir = tempDir('streamtune-prom-serve-');
  const config = loadConfig({
    env: { STREAMTUNE_PROMETHEUS_URL: prom.url, STREAMTUNE_PROMETHEUS_PORT: String(port) },
    defaults: { collector: { intervalMs: '1s' }, diagnoser: { sweepCron: 'off', windowMs: '1m', stepMs: '1s' } },
    overrides: { dataDir: dir, server: { port: 0 } },
  });
  const cp = await createControlPlane(config, { logger: silentLogger, catalog: { jobOptions: { metricsWindowMs: 1000 } } });
  try {
    assert.equal(cp.prometheusReporter?.url, `http://127.0.0.1:${port}/metrics`);
    const job = await cp.catalog.submit(
      [
        'name: prom-under',
        'checkpoints: { interval: 1s }',
        'vertices:',
        '  - { name: orders, type: generator-source, rate: 1000, keys: 100, splits: 4 }',
        '  - { name: enrich, type: map, faults: { latencyMs: 2 } }',
        '  - { name: out, type: discard-sink }',
        'edges:',
        '  - { from: orders, to: enrich, partitioning: rebalance }',
        '  - { from: enrich, to: out }',
        '',
      ].join('\n'),
    );
    await prom.waitTargetsUp();
    // the topology (streamtune_job_vertex) is in the embedded store, the task metrics in Prometheus
    const d = await waitFor(
      async () => {
        const x = await cp.diagnoser.diagnoseNow(job.job_id);
        return x.rootCause.kind === 'under-provisioned' ? x : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 1000, what: 'a diagnosis naming enrich under-provisioned' },
    );
    assert.equal(d.rootCause.vertex, 'enrich');
    assert.equal(d.job_name, 'prom-under');
    const busy = await cp.store.query({ measurement: 'taskmanager_job_task_busyTimeMsPerSecond', field: 'value', start: Date.now() - 30_000, end: Date.now(), where: { job_id: job.job_id, task_name: 'enrich' }, groupBy: ['task_name'], window: 5000, aggregate: 'mean' });
    assert.ok(busy[0]!.points.some((p) => p.v > 900), `enrich is busy (~1,000 ms/s), read from Prometheus: ${JSON.stringify(busy)}`);
    // the collector's Flink points were not written anywhere (Prometheus scraped them), its own were
    const local = await cp.store.query({ measurement: 'streamtune_job_vertex', field: 'parallelism', start: Date.now() - 60_000, end: Date.now(), where: { job_id: job.job_id } });
    assert.ok(local.length > 0);
  } finally {
    await cp.close();
    await prom.close();
  }
});
