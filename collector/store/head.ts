/**
 * The in-memory head of the embedded store: the most recent points of every numeric series, kept
 * in memory beside DuckDB so that reads of recent time ranges (the job page's charts, the
 * diagnoser's windows, the read model's "now") are answered without a DuckDB statement.
 *
 * The idea is Prometheus' head block (tsdb/head.go, "the head block": the in-memory, most recent
 * part of the TSDB, one series per label set, samples appended to chunks of 120 samples, the rest
 * of the data in persisted blocks). Deliberate differences:
 * - Every point is written to DuckDB too, synchronously with the head (no head-only data, no WAL
 *   replay, no compaction into blocks): DuckDB stays the store of record, the head is a cache.
 *   After a restart the head starts empty and covers only times after the newest point DuckDB
 *   held at open (see {@link MetricHead.open}); older ranges are read from DuckDB.
 * - A read is served from the head only when its whole [start, end] lies inside the head's covered
 *   range ({@link MetricHead.covers}); Prometheus merges head and blocks in one querier. Reads that
 *   reach further back go to DuckDB alone, so no answer ever mixes the two.
 * - Samples are kept uncompressed (two Float64Arrays per chunk of {@link HEAD_CHUNK_POINTS}: ~16
 *   bytes a point plus the unfilled rest of each series' newest chunk), not Gorilla/XOR-encoded, and
 *   out-of-order points are inserted in place (Prometheus keeps a separate out-of-order head).
 * - Besides the time limit (`headMinutes` behind the newest point) the head holds at most
 *   `maxPoints` points: past it, the oldest are dropped first by raising the covered range's start.
 *
 * Answers have exactly the semantics of the DuckDB path (the shared helpers of aggregate.ts): tag
 * filters and groupBy read a missing tag as '', `rate` is per series then summed per group, windows
 * with no point are left out, series are sorted by their tags, non-numeric field values never
 * become points. Test: test/store-head.test.ts compares the two on random data and queries.
 */
import {
  aggregateWindows,
  counterRate,
  mergeSeriesParts,
  sumByWindow,
  whereMatchesNothing,
  type Sample,
} from './aggregate.ts';
import type { Series, SeriesQuery } from './types.ts';

/**
 * Default minutes of points kept behind the newest one: 65. The longest ranges read routinely are
 * one hour: the job page's longest chart range (dashboards/server/pages/job.ts `RANGES`: 5 min
 * (the default), 15 min, 1 h) and the diagnoser's load history over the planner's scale-down
 * interval (rules `planner.scaleDownInterval`, default 1 h; its window proper is 10 min,
 * diagnoser/service.ts `windowMs`); the read model's lag and throughput "now" read 5 min and 1 min.
 * 5 minutes more than an hour so that "the last hour, ending now" starts inside the head even when
 * the newest point is a collection interval old.
 */
export const DEFAULT_HEAD_MINUTES = 65;

/**
 * Default most points held: 20,000,000 (~0.6 GB: measured ~30 bytes of RSS a point with 55,000
 * series of 200 points each, 16 of them the two doubles, the rest the unfilled part of each
 * series' newest chunk and the chunk objects). A fleet of 1,000
 * Flink jobs collected every 5 s (55 series a job, bench/_api-load-child.ts) writes 11,000 points/s,
 * so it keeps ~30 minutes; 100 such jobs keep the full {@link DEFAULT_HEAD_MINUTES}.
 */
export const DEFAULT_HEAD_MAX_POINTS = 20_000_000;

/** Points per chunk (Prometheus' head cuts chunks at `DefaultSamplesPerChunk`, 120 samples; a power of two here). */
export const HEAD_CHUNK_POINTS = 128;

/** Options of {@link MetricHead}. */
export interface HeadOptions {
  /** Minutes of points kept behind the newest point. Default {@link DEFAULT_HEAD_MINUTES}. */
  headMinutes?: number;
  /** Most points held (oldest dropped first). Default {@link DEFAULT_HEAD_MAX_POINTS}. */
  maxPoints?: number;
  /** Clock, ms: a point later than now + headMinutes does not move the head's window (clock skew
   * would otherwise empty it); it is still kept. Default Date.now. */
  now?: () => number;
}

/** What the head knows of a series: the embedded store's catalog entry. */
export interface HeadSeriesRef {
  /** the store's series id */
  id: number;
  measurement: string;
  field: string;
  /** the full tag set */
  tags: Record<string, string>;
}

/** Numbers of {@link MetricHead.stats}. */
export interface HeadStats {
  /** points held */
  points: number;
  /** series held */
  series: number;
  /** start of the covered range, ms; null while it covers nothing */
  coveredFrom: number | null;
  /** reads answered from memory */
  hits: number;
  /** reads sent to DuckDB (outside the covered range) */
  misses: number;
}

/** One chunk: points [start, n) sorted by time (ties in insertion order). */
class Chunk {
  readonly t = new Float64Array(HEAD_CHUNK_POINTS);
  readonly v = new Float64Array(HEAD_CHUNK_POINTS);
  start = 0;
  n = 0;
  get last(): number {
    return this.t[this.n - 1]!;
  }
  /** First index in [start, n) whose time is > t (`strict`) or >= t. */
  bound(t: number, strict: boolean): number {
    let lo = this.start;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const x = this.t[mid]!;
      if (strict ? x <= t : x < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** The points of one series: chunks in time order, none empty. */
class HeadSeries {
  readonly chunks: Chunk[] = [];
  constructor(readonly ref: HeadSeriesRef) {}

  insert(t: number, v: number): void {
    const cs = this.chunks;
    let c = cs[cs.length - 1];
    if (!c || t >= c.last) {
      if (!c || c.n === HEAD_CHUNK_POINTS) cs.push((c = new Chunk()));
      c.t[c.n] = t;
      c.v[c.n] = v;
      c.n++;
      return;
    }
    // out of order: into the first chunk whose last point is later, after the points at time t
    let lo = 0;
    let hi = cs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cs[mid]!.last > t) hi = mid;
      else lo = mid + 1;
    }
    c = cs[lo]!;
    if (c.n === HEAD_CHUNK_POINTS) {
      if (c.start > 0) {
        c.t.copyWithin(0, c.start, c.n);
        c.v.copyWithin(0, c.start, c.n);
        c.n -= c.start;
        c.start = 0;
      } else {
        const d = new Chunk();
        const half = HEAD_CHUNK_POINTS >> 1;
        d.t.set(c.t.subarray(half));
        d.v.set(c.v.subarray(half));
        d.n = HEAD_CHUNK_POINTS - half;
        c.n = half;
        cs.splice(lo + 1, 0, d);
        if (t >= c.last) c = d;
      }
    }
    const pos = c.bound(t, true);
    c.t.copyWithin(pos + 1, pos, c.n);
    c.v.copyWithin(pos + 1, pos, c.n);
    c.t[pos] = t;
    c.v[pos] = v;
    c.n++;
  }

  /** Drops points with time < cutoff, calling `dropped` with each one's time; returns how many. */
  dropBefore(cutoff: number, dropped: (t: number) => void): number {
    const cs = this.chunks;
    let k = 0;
    let count = 0;
    while (k < cs.length && cs[k]!.last < cutoff) {
      const c = cs[k++]!;
      for (let i = c.start; i < c.n; i++) dropped(c.t[i]!);
      count += c.n - c.start;
    }
    if (k > 0) cs.splice(0, k);
    const c = cs[0];
    if (c) {
      const end = c.bound(cutoff, false);
      for (let i = c.start; i < end; i++) dropped(c.t[i]!);
      count += end - c.start;
      c.start = end;
    }
    return count;
  }

  /** Appends the points in [lo, hi] (ms) to `out`, in time order. */
  range(lo: number, hi: number, out: Sample[]): void {
    const cs = this.chunks;
    let a = 0;
    let b = cs.length;
    while (a < b) {
      const mid = (a + b) >> 1;
      if (cs[mid]!.last < lo) a = mid + 1;
      else b = mid;
    }
    for (let k = a; k < cs.length; k++) {
      const c = cs[k]!;
      for (let i = c.bound(lo, false); i < c.n; i++) {
        const t = c.t[i]!;
        if (t > hi) return;
        out.push({ t, v: c.v[i]! });
      }
    }
  }

  /** Whether any point lies in [lo, hi]: the first point at or after lo decides. */
  hasIn(lo: number, hi: number): boolean {
    for (const c of this.chunks) {
      if (c.last < lo) continue;
      const i = c.bound(lo, false);
      return i < c.n && c.t[i]! <= hi;
    }
    return false;
  }

  get empty(): boolean {
    return this.chunks.length === 0;
  }
}

/**
 * Tags the head indexes (per measurement and field: value → series; '' for series without the
 * tag): the job (nearly every read filters on it), the consumer group (the lag reads) and the
 * TaskManager (the diagnoser's TaskManager-wide reads).
 */
const INDEXED_TAGS = ['job_id', 'group', 'tm_id'] as const;

/** The series of one measurement and field, by the values of each {@link INDEXED_TAGS} tag. */
interface FieldIndex {
  by: Record<(typeof INDEXED_TAGS)[number], Map<string, Set<HeadSeries>>>;
  all: Set<HeadSeries>;
}

/** Whether `tags` meet every condition (tag, allowed values); a missing tag reads as '', as in the DuckDB path. */
function matches(tags: Record<string, string>, where: ReadonlyArray<[string, ReadonlySet<string>]>): boolean {
  for (const [k, vals] of where) if (!vals.has(tags[k] ?? '')) return false;
  return true;
}

/** UTF-8 byte order of strings (DuckDB's VARCHAR ordering). */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * The head: series → points in memory (the embedded store adds a batch's points right after DuckDB
 * accepted them, in the same synchronous step, and reads synchronously). Series are indexed by
 * measurement, field and the {@link INDEXED_TAGS}; times are ms, values numbers.
 */
export class MetricHead {
  private readonly windowMs: number;
  private readonly maxPoints: number;
  private readonly now: () => number;
  /** width of the histogram's buckets, ms */
  private readonly bucketMs: number;
  private readonly byId = new Map<number, HeadSeries>();
  /** measurement → field → its series */
  private readonly byField = new Map<string, Map<string, FieldIndex>>();
  /** points held per bucket of `bucketMs` (to find how far to raise the start for `maxPoints`) */
  private readonly histogram = new Map<number, number>();
  /** the head holds every point DuckDB holds at or after this time (ms); Infinity = nothing yet */
  private from = Number.POSITIVE_INFINITY;
  /** points held below `from` are dropped lazily; `from` at the last full drop */
  private droppedTo = Number.NEGATIVE_INFINITY;
  private newest = Number.NEGATIVE_INFINITY;
  private points = 0;
  private hits = 0;
  private misses = 0;

  /**
   * @throws RangeError for a headMinutes or maxPoints that is not a positive number (the store
   * checks its options first and reports them as INVALID_CONFIG).
   */
  constructor(options: HeadOptions = {}) {
    const minutes = options.headMinutes ?? DEFAULT_HEAD_MINUTES;
    const maxPoints = options.maxPoints ?? DEFAULT_HEAD_MAX_POINTS;
    if (!(minutes > 0) || !Number.isFinite(minutes)) throw new RangeError(`headMinutes must be > 0, got ${minutes}`);
    if (!(maxPoints > 0) || !Number.isFinite(maxPoints)) throw new RangeError(`maxPoints must be > 0, got ${maxPoints}`);
    this.windowMs = Math.round(minutes * 60_000);
    this.maxPoints = Math.floor(maxPoints);
    this.now = options.now ?? Date.now;
    this.bucketMs = Math.max(1000, Math.round(this.windowMs / 128));
  }

  /**
   * Starts coverage after the store's existing points: `newestStored` is the latest point time
   * (ms) in DuckDB at open, or null when it holds none (then every time is covered: the head
   * receives every point from now on).
   */
  open(newestStored: number | null): void {
    this.from = newestStored === null ? 0 : newestStored + 1;
  }

  /** Whether a read starting at `lo` (ms, the first integer ms of its range) is answered here; counts hits and misses. */
  covers(lo: number): boolean {
    const yes = lo >= this.from;
    if (yes) this.hits++;
    else this.misses++;
    return yes;
  }

  /** Adds one point of a series (already written to DuckDB). Points before the covered range are not kept. */
  add(ref: HeadSeriesRef, t: number, v: number): void {
    if (t < this.from) return;
    let s = this.byId.get(ref.id);
    if (!s) {
      this.byId.set(ref.id, (s = new HeadSeries(ref)));
      let m = this.byField.get(ref.measurement);
      if (!m) this.byField.set(ref.measurement, (m = new Map()));
      let f = m.get(ref.field);
      if (!f) m.set(ref.field, (f = { by: { job_id: new Map(), group: new Map(), tm_id: new Map() }, all: new Set() }));
      for (const tag of INDEXED_TAGS) {
        const value = ref.tags[tag] ?? '';
        let set = f.by[tag].get(value);
        if (!set) f.by[tag].set(value, (set = new Set()));
        set.add(s);
      }
      f.all.add(s);
    }
    s.insert(t, v);
    this.points++;
    const b = Math.floor(t / this.bucketMs);
    this.histogram.set(b, (this.histogram.get(b) ?? 0) + 1);
    if (t > this.newest && t <= this.now() + this.windowMs) this.newest = t;
  }

  /**
   * After a batch: moves the covered range's start to `headMinutes` behind the newest point and,
   * past `maxPoints`, further (oldest first, down to 90 % of it, so that this runs once in a while,
   * not for every batch); drops the points before it.
   */
  settle(): void {
    if (this.newest - this.windowMs > this.from) this.from = this.newest - this.windowMs;
    // drop once the start moved a bucket on (each drop walks every series)
    if (this.from - this.droppedTo >= this.bucketMs) this.dropBefore(this.from);
    if (this.points <= this.maxPoints) return;
    // held points are now all >= from: walk the buckets from the oldest until enough are dropped
    this.dropBefore(this.from);
    const excess = this.points - Math.floor(this.maxPoints * 0.9);
    const buckets = [...this.histogram.keys()].sort((a, b) => a - b);
    let sum = 0;
    for (const b of buckets) {
      sum += this.histogram.get(b)!;
      this.from = Math.max(this.from, (b + 1) * this.bucketMs);
      if (sum >= excess) break;
    }
    this.dropBefore(this.from);
  }

  /**
   * The head forgets every time up to `t` (ms): after a failed write, whose points DuckDB may
   * hold in part, reads up to then go to DuckDB.
   */
  forget(t: number): void {
    if (t + 1 > this.from) this.from = t + 1;
    this.dropBefore(this.from);
  }

  /** Drops the points before `cutoff` (ms), e.g. those retention deleted from DuckDB; the covered range stays. */
  dropBefore(cutoff: number): void {
    if (cutoff > this.droppedTo) this.droppedTo = Math.min(cutoff, this.from);
    const dropped = (t: number): void => {
      const b = Math.floor(t / this.bucketMs);
      const n = (this.histogram.get(b) ?? 0) - 1;
      if (n > 0) this.histogram.set(b, n);
      else this.histogram.delete(b);
    };
    for (const [id, s] of this.byId) {
      const first = s.chunks[0]!;
      if (first.t[first.start]! >= cutoff) continue;
      this.points -= s.dropBefore(cutoff, dropped);
      if (s.empty) {
        this.byId.delete(id);
        const m = this.byField.get(s.ref.measurement)!;
        const f = m.get(s.ref.field)!;
        for (const tag of INDEXED_TAGS) {
          const v = s.ref.tags[tag] ?? '';
          const set = f.by[tag].get(v)!;
          set.delete(s);
          if (set.size === 0) f.by[tag].delete(v);
        }
        f.all.delete(s);
        if (f.all.size === 0) m.delete(s.ref.field);
        if (m.size === 0) this.byField.delete(s.ref.measurement);
      }
    }
  }

  /** The series of a measurement and field whose tags match `where`. */
  private matching(f: FieldIndex | undefined, where: SeriesQuery['where']): HeadSeries[] {
    if (!f) return [];
    const conds: Array<[string, ReadonlySet<string>]> = Object.entries(where ?? {}).map(([k, v]) => [k, new Set(typeof v === 'string' ? [v] : v)]);
    // candidates: the series of the indexed condition with the fewest, else all
    let best: Set<HeadSeries>[] | undefined;
    let bestSize = f.all.size;
    for (const [k, vals] of conds) {
      if (!(INDEXED_TAGS as readonly string[]).includes(k)) continue;
      const index = f.by[k as (typeof INDEXED_TAGS)[number]];
      const sets: Set<HeadSeries>[] = [];
      let size = 0;
      for (const v of vals) {
        const set = index.get(v);
        if (set) {
          sets.push(set);
          size += set.size;
        }
      }
      if (size <= bestSize) {
        best = sets;
        bestSize = size;
      }
    }
    const out: HeadSeries[] = [];
    for (const set of best ?? [f.all]) for (const s of set) if (matches(s.ref.tags, conds)) out.push(s);
    return out;
  }

  /**
   * Answers a validated query whose range {@link covers} accepted; the same answer as the DuckDB
   * path (see the module comment).
   */
  query(q: SeriesQuery): Series[] {
    if (whereMatchesNothing(q.where)) return [];
    const lo = Math.ceil(q.start);
    const hi = Math.floor(q.end);
    if (lo > hi) return [];
    const parts: Array<{ tags: Record<string, string>; samples: Sample[] }> = [];
    for (const s of this.matching(this.byField.get(q.measurement)?.get(q.field), q.where)) {
      const samples: Sample[] = [];
      s.range(lo, hi, samples);
      if (samples.length) parts.push({ tags: s.ref.tags, samples });
    }
    const groupBy = q.groupBy ?? [];
    if (!q.aggregate) {
      // several series' points in one group: merged by time (Array.prototype.sort is stable)
      return mergeSeriesParts(parts, groupBy, (ps) => (ps.length === 1 ? ps[0]! : ps.flat().sort((a, b) => a.t - b.t)));
    }
    const w = q.window!;
    if (q.aggregate === 'rate') return mergeSeriesParts(parts, groupBy, (ps) => sumByWindow(ps.map((p) => counterRate(p, w))));
    const agg = q.aggregate;
    return mergeSeriesParts(parts, groupBy, (ps) => aggregateWindows(ps.length === 1 ? ps[0]! : ps.flat(), w, agg));
  }

  /**
   * Distinct non-empty values of `tag` over the series of `measurement` (any field) matching
   * `where` with a point in [start, end] (ms), in DuckDB's VARCHAR order (UTF-8 bytes).
   */
  tagValues(measurement: string, tag: string, start: number, end: number, where?: SeriesQuery['where']): string[] {
    if (whereMatchesNothing(where)) return [];
    const lo = Math.ceil(start);
    const hi = Math.floor(end);
    if (lo > hi) return [];
    const values = new Set<string>();
    for (const f of this.byField.get(measurement)?.values() ?? []) {
      for (const s of this.matching(f, where)) {
        const v = s.ref.tags[tag] ?? '';
        if (v !== '' && !values.has(v) && s.hasIn(lo, hi)) values.add(v);
      }
    }
    return [...values].sort(byteOrder);
  }

  /** Sizes and hit counts. */
  stats(): HeadStats {
    return { points: this.points, series: this.byId.size, coveredFrom: Number.isFinite(this.from) ? this.from : null, hits: this.hits, misses: this.misses };
  }
}
