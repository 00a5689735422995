/**
 * Child process of bench/api.ts: a control plane over a temp data dir with a running dataset-replay
 * job and `HISTORY_MIN` minutes of synthetic history of its consumer-group lag (8 partitions) and
 * task metrics written into the embedded store, served on a free loopback port. Prints one JSON line
 * `{ url, jobId }` on stdout when ready; SIGTERM closes it.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../core/logger.ts';
import type { MetricPoint } from '../core/points.ts';
import { createApp, listen } from '../dashboards/server/app.ts';
import { createControlPlane } from '../control-plane/assemble.ts';
import { createAuth } from '../dashboards/server/auth.ts';
import { loadConfig } from '../control-plane/config.ts';

const HISTORY_MIN = 30;
const PARTITIONS = 8;
const dir = mkdtempSync(join(tmpdir(), 'streamtune-bench-api-'));
const dataFile = join(dir, 'events.jsonl');
const t0 = Date.UTC(2024, 0, 1);
writeFileSync(dataFile, Array.from({ length: 200_000 }, (_, i) => JSON.stringify({ ts: t0 + i * 10, key: `k${i % 50}`, v: i })).join('\n') + '\n');
const spec = `
name: bench-api
checkpoints: { interval: 10s, timeout: 60s, retained: 2 }
vertices:
  - { name: events, type: dataset-source, path: ${dataFile}, eventTime: ts, rate: 500, splits: ${PARTITIONS}, parallelism: 2 }
  - { name: work, type: map, set: { doubled: "v * 2" }, parallelism: 2 }
  - { name: out, type: discard-sink, parallelism: 1 }
edges:
  - { from: events, to: work, partitioning: rebalance }
  - { from: work, to: out }
`;
const config = loadConfig({ env: {}, overrides: { dataDir: dir, server: { port: 0, apiToken: 'bench-token-0123456789abcdef' } }, defaults: { rules: { watch: false } } });
const cp = await createControlPlane(config, { logger: silentLogger });
const job = await cp.jobs.submit(spec, { source: 'bench-api.yaml' });

// synthetic history before the job started: lag per partition and task metrics every 5 s
const now = Date.now();
const points: MetricPoint[] = [];
for (let t = now - HISTORY_MIN * 60_000; t < now - 10_000; t += 5000) {
  let total = 0;
  let maxSecs = 0;
  for (let p = 0; p < PARTITIONS; p++) {
    const lag = Math.round(1000 + 500 * Math.sin(t / 60_000 + p));
    const secs = lag / 100;
    total += lag;
    maxSecs = Math.max(maxSecs, secs);
    const tags = { group: 'bench-api', topic: 'events', partition: String(p), source: 'dataset' };
    points.push({ measurement: 'streamtune_kafka_partition_lag', tags, fields: { value: lag }, intFields: ['value'], timestamp: t });
    points.push({ measurement: 'streamtune_kafka_partition_lagSeconds', tags, fields: { value: secs }, timestamp: t });
  }
  const g = { group: 'bench-api', source: 'dataset' };
  points.push({ measurement: 'streamtune_kafka_group_totalLag', tags: g, fields: { value: total }, intFields: ['value'], timestamp: t });
  points.push({ measurement: 'streamtune_kafka_group_maxLagSeconds', tags: g, fields: { value: maxSecs }, timestamp: t });
  for (const [task, par] of [['events', 2], ['work', 2], ['out', 1]] as const) {
    for (let s = 0; s < par; s++) {
      const tags = { job_id: job.job_id, job_name: 'bench-api', task_name: task, task_id: task, subtask_index: String(s) };
      points.push({ measurement: 'taskmanager_job_task_busyTimeMsPerSecond', tags, fields: { value: 300 + s * 50 }, timestamp: t });
      points.push({ measurement: 'taskmanager_job_task_numRecordsOutPerSecond', tags, fields: { count: Math.round((t - now) / 2), rate: 250 }, intFields: ['count'], timestamp: t });
    }
  }
}
await cp.store.write(points);

const auth = createAuth({ token: config.server.apiToken! });
const http = await listen(createApp(cp, { auth, baseUrl: 'http://127.0.0.1', logger: silentLogger }), 0, '127.0.0.1');
process.stdout.write(`${JSON.stringify({ url: http.url, jobId: job.job_id, points: points.length })}\n`);
process.on('SIGTERM', () => {
  void http.close(1000).then(() => cp.close()).then(() => process.exit(0));
});
