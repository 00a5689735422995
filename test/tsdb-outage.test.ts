// test-runner: serial
/**
 * The TSDB down for 60 s under running collectors: a real InfluxDB 1.6.7 stopped and started again
 * while two collectors watch running jobs of the bundled runtime, one with a buffer large enough
 * for the outage, one with a bound it overruns. Within the bound no point is lost (the job's series
 * has no gap across the outage); beyond it the loss is counted and shown in the control plane's
 * health (`GET /api/v1/health`, component `collector`: degraded, pointsDropped, maxBufferedPoints).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCollector } from '../collector/collector.ts';
import { createInfluxStore } from '../collector/store/influx.ts';
import type { Collector } from '../collector/types.ts';
import { healthReport } from '../control-plane/health.ts';
import { LocalJob } from '../runtime/index.ts';
import type { JobSpec } from '../runtime/spec.ts';
import { startInfluxDB } from './helpers/influxdb.ts';
import { waitFor } from './helpers/wait.ts';

const OUTAGE_MS = 60_000;
const INTERVAL_MS = 1000;
const SMALL_BOUND = 500;

function spec(name: string): JobSpec {
  return {
    name,
    vertices: [
      { name: 'src', type: 'generator-source', rate: 100, keys: 10, splits: 1 },
      { name: 'out', type: 'discard-sink' },
    ],
    edges: [{ from: 'src', to: 'out' }],
  } as JobSpec;
}

/** The control plane's health report around one collector (the other components stubbed as healthy). */
function health(collector: Collector, store: Parameters<typeof healthReport>[0]['store']) {
  return healthReport({
    store, collector, bus: { kind: 'memory' }, now: Date.now,
    rules: { lastErrors: () => [], generation: () => 1 }, jobs: { list: () => [] }, tuner: { operations: () => [] },
  } as unknown as Parameters<typeof healthReport>[0]);
}

test('InfluxDB down 60 s under running collectors: nothing lost within maxBufferedPoints; beyond it the loss is counted and the collector shows degraded', { timeout: 400_000 }, async (t) => {
  const influx = await startInfluxDB();
  const jobs: LocalJob[] = [];
  const parts: Array<{ collector: Collector; store: Awaited<ReturnType<typeof createInfluxStore>>; job: LocalJob; db: string }> = [];
  try {
    for (const [name, bound] of [['outage-big', 1_000_000], ['outage-small', SMALL_BOUND]] as const) {
      const db = await influx.createDatabase();
      const store = await createInfluxStore({ url: influx.url, bucket: db, writeApi: 'v1', retry: { retries: 0 }, timeoutMs: 2000 });
      const collector = createCollector({ store, intervalMs: INTERVAL_MS, flushIntervalMs: 200, maxBufferedPoints: bound, retry: { initialMs: 100, maxMs: 2000 } });
      const job = new LocalJob(spec(name), {});
      await job.start();
      jobs.push(job);
      collector.watchJob(job);
      collector.start();
      parts.push({ collector, store, job, db });
    }
    const [big, small] = parts as [typeof parts[0], typeof parts[0]];
    await waitFor(() => parts.every((p) => p.collector.health().pointsWritten > 0), { timeoutMs: 60_000, what: 'both collectors writing' });
    // the big collector's series of the source's records in has a few points in the store before the
    // stop (its first round alone may not carry them), so "spans the outage" below can be checked
    const srcSeries = (from: number) => big.store.query({ measurement: 'taskmanager_job_task_numRecordsIn', field: 'count', start: from, end: Date.now(), where: { job_id: big.job.id, task_name: 'src' } });
    const t0 = Date.now() - 60_000;
    await waitFor(async () => ((await srcSeries(t0))[0]?.points.length ?? 0) >= 3, { timeoutMs: 60_000, intervalMs: 500, what: 'three points of the source\'s numRecordsIn in InfluxDB' });

    await influx.stop();
    const stoppedAt = Date.now();
    t.diagnostic(`influxd stopped at ${new Date(stoppedAt).toISOString()}`);
    // the outage lasts 60 s of collection rounds (the fault's length, not a wait for a result)
    await waitFor(() => Date.now() - stoppedAt >= OUTAGE_MS && parts.every((p) => p.collector.health().writeErrors > 0), { timeoutMs: OUTAGE_MS + 60_000, intervalMs: 1000, what: 'a 60 s outage with failed writes' });
    const during = { big: big.collector.health(), small: small.collector.health() };
    t.diagnostic(`after 60 s down: big buffered ${during.big.pointsBuffered}, dropped ${during.big.pointsDropped}; small buffered ${during.small.pointsBuffered}, dropped ${during.small.pointsDropped}`);
    assert.equal(during.big.pointsDropped, 0);
    assert.ok(during.big.pointsBuffered > SMALL_BOUND, 'the outage produced more points than the small bound');
    assert.equal(during.small.pointsBuffered, SMALL_BOUND);
    assert.ok(during.small.pointsDropped > 0);
    const report = await health(small.collector, small.store);
    const c = report.components.collector!;
    assert.equal(c.status, 'degraded');
    assert.ok((c.pointsDropped as number) >= during.small.pointsDropped, 'the health report counts the dropped points');
    assert.equal(c.maxBufferedPoints, SMALL_BOUND);
    assert.ok(typeof c.lastPointsDropped === 'number' && c.lastPointsDropped >= stoppedAt);
    assert.equal(report.components.store!.status, 'down');

    await influx.start();
    const startedAt = Date.now();
    await waitFor(() => parts.every((p) => p.collector.health().pointsBuffered === 0 && p.collector.health().lastSuccessfulWrite! > startedAt), { timeoutMs: 120_000, intervalMs: 500, what: 'both buffers drained after the restart' });
    const after = { big: big.collector.health(), small: small.collector.health() };
    assert.equal(after.big.pointsDropped, 0, 'within the bound nothing is lost');
    assert.ok(after.small.pointsDropped >= during.small.pointsDropped);
    const bigReport = await health(big.collector, big.store);
    assert.equal(bigReport.components.collector!.status, 'ok');
    assert.equal(bigReport.components.store!.status, 'ok');
    assert.equal((await health(small.collector, small.store)).components.collector!.status, 'degraded', 'the loss stays visible');

    // the big collector's series of the source's records in: one point per round, no gap across the outage
    const series = await srcSeries(stoppedAt - 10_000);
    assert.equal(series.length, 1, JSON.stringify(series.map((s) => s.tags)));
    const ts = series[0]!.points.map((p) => p.t);
    const gaps = ts.slice(1).map((x, i) => x - ts[i]!);
    const maxGap = Math.max(...gaps);
    t.diagnostic(`big: ${ts.length} points of numRecordsIn, ${ts[0]! - stoppedAt} ms to ${ts.at(-1)! - startedAt} ms around the outage (stop, restart), largest gap ${maxGap} ms; written ${after.big.pointsWritten}`);
    assert.ok(ts[0]! <= stoppedAt && ts.at(-1)! >= startedAt, 'the series spans the outage');
    assert.ok(maxGap < 3 * INTERVAL_MS, `no gap across the outage (largest ${maxGap} ms)`);
    // the small one lost its oldest points: a gap inside the outage, of about the points it counted as dropped
    const smallSeries = await small.store.query({ measurement: 'taskmanager_job_task_numRecordsIn', field: 'count', start: stoppedAt - 10_000, end: Date.now(), where: { job_id: small.job.id, task_name: 'src' } });
    const sts = smallSeries[0]!.points.map((p) => p.t);
    const smallGap = Math.max(...sts.slice(1).map((x, i) => x - sts[i]!));
    t.diagnostic(`small: dropped ${after.small.pointsDropped} points, largest gap in its series ${smallGap} ms`);
    assert.ok(smallGap > 10 * INTERVAL_MS, 'the dropped points are missing from the store');
  } finally {
    for (const p of parts) {
      await p.collector.stop();
      await p.store.close();
    }
    for (const j of jobs) await j.cancel();
    await influx.close();
  }
});
