/**
 * `GET /jobs/:id`: one job — lag (the read model's `lagNow`, the numbers the API shows), throughput,
 * the job graph coloured by load, subtask skew, checkpoints, exceptions, incidents, diagnoses and operations —
 * and `GET /jobs/:id/charts.json`, the chart data its script polls.
 */
import type { Request, Router } from 'express';
import { checkpointStats, type ControlPlane, incidentsList, jobExceptions, lagNow, lagSeries, throughputNow, throughputSeries, type VertexLoad, vertexLoads } from '../../../control-plane/index.ts';
import type { LogEvent } from '../../../core/index.ts';
import { formatDuration, formatTime } from '../../../notify/index.ts';
import type { ManagedJob } from '../../../platform/index.ts';
import { html, type PageContext } from './render.ts';
import { jobGraphSvg, subtaskBarsSvg } from './svg.ts';
import { diagnosisSummary, HIDDEN_PATH, incidentView, num, opView, statusClass } from './views.ts';

/** Chart ranges the job page offers, ms, with the step used for each (ms). */
export const RANGES: Record<string, { ms: number; stepMs: number }> = {
  '5m': { ms: 5 * 60_000, stepMs: 5_000 },
  '15m': { ms: 15 * 60_000, stepMs: 10_000 },
  '1h': { ms: 60 * 60_000, stepMs: 30_000 },
};

/** Chart data of the job page: aligned time axis (s, for uPlot) and the series. */
export interface JobCharts {
  range: string;
  from: number;
  to: number;
  stepMs: number;
  lag: { t: number[]; total: Array<number | null>; seconds: Array<number | null>; partitions: Array<{ label: string; values: Array<number | null> }> };
  throughput: { t: number[]; values: Array<number | null> };
}

function align(series: Array<ReadonlyArray<{ t: number; v: number }>>): { t: number[]; cols: Array<Array<number | null>> } {
  const ts = new Set<number>();
  for (const s of series) for (const p of s) ts.add(p.t);
  const t = [...ts].sort((a, b) => a - b);
  const index = new Map(t.map((x, i) => [x, i]));
  const cols = series.map((s) => {
    const col: Array<number | null> = new Array<number | null>(t.length).fill(null);
    for (const p of s) col[index.get(p.t)!] = p.v;
    return col;
  });
  return { t: t.map((x) => x / 1000), cols };
}

/** Lag (total, per partition, seconds: the read model's `lagSeries`) and source throughput of a job over `range` ending at `now`. */
export async function jobCharts(cp: ControlPlane, job: ManagedJob, range: string, now: number): Promise<JobCharts> {
  const r = Object.hasOwn(RANGES, range) ? RANGES[range]! : RANGES['5m']!;
  const from = now - r.ms;
  const [lag, thr] = await Promise.all([lagSeries(cp, job, from, now, r.stepMs), throughputSeries(cp, job, from, now, r.stepMs)]);
  const lagAligned = align([lag.total.records, lag.total.seconds, ...lag.partitions.map((p) => p.records)]);
  const thrAligned = align([thr]);
  return {
    range: Object.hasOwn(RANGES, range) ? range : '5m',
    from,
    to: now,
    stepMs: r.stepMs,
    lag: {
      t: lagAligned.t,
      total: lagAligned.cols[0]!,
      seconds: lagAligned.cols[1]!,
      partitions: lag.partitions.map((p, i) => ({ label: `${p.topic}/${p.partition}`, values: lagAligned.cols[i + 2]! })),
    },
    throughput: { t: thrAligned.t, values: thrAligned.cols[0]! },
  };
}

/** Registers the job page and its chart data on `router`. */
export function jobPage(router: Router, { cp, cached, page, notFound }: PageContext): void {
  router.get('/jobs/:id/charts.json', async (req: Request<{ id: string }>, res) => {
    const job = cp.jobs.get(req.params.id);
    if (!job) {
      res.status(404).json({ error: { code: 'NOT_FOUND', message: `unknown job ${req.params.id}` } });
      return;
    }
    // a known range only: 'constructor' is no range, and unknown ones would each get a cache entry
    const range = typeof req.query.range === 'string' && Object.hasOwn(RANGES, req.query.range) ? req.query.range : '5m';
    res.json(await cached(`charts:${job.job_id}:${range}`, () => jobCharts(cp, job, range, cp.now())));
  });

  router.get('/jobs/:id', async (req: Request<{ id: string }>, res) => {
    const job = cp.jobs.get(req.params.id);
    if (!job) return notFound(res, `job ${req.params.id}`);
    const now = cp.now();
    const range = typeof req.query.range === 'string' && Object.hasOwn(RANGES, req.query.range) ? req.query.range : '5m';
    const [lag, thr, loads, logs, cps] = await Promise.all([
      cached(`lag:${job.job_id}`, () => lagNow(cp, job, now)),
      cached(`thr:${job.job_id}`, () => throughputNow(cp, job, now)),
      cached(`loads:${job.job_id}`, () => vertexLoads(cp, job, now)).catch(() => [] as VertexLoad[]),
      jobExceptions(cp, job, now - 24 * 3600_000, now, 20).catch(() => [] as LogEvent[]),
      checkpointStats(cp, job, now).catch(() => ({}) as Awaited<ReturnType<typeof checkpointStats>>),
    ]);
    // paths only with credentials (or the server's publicReads)
    const hide = res.locals.sensitiveReads !== true;
    const checkpoints = cp.tuner.snapshots(job.job_id).slice(0, 20).map((s) => ({
      kind: s.kind,
      path: hide ? HIDDEN_PATH : s.path,
      completed: formatTime(s.completedAt),
      size: s.sizeBytes === undefined ? '–' : `${num(s.sizeBytes / 1024, 1)} KiB`,
      operationId: s.operationId,
    }));
    const skew = loads
      .filter((v) => v.subtasks.length > 0)
      .map((v) => {
        const recs = v.subtasks.map((s) => s.recordsIn ?? 0);
        const mean = recs.reduce((a, b) => a + b, 0) / Math.max(1, recs.length);
        const max = Math.max(0, ...recs);
        return {
          name: v.name,
          parallelism: v.parallelism,
          ratio: mean > 0 ? (max / mean).toFixed(2) : '–',
          skewed: mean > 0 && v.parallelism > 1 && max / mean > 1.5,
          recordsSvg: html(subtaskBarsSvg(v.subtasks.map((s) => ({ index: s.index, value: s.recordsIn })), 'records')),
          busySvg: html(subtaskBarsSvg(v.subtasks.map((s) => ({ index: s.index, value: s.busy })), 'ms/s', 1000)),
        };
      });
    page(res, 'job', job.name, {
      job: { id: job.job_id, name: job.name, state: job.state, executor: job.executor, consumerGroup: job.consumerGroup ?? '–', started: job.startedAt ? formatTime(job.startedAt) : '–' },
      lag: {
        status: lag.status, cls: statusClass(lag.status), records: num(lag.records), seconds: `${lag.secondsLowerBound ? '≥ ' : ''}${num(lag.seconds, 1)}`,
        partitions: lag.partitions.map((p) => ({ ...p, lag: num(p.lag), cls: statusClass(p.status === 'OK' ? 'OK' : p.status === 'WARN' ? 'WARN' : p.status === 'UNKNOWN' ? 'UNKNOWN' : 'ERR') })),
      },
      throughput: num(thr),
      range,
      ranges: Object.keys(RANGES).map((r) => ({ key: r, active: r === range })),
      chartsUrl: `/jobs/${encodeURIComponent(job.job_id)}/charts.json`,
      graphSvg: html(jobGraphSvg(loads)),
      skew,
      checkpoints,
      checkpointStats: {
        completed: num(cps.completed), failed: num(cps.failed),
        lastDuration: cps.lastDurationMs === undefined ? '–' : formatDuration(cps.lastDurationMs),
        lastSize: cps.lastSizeBytes === undefined ? '–' : `${num(cps.lastSizeBytes / 1024, 1)} KiB`,
      },
      exceptions: logs.map((e) => ({ time: formatTime(e.timestamp), level: e.level, vertex: e.vertex ?? '', subtask: e.subtask_index ?? '', cls: e.exception_class ?? '', message: e.message })),
      incidents: incidentsList(cp, { job_id: job.job_id, limit: 10 }).map((i) => incidentView(i, cp.now())),
      diagnoses: cp.diagnoses.list({ job_id: job.job_id, limit: 10 }).map(diagnosisSummary),
      operations: cp.tuner.operations({ job_id: job.job_id, limit: 10 }).map((o) => opView(o, hide)),
    });
  });
}
