/**
 * Exactly-once across random stop-with-savepoint / restore-with-new-parallelism cycles of the
 * flights job (jobs/flight-delays.yaml on the bundled runtime, 3,000,000 real flights), checked
 * against DuckDB's GROUP BY origin. Shared by test/reliability-flights.test.ts (3 cycles) and
 * bench/reliability.ts (10 cycles).
 */
import { join } from 'node:path';
import { LocalJob } from '../../runtime/job.ts';
import { loadJobSpec } from '../../runtime/spec.ts';
import { committedRecords, duplicateWindows, groundTruth, sumsByOrigin } from './flights.ts';
import { tempDir } from './wait.ts';

/** Upper bound of each vertex' random parallelism: the source has 4 splits; 2 cores here. All ≤ maxParallelism 128. */
export const PARALLELISM_RANGE: Record<string, number> = { flights: 4, enrich: 4, 'delay-by-origin': 8, results: 4 };

/** A small seeded PRNG (mulberry32): the same seed gives the same cycles. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One execution of the job: its parallelism, and after how many source records it was stopped (absent: ran to the end). */
export interface CycleRun {
  parallelism: Record<string, number>;
  stopAfterRecords?: number;
  savepoint?: string;
}

/** Outcome: records compared per origin airport with DuckDB's GROUP BY origin. */
export interface CyclesResult {
  seed: number;
  runs: CycleRun[];
  /** flights DuckDB counts that the committed output lacks (sum over origins of the shortfall) */
  lost: number;
  /** flights counted more than once (sum over origins of the excess) plus window results written twice */
  duplicated: number;
  /** origins whose sum of delay differs from DuckDB's */
  sumDelayMismatches: number;
  origins: number;
  flights: number;
}

function sourceRecords(job: LocalJob): number {
  return job.currentSubtasks().filter((s) => s.kind === 'source').reduce((a, s) => a + s.metrics.numRecordsIn, 0);
}

async function untilRecords(job: LocalJob, n: number): Promise<boolean> {
  for (;;) {
    if (sourceRecords(job) >= n) return true;
    if (job.state !== 'RUNNING') return false;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Runs `cycles` stop-with-savepoint / restore cycles, each execution with random parallelism per
 * vertex (1..{@link PARALLELISM_RANGE}) and stopped after a random number of source records in
 * [minRecords, maxRecords]; then a last execution to the end of the data. `log` gets one line per run.
 */
export async function runFlightsCycles(o: { cycles: number; seed: number; minRecords: number; maxRecords: number; log?: (line: string) => void }): Promise<CyclesResult> {
  const rnd = seededRandom(o.seed);
  const spec = loadJobSpec('jobs/flight-delays.yaml');
  spec.checkpoints = { ...spec.checkpoints, dir: join(tempDir(), 'chk') };
  const out = tempDir();
  const spDir = tempDir();
  const runs: CycleRun[] = [];
  let from: string | undefined;
  for (let i = 0; i <= o.cycles; i++) {
    const parallelism = Object.fromEntries(Object.entries(PARALLELISM_RANGE).map(([v, max]) => [v, 1 + Math.floor(rnd() * max)]));
    const job = new LocalJob(spec, { outputDirs: { results: out }, parallelism, ...(from ? { fromSavepoint: from } : {}) });
    await job.start();
    if (i === o.cycles) {
      const r = await job.done();
      if (r.state !== 'FINISHED') throw new Error(`last run ended ${r.state}: ${r.error?.message ?? ''}`);
      runs.push({ parallelism });
      o.log?.(`run ${i + 1}: ${JSON.stringify(parallelism)} to the end`);
      break;
    }
    const stopAfterRecords = o.minRecords + Math.floor(rnd() * (o.maxRecords - o.minRecords + 1));
    const reached = await untilRecords(job, stopAfterRecords);
    if (!reached) throw new Error(`run ${i + 1} ended ${job.state} before reading ${stopAfterRecords} flights`);
    const sp = await job.stopWithSavepoint(spDir);
    await job.done();
    from = sp.path;
    runs.push({ parallelism, stopAfterRecords, savepoint: sp.path });
    o.log?.(`run ${i + 1}: ${JSON.stringify(parallelism)}, stopped with a savepoint after ${stopAfterRecords} flights read`);
  }
  const records = committedRecords(out);
  const dups = duplicateWindows(records).length;
  const got = sumsByOrigin(records);
  const truth = await groundTruth();
  let lost = 0;
  let duplicated = dups;
  let sumDelayMismatches = 0;
  let flights = 0;
  for (const [origin, t] of truth) {
    const g = got.get(origin) ?? { count: 0, sumDelay: 0 };
    flights += g.count;
    if (g.count < t.count) lost += t.count - g.count;
    if (g.count > t.count) duplicated += g.count - t.count;
    if (g.sumDelay !== t.sumDelay) sumDelayMismatches++;
  }
  for (const [origin, g] of got) if (!truth.has(origin)) duplicated += g.count;
  return { seed: o.seed, runs, lost, duplicated, sumDelayMismatches, origins: got.size, flights };
}

/** The seed: `STREAMTUNE_RELIABILITY_SEED` when set (to replay a run), else a random one. */
export function reliabilitySeed(env: NodeJS.ProcessEnv = process.env): number {
  const s = env.STREAMTUNE_RELIABILITY_SEED;
  return s && /^\d+$/.test(s) ? Number(s) : Math.floor(Math.random() * 2 ** 31);
}
