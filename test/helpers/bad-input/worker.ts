/**
 * The worker thread of {@link runKind} (run.ts): sets up one kind, feeds it `numRuns` inputs from
 * fast-check with the given seed, and tells the main thread before each input which one it is (so a
 * hang can be named), then sends the counts and the unclear cases.
 */
import { parentPort, workerData } from 'node:worker_threads';
import fc from 'fast-check';
import { KINDS, type KindName } from './kinds/index.ts';
import type { Outcome } from './clear.ts';

const { kind: name, numRuns, seed, maxFailures } = workerData as { kind: KindName; numRuns: number; seed: number; maxFailures: number };
const kind = await KINDS[name]();
const ctx = await kind.setup?.();
const counts = { accepted: 0, rejected: 0, unclear: 0 };
const failures: Array<{ input: string; why: string }> = [];
let i = 0;
const started = Date.now();
let slowest = { ms: 0, input: '' };
const seenWhy = new Set<string>();
// the property never fails: every outcome is counted, so the report covers all numRuns inputs
await fc.check(
  fc.asyncProperty(kind.arbitrary, async (input: unknown) => {
    const p = kind.preview(input as never);
    parentPort!.postMessage({ t: 'case', i: i++, input: p });
    let o: Outcome;
    const t0 = performance.now();
    try {
      o = await kind.check(input as never, ctx as never);
    } catch (err) {
      o = { kind: 'unclear', why: `the check itself threw: ${(err as Error)?.stack ?? String(err)}` };
    }
    const ms = performance.now() - t0;
    if (ms > slowest.ms) slowest = { ms, input: p };
    counts[o.kind]++;
    // one example per kind of failure (the reason's first 60 characters)
    if (o.kind === 'unclear' && failures.length < maxFailures && !seenWhy.has(o.why.slice(0, 60))) {
      seenWhy.add(o.why.slice(0, 60));
      failures.push({ input: p, why: o.why });
    }
    return true;
  }),
  { numRuns, seed },
);
await kind.teardown?.(ctx as never);
parentPort!.postMessage({ t: 'done', counts, failures, ms: Date.now() - started, slowest, title: kind.title, fedTo: kind.fedTo });
