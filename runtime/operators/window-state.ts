/**
 * Columnar state of keyed tumbling windows: one {@link WindowSlots} table per open window, holding
 * its keys in an open-addressing hash table over typed arrays (no object per key), and the
 * checkpoint format of that state per key group.
 *
 * Why columns: with a million keys, one JS object (plus two arrays) per key made snapshots slow to
 * encode and restores slow to rebuild, mostly in garbage collection. Here a key costs one array
 * slot for the key itself and a few typed-array cells; a snapshot copies typed arrays; a restore
 * fills typed arrays and re-hashes keys with the Java hash the key groups already use.
 *
 * Checkpoint format 2 of one key group (`KeyGroupBlock`): `{ f: 2, g: [group, ...] }`, one group
 * per window with keys of this key group:
 * - `s`: window start, ms epoch;
 * - `k`: the keys, joined by U+0000 into one string when every key is a string without U+0000,
 *   else `ka`: the keys as an array;
 * - `c` / `cw`: record counts, little-endian Uint32 (`cw` 4) or Float64 (`cw` 8) bytes;
 * - `v`: Float64 bytes, `V` values per key (the sum/min/max of each non-count aggregation, in spec
 *   order), little-endian;
 * - `n` / `nw`: non-null input values seen per key and aggregation (for avg), like `c`.
 * Format 1 (savepoints written before columns) is an array of `[key, windowStart, count, vals, ns]`
 * tuples per key group, `vals`/`ns` indexed by every aggregation including counts; it is still read.
 */
import { StreamtuneError } from '../../core/index.ts';
import { javaHashCode, javaStringHashCode, murmurHash } from '../keygroups.ts';

/** Java `hashCode()` of a key (strings inline, the hot case). */
export function keyHash(key: unknown): number {
  return typeof key === 'string' ? javaStringHashCode(key) : javaHashCode(key);
}

/** The keys, counts and aggregation values of one window: slot i = one key. */
export class WindowSlots {
  /** slots in use */
  size = 0;
  keys: unknown[] = [];
  hashes: Int32Array;
  /** key group of each slot */
  kgs: Uint16Array;
  /** records per slot */
  counts: Float64Array;
  /** `V` values per slot (sum/min/max accumulators of the non-count aggregations) */
  vals: Float64Array;
  /** `V` non-null input counts per slot */
  ns: Float64Array;
  private table: Int32Array;
  private bits: number;

  /**
   * @param start window start, ms epoch
   * @param V number of non-count aggregations
   * @param init initial accumulator of each of the V aggregations (0, +∞ for min, −∞ for max)
   */
  constructor(readonly start: number, private readonly V: number, private readonly init: Float64Array, capacity = 16) {
    let cap = 16;
    while (cap < capacity) cap <<= 1;
    this.hashes = new Int32Array(cap);
    this.kgs = new Uint16Array(cap);
    this.counts = new Float64Array(cap);
    this.vals = new Float64Array(cap * V);
    this.ns = new Float64Array(cap * V);
    this.bits = Math.log2(cap) + 1;
    this.table = new Int32Array(1 << this.bits);
    for (let s = 0; s < cap; s++) this.vals.set(init, s * V);
  }

  /** Slot of `key` (hash `hash`), or −1. */
  find(key: unknown, hash: number): number {
    const t = this.table;
    const mask = t.length - 1;
    let i = (Math.imul(hash, 0x9e3779b1) >>> 0) >>> (32 - this.bits);
    for (;;) {
      const e = t[i]!;
      if (e === 0) return -1;
      const s = e - 1;
      if (this.hashes[s] === hash) {
        const k = this.keys[s];
        if (k === key || (k !== k && key !== key)) return s;
      }
      i = (i + 1) & mask;
    }
  }

  /** true while every key is a string without U+0000 (the snapshot joins them into one string) */
  plainKeys = true;

  /** Adds `key` (not present) in key group `kg`; returns its new slot. */
  insert(key: unknown, hash: number, kg: number): number {
    if (this.size === this.counts.length) this.grow();
    const s = this.size++;
    this.keys.push(key);
    if (this.plainKeys && (typeof key !== 'string' || key.includes('\u0000'))) this.plainKeys = false;
    this.hashes[s] = hash;
    this.kgs[s] = kg;
    this.place(s, hash);
    return s;
  }

  private place(s: number, hash: number): void {
    const t = this.table;
    const mask = t.length - 1;
    let i = (Math.imul(hash, 0x9e3779b1) >>> 0) >>> (32 - this.bits);
    while (t[i] !== 0) i = (i + 1) & mask;
    t[i] = s + 1;
  }

  /**
   * Appends restored keys of key group `kg` with their columns (`V` values per key in `vals`/`ns`).
   * The keys must not be in this window yet: a checkpoint holds each (window, key) once.
   */
  appendRestored(keys: unknown[], kg: number, counts: Float64Array, vals: Float64Array, ns: Float64Array): void {
    const n = keys.length;
    this.reserve(n);
    const at = this.size;
    const V = this.V;
    this.counts.set(counts, at);
    this.vals.set(vals, at * V);
    this.ns.set(ns, at * V);
    this.kgs.fill(kg, at, at + n);
    const hashes = this.hashes;
    const ks = this.keys;
    let plain = this.plainKeys;
    for (let i = 0; i < n; i++) {
      const key = keys[i];
      ks.push(key);
      if (plain && (typeof key !== 'string' || key.includes('\u0000'))) plain = false;
      const h = typeof key === 'string' ? javaStringHashCode(key) : javaHashCode(key);
      hashes[at + i] = h;
      this.place(at + i, h);
    }
    this.plainKeys = plain;
    this.size = at + n;
  }

  /** Makes room for at least `extra` more slots without growing again. */
  reserve(extra: number): void {
    while (this.size + extra > this.counts.length) this.grow();
  }

  private grow(): void {
    const cap = this.counts.length * 2;
    const V = this.V;
    const h = new Int32Array(cap);
    h.set(this.hashes);
    this.hashes = h;
    const kg = new Uint16Array(cap);
    kg.set(this.kgs);
    this.kgs = kg;
    const c = new Float64Array(cap);
    c.set(this.counts);
    this.counts = c;
    const v = new Float64Array(cap * V);
    v.set(this.vals);
    for (let s = this.size; s < cap; s++) v.set(this.init, s * V);
    this.vals = v;
    const n = new Float64Array(cap * V);
    n.set(this.ns);
    this.ns = n;
    this.bits++;
    this.table = new Int32Array(1 << this.bits);
    for (let s = 0; s < this.size; s++) this.place(s, this.hashes[s]!);
  }
}

/** One window's keys of one key group in a format-2 snapshot. */
export interface SlotGroup {
  s: number;
  k?: string;
  ka?: unknown[];
  c: Uint8Array;
  cw: 4 | 8;
  v: Uint8Array;
  n: Uint8Array;
  nw: 4 | 8;
}

/** Format-2 state of one key group. */
export interface KeyGroupBlock {
  f: 2;
  g: SlotGroup[];
}

/** A format-1 tuple: [key, windowStart, count, vals (one per aggregation), ns (one per aggregation)]. */
export type LegacyTuple = [unknown, number, number, Array<number | null>, number[]];

const bytesOf = (a: Float64Array | Uint32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Encodes counts as Uint32 when they all fit, else Float64. */
function packCounts(a: Float64Array): { b: Uint8Array; w: 4 | 8 } {
  let fits = true;
  for (let i = 0; i < a.length; i++) {
    if (a[i]! > 0xffffffff) {
      fits = false;
      break;
    }
  }
  if (!fits) return { b: bytesOf(a), w: 8 };
  const u = new Uint32Array(a.length);
  u.set(a);
  return { b: bytesOf(u), w: 4 };
}

/** Copies little-endian bytes (any alignment) into a fresh Float64Array of `n` values. */
function readF64(b: Uint8Array, n: number, what: string): Float64Array {
  if (b.byteLength !== n * 8) throw new StreamtuneError('SAVEPOINT_CORRUPT', `window state: ${what} has ${b.byteLength} bytes, expected ${n * 8}`);
  const out = new Float64Array(n);
  new Uint8Array(out.buffer).set(b);
  return out;
}

function readCounts(b: Uint8Array, w: number, n: number, what: string): Float64Array {
  if (w === 8) return readF64(b, n, what);
  if (w !== 4 || b.byteLength !== n * 4) throw new StreamtuneError('SAVEPOINT_CORRUPT', `window state: ${what} has ${b.byteLength} bytes of width ${w}, expected ${n} values`);
  const u = new Uint32Array(n);
  new Uint8Array(u.buffer).set(b);
  const f = new Float64Array(n);
  f.set(u);
  return f;
}

/**
 * Snapshot of every window's slots, grouped by key group: key group → {@link KeyGroupBlock}.
 * Typed arrays are copied, so the operator may go on changing its state.
 */
export function snapshotSlots(windows: Iterable<WindowSlots>, V: number): Map<number, KeyGroupBlock> {
  const out = new Map<number, KeyGroupBlock>();
  for (const w of windows) {
    const n = w.size;
    if (n === 0) continue;
    const kgs = w.kgs;
    let maxKg = 0;
    for (let s = 0; s < n; s++) if (kgs[s]! > maxKg) maxKg = kgs[s]!;
    const per = new Int32Array(maxKg + 1);
    for (let s = 0; s < n; s++) per[kgs[s]!]!++;
    // one sequential pass over the slots, scattering into per-key-group columns: every read is in
    // order and the writes go to one cursor per key group (a gather in key-group order would read
    // the big columns at random)
    const keys: unknown[][] = [];
    const counts: Float64Array[] = [];
    const vals: Float64Array[] = [];
    const ns: Float64Array[] = [];
    for (let kg = 0; kg <= maxKg; kg++) {
      const c = per[kg]!;
      keys.push([]);
      counts.push(new Float64Array(c));
      vals.push(new Float64Array(c * V));
      ns.push(new Float64Array(c * V));
    }
    const at = new Int32Array(maxKg + 1);
    const wk = w.keys;
    const wc = w.counts;
    const wv = w.vals;
    const wn = w.ns;
    for (let s = 0; s < n; s++) {
      const kg = kgs[s]!;
      const i = at[kg]!++;
      keys[kg]!.push(wk[s]);
      counts[kg]![i] = wc[s]!;
      for (let j = 0; j < V; j++) {
        vals[kg]![i * V + j] = wv[s * V + j]!;
        ns[kg]![i * V + j] = wn[s * V + j]!;
      }
    }
    const joinable = w.plainKeys;
    for (let kg = 0; kg <= maxKg; kg++) {
      if (per[kg] === 0) continue;
      const pc = packCounts(counts[kg]!);
      const pn = packCounts(ns[kg]!);
      const g: SlotGroup = { s: w.start, c: pc.b, cw: pc.w, v: bytesOf(vals[kg]!), n: pn.b, nw: pn.w };
      if (joinable) g.k = (keys[kg] as string[]).join('\u0000');
      else g.ka = keys[kg]!;
      let block = out.get(kg);
      if (!block) out.set(kg, (block = { f: 2, g: [] }));
      block.g.push(g);
    }
  }
  return out;
}

/**
 * Restores one key group's state (format 2 block or format 1 tuples) into `windowFor(start)`.
 * `valued[j]` = index among all aggregations of the j-th non-count aggregation (for format 1).
 * Throws SAVEPOINT_CORRUPT when the state has another shape or another number of aggregations.
 */
export function restoreKeyGroup(raw: unknown, kg: number, V: number, valued: number[], windowFor: (start: number) => WindowSlots): void {
  if (Array.isArray(raw)) {
    for (const t of raw as LegacyTuple[]) {
      if (!Array.isArray(t) || t.length !== 5) throw new StreamtuneError('SAVEPOINT_CORRUPT', `window state of key group ${kg}: not a format-1 [key, start, count, vals, ns] tuple`);
      const [key, start, count, vals, ns] = t;
      const w = windowFor(start);
      const h = keyHash(key);
      let s = w.find(key, h);
      if (s < 0) s = w.insert(key, h, kg);
      w.counts[s] = count;
      for (let j = 0; j < V; j++) {
        const v = vals[valued[j]!];
        w.vals[s * V + j] = v === null || v === undefined ? Number.NaN : v;
        w.ns[s * V + j] = ns[valued[j]!] ?? 0;
      }
    }
    return;
  }
  const block = raw as KeyGroupBlock;
  if (!block || block.f !== 2 || !Array.isArray(block.g)) {
    throw new StreamtuneError('SAVEPOINT_CORRUPT', `window state of key group ${kg} has an unknown format (${block && typeof block === 'object' ? `f=${String((block as { f?: unknown }).f)}` : typeof block}); this streamtune reads formats 1 and 2`);
  }
  for (const g of block.g) {
    const keys: unknown[] = g.k !== undefined ? g.k.split('\u0000') : (g.ka ?? []);
    const n = keys.length;
    const counts = readCounts(g.c, g.cw, n, `counts of key group ${kg}`);
    if (g.v.byteLength !== n * V * 8) {
      throw new StreamtuneError('SAVEPOINT_CORRUPT', `window state of key group ${kg} holds ${n > 0 ? g.v.byteLength / 8 / n : 0} aggregation values per key; the vertex has ${V} (were the aggregations changed?)`);
    }
    const vals = readF64(g.v, n * V, `values of key group ${kg}`);
    const ns = readCounts(g.n, g.nw, n * V, `value counts of key group ${kg}`);
    windowFor(g.s).appendRestored(keys, kg, counts, vals, ns);
  }
}

/** Keys per window start in one key group's restored state (format 2; format 1 counts tuples), for pre-sizing. */
export function restoredSizes(raw: unknown): Array<[number, number]> {
  if (Array.isArray(raw)) return (raw as LegacyTuple[]).filter(Array.isArray).map((t) => [t[1], 1]);
  const block = raw as KeyGroupBlock | undefined;
  if (!block || block.f !== 2 || !Array.isArray(block.g)) return [];
  return block.g.map((g) => [g.s, g.c && (g.cw === 4 || g.cw === 8) ? g.c.byteLength / g.cw : 0]);
}

/** Key group of a key from its Java hash (Flink: murmur(hashCode) % maxParallelism). */
export function keyGroupOfHash(hash: number, maxParallelism: number): number {
  return murmurHash(hash) % maxParallelism;
}
