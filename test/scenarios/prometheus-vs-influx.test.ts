/**
 * The diagnosis scenarios read both ways: each job runs once on the bundled runtime while
 * - the collector's way writes its metric points and log events every 500 ms into a real InfluxDB
 *   1.6.7 (as test/helpers/scenario.ts does into the embedded store), and
 * - a real Prometheus 2.42 scrapes the runtime's `/metrics` endpoint (runtime/metrics/prometheus.ts)
 *   every 500 ms, streamtune's own measurements (topology, key-group counts, checkpoint config) and
 *   log events going to an embedded store beside it (collector/store/routed.ts, remote write 'none':
 *   the collector's Flink points are dropped, Prometheus has them from the scrape).
 * The same window is then loaded from each (loadJobWindow, step 1 s, the job's topology) and diagnosed
 * with the same rules: the root cause (kind and vertex) must be the same, and the one the scenario's
 * own test expects. Scenarios (specs as in test/scenarios/*.test.ts): under-provisioned, data skew,
 * checkpoint timeouts, healthy.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createEmbeddedStore } from '../../collector/store/embedded.ts';
import { createInfluxStore } from '../../collector/store/influx.ts';
import { createPrometheusStore } from '../../collector/store/prometheus.ts';
import { createPrometheusRoutedStore } from '../../collector/store/routed.ts';
import type { MetricStore } from '../../collector/store/types.ts';
import { diagnose } from '../../diagnoser/diagnose.ts';
import { loadJobWindow } from '../../diagnoser/load.ts';
import type { Diagnosis } from '../../diagnoser/types.ts';
import { LocalJob } from '../../runtime/job.ts';
import { startPrometheusReporter, type PrometheusReporter } from '../../runtime/metrics/prometheus.ts';
import type { JobSpec } from '../../runtime/spec.ts';
import { startInfluxDB, type InfluxServer } from '../helpers/influxdb.ts';
import { startPrometheus, type PrometheusServer } from '../helpers/prometheus.ts';
import { explain, shortWindowRules, topologyOf } from '../helpers/scenario.ts';
import { tempDir, waitFor } from '../helpers/wait.ts';

interface BothWays {
  influx: Diagnosis;
  prometheus: Diagnosis;
}

describe('diagnosis scenarios: the same root causes read from Prometheus as from InfluxDB', { timeout: 600_000 }, () => {
  let influxd: InfluxServer;
  let prom: PrometheusServer;
  let reporter: PrometheusReporter;
  /** the job the endpoint serves (one scenario at a time) */
  let current: LocalJob | undefined;

  before(async () => {
    influxd = await startInfluxDB();
    reporter = await startPrometheusReporter({ port: 0, points: () => current?.metricPoints() ?? [] });
    prom = await startPrometheus({ targets: [reporter.url], scrapeInterval: '500ms' });
    await prom.waitTargetsUp();
  });
  after(async () => {
    await prom?.close();
    await reporter?.close();
    await influxd?.close();
  });

  /** Runs `spec` for warmup + window ms, collecting both ways, then diagnoses [start + warmup, now] from each store. */
  async function runBothWays(spec: JobSpec, windowMs = 6000, warmupMs = 2000): Promise<BothWays> {
    const db = await influxd.createDatabase();
    const influx = await createInfluxStore({ url: influxd.url, bucket: db, writeApi: 'v1' });
    const routed = createPrometheusRoutedStore({
      prometheus: createPrometheusStore({ url: prom.url }),
      local: await createEmbeddedStore({ path: ':memory:' }),
      remoteWrite: 'none',
    });
    const stores: MetricStore[] = [influx, routed];
    const job = new LocalJob(spec, { metricsWindowMs: 1000 });
    const pending: Array<Promise<unknown>> = [];
    job.onLog((e) => void pending.push(...stores.map((s) => s.writeLogs([e]))));
    let busy = false;
    const collect = async (): Promise<void> => {
      if (busy) return;
      busy = true;
      try {
        const pts = job.metricPoints(Date.now());
        await Promise.all(stores.map((s) => s.write(pts)));
      } finally {
        busy = false;
      }
    };
    await job.start();
    current = job;
    const timer = setInterval(() => void collect().catch(() => undefined), 500);
    try {
      const from = job.startedAt + warmupMs;
      await waitFor(() => Date.now() >= from + windowMs, { timeoutMs: warmupMs + windowMs + 30_000, intervalMs: 100, what: 'the window to fill' });
      await collect();
      await Promise.all(pending);
      const now = Date.now();
      // the scrape of the window's last second has landed
      await waitFor(async () => (await routed.query({ measurement: 'taskmanager_job_task_busyTimeMsPerSecond', field: 'value', start: now - 1000, end: Date.now(), where: { job_id: job.id } })).length > 0, {
        timeoutMs: 10_000, intervalMs: 100, what: 'a scrape after the window',
      });
      const rules = shortWindowRules();
      const read = async (store: MetricStore) =>
        diagnose(rules, await loadJobWindow(store, job.id, from, now, now, { stepMs: 1000, historyMs: rules.planner.scaleDownIntervalMs, topology: topologyOf(job) }), { type: 'manual' });
      return { influx: await read(influx), prometheus: await read(routed) };
    } finally {
      clearInterval(timer);
      current = undefined;
      await job.cancel();
      await waitFor(() => !busy, { what: 'last collection' });
      await Promise.all(pending);
      await Promise.all(stores.map((s) => s.close()));
    }
  }

  const same = (r: BothWays, kind: string, vertex?: string): void => {
    const why = `InfluxDB: ${explain(r.influx)}\nPrometheus: ${explain(r.prometheus)}`;
    assert.equal(r.influx.rootCause.kind, kind, why);
    assert.equal(r.prometheus.rootCause.kind, r.influx.rootCause.kind, why);
    assert.equal(r.prometheus.rootCause.vertex, r.influx.rootCause.vertex, why);
    if (vertex) assert.equal(r.prometheus.rootCause.vertex, vertex, why);
    // the plan's job name (the reporter's label is filtered: sc-under → sc_under)
    assert.equal(r.prometheus.job_name, r.influx.job_name, why);
  };

  test('under-provisioned enrich (test/scenarios/under-provisioned.test.ts)', async () => {
    const r = await runBothWays({
      name: 'sc-under',
      checkpoints: { interval: 0, dir: tempDir() },
      vertices: [
        { name: 'orders', type: 'generator-source', rate: 1000, keys: 100, splits: 4 },
        { name: 'enrich', type: 'map', faults: { latencyMs: 2 } },
        { name: 'out', type: 'discard-sink' },
      ],
      edges: [
        { from: 'orders', to: 'enrich', partitioning: 'rebalance' },
        { from: 'enrich', to: 'out' },
      ],
    });
    same(r, 'under-provisioned', 'enrich');
    const act = (d: Diagnosis) => d.recommendations.flatMap((x) => x.actions).find((a) => a.type === 'set-parallelism' && a.vertex.name === 'enrich');
    assert.ok(act(r.prometheus), explain(r.prometheus));
    assert.deepEqual(act(r.prometheus), act(r.influx), `the same action both ways\n${explain(r.influx)}\n${explain(r.prometheus)}`);
  });

  test('hot-key skew on count (test/scenarios/skew.test.ts)', async () => {
    const r = await runBothWays({
      name: 'sc-skew',
      checkpoints: { interval: 0, dir: tempDir() },
      vertices: [
        { name: 'orders', type: 'generator-source', rate: 2000, keys: 100, hotKeyShare: 0.7, splits: 4 },
        { name: 'count', type: 'map', parallelism: 4, faults: { latencyMs: 1 } },
        { name: 'out', type: 'discard-sink' },
      ],
      edges: [
        { from: 'orders', to: 'count', partitioning: 'hash', key: 'key' },
        { from: 'count', to: 'out', partitioning: 'rebalance' },
      ],
    });
    same(r, 'data-skew', 'count');
  });

  test('checkpoint timeouts (test/scenarios/checkpoint-timeouts.test.ts)', async () => {
    const r = await runBothWays({
      name: 'sc-checkpoint',
      checkpoints: { interval: 300, timeout: 5, dir: tempDir() },
      vertices: [
        { name: 'orders', type: 'generator-source', rate: 4000, keys: 100_000, splits: 4 },
        { name: 'per-key', type: 'window-aggregate', key: 'key', size: '1h', aggregations: { n: 'count', total: 'sum(value)' } },
        { name: 'out', type: 'discard-sink' },
      ],
      edges: [
        { from: 'orders', to: 'per-key', partitioning: 'hash', key: 'key' },
        { from: 'per-key', to: 'out' },
      ],
    }, 7000);
    same(r, 'checkpoint-pressure');
    assert.ok(r.prometheus.findings.some((f) => f.ruleId === 'checkpoint.failures'), explain(r.prometheus));
  });

  test('healthy job (test/scenarios/healthy.test.ts)', async () => {
    const r = await runBothWays({
      name: 'sc-healthy',
      checkpoints: { interval: 1000, dir: tempDir() },
      vertices: [
        { name: 'orders', type: 'generator-source', rate: 300, keys: 100, splits: 4 },
        { name: 'enrich', type: 'map', set: { doubled: 'value * 2' } },
        { name: 'out', type: 'discard-sink' },
      ],
      edges: [
        { from: 'orders', to: 'enrich', partitioning: 'rebalance' },
        { from: 'enrich', to: 'out' },
      ],
    });
    same(r, 'healthy');
    assert.deepEqual(r.prometheus.recommendations.flatMap((x) => x.actions), []);
  });
});
