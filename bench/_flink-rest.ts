/**
 * Flink REST collection benchmark (suite 'flink-rest'): 20 real flight-delays jobs (parallelism 1, four
 * vertices each, distinct names and consumer groups, all reading `flights` at 100 records/s) on one
 * real Flink 1.20 session cluster (test/helpers/real-flink-stack.ts: one TaskManager with 20 slots),
 * collected over REST as `streamtune serve` does with `flink.influxReporter: false`
 * (control-plane/assemble-flink.ts: the catalog's graph, one request per vertex, one job-level
 * request, exceptions when restarts move, at most 8 requests in flight). Reported: the round time
 * (median and max of `ROUNDS` rounds, 5 s apart) against the 5 s collection interval, the REST
 * requests and points per round. The store write is not part of the round (the collector hands the
 * points to its buffered writer; `bench/store.ts` measures writes).
 * Run: `npm run bench -- flink` runs this and bench/_flink-tuning.ts (bench/flink.ts);
 * `STREAMTUNE_BENCH_FLINK=rest npm run bench -- flink` or `node --import tsx bench/_flink-rest.ts` runs
 * this alone (about 4–6 minutes on 2 cores, most of it starting 20 jobs).
 */
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../core/index.ts';
import { createFlinkParts } from '../control-plane/assemble-flink.ts';
import { startRealFlinkStack } from '../test/helpers/real-flink-stack.ts';
import { waitFor } from '../test/helpers/wait.ts';
import { median } from './_child.ts';
import type { BenchRow } from './types.ts';

const JOBS = 20;
const ROUNDS = 10;
const INTERVAL_MS = 5_000;

/** Runs the benchmark; throws when the cluster or a job does not start. */
export async function run(): Promise<BenchRow[]> {
  // each job's user-code class loader loads the job jar's classes (Kafka connector included): 20 of
  // them overflow the default 256m metaspace (OutOfMemoryError: Metaspace, the TaskManager exits)
  const stack = await startRealFlinkStack({ slots: JOBS, taskManagerMemory: '3072m', flinkConfig: { 'taskmanager.memory.jvm-metaspace.size': '1024m' } });
  try {
    const producer = stack.produce({ rate: 100 });
    // submitted one after the other (the JobManager runs each jar's main), deployed together
    for (let i = 1; i <= JOBS; i++) {
      await stack.submit({ name: `bench-flink-${String(i).padStart(2, '0')}`, checkpointIntervalMs: 10_000, waitRunning: false });
      process.stderr.write(`bench flink: job ${i}/${JOBS} submitted\n`);
    }
    const parts = createFlinkParts(
      { url: stack.flink.restUrl, scheduler: 'default', pollIntervalMs: 5_000, influxReporter: false, jobs: {} },
      { logger: silentLogger, kafka: { brokers: stack.kafka.bootstrap } },
    );
    try {
      await waitFor(
        async () => {
          const o = (await (await fetch(`${stack.flink.restUrl}/jobs/overview`)).json()) as { jobs: Array<{ jid: string; name: string; state: string; tasks: { running: number; total: number } }> };
          const failed = o.jobs.find((j) => j.state === 'FAILED');
          if (failed) {
            const ex = (await (await fetch(`${stack.flink.restUrl}/jobs/${failed.jid}/exceptions`)).json()) as { 'root-exception'?: string };
            const root = ex['root-exception'] ?? '';
            const causes = root.split('\n').filter((l) => l.startsWith('Caused by:')).map((l) => l.slice(0, 300));
            throw new Error(`benchmark job ${failed.name} FAILED: ${root.split('\n')[0]} ${causes.join(' | ')}`);
          }
          return o.jobs.length === JOBS && o.jobs.every((j) => j.state === 'RUNNING' && j.tasks.running === j.tasks.total);
        },
        { timeoutMs: 300_000, intervalMs: 2_000, what: `${JOBS} jobs with every task RUNNING` },
      );
      await waitFor(
        async () => {
          await parts.catalog.refresh();
          const running = parts.catalog.list().filter((j) => j.state === 'RUNNING');
          return running.length === JOBS && running.every((j) => j.consumerGroup !== undefined);
        },
        { timeoutMs: 180_000, intervalMs: 2_000, what: `${JOBS} running jobs with their consumer groups in the catalog` },
      );
      const jobs = parts.catalog.list();
      const vertices = jobs.reduce((a, j) => a + j.topology.length, 0);
      const subtasks = jobs.reduce((a, j) => a + j.topology.reduce((b, v) => b + v.parallelism, 0), 0);
      await parts.remoteSource.collect(Date.now()); // first round: exceptions of every job, connections opened
      const ms: number[] = [];
      const requests: number[] = [];
      const points: number[] = [];
      let next = Date.now();
      for (let r = 0; r < ROUNDS; r++) {
        next += INTERVAL_MS;
        await waitFor(() => Date.now() >= next, { timeoutMs: INTERVAL_MS * 3, intervalMs: 20, what: 'the next round' });
        const before = parts.restCollector.requestCount;
        const t0 = performance.now();
        const out = await parts.remoteSource.collect(Date.now());
        ms.push(performance.now() - t0);
        requests.push(parts.restCollector.requestCount - before);
        points.push(out.points.length);
        process.stderr.write(`bench flink: round ${r + 1}: ${Math.round(ms[ms.length - 1]!)} ms, ${requests[requests.length - 1]} requests, ${out.points.length} points\n`);
      }
      await producer.stop();
      const suite = 'flink-rest';
      const shape = `${JOBS} jobs, ${vertices} vertices, ${subtasks} subtasks`;
      return [
        { suite, name: `REST collection round, median (${shape})`, value: median(ms), unit: 'ms', target: `< ${INTERVAL_MS} ms (the collection interval)` },
        { suite, name: `REST collection round, max of ${ROUNDS}`, value: Math.max(...ms), unit: 'ms', target: `< ${INTERVAL_MS} ms` },
        { suite, name: 'REST collection round / collection interval (median)', value: (median(ms) / INTERVAL_MS) * 100, unit: '%' },
        { suite, name: 'REST requests per round (median)', value: median(requests), unit: 'requests', target: `<= vertices + jobs (${vertices + JOBS}); per subtask would be ${subtasks + 2 * JOBS}+` },
        { suite, name: 'points per round (median)', value: median(points), unit: 'points' },
      ];
    } finally {
      await parts.close();
    }
  } finally {
    await stack.close();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { formatTable } = await import('./runtime.ts');
  process.stdout.write(`${formatTable(await run())}\n`);
}
