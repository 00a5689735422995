/**
 * Replay of a dataset file in event-time order. The rows (sorted by event time) are cut into
 * `splits` stripes — split s holds rows s, s+S, s+2S, … — which behave like Kafka partitions: a
 * subtask owns the splits with `split % parallelism == subtask`, keeps a position per split in its
 * checkpoints, and a restore with another parallelism re-deals the splits.
 *
 * With `rate` R records/s the dataset *arrives* like a topic being produced to: row j of a split
 * arrives at `startedAt + j / (R / S)` s, where `startedAt` is kept in the checkpoint so downtime
 * adds backlog as it would on Kafka. `pendingRecords` = arrived − read. Without a rate every row has
 * arrived and the source reads as fast as it can.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { StreamtuneError } from '../../core/index.ts';
import { parseDuration, type DatasetSourceSpec } from '../spec.ts';
import { resolveDataPath } from '../paths.ts';
import type { OperatorContext, OperatorSnapshot, Rec, RestoredState } from '../operators/types.ts';
import { formatOf, loadDataset, type LoadedDataset } from './dataset-loader.ts';
import { assignedSplits, type PollResult, type SourceReader } from './types.ts';

/** Checkpointed position of one split: rows read so far (within the split). */
interface SplitPosition {
  split: number;
  read: number;
  /** ms epoch the replay (arrival clock) started */
  startedAt: number;
  /** last event time read, ms */
  lastTs: number;
}

/**
 * Position of one split of a dataset replay, as a Kafka partition would have it: records of the
 * split that arrived by `now` (the log-end offset) and records read (the committed position).
 */
export interface SplitOffset {
  /** split index (0..splits-1) */
  split: number;
  /** records of this split read so far (restored from the savepoint/checkpoint after a restore) */
  readOffset: number;
  /** records of this split arrived by `now`: all of them without a rate */
  arrivedOffset: number;
  /** records in the split */
  splitRecords: number;
  /** arrival rate of this split, records/s; 0 = every record arrived at `startedAt` (no rate) */
  arrivalRate: number;
  /** ms epoch the arrival clock started (kept in checkpoints, so it survives restores) */
  startedAt: number;
}

/** A dataset source reader that also reports its split offsets (see {@link SplitOffset}). */
export interface DatasetSourceReader extends SourceReader {
  /** Offsets of the splits this reader owns at `now` (ms epoch); [] before `open()` completed. */
  splitOffsets(now: number): SplitOffset[];
}

/** Creates a dataset source reader. */
export function createDatasetSource(spec: DatasetSourceSpec, clock: () => number = Date.now): DatasetSourceReader {
  const S = spec.splits ?? 4;
  const rate = spec.rate ?? 0;
  const perSplitRate = rate > 0 ? rate / S : 0;
  const ooo = parseDuration(spec.outOfOrderness, `vertex '${spec.name}' outOfOrderness`, 0);
  let ds: LoadedDataset;
  let splits: SplitPosition[] = [];
  let next = 0;

  const splitSize = (s: number, n: number) => (n > s ? Math.floor((n - 1 - s) / S) + 1 : 0);
  const arrived = (sp: SplitPosition, now: number) => {
    const size = splitSize(sp.split, ds.total);
    if (perSplitRate <= 0) return size;
    return Math.min(size, Math.floor(((now - sp.startedAt) * perSplitRate) / 1000) + 1);
  };
  const available = (sp: SplitPosition, now: number) => Math.min(arrived(sp, now), splitSize(sp.split, ds.loaded));

  return {
    async open(ctx: OperatorContext, restored: RestoredState | undefined) {
      if (ctx.parallelism > S) {
        throw new StreamtuneError('INVALID_ARGUMENT', `source '${spec.name}' has ${S} splits; its parallelism ${ctx.parallelism} cannot exceed them`);
      }
      const file = resolveDataPath(spec.path, ctx.baseDir);
      ds = await loadDataset({ path: file, format: spec.format ?? formatOf(file), eventTime: spec.eventTime, columns: spec.columns, limit: spec.limit });
      const mine = assignedSplits(S, ctx.subtask, ctx.parallelism);
      const old = new Map<number, SplitPosition>();
      for (const x of restored?.list ?? []) {
        const p = x as SplitPosition;
        if (typeof p?.split === 'number') old.set(p.split, p);
      }
      const startedAt = old.size > 0 ? Math.min(...[...old.values()].map((p) => p.startedAt)) : clock();
      splits = mine.map((s) => ({ ...(old.get(s) ?? { split: s, read: 0, startedAt, lastTs: Number.NEGATIVE_INFINITY }) }));
    },
    poll(max: number): PollResult {
      if (ds.error) throw new StreamtuneError('JOB_FAILED', `reading dataset ${spec.path} failed: ${ds.error.message}`, { cause: ds.error });
      const now = clock();
      const values: Rec[] = [];
      const ts: number[] = [];
      let active = 0;
      const n = splits.length;
      const per = Math.max(1, Math.ceil(max / Math.max(1, n)));
      for (let k = 0; k < n; k++) {
        const sp = splits[(next + k) % n]!;
        const size = splitSize(sp.split, ds.total);
        if (sp.read >= size) continue;
        active++;
        const avail = available(sp, now);
        let take = Math.min(per, avail - sp.read);
        while (take-- > 0) {
          const row = sp.split + sp.read * S;
          values.push(ds.row(row));
          const t = ds.ts[row]!;
          ts.push(t);
          sp.lastTs = t;
          sp.read++;
        }
      }
      next = (next + 1) % Math.max(1, n);
      if (values.length > 0) return { values, ts };
      if (active === 0 && (ds.done || ds.loaded >= ds.total)) return 'end';
      return null;
    },
    async waitForData() {
      const now = clock();
      let soonest = Number.POSITIVE_INFINITY;
      let needLoad = false;
      for (const sp of splits) {
        const size = splitSize(sp.split, ds.total);
        if (sp.read >= size) continue;
        if (sp.read >= splitSize(sp.split, ds.loaded)) needLoad = true;
        else if (perSplitRate > 0) soonest = Math.min(soonest, sp.startedAt + ((sp.read) * 1000) / perSplitRate);
      }
      if (needLoad && !ds.done) {
        await ds.progress();
        return;
      }
      const wait = soonest - now;
      await sleep(Number.isFinite(wait) ? Math.max(1, Math.min(wait, 100)) : 1);
    },
    watermark() {
      let wm = Number.POSITIVE_INFINITY;
      for (const sp of splits) {
        if (sp.read >= splitSize(sp.split, ds.total)) continue;
        wm = Math.min(wm, sp.lastTs);
      }
      if (wm === Number.POSITIVE_INFINITY) return Number.POSITIVE_INFINITY;
      return wm - ooo - 1;
    },
    pending() {
      const now = clock();
      let p = 0;
      for (const sp of splits) p += Math.max(0, arrived(sp, now) - sp.read);
      return p;
    },
    snapshot(): OperatorSnapshot {
      return { list: splits.map((s) => ({ ...s })) };
    },
    splitOffsets(now: number): SplitOffset[] {
      if (!ds) return [];
      return splits.map((sp) => ({
        split: sp.split,
        readOffset: sp.read,
        arrivedOffset: Math.max(sp.read, arrived(sp, now)),
        splitRecords: splitSize(sp.split, ds.total),
        arrivalRate: perSplitRate,
        startedAt: sp.startedAt,
      }));
    },
    close() {},
  };
}
