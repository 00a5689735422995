/** The loader's part of issue 17: counters for missing meters, and the load history a scale-down needs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createEmbeddedStore } from '../collector/store/embedded.ts';
import type { MetricPoint } from '../core/points.ts';
import { loadJobWindow } from '../diagnoser/load.ts';
import { loadPeaks } from '../diagnoser/history.ts';
import { summarise } from '../diagnoser/detectors/common.ts';

const T0 = Date.UTC(2024, 4, 1, 9, 0, 0);
const JOB = 'job-h';

/**
 * 70 minutes of a job reporting every 10 s: `src` with meters; `agg` with the numRecordsIn /
 * numRecordsOut counters only (a reporter filter dropped its meters), 400 records/s over two
 * subtasks, 1200 records/s from minute 20 to 25; subtask 1 restarts at minute 50 (its counters
 * start again from 0).
 */
function points(): MetricPoint[] {
  const out: MetricPoint[] = [];
  const jm = { host: 'h', job_id: JOB, job_name: 'agg-job' };
  const count = [0, 0];
  for (let i = 0; i <= 420; i++) {
    const t = T0 + i * 10_000;
    const minute = i / 6;
    const rate = minute >= 20 && minute < 25 ? 1200 : 400;
    for (let s = 0; s < 2; s++) {
      const base = { ...jm, tm_id: 'tm-1', subtask_index: String(s) };
      const src = { ...base, task_id: 'v-src', task_name: 'Source: in' };
      out.push({ measurement: 'taskmanager_job_task_numRecordsOutPerSecond', tags: src, fields: { count: 0, rate: rate / 2 }, timestamp: t });
      out.push({ measurement: 'taskmanager_job_task_busyTimeMsPerSecond', tags: src, fields: { value: 100 }, timestamp: t });
      const agg = { ...base, task_id: 'v-agg', task_name: 'agg' };
      if (i > 0) count[s]! += (rate / 2) * 10;
      if (s === 1 && i === 300) count[1] = 0;
      out.push({ measurement: 'taskmanager_job_task_numRecordsIn', tags: agg, fields: { count: count[s]! }, timestamp: t, intFields: ['count'] });
      out.push({ measurement: 'taskmanager_job_task_numRecordsOut', tags: agg, fields: { count: count[s]! }, timestamp: t, intFields: ['count'] });
      out.push({ measurement: 'taskmanager_job_task_busyTimeMsPerSecond', tags: agg, fields: { value: 200 }, timestamp: t });
    }
  }
  return out;
}

test('loadJobWindow: counters stand in for missing meters, and an hour of load history is read at a coarser step', async () => {
  const store = await createEmbeddedStore({ path: ':memory:', retentionDays: 0 });
  try {
    await store.write(points());
    const end = T0 + 420 * 10_000;
    const w = await loadJobWindow(store, JOB, end - 600_000, end, end + 1000, { stepMs: 10_000, topology: [{ id: 'v-src', inputs: [] }, { id: 'v-agg', inputs: ['v-src'] }] });
    const agg = w.vertices.find((v) => v.id === 'v-agg')!;
    assert.equal(agg.subtasks[0]!.recordsInPerSecond.length, 0, 'no meter');
    assert.ok(agg.subtasks[0]!.numRecordsIn!.length > 50, 'the counter is loaded in its place');
    const stats = summarise(w).find((s) => s.vertex.id === 'v-agg')!;
    assert.equal(Math.round(stats.inRate), 400, 'records/s from the counters, not 0');
    assert.equal(stats.inRateKnown, true);
    // the history: an hour (and a step) before the end, one point a minute
    assert.ok(w.loadHistory, 'load history read');
    assert.equal(w.loadHistory.stepMs, 60_000);
    const peaks = loadPeaks(w);
    assert.ok(peaks.get('v-agg')!.observedMs >= 3_600_000, `observed ${peaks.get('v-agg')!.observedMs} ms`);
    // the 1200 records/s of minutes 20–25 are within the last hour; the restart of subtask 1 is no spike
    assert.ok(Math.abs(peaks.get('v-agg')!.peakRate - 1200) < 1, `peak ${peaks.get('v-agg')!.peakRate}`);
    assert.equal(Math.round(peaks.get('v-src')!.peakRate), 1200);
    // historyMs 0: none read
    const none = await loadJobWindow(store, JOB, end - 600_000, end, end + 1000, { stepMs: 10_000, historyMs: 0 });
    assert.equal(none.loadHistory, undefined);
  } finally {
    await store.close();
  }
});
