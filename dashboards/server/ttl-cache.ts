/**
 * A short-lived memo of async results shared by the API routes and the pages: many browsers and
 * clients polling one job cost one set of store reads per TTL.
 */

/** One entry of {@link TtlCache}: `at` ms when loaded, `settled` once the load resolved. */
interface CacheEntry<T> {
  at: number;
  value: Promise<T>;
  settled?: { v: T };
  refreshing?: boolean;
}

/**
 * A short-lived memo of async results (one in-flight promise shared by concurrent callers), with
 * stale-while-revalidate (RFC 5861's idea, in process): a value older than `ttlMs` but younger than
 * `ttlMs + staleMs` is still answered at once while ONE refresh runs in the background; only
 * older (or never settled) values make callers wait for `load()`. Without it every caller arriving
 * in the refresh's few ms waited for it — once per TTL, for all 100 clients of the API bench,
 * which is what its p99 was made of. A failed refresh keeps the old value until it is too stale.
 */
export class TtlCache<T> {
  private readonly entries = new Map<string, CacheEntry<T>>();
  /**
   * @param ttlMs ms a value is fresh; 0 = no caching
   * @param max entries kept (older ones are dropped first when over)
   * @param clock ms since epoch
   * @param staleMs ms past `ttlMs` a settled value is still served while it is refreshed; default `ttlMs`
   */
  constructor(private readonly ttlMs: number, private readonly max = 500, private readonly clock: () => number = Date.now, private readonly staleMs = ttlMs) {}
  /** The cached value of `key` when fresh (or stale and being refreshed), else `load()` (cached; a rejection is not). */
  get(key: string, load: () => Promise<T>): Promise<T> {
    const t = this.clock();
    const e = this.entries.get(key);
    if (e && t - e.at < this.ttlMs) return e.value;
    if (e?.settled && this.ttlMs > 0 && t - e.at < this.ttlMs + this.staleMs) {
      if (!e.refreshing) {
        e.refreshing = true;
        load().then(
          (v) => this.entries.set(key, { at: this.clock(), value: Promise.resolve(v), settled: { v } }),
          () => {
            e.refreshing = false;
          },
        );
      }
      return Promise.resolve(e.settled.v);
    }
    const value = load();
    const entry: CacheEntry<T> = { at: t, value };
    this.entries.set(key, entry);
    value.then(
      (v) => {
        entry.settled = { v };
      },
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    if (this.entries.size > this.max) {
      for (const [k, v] of this.entries) if (t - v.at >= this.ttlMs + this.staleMs || this.entries.size > this.max) this.entries.delete(k);
    }
    return value;
  }
}
