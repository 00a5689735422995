/**
 * The PromQL Grafana dashboards (dashboards/grafana/streamtune-lag-prometheus.json and
 * streamtune-job-prometheus.json) against a real Prometheus 2.42 filled the way a deployment fills it:
 * it scrapes the bundled runtime's `/metrics` endpoint (a job replaying a dataset faster than its
 * slowed map handles, so it lags), and the running collector remote-writes streamtune's own
 * measurements (the dataset-replay lag) through the routed store (`prometheusRemoteWrite: 'own'`).
 * Grafana itself is not in Debian, so what it sends is reproduced: each variable's
 * `label_values(metric, label)` as `/api/v1/label/<label>/values?match[]=metric`, and each panel's
 * PromQL with `$group`/`$job` interpolated as Grafana does for a regex matcher and
 * `$__rate_interval` as 4 scrape intervals, over `/api/v1/query_range`. Every panel query must
 * return a series with values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCollector } from '../collector/collector.ts';
import { createEmbeddedStore } from '../collector/store/embedded.ts';
import { createPrometheusStore } from '../collector/store/prometheus.ts';
import { createPrometheusRoutedStore } from '../collector/store/routed.ts';
import { grafanaPromDashboard, promQlMetrics } from '../dashboards/grafana.ts';
import { LocalJob } from '../runtime/job.ts';
import { startPrometheusReporter } from '../runtime/metrics/prometheus.ts';
import { startPrometheus } from './helpers/prometheus.ts';
import { tempDir, waitFor } from './helpers/wait.ts';

interface PromAnswer {
  status: string;
  error?: string;
  data: { result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> };
}

/** Grafana's interpolation of a multi-value variable inside a regex matcher: `(a|b)`, regex-escaped. */
const regexValues = (values: string[]): string => `(${values.map((v) => v.replace(/[\\^$*+?.()|[\]{}/]/g, '\\$&')).join('|')})`;

test('every panel query of the PromQL dashboards returns series from Prometheus 2.42 (scraped job metrics, remote-written lag)', { timeout: 240_000 }, async () => {
  const dir = tempDir('streamtune-grafana-prom-');
  const data = join(dir, 'events.jsonl');
  const t0 = Date.UTC(2024, 0, 1);
  writeFileSync(data, Array.from({ length: 200_000 }, (_, i) => JSON.stringify({ ts: t0 + i * 10, key: `k${i % 10}`, v: i })).join('\n') + '\n');
  const job = new LocalJob({
    name: 'grafana-prom',
    checkpoints: { interval: 500, dir },
    vertices: [
      { name: 'events', type: 'dataset-source', path: data, eventTime: 'ts', rate: 1500, splits: 2 },
      { name: 'work', type: 'map', faults: { latencyMs: 1 } },
      { name: 'out', type: 'discard-sink' },
    ],
    edges: [
      { from: 'events', to: 'work', partitioning: 'rebalance' },
      { from: 'work', to: 'out' },
    ],
  }, { metricsWindowMs: 1000 });
  await job.start();
  const reporter = await startPrometheusReporter({ port: 0, points: () => job.metricPoints() });
  const prom = await startPrometheus({ targets: [reporter.url], scrapeInterval: '1s', remoteWriteReceiver: true });
  const store = createPrometheusRoutedStore({ prometheus: createPrometheusStore({ url: prom.url, remoteWrite: true }), local: await createEmbeddedStore({ path: ':memory:' }), remoteWrite: 'own' });
  const collector = createCollector({ store, intervalMs: 1000 });
  collector.watchJob(job);
  collector.start();
  try {
    const labelValues = async (label: string, metric: string): Promise<string[]> => {
      const res = await fetch(`${prom.url}/api/v1/label/${label}/values?${new URLSearchParams({ 'match[]': metric })}`);
      return ((await res.json()) as { data: string[] }).data;
    };
    const query = async (expr: string): Promise<PromAnswer['data']['result']> => {
      const end = Date.now() / 1000;
      const res = await fetch(`${prom.url}/api/v1/query_range`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ query: expr, start: String(end - 120), end: String(end), step: '1' }).toString(),
      });
      const body = (await res.json()) as PromAnswer;
      assert.equal(body.status, 'success', `${expr}: ${body.error}`);
      return body.data.result;
    };
    // the group (dataset lag: group = the job name, remote-written with its exact value) and the job
    // (scraped: Flink's filtered label value)
    await waitFor(async () => (await labelValues('group', 'streamtune_kafka_group_totalLag')).includes('grafana-prom'), { timeoutMs: 60_000, intervalMs: 500, what: 'the group variable lists the job' });
    await waitFor(async () => (await labelValues('job_name', 'flink_jobmanager_job_uptime')).includes('grafana_prom'), { timeoutMs: 60_000, intervalMs: 500, what: 'the job variable lists the job' });

    const dashboards = [
      { d: grafanaPromDashboard('streamtune-lag-prometheus.json'), vars: { group: regexValues(['grafana-prom']) } },
      { d: grafanaPromDashboard('streamtune-job-prometheus.json'), vars: { job: regexValues(['grafana_prom']) } },
    ];
    // the variables' queries name metrics the dashboards read
    assert.deepEqual(dashboards.map(({ d }) => d.templating.list.filter((v) => v.type === 'query').map((v) => (typeof v.query === 'object' ? v.query.query : v.query))), [
      ['label_values(streamtune_kafka_group_totalLag, group)'],
      ['label_values(flink_jobmanager_job_uptime, job_name)'],
    ]);
    let checked = 0;
    for (const { d, vars } of dashboards) {
      for (const panel of d.panels) {
        for (const t of panel.targets) {
          let expr = t.expr.replaceAll('$__rate_interval', '4s');
          for (const [k, v] of Object.entries(vars)) expr = expr.replaceAll(`$${k}`, v);
          assert.ok(promQlMetrics(expr).length > 0, `${panel.title}: reads a metric`);
          // enough samples for rates (4 s windows) and lag to build up
          const series = await waitFor(async () => {
            const r = await query(expr);
            return r.length > 0 && r.some((s) => s.values.length >= 3) ? r : undefined;
          }, { timeoutMs: 60_000, intervalMs: 1000, what: `panel "${panel.title}" ${t.refId}: ${expr}` });
          assert.ok(series.every((s) => s.values.every(([, v]) => Number.isFinite(Number(v)))), `${panel.title}: numbers`);
          checked++;
        }
      }
    }
    assert.equal(checked, 9 + 12, 'every target of both dashboards');
    // the job lags: its slowed map takes ~1,000 of the 1,500 records/s replayed
    const lag = await query(`max by (group) (streamtune_kafka_group_totalLag{group="grafana-prom"})`);
    assert.ok(Number(lag[0]!.values.at(-1)![1]) > 0, 'the group lags');
    const busy = await query(`avg by (task_name) (flink_taskmanager_job_task_busyTimeMsPerSecond{job_name="grafana_prom", task_name="work"})`);
    assert.ok(Number(busy[0]!.values.at(-1)![1]) > 500, 'the slowed map is busy');
  } finally {
    await collector.stop();
    await job.cancel();
    await store.close();
    await prom.close();
    await reporter.close();
  }
});
