/** One-line progress of a running job, from its own metric points: records/s, backlog, per-vertex busy/backpressured time. */
import type { LocalJob } from '../runtime/index.ts';

/** A progress line: `records/s 412,345 | backlog 1,234 | flights busy 231 bp 0 ms/s | ...`. */
export function progressLine(job: LocalJob): string {
  const pts = job.metricPoints();
  const byVertex = new Map<string, { busy: number; bp: number; n: number }>();
  let sourceRate = 0;
  let backlog = 0;
  const sources = new Set(job.vertices.filter((v) => v.type.endsWith('-source')).map((v) => v.name));
  for (const p of pts) {
    const v = p.tags.task_name;
    if (!v) continue;
    const e = byVertex.get(v) ?? { busy: 0, bp: 0, n: 0 };
    if (p.measurement === 'taskmanager_job_task_busyTimeMsPerSecond') {
      e.busy = Math.max(e.busy, Number(p.fields.value));
      e.n++;
    } else if (p.measurement === 'taskmanager_job_task_backPressuredTimeMsPerSecond') {
      e.bp = Math.max(e.bp, Number(p.fields.value));
    } else if (p.measurement === 'taskmanager_job_task_numRecordsOutPerSecond' && sources.has(v)) {
      sourceRate += Number(p.fields.rate);
    } else if (p.measurement === 'taskmanager_job_task_operator_pendingRecords') {
      backlog += Number(p.fields.value);
    }
    byVertex.set(v, e);
  }
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  const parts = [...byVertex.entries()].map(([v, e]) => `${v}×${job.vertices.find((x) => x.name === v)?.parallelism ?? e.n} busy ${fmt(e.busy)} bp ${fmt(e.bp)}`);
  return `${job.state.toLowerCase()} | ${fmt(sourceRate)} records/s | backlog ${fmt(backlog)} | ${parts.join(' | ')} (ms/s, max over subtasks)`;
}
