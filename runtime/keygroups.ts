/**
 * Key groups, exactly as Flink assigns them (flink-runtime `KeyGroupRangeAssignment` and
 * `MathUtils.murmurHash`): key → Java `hashCode()` → murmur hash → key group
 * (`murmurHash(hashCode) % maxParallelism`) → subtask (`keyGroup * parallelism / maxParallelism`).
 * Each subtask therefore owns a contiguous key-group range, and restoring with another parallelism
 * moves whole key groups.
 */
import { StreamtuneError } from '../core/index.ts';

/** Flink's default max parallelism of a job: the number of key groups. */
export const DEFAULT_MAX_PARALLELISM = 128;

/**
 * Flink's default max parallelism for an operator of parallelism p when none is set
 * (`KeyGroupRangeAssignment.computeDefaultMaxParallelism`): roundUpToPowerOfTwo(1.5·p) within
 * [128, 32768].
 */
export function defaultMaxParallelism(p: number): number {
  const x = Math.max(1, Math.ceil(p * 1.5));
  return Math.min(32768, Math.max(128, 2 ** Math.ceil(Math.log2(x))));
}

/** Java's `String.hashCode()` (UTF-16 code units, 32-bit wrap-around). */
export function javaStringHashCode(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

/** Java `hashCode()` of a key as Flink would see it: strings as `String`, integral numbers as
 * `Integer`/`Long`, other numbers as `Double`, booleans as `Boolean`. */
export function javaHashCode(key: unknown): number {
  if (typeof key === 'string') return javaStringHashCode(key);
  if (typeof key === 'number') {
    if (Number.isInteger(key) && key >= -2147483648 && key <= 2147483647) return key | 0;
    if (Number.isInteger(key)) {
      // Long.hashCode: (int)(value ^ (value >>> 32))
      const big = BigInt.asUintN(64, BigInt(key));
      return Number(BigInt.asIntN(32, big ^ (big >> 32n)));
    }
    const buf = new DataView(new ArrayBuffer(8));
    buf.setFloat64(0, key);
    return (buf.getInt32(0) ^ buf.getInt32(4)) | 0;
  }
  if (typeof key === 'boolean') return key ? 1231 : 1237;
  if (typeof key === 'bigint') {
    const big = BigInt.asUintN(64, key);
    return Number(BigInt.asIntN(32, big ^ (big >> 32n)));
  }
  return javaStringHashCode(JSON.stringify(key) ?? 'null');
}

/** Flink `MathUtils.murmurHash(int)`: one round of MurmurHash3 x86_32 over a single int, made
 * non-negative. */
export function murmurHash(code: number): number {
  let k = Math.imul(code, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  let h = k;
  h = (h << 13) | (h >>> 19);
  h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  h ^= 4;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  if (h >= 0) return h;
  if (h !== -2147483648) return -h;
  return 0;
}

/** Key group of a key, in [0, maxParallelism). */
export function keyGroupOf(key: unknown, maxParallelism: number): number {
  return murmurHash(javaHashCode(key)) % maxParallelism;
}

/** The subtask that owns a key group: `keyGroup * parallelism / maxParallelism` (integer division). */
export function subtaskForKeyGroup(keyGroup: number, parallelism: number, maxParallelism: number): number {
  return Math.floor((keyGroup * parallelism) / maxParallelism);
}

/** The contiguous key-group range [start, end] (inclusive) of one subtask (Flink
 * `computeKeyGroupRangeForOperatorIndex`). */
export function keyGroupRange(subtask: number, parallelism: number, maxParallelism: number): { start: number; end: number } {
  const start = Math.floor((subtask * maxParallelism + parallelism - 1) / parallelism);
  const end = Math.floor(((subtask + 1) * maxParallelism - 1) / parallelism);
  return { start, end };
}

/** Checks a parallelism against max parallelism. Throws INVALID_ARGUMENT naming the vertex. */
export function checkParallelism(vertex: string, parallelism: number, maxParallelism: number): void {
  if (!Number.isInteger(parallelism) || parallelism < 1) {
    throw new StreamtuneError('INVALID_ARGUMENT', `parallelism of vertex '${vertex}' must be a positive integer, got ${parallelism}`);
  }
  if (parallelism > maxParallelism) {
    throw new StreamtuneError('INVALID_ARGUMENT', `parallelism ${parallelism} of vertex '${vertex}' is above the job's max parallelism ${maxParallelism}`);
  }
}

/**
 * A cache of key → key group for hot paths (keys repeat). Bounded: once it holds `limit` keys it
 * stops adding (the keys seen first, usually the hot ones, stay cached; others are hashed each time,
 * which costs about what a cache miss did). It used to clear itself when full, which with more keys
 * than `limit` (1M-key state) emptied it over and over so that it almost never hit.
 */
export class KeyGroupCache {
  private readonly map = new Map<unknown, number>();
  constructor(private readonly maxParallelism: number, private readonly limit = 100_000) {}
  /** Key group of `key`. */
  get(key: unknown): number {
    let kg = this.map.get(key);
    if (kg === undefined) {
      kg = keyGroupOf(key, this.maxParallelism);
      if (this.map.size < this.limit) this.map.set(key, kg);
    }
    return kg;
  }
}
