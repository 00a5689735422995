/**
 * The tuner stack for tests (bundled catalog, embedded metric store, collector, memory bus, diagnosis
 * store, tuner service on one data dir), a small JSONL dataset writer and job spec, and — when run as
 * a program — a streamtune stand-in for the crash test:
 *
 *   node --import tsx test/helpers/tuner-child.ts <dataDir> apply <datasetFile> <killAt>
 *     submits the job, waits for a completed checkpoint, applies agg 1 → 2 and SIGKILLs itself at
 *     `killAt`: SAVEPOINTING|STARTING|VERIFYING|ROLLING_BACK just after the operation's journal record
 *     for that state is durable (the step is then under way); PENDING synchronously when the PENDING
 *     record is durable (before the runner goes on); SAVEPOINT_DONE the moment the executor's stop
 *     with savepoint has completed, before the operation journals it; SUCCEEDED just after the
 *     terminal record. For ROLLING_BACK the start with the new parallelism is made to fail
 *     (`failNextStart`) first.
 *   unshare -rm node --import tsx test/helpers/tuner-child.ts <dataDir> full-savepoint <datasetFile>
 *     (in a mount namespace of its own) submits the job, waits for a checkpoint, mounts a 1 MiB tmpfs
 *     on the job's savepoint directory and fills it (writes until ENOSPC), applies agg 1 → 2
 *     (prints {"event":"full",...}: the operation, the job's state, parallelism, records read), then
 *     deletes the filler and applies again (prints {"event":"space",...}).
 *   node --import tsx test/helpers/tuner-child.ts <dataDir> recover
 *     opens the same data dir (the catalog starts the job again), runs recover(), waits for every
 *     recovered operation to end, prints one JSON line {"event":"recovered",...} and exits 0.
 *
 * Progress is printed as JSON lines on stdout.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { createMemoryBus } from '../../core/bus-memory.ts';
import { createCollector } from '../../collector/collector.ts';
import { createEmbeddedStore, type EmbeddedStore } from '../../collector/store/embedded.ts';
import type { Collector } from '../../collector/types.ts';
import type { EventBus } from '../../core/bus.ts';
import type { Logger } from '../../core/logger.ts';
import { createDiagnosisStore } from '../../diagnoser/diagnosis-store.ts';
import type { DiagnosisStore } from '../../diagnoser/store-types.ts';
import type { JobSpec } from '../../runtime/spec.ts';
import { type BundledCatalog, type BundledExecutorFaults, createBundledCatalog } from '../../platform/index.ts';
import { createTunerService, type TunerServiceImpl } from '../../tuner/service.ts';
import type { TuningPolicy } from '../../tuner/types.ts';

/** Everything a tuner test runs, on one data dir. */
export interface TunerStack {
  catalog: BundledCatalog;
  store: EmbeddedStore;
  collector?: Collector;
  bus: EventBus;
  diagnoses: DiagnosisStore;
  tuner: TunerServiceImpl;
  /** closes the tuner, collector, catalog (jobs stopped with a savepoint), stores and bus */
  close(): Promise<void>;
}

/**
 * Builds the stack; with `collectorIntervalMs` a collector watches every execution into the store.
 * `batchSize` (records per batch, runtime default 512) bounds what the channels hold in flight
 * (8 batches each): a small one makes a bottleneck's backlog show as lag within seconds instead of
 * hiding thousands of records in the channels, and keeps savepoint barriers from queueing behind them.
 * `logger` is the catalog's (and so every execution's: a test can read which snapshot each one
 * restored from in the runtime's 'running' lines).
 */
export async function createTunerStack(o: { dataDir: string; policies?: Record<string, Partial<TuningPolicy>>; faults?: BundledExecutorFaults; collectorIntervalMs?: number; savepointTimeoutMs?: number; batchSize?: number; logger?: Logger }): Promise<TunerStack> {
  const store = await createEmbeddedStore({ path: ':memory:' });
  const catalog = await createBundledCatalog({ dataDir: o.dataDir, faults: o.faults, snapshotPollMs: 50, ...(o.logger ? { logger: o.logger } : {}), jobOptions: { metricsWindowMs: 2000, ...(o.batchSize ? { batchSize: o.batchSize } : {}) } });
  let collector: Collector | undefined;
  if (o.collectorIntervalMs) {
    const c = createCollector({ store, intervalMs: o.collectorIntervalMs, flushIntervalMs: 200 });
    collector = c;
    catalog.onJobStarted((job, m) => c.watchJob(job, m));
    for (const m of catalog.list()) {
      const j = catalog.localJob(m.job_id);
      if (j) c.watchJob(j, m);
    }
    c.start();
  }
  const bus = createMemoryBus();
  const diagnoses = await createDiagnosisStore({ dir: join(o.dataDir, 'diagnoses') });
  const tuner = await createTunerService({ executor: catalog.executor, jobs: catalog, store, diagnoses, bus, dataDir: o.dataDir, policies: o.policies, timeouts: { savepointMs: o.savepointTimeoutMs ?? 20_000, runningMs: 20_000, firstRecordMs: 10_000 } });
  return {
    catalog,
    store,
    collector,
    bus,
    diagnoses,
    tuner,
    async close() {
      await tuner.close();
      await collector?.stop();
      await catalog.close();
      await diagnoses.close();
      await bus.close();
      await store.close();
    },
  };
}

/** Writes `rows` JSON lines `{ts, key, v}` (ts epoch ms, 20 keys) and returns the file path. */
export function writeDataset(dir: string, rows: number): string {
  const path = join(dir, 'events.jsonl');
  const t0 = Date.UTC(2024, 0, 1);
  let text = '';
  for (let i = 0; i < rows; i++) text += `${JSON.stringify({ ts: t0 + i * 10, key: `k${i % 20}`, v: i })}\n`;
  writeFileSync(path, text);
  return path;
}

/** dataset → map (agg; `aggLatencyMs` per record makes it the bottleneck) → sink; `sink` 'jsonl' writes exactly-once files into `outDir`. */
export function datasetSpec(name: string, datasetPath: string, o: { rate: number; sink?: { jsonl: string }; checkpointMs?: number; aggLatencyMs?: number }): JobSpec {
  return {
    name,
    checkpoints: { interval: o.checkpointMs ?? 300 },
    vertices: [
      { name: 'src', type: 'dataset-source', path: datasetPath, format: 'jsonl', eventTime: 'ts', rate: o.rate, splits: 4 },
      { name: 'agg', type: 'map', set: { w: 'v * 2' }, ...(o.aggLatencyMs ? { faults: { latencyMs: o.aggLatencyMs } } : {}) },
      o.sink ? { name: 'out', type: 'jsonl-sink', path: o.sink.jsonl } : { name: 'out', type: 'discard-sink' },
    ],
    edges: [
      { from: 'src', to: 'agg', partitioning: 'rebalance' },
      { from: 'agg', to: 'out', partitioning: 'rebalance' },
    ],
  };
}

function say(event: string, data: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ event, ...data })}\n`);
}

async function waitUntil(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function main(argv: string[]): Promise<void> {
  const [dataDir, mode, datasetPath, killAt] = argv;
  if (!dataDir || (mode !== 'apply' && mode !== 'recover' && mode !== 'full-savepoint')) throw new Error('usage: tuner-child.ts <dataDir> apply <dataset> <killAt> | full-savepoint <dataset> | recover');
  const faults: BundledExecutorFaults = {};
  const stack = await createTunerStack({ dataDir, faults, policies: { '*': { verifyAfterMs: 0, cooldownMs: 0 } } });
  if (mode === 'full-savepoint') {
    await fullSavepointDir(stack, dataDir, datasetPath!);
    await stack.close();
    return;
  }
  if (mode === 'apply') {
    // to be killed while rolling back, the start with the new settings has to fail first
    if (killAt === 'ROLLING_BACK') faults.failNextStart = true;
    const m = await stack.catalog.submitSpec(datasetSpec('crash-job', datasetPath!, { rate: 300 }));
    const job = stack.catalog.localJob(m.job_id)!;
    await waitUntil(() => job.stats.numberOfCompletedCheckpoints > 0, 30_000, 'a checkpoint');
    await stack.bus.subscribe('operations', (op) => {
      if (op.state !== killAt) return;
      // PENDING: at once (the memory bus calls this right after the journal's fsync, before the
      // runner journals SAVEPOINTING); the others once the step is under way
      if (killAt === 'PENDING') process.kill(process.pid, 'SIGKILL');
      else setImmediate(() => process.kill(process.pid, 'SIGKILL'));
    });
    if (killAt === 'SAVEPOINT_DONE') {
      const executor = stack.catalog.executor;
      const stop = executor.stopWithSavepoint.bind(executor);
      executor.stopWithSavepoint = async (...args: Parameters<typeof stop>) => {
        const r = await stop(...args);
        say('savepoint-done', { savepointPath: r.savepointPath });
        process.kill(process.pid, 'SIGKILL');
        return r;
      };
    }
    const op = await stack.tuner.apply({ job_id: m.job_id, actions: [{ type: 'set-parallelism', vertex: 'agg', from: 1, to: 2 }], origin: 'user' });
    say('applied', { operationId: op.id, jobId: m.job_id });
    await new Promise(() => {}); // killed from inside
  }
  const recovered = await stack.tuner.recover();
  const ended = [];
  for (const op of recovered) ended.push(await stack.tuner.waitFor(op.id, 60_000));
  const jobs = stack.catalog.list().map((j) => ({ job_id: j.job_id, state: j.state, parallelism: Object.fromEntries(j.topology.map((v) => [v.name, v.parallelism])) }));
  say('recovered', { operations: ended, jobs });
  await stack.close();
}

/** Records read by the job's sources so far. */
function recordsIn(stack: TunerStack, jobId: string): number {
  return stack.catalog.localJob(jobId)?.currentSubtasks().filter((t) => t.kind === 'source').reduce((a, t) => a + t.metrics.numRecordsIn, 0) ?? 0;
}

function jobNow(stack: TunerStack, jobId: string): Record<string, unknown> {
  const j = stack.catalog.get(jobId)!;
  return { state: j.state, parallelism: Object.fromEntries(j.topology.map((v) => [v.name, v.parallelism])), recordsIn: recordsIn(stack, jobId) };
}

/** See the `full-savepoint` mode above. Needs CAP_SYS_ADMIN in its mount namespace (`unshare -rm`). */
async function fullSavepointDir(stack: TunerStack, dataDir: string, datasetPath: string): Promise<void> {
  const m = await stack.catalog.submitSpec(datasetSpec('full-job', datasetPath, { rate: 300 }));
  const job = stack.catalog.localJob(m.job_id)!;
  await waitUntil(() => job.stats.numberOfCompletedCheckpoints > 0, 30_000, 'a checkpoint');
  const spDir = join(dataDir, 'jobs', m.job_id, 'savepoints');
  mkdirSync(spDir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', spDir]);
  const filler = join(spDir, 'filler');
  const fd = openSync(filler, 'w');
  let filled = 0;
  try {
    for (;;) filled += writeSync(fd, Buffer.alloc(64 * 1024, 1));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
  const op1 = await stack.tuner.apply({ job_id: m.job_id, actions: [{ type: 'set-parallelism', vertex: 'agg', from: 1, to: 2 }], origin: 'user' });
  const done1 = await stack.tuner.waitFor(op1.id, 60_000);
  const before = recordsIn(stack, m.job_id);
  await waitUntil(() => recordsIn(stack, m.job_id) > before, 30_000, 'records read after the failed operation');
  say('full', { filledBytes: filled, operation: done1, job: jobNow(stack, m.job_id), recordsBefore: before, leftover: readdirSync(spDir).filter((f) => f !== 'filler') });
  unlinkSync(filler);
  const op2 = await stack.tuner.apply({ job_id: m.job_id, actions: [{ type: 'set-parallelism', vertex: 'agg', from: 1, to: 2 }], origin: 'user' });
  const done2 = await stack.tuner.waitFor(op2.id, 60_000);
  say('space', { operation: done2, job: jobNow(stack, m.job_id) });
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  main(process.argv.slice(2)).then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
