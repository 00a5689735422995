/**
 * The MetricStore contract against a real Prometheus 2.42 (Debian `prometheus`), in each way
 * streamtune reads Flink's metrics from Prometheus (collector/store/routed.ts):
 * - Prometheus + the embedded store, and Prometheus + a real InfluxDB 1.6.7: streamtune's own
 *   measurements and log events in the writable store. The contract's Flink metrics (busy time,
 *   records-in counter, Kafka lag, back-pressure gauge) land in Prometheus by remote write
 *   (`prometheusRemoteWrite: 'job-metrics'`): that is how the contract's writes reach the server the
 *   reads go to (in production Prometheus usually scrapes them instead; see test/prometheus-*.test.ts);
 * - Prometheus for everything by remote write (`'all'`), log events in the embedded store.
 * One run aggregates every window in PromQL (`promqlMinWindowMs: 0`), the others only windows of
 * 60 s and more (the default; shorter ones from the raw points).
 * Each suite has its own Prometheus with no scrape target (the contract writes samples of a past
 * time, which a server scraping now would refuse as out of bounds).
 * Plus: the snappy codec round-trips, and the range-selector probe tells Prometheus 2.x's closed ranges.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createEmbeddedStore } from '../collector/store/embedded.ts';
import { createInfluxStore } from '../collector/store/influx.ts';
import { createPrometheusStore } from '../collector/store/prometheus.ts';
import { createPrometheusRoutedStore, type PrometheusRemoteWrite } from '../collector/store/routed.ts';
import { snappyCompress, snappyUncompress } from '../collector/store/snappy.ts';
import type { MetricStore } from '../collector/store/types.ts';
import { startInfluxDB } from './helpers/influxdb.ts';
import { startPrometheus } from './helpers/prometheus.ts';
import { runStoreContract, type StoreUnderTest } from './store-contract.ts';

async function routed(local: () => Promise<{ store: MetricStore; cleanup?: () => Promise<void> }>, remoteWrite: PrometheusRemoteWrite, promqlMinWindowMs?: number): Promise<StoreUnderTest> {
  const server = await startPrometheus({ remoteWriteReceiver: true });
  const l = await local();
  const prometheus = createPrometheusStore({ url: server.url, remoteWrite: true, ...(promqlMinWindowMs !== undefined ? { promqlMinWindowMs } : {}) });
  return {
    store: createPrometheusRoutedStore({ prometheus, local: l.store, remoteWrite }),
    cleanup: async () => {
      await server.close();
      await l.cleanup?.();
    },
  };
}

const embedded = async () => ({ store: await createEmbeddedStore({ path: ':memory:', retentionDays: 0 }) });

runStoreContract("Prometheus 2.42 (Flink metrics by remote write) + embedded store", () => routed(embedded, 'job-metrics'));

// every windowed aggregate in PromQL (the contract's windows are 10 s to 60 s: by default the shorter ones are computed from raw points)
runStoreContract('Prometheus 2.42 + embedded store, every window aggregated in PromQL', () => routed(embedded, 'job-metrics', 0));

runStoreContract('Prometheus 2.42 (Flink metrics by remote write) + InfluxDB 1.6.7', () =>
  routed(async () => {
    const influx = await startInfluxDB();
    const db = await influx.createDatabase();
    return { store: await createInfluxStore({ url: influx.url, bucket: db, writeApi: 'v1' }), cleanup: () => influx.close() };
  }, 'job-metrics'),
);

runStoreContract('Prometheus 2.42, everything by remote write (log events in the embedded store)', () => routed(embedded, 'all'));

test('snappy: what snappyCompress writes, snappyUncompress reads back, and repeated protobuf-like input shrinks', () => {
  const cases = [new Uint8Array(0), new Uint8Array([1, 2, 3]), randomBytes(70_000), new TextEncoder().encode('flink_taskmanager_job_task_busyTimeMsPerSecond{job_id="4f1d"} '.repeat(5000))];
  for (const c of cases) assert.deepEqual(snappyUncompress(snappyCompress(c)), new Uint8Array(c));
  const text = cases[3]!;
  assert.ok(snappyCompress(text).length < text.length / 10, 'repetitive input compresses');
});

test('the range-selector probe: Prometheus 2.42 range selectors include the sample at the range start', { timeout: 120_000 }, async () => {
  const server = await startPrometheus();
  try {
    assert.equal(await createPrometheusStore({ url: server.url }).rangeSelectorsClosed(), true);
  } finally {
    await server.close();
  }
});
