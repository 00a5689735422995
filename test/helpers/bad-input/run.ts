/**
 * Runs one kind of bad input (kinds/index.ts) in a worker thread, so that every input is
 * time-bounded even when the code under test would loop forever: the worker announces each input,
 * and when one takes longer than `caseTimeoutMs` the worker is terminated and the input reported as a
 * hang. Used by the `npm test` files (1,000+ inputs per kind) and `npm run bench -- reliability`
 * (20,000).
 */
import { Worker } from 'node:worker_threads';
import type { KindName } from './kinds/index.ts';

/** Counts of one run of a kind. `tried` = accepted + rejected + unclear (+1 when it hung). */
export interface KindReport {
  kind: KindName;
  title: string;
  /** what is fed and where */
  fedTo: string;
  tried: number;
  /** refused with a clear error */
  rejected: number;
  /** valid after all (a mutation landed on a valid document) and sane */
  accepted: number;
  /** unclear errors, crashes, broken acceptances */
  unclear: number;
  /** the input that did not finish within caseTimeoutMs, if one did not */
  hung?: string;
  /** up to `maxFailures` unclear cases */
  failures: Array<{ input: string; why: string }>;
  /** fast-check seed: the same seed and numRuns give the same inputs */
  seed: number;
  /** ms of the whole run (setup included) */
  ms: number;
  /** the input that took longest, and its ms */
  slowest?: { ms: number; input: string };
}

/** Options of {@link runKind}. */
export interface RunKindOptions {
  numRuns: number;
  /** Default `STREAMTUNE_FUZZ_SEED`, else random. */
  seed?: number;
  /** ms one input may take before it counts as a hang. Default 30,000 (a shared, loaded machine). */
  caseTimeoutMs?: number;
  /** unclear cases kept for the report. Default 20. */
  maxFailures?: number;
}

/** Runs `kind` with `numRuns` inputs; resolves with the counts (it never rejects for a bad outcome). */
export function runKind(kind: KindName, opts: RunKindOptions): Promise<KindReport> {
  const seed = opts.seed ?? (process.env.STREAMTUNE_FUZZ_SEED ? Number(process.env.STREAMTUNE_FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31));
  const caseTimeoutMs = opts.caseTimeoutMs ?? 30_000;
  const worker = new Worker(new URL('./worker-boot.js', import.meta.url), { workerData: { kind, numRuns: opts.numRuns, seed, maxFailures: opts.maxFailures ?? 20 }, name: `bad-input-${kind}` });
  const started = Date.now();
  return new Promise((resolve, reject) => {
    let last = Date.now();
    let current: { i: number; input: string } | undefined;
    let setupDone = false;
    const watchdog = setInterval(() => {
      // setup (a real savepoint, a control plane) may take longer than one input: 5 × the bound
      const bound = setupDone ? caseTimeoutMs : 5 * caseTimeoutMs;
      if (Date.now() - last <= bound) return;
      clearInterval(watchdog);
      void worker.terminate();
      resolve({
        kind, title: kind, fedTo: '', tried: (current?.i ?? -1) + 1, rejected: 0, accepted: 0, unclear: 1,
        hung: current ? `input #${current.i} did not finish within ${bound} ms: ${current.input}` : `setup did not finish within ${bound} ms`,
        failures: [], seed, ms: Date.now() - started,
      });
    }, 250);
    worker.on('message', (m: { t: 'case'; i: number; input: string } | { t: 'done'; counts: { accepted: number; rejected: number; unclear: number }; failures: KindReport['failures']; ms: number; slowest: { ms: number; input: string }; title: string; fedTo: string }) => {
      last = Date.now();
      if (m.t === 'case') {
        setupDone = true;
        current = m;
        return;
      }
      clearInterval(watchdog);
      void worker.terminate();
      const c = m.counts;
      resolve({ kind, title: m.title, fedTo: m.fedTo, tried: c.accepted + c.rejected + c.unclear, ...c, failures: m.failures, seed, ms: m.ms, slowest: m.slowest });
    });
    worker.on('error', (err) => {
      clearInterval(watchdog);
      reject(new Error(`bad-input worker for ${kind} crashed at input #${current?.i ?? '-'} (${current?.input ?? 'setup'}), seed ${seed}: ${err.stack ?? err.message}`));
    });
    worker.on('exit', (code) => {
      clearInterval(watchdog);
      if (code !== 0 && code !== 1) reject(new Error(`bad-input worker for ${kind} exited with ${code} at input #${current?.i ?? '-'}, seed ${seed}`));
    });
  });
}

/** A report as lines for an assertion message: counts, the hang, the unclear cases, how to replay. */
export function describeReport(r: KindReport): string {
  const slow = r.slowest ? `; slowest input ${Math.round(r.slowest.ms)} ms: ${r.slowest.input.slice(0, 80)}` : '';
  const head = `${r.title}: ${r.tried} inputs, ${r.rejected} rejected clearly, ${r.accepted} valid after all, ${r.unclear} unclear${r.hung ? ', 1 hung' : ''} (seed ${r.seed}; replay with STREAMTUNE_FUZZ_SEED=${r.seed}${slow})`;
  return [head, ...(r.hung ? [`  hung: ${r.hung}`] : []), ...r.failures.map((f) => `  ${f.why}\n    input: ${f.input}`)].join('\n');
}
