import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createInfluxStore } from '../collector/store/influx.ts';
import { createEmbeddedStore } from '../collector/store/embedded.ts';
import { createPrometheusStore } from '../collector/store/prometheus.ts';
import { createPrometheusRoutedStore } from '../collector/store/routed.ts';
import type { MetricStore } from '../collector/store/types.ts';
import { runStoreContract } from './store-contract.ts';
import type { MetricPoint } from '../core/points.ts';
import { startVictoria } from './helpers/victoria.ts';
import { waitFor } from './helpers/wait.ts';

test('VictoriaMetrics receives points through the v2 write path of @influxdata/influxdb-client', { timeout: 180_000 }, async () => {
  const vm = await startVictoria();
  const store = await createInfluxStore({ url: vm.url, org: 'streamtune', bucket: 'metrics', token: 'any', writeApi: 'v2' });
  try {
    const t0 = Date.now() - 60_000; // VictoriaMetrics refuses samples far in the past by default
    const pts: MetricPoint[] = [];
    for (let i = 0; i < 3000; i++) {
      pts.push({
        measurement: 'streamtune_kafka_partition_lag',
        tags: { group: 'orders-enrichment', topic: 'orders', partition: String(i % 3) },
        fields: { value: i },
        intFields: ['value'],
        timestamp: t0 + i * 10,
      });
    }
    await store.write(pts); // > 1 KiB: gzipped, in batches of 5000 lines
    const series = await waitFor(
      async () => {
        const s = await vm.exportSeries('streamtune_kafka_partition_lag_value');
        return s.reduce((n, x) => n + x.values.length, 0) === 3000 ? s : null;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: 'all samples exported' },
    );
    assert.equal(series.length, 3);
    const p1 = series.find((s) => s.metric.partition === '1')!;
    assert.equal(p1.metric.group, 'orders-enrichment');
    assert.equal(p1.metric.topic, 'orders');
    assert.equal(p1.values.length, 1000);
    assert.deepEqual(p1.values.slice(0, 3), [1, 4, 7]);
    assert.deepEqual(p1.timestamps.slice(0, 2), [t0 + 10, t0 + 40]);
  } finally {
    await store.close();
    await vm.close();
  }
});

/**
 * The MetricStore contract with VictoriaMetrics as the PromQL server (remote write of everything,
 * log events in the embedded store). VictoriaMetrics makes written samples searchable after a
 * flush (`/internal/force_flush`, called after each write here), refuses samples older than its
 * retention (the contract's are of 2026-01-01: `-retentionPeriod=100y`) and hides the newest 30 s
 * from queries unless `-search.latencyOffset=0s`.
 */
runStoreContract('VictoriaMetrics as the Prometheus server (remote write of everything)', async () => {
  const vm = await startVictoria({ args: ['-retentionPeriod=100y', '-search.latencyOffset=0s'] });
  // every window in PromQL: VictoriaMetrics' own range semantics are what is checked
  const prometheus = createPrometheusStore({ url: vm.url, remoteWrite: true, promqlMinWindowMs: 0 });
  const routed = createPrometheusRoutedStore({ prometheus, local: await createEmbeddedStore({ path: ':memory:', retentionDays: 0 }), remoteWrite: 'all' });
  const store: MetricStore = {
    ...routed,
    async write(points) {
      await routed.write(points);
      await vm.flush();
    },
  };
  return { store, cleanup: () => vm.close() };
});

test('VictoriaMetrics range selectors are left-open: the probe says so', { timeout: 120_000 }, async () => {
  const vm = await startVictoria();
  try {
    assert.equal(await createPrometheusStore({ url: vm.url }).rangeSelectorsClosed(), false);
  } finally {
    await vm.close();
  }
});
