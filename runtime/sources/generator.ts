/**
 * Generated records `{key, seq, value}` for tests, benchmarks and demos, with a hot-key skew knob:
 * a share `hotKeyShare` of records carries the key 'key-0', the rest spread evenly over `keys`
 * keys. Deterministic: record j of split s is always the same, so replays after a restore are exact.
 * Rate-limited like the dataset source (arrival clock kept in checkpoints, backlog as pendingRecords).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { StreamtuneError } from '../../core/index.ts';
import type { GeneratorSourceSpec } from '../spec.ts';
import type { OperatorContext, OperatorSnapshot, Rec, RestoredState } from '../operators/types.ts';
import { assignedSplits, type PollResult, type SourceReader } from './types.ts';

interface GenSplit {
  split: number;
  read: number;
  startedAt: number;
}

/** A fast deterministic hash of two ints to [0, 1). */
function unit(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x632be5ab, 0xc2b2ae35);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return (h >>> 0) / 4294967296;
}

/** Creates a generator source reader. */
export function createGeneratorSource(spec: GeneratorSourceSpec, clock: () => number = Date.now): SourceReader {
  const S = spec.splits ?? 4;
  const rate = spec.rate ?? 0;
  const perSplit = rate > 0 ? rate / S : 0;
  const keys = spec.keys ?? 1000;
  const hot = spec.hotKeyShare ?? 0;
  const count = spec.count;
  let splits: GenSplit[] = [];
  let next = 0;
  const size = (s: number) => (count === undefined ? Number.POSITIVE_INFINITY : count > s ? Math.floor((count - 1 - s) / S) + 1 : 0);
  const arrived = (sp: GenSplit, now: number) =>
    perSplit > 0 ? Math.min(size(sp.split), Math.floor(((now - sp.startedAt) * perSplit) / 1000) + 1) : size(sp.split);
  const eventTime = (sp: GenSplit, j: number) => (perSplit > 0 ? sp.startedAt + Math.floor((j * 1000) / perSplit) : sp.startedAt + j);

  return {
    open(ctx: OperatorContext, restored: RestoredState | undefined) {
      if (ctx.parallelism > S) throw new StreamtuneError('INVALID_ARGUMENT', `source '${spec.name}' has ${S} splits; its parallelism ${ctx.parallelism} cannot exceed them`);
      const old = new Map<number, GenSplit>();
      for (const x of restored?.list ?? []) if (typeof (x as GenSplit)?.split === 'number') old.set((x as GenSplit).split, x as GenSplit);
      const startedAt = old.size > 0 ? Math.min(...[...old.values()].map((p) => p.startedAt)) : clock();
      splits = assignedSplits(S, ctx.subtask, ctx.parallelism).map((s) => ({ ...(old.get(s) ?? { split: s, read: 0, startedAt }) }));
      return Promise.resolve();
    },
    poll(max: number): PollResult {
      const now = clock();
      const values: Rec[] = [];
      const ts: number[] = [];
      let active = 0;
      const per = Math.max(1, Math.ceil(max / Math.max(1, splits.length)));
      for (let k = 0; k < splits.length; k++) {
        const sp = splits[(next + k) % splits.length]!;
        if (sp.read >= size(sp.split)) continue;
        active++;
        let take = Math.min(per, arrived(sp, now) - sp.read);
        while (take-- > 0) {
          const j = sp.read++;
          const seq = sp.split + j * S;
          const u = unit(sp.split, j);
          const key = u < hot ? 'key-0' : `key-${Math.floor(unit(j, sp.split + 7) * keys)}`;
          values.push({ key, seq, value: Math.floor(unit(seq, 3) * 1000) });
          ts.push(eventTime(sp, j));
        }
      }
      next = (next + 1) % Math.max(1, splits.length);
      if (values.length > 0) return { values, ts };
      return active === 0 ? 'end' : null;
    },
    async waitForData() {
      let soonest = Number.POSITIVE_INFINITY;
      for (const sp of splits) if (sp.read < size(sp.split) && perSplit > 0) soonest = Math.min(soonest, sp.startedAt + (sp.read * 1000) / perSplit);
      const wait = soonest - clock();
      await sleep(Number.isFinite(wait) ? Math.max(1, Math.min(wait, 100)) : 1);
    },
    watermark() {
      let wm = Number.POSITIVE_INFINITY;
      for (const sp of splits) if (sp.read < size(sp.split)) wm = Math.min(wm, sp.read > 0 ? eventTime(sp, sp.read - 1) : Number.NEGATIVE_INFINITY);
      return wm === Number.POSITIVE_INFINITY ? wm : wm - 1;
    },
    pending() {
      const now = clock();
      let p = 0;
      for (const sp of splits) {
        const a = arrived(sp, now);
        if (Number.isFinite(a)) p += Math.max(0, a - sp.read);
      }
      return p;
    },
    snapshot(): OperatorSnapshot {
      return { list: splits.map((s) => ({ ...s })) };
    },
    close() {},
  };
}
