/**
 * The Prometheus metric store: reads streamtune's measurements from a Prometheus-compatible server
 * (Prometheus 2.x, VictoriaMetrics) through the HTTP API (`/api/v1/query`, `/api/v1/query_range`,
 * PromQL), in the names and labels of Flink's PrometheusReporter (core/prometheus-names.ts:
 * `taskmanager_job_task_busyTimeMsPerSecond` field `value` is `flink_taskmanager_job_task_busyTimeMsPerSecond`),
 * and writes through remote write (`/api/v1/write`, collector/store/remote-write.ts) when
 * `remoteWrite` is on. It keeps no log events: `createPrometheusRoutedStore` (routed.ts) puts them,
 * and what is not read from Prometheus, in a writable store beside it.
 *
 * Reads, with the same answers as the other stores (collector/store/aggregate.ts):
 * - **where**: a value matches the label as written and as Flink's reporter filters label values
 *   (`Source: flights` also matches `Source:_flights`), so a job's task names from its REST plan find
 *   the reporter's series; several values become one `=~` regex.
 * - **raw points**: one instant query of a range vector, `{…}[Nms]` at `end`, filtered to
 *   [start, end] (Prometheus 2.x range selectors are closed, 3.x and VictoriaMetrics left-open).
 * - **mean/max/min/sum per window** of `promqlMinWindowMs` (default 60 s) or more: in PromQL, per
 *   epoch-aligned window [ws, ws + w − 1]:
 *   `sum by (G) (sum_over_time(SEL[r] offset 1ms)) / sum by (G) (count_over_time(…))`,
 *   `max by (G) (max_over_time(…))`, … as one `query_range` evaluated at ws + w (aligned to the
 *   step) for the whole windows, and an instant query for a first or last window cut by the range.
 *   r is w − 1 ms on a server with closed range selectors and w ms on one with left-open ones (found
 *   once per store with a probe query, {@link PrometheusStore.rangeSelectorsClosed}).
 *   Shorter windows are computed from the raw points, as the other stores do.
 * - **last per window**: `last_over_time` per series; where a group has more than one series in a
 *   window (a restarted task's old and new attempt, or the subtasks of a vertex grouped by vertex),
 *   the series whose last sample is newest, found with `timestamp(SEL)` at the window ends (an
 *   instant selector keeps its sample's time; verified on Prometheus 2.42 and VictoriaMetrics,
 *   with `offset` too). Where that sample is older than the 5-min lookback, or a window holds NaN,
 *   the query is answered from the raw points instead.
 * - **rate**: the counter rate of each series from its raw points (aggregate.ts `counterRate`, resets
 *   counted as Prometheus' `rate()` does, no extrapolation), summed per group.
 * - NaN samples (Flink's busy time of a task without a mailbox) are dropped, as the other stores do.
 * - **tagValues**: `count by (tag) (count_over_time({__name__=~"name(_field)?", …}[range]))`.
 *
 * Errors: a refused connection or 5xx/429 → STORE_UNAVAILABLE (retriable, retried twice); 401/403 →
 * UNAUTHORIZED; other 4xx and PromQL errors → STORE_REJECTED naming the query.
 */
import {
  type ErrorCode,
  errorMessage,
  isRetriableHttpStatus,
  type LogEvent,
  type Logger,
  type MetricPoint,
  prometheusMetricName,
  prometheusSanitize,
  retry,
  type RetryOptions,
  silentLogger,
  StreamtuneError,
} from '../../core/index.ts';
import { aggregateWindows, counterRate, mergeSeriesParts, pickTags, sortSeries, sumByWindow, tagKey, validateQuery, whereMatchesNothing, windowStart, type Sample } from './aggregate.ts';
import { REMOTE_WRITE_HEADERS, remoteWriteBody, toRemoteSeries, type RemoteSeries } from './remote-write.ts';
import type { LogQuery, MetricStore, Series, SeriesQuery } from './types.ts';
import { invalidPointReason } from './validate.ts';

/** Options of {@link createPrometheusStore}. */
export interface PrometheusStoreOptions {
  /** Base URL of the server's HTTP API, e.g. 'http://127.0.0.1:9090' (no `/api/v1`). */
  url: string;
  /**
   * `write()` sends points by remote write (`POST /api/v1/write`; Prometheus needs
   * `--web.enable-remote-write-receiver`). Default false: `write()` rejects (STORE_REJECTED).
   */
  remoteWrite?: boolean;
  /** HTTP timeout per request, ms. Default 30,000. */
  timeoutMs?: number;
  /** Retry of a failed request (retriable errors only). Default 2 retries, delays from RETRY_DEFAULTS. */
  retry?: RetryOptions;
  /** Samples per remote write request. Default 10,000. */
  writeBatchSamples?: number;
  /**
   * Windows (ms) from which mean/max/min/sum/last are computed by Prometheus (PromQL per window);
   * shorter ones are computed here from the raw samples, one instant query instead of a range query
   * plus one per cut window. At a window of one or two scrape intervals PromQL returns as many points
   * as there are samples and costs Prometheus three to four times the CPU of the raw read (measured:
   * bench/store.ts); from a few scrape intervals up it returns fewer points. Default 60,000 (4 × the
   * usual 15 s scrape interval); 0 = always PromQL.
   */
  promqlMinWindowMs?: number;
  logger?: Logger;
}

/** A Prometheus-backed {@link MetricStore} with what the routed store and tests need besides. */
export interface PrometheusStore extends MetricStore {
  /** The server's base URL. */
  readonly url: string;
  /**
   * Whether the server's range selectors include the sample at the range's start (Prometheus 2.x:
   * true; Prometheus 3.x, VictoriaMetrics: false), found by a probe query on first use.
   */
  rangeSelectorsClosed(): Promise<boolean>;
  /** Runs one instant PromQL query at `time` (ms); returns the parsed `data` of the answer. */
  instant(query: string, time: number): Promise<PromData>;
  /** Runs one range PromQL query over [start, end] every `step` ms; returns the parsed `data`. */
  range(query: string, start: number, end: number, step: number): Promise<PromData>;
}

/** One series of a PromQL answer: its labels and [seconds, "value"] pairs. */
export interface PromResult {
  metric: Record<string, string>;
  value?: [number, string];
  values?: Array<[number, string]>;
}

/** The `data` of a PromQL answer. */
export interface PromData {
  resultType: 'matrix' | 'vector' | 'scalar' | 'string';
  result: PromResult[];
}

/** Error code of an HTTP status: 401/403 → UNAUTHORIZED, retriable (core/http-status.ts) → STORE_UNAVAILABLE, else STORE_REJECTED. */
function codeForStatus(status: number): { code: ErrorCode; retriable: boolean } {
  if (status === 401 || status === 403) return { code: 'UNAUTHORIZED', retriable: false };
  if (isRetriableHttpStatus(status)) return { code: 'STORE_UNAVAILABLE', retriable: true };
  return { code: 'STORE_REJECTED', retriable: false };
}

/** A PromQL double-quoted string literal. */
export function promString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/** Escapes RE2 metacharacters so that `s` matches itself in a `=~` matcher. */
function reEscape(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

/**
 * The PromQL series selector of a metric name and a where filter (see the module comment: each value
 * also matches its Flink-filtered form).
 * @param nameRegex `name` is a regex over `__name__` (tagValues) instead of the exact name
 */
export function promSelector(name: string, where: SeriesQuery['where'], nameRegex = false): string {
  const m = [nameRegex ? `__name__=~${promString(name)}` : `__name__=${promString(name)}`];
  for (const [k, v] of Object.entries(where ?? {})) {
    const given = typeof v === 'string' ? [v] : [...v];
    const vals = [...new Set(given.flatMap((x) => [x, prometheusSanitize(x)]))].sort();
    const label = prometheusSanitize(k);
    m.push(vals.length === 1 ? `${label}=${promString(vals[0]!)}` : `${label}=~${promString(vals.map(reEscape).join('|'))}`);
  }
  return `{${m.join(',')}}`;
}

const seconds = (ms: number): string => (ms / 1000).toFixed(3);

/** One window query: a `query_range` over whole windows, or an instant query for one cut window. */
type Segment = { kind: 'range'; firstWs: number; lastWs: number } | { kind: 'instant'; ws: number; from: number; to: number };

/** The windows of [start, end] (epoch-aligned, length w) as query segments. */
function segmentsOf(start: number, end: number, w: number): Segment[] {
  const first = windowStart(start, w);
  const last = windowStart(end, w);
  if (first === last) return start === first && end === first + w - 1 ? [{ kind: 'range', firstWs: first, lastWs: first }] : [{ kind: 'instant', ws: first, from: start, to: end }];
  const out: Segment[] = [];
  let a = first;
  let b = last;
  if (start !== first) {
    out.push({ kind: 'instant', ws: first, from: start, to: first + w - 1 });
    a = first + w;
  }
  if (end !== last + w - 1) {
    out.push({ kind: 'instant', ws: last, from: last, to: end });
    b = last - w;
  }
  // query_range answers at most 11,000 points per series: whole windows in chunks of 10,000
  for (let s = a; s <= b; s += 10_000 * w) out.push({ kind: 'range', firstWs: s, lastWs: Math.min(b, s + 9_999 * w) });
  return out;
}

/** Parses a sample value; NaN and ±Inf are dropped (null). */
function sampleValue(s: string): number | null {
  const v = Number(s);
  return Number.isFinite(v) ? v : null;
}

/** A series' identity in answers of different functions: its labels without `__name__` (which `last_over_time` keeps and `timestamp` drops). */
function seriesKey(metric: Record<string, string>): string {
  const { __name__: _, ...labels } = metric;
  return tagKey(labels);
}

/** Raised inside a windowed read when PromQL's answer cannot give the stores' result: answer from raw points. */
class NeedRaw extends Error {}

/**
 * Creates a Prometheus store (no request is made until the first read or write).
 * @throws StreamtuneError INVALID_CONFIG for a URL that is not http(s) or carries credentials.
 */
export function createPrometheusStore(options: PrometheusStoreOptions): PrometheusStore {
  let url: URL;
  try {
    url = new URL(options.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    throw new StreamtuneError('INVALID_CONFIG', `Prometheus url must be an http(s) URL, got "${options.url}"`);
  }
  if (url.username || url.password) throw new StreamtuneError('INVALID_CONFIG', 'Prometheus url must not carry credentials');
  return new PromStore(options, url.toString().replace(/\/+$/, ''));
}

class PromStore implements PrometheusStore {
  private readonly log: Logger;
  private readonly timeoutMs: number;
  private readonly retryOpts: RetryOptions;
  private closedRanges: Promise<boolean> | undefined;
  private closed = false;

  constructor(private readonly opts: PrometheusStoreOptions, readonly url: string) {
    this.log = (opts.logger ?? silentLogger).namespace('store.prometheus');
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.retryOpts = { retries: 2, ...opts.retry };
  }

  /** One HTTP request; the body text on 2xx, else a StreamtuneError (Prometheus' error message included). */
  private async http(path: string, init: RequestInit, what: string): Promise<string> {
    if (this.closed) throw new StreamtuneError('STORE_UNAVAILABLE', 'Prometheus store is closed');
    let res: Response;
    try {
      res = await fetch(this.url + path, { ...init, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      const cause = (err as { cause?: unknown }).cause;
      const reason = cause ? `${errorMessage(err)} (${errorMessage(cause)})` : errorMessage(err);
      throw new StreamtuneError('STORE_UNAVAILABLE', `Prometheus ${what} failed: ${reason}`, { retriable: true, cause: err });
    }
    const text = await res.text().catch(() => '');
    if (res.status >= 200 && res.status < 300) return text;
    const { code, retriable } = codeForStatus(res.status);
    let msg = text.slice(0, 500);
    try {
      const j = JSON.parse(text) as { error?: string };
      if (j.error) msg = j.error;
    } catch {
      // not JSON: keep the text
    }
    const hint = res.status === 404 && path === '/api/v1/write' ? ' (remote write needs --web.enable-remote-write-receiver on Prometheus)' : '';
    throw new StreamtuneError(code, `Prometheus ${what} failed: HTTP ${res.status}${hint}: ${msg}`, { retriable, details: { status: res.status } });
  }

  private async api(path: string, params: Record<string, string>, what: string): Promise<PromData> {
    const text = await retry(
      () =>
        this.http(path, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params).toString() }, what),
      { ...this.retryOpts, onRetry: (attempt, err, delayMs) => this.log.warn(`${what} failed, retrying`, { attempt, delayMs, error: errorMessage(err) }) },
    );
    let json: { status?: string; data?: PromData; error?: string };
    try {
      json = JSON.parse(text);
    } catch {
      throw new StreamtuneError('STORE_REJECTED', `Prometheus ${what} returned no JSON: ${text.slice(0, 200)}`);
    }
    if (json.status !== 'success' || !json.data) throw new StreamtuneError('STORE_REJECTED', `Prometheus ${what} failed: ${json.error ?? text.slice(0, 200)} (query: ${params.query})`);
    return json.data;
  }

  instant(query: string, time: number): Promise<PromData> {
    return this.api('/api/v1/query', { query, time: seconds(time) }, 'query');
  }

  range(query: string, start: number, end: number, step: number): Promise<PromData> {
    return this.api('/api/v1/query_range', { query, start: seconds(start), end: seconds(end), step: seconds(step) }, 'query_range');
  }

  rangeSelectorsClosed(): Promise<boolean> {
    // a subquery at t = 10 s over [8 s, 10 s] in steps of 1 s: 3 points where ranges are closed, 2 where left-open
    this.closedRanges ??= this.instant('count_over_time(vector(1)[2s:1s])', 10_000).then(
      (d) => Number(d.result[0]?.value?.[1]) >= 3,
      (err: unknown) => {
        this.closedRanges = undefined;
        throw err;
      },
    );
    return this.closedRanges;
  }

  async write(points: readonly MetricPoint[]): Promise<void> {
    for (let i = 0; i < points.length; i++) {
      const why = invalidPointReason(points[i]);
      if (why) throw new StreamtuneError('STORE_REJECTED', `point ${i} rejected: ${why}`, { details: { index: i } });
    }
    if (!this.opts.remoteWrite) throw new StreamtuneError('STORE_REJECTED', 'this Prometheus store is read-only (remote write is off)');
    const series = toRemoteSeries(points);
    const max = Math.max(1, this.opts.writeBatchSamples ?? 10_000);
    let batch: RemoteSeries[] = [];
    let n = 0;
    const send = async (): Promise<void> => {
      if (batch.length === 0) return;
      const body = remoteWriteBody(batch);
      batch = [];
      n = 0;
      await retry(() => this.http('/api/v1/write', { method: 'POST', headers: { ...REMOTE_WRITE_HEADERS }, body: body as BodyInit }, 'remote write'), {
        ...this.retryOpts,
        onRetry: (attempt, err, delayMs) => this.log.warn('remote write failed, retrying', { attempt, delayMs, error: errorMessage(err) }),
      });
    };
    for (const s of series) {
      for (let i = 0; i < s.samples.length; i += max) {
        const part = s.samples.slice(i, i + max);
        if (n + part.length > max) await send();
        batch.push({ labels: s.labels, samples: part });
        n += part.length;
      }
    }
    await send();
  }

  async writeLogs(events: readonly LogEvent[]): Promise<void> {
    if (events.length) throw new StreamtuneError('STORE_REJECTED', 'Prometheus keeps no log events: write them to the embedded store or InfluxDB');
  }

  async queryLogs(_q: LogQuery): Promise<LogEvent[]> {
    return [];
  }

  /** Raw samples of every matching series (full labels), within [start, end]. */
  private async raw(name: string, q: Pick<SeriesQuery, 'start' | 'end' | 'where'>): Promise<Array<{ labels: Record<string, string>; samples: Sample[] }>> {
    const span = Math.max(1, Math.ceil(q.end) - Math.floor(q.start) + 1);
    const d = await this.instant(`${promSelector(name, q.where)}[${span}ms]`, q.end);
    const out: Array<{ labels: Record<string, string>; samples: Sample[] }> = [];
    for (const r of d.result) {
      const samples: Sample[] = [];
      for (const [ts, val] of r.values ?? []) {
        const t = Math.round(ts * 1000);
        const v = sampleValue(val);
        if (v !== null && t >= q.start && t <= q.end) samples.push({ t, v });
      }
      if (samples.length) out.push({ labels: r.metric, samples });
    }
    return out;
  }

  /** Groups full-label parts by `groupBy` and combines each group's samples with `combine` ({@link mergeSeriesParts}). */
  private static merge(parts: Array<{ labels: Record<string, string>; samples: Sample[] }>, groupBy: readonly string[], combine: (parts: Sample[][]) => Sample[]): Series[] {
    return mergeSeriesParts(parts.map((p) => ({ tags: p.labels, samples: p.samples })), groupBy, combine);
  }

  /** A query answered from raw points, computed as the other stores do. */
  private async fromRaw(name: string, q: SeriesQuery): Promise<Series[]> {
    const groupBy = q.groupBy ?? [];
    const parts = await this.raw(name, q);
    const byTime = (ps: Sample[][]): Sample[] => ps.flat().sort((a, b) => a.t - b.t);
    if (!q.aggregate) return PromStore.merge(parts, groupBy, byTime);
    const w = q.window!;
    if (q.aggregate === 'rate') return PromStore.merge(parts, groupBy, (ps) => sumByWindow(ps.map((s) => counterRate(s, w))));
    const agg = q.aggregate;
    return PromStore.merge(parts, groupBy, (ps) => aggregateWindows(byTime(ps), w, agg));
  }

  async query(q: SeriesQuery): Promise<Series[]> {
    validateQuery(q);
    if (whereMatchesNothing(q.where)) return [];
    const name = prometheusMetricName(q.measurement, q.field);
    if (!name) return [];
    if (!q.aggregate || q.aggregate === 'rate' || q.window! < (this.opts.promqlMinWindowMs ?? 60_000)) return this.fromRaw(name, q);
    try {
      return await this.windowed(name, q);
    } catch (err) {
      if (err instanceof NeedRaw) return this.fromRaw(name, q);
      throw err;
    }
  }

  /** mean/max/min/sum/last per window in PromQL (see the module comment). */
  private async windowed(name: string, q: SeriesQuery): Promise<Series[]> {
    const w = q.window!;
    const agg = q.aggregate as Exclude<SeriesQuery['aggregate'], 'rate' | undefined>;
    const closed = await this.rangeSelectorsClosed();
    const groupBy = (q.groupBy ?? []).map(prometheusSanitize);
    const by = groupBy.length ? ` by (${groupBy.join(', ')})` : '';
    const sel = promSelector(name, q.where);
    const expr = (rangeMs: number, offset: boolean): string => {
      if (rangeMs <= 0) throw new NeedRaw();
      const r = `${sel}[${rangeMs}ms]${offset ? ' offset 1ms' : ''}`;
      switch (agg) {
        case 'mean':
          return `sum${by} (sum_over_time(${r})) / sum${by} (count_over_time(${r}))`;
        case 'max':
          return `max${by} (max_over_time(${r}))`;
        case 'min':
          return `min${by} (min_over_time(${r}))`;
        case 'sum':
          return `sum${by} (sum_over_time(${r}))`;
        default:
          return `last_over_time(${r})`;
      }
    };
    // the range covering [from, to] when evaluated at `to`
    const cover = (from: number, to: number): number => (closed ? to - from : to - from + 1);
    const segments = segmentsOf(q.start, q.end, w);
    const answers = await Promise.all(
      segments.map(async (seg) => {
        const out: Array<{ metric: Record<string, string>; points: Sample[] }> = [];
        if (seg.kind === 'range') {
          // evaluated at ws + w, aligned to the step; `offset 1ms` makes each range end at ws + w − 1
          const d = await this.range(expr(cover(0, w - 1), true), seg.firstWs + w, seg.lastWs + w, w);
          for (const r of d.result) {
            const points: Sample[] = [];
            for (const [ts, val] of r.values ?? []) {
              const v = Number(val);
              if (Number.isNaN(v)) throw new NeedRaw();
              points.push({ t: Math.round(ts * 1000) - w, v });
            }
            out.push({ metric: r.metric, points });
          }
        } else if (cover(seg.from, seg.to) <= 0) {
          // a window cut to one ms on a server with closed ranges (no `[0ms]` in PromQL): from its raw points
          const raw = await this.raw(name, { start: seg.from, end: seg.to, where: q.where ?? {} });
          const groups = new Map<string, { tags: Record<string, string>; samples: Sample[] }>();
          for (const r of raw) {
            const tags = pickTags(r.labels, q.groupBy ?? []);
            const k = tagKey(tags);
            const g = groups.get(k) ?? { tags, samples: [] };
            groups.set(k, g);
            g.samples.push(...r.samples);
          }
          for (const g of groups.values()) out.push({ metric: g.tags, points: aggregateWindows(g.samples, w, agg) });
        } else {
          const d = await this.instant(expr(cover(seg.from, seg.to), false), seg.to);
          for (const r of d.result) {
            const v = Number(r.value?.[1]);
            if (Number.isNaN(v)) throw new NeedRaw();
            out.push({ metric: r.metric, points: [{ t: seg.ws, v }] });
          }
        }
        return out;
      }),
    );
    // per group and window, the candidates: one per series for last_over_time, one per group otherwise
    const groups = new Map<string, { tags: Record<string, string>; points: Map<number, Array<{ series: string; v: number }>> }>();
    let several = false;
    for (const part of answers) {
      for (const r of part) {
        const tags = pickTags(r.metric, q.groupBy ?? []);
        const k = tagKey(tags);
        let g = groups.get(k);
        if (!g) groups.set(k, (g = { tags, points: new Map() }));
        const series = seriesKey(r.metric);
        for (const p of r.points) {
          const c = g.points.get(p.t);
          if (c) {
            c.push({ series, v: p.v });
            several = true;
          } else g.points.set(p.t, [{ series, v: p.v }]);
        }
      }
    }
    // last: where a group has several series in a window, the value of the one whose last sample is newest
    const lastTimes = several ? await this.lastSampleTimes(sel, segments, w, cover) : undefined;
    const series: Series[] = [];
    for (const g of groups.values()) {
      const points: Sample[] = [];
      for (const [t, cands] of [...g.points.entries()].sort((a, b) => a[0] - b[0])) {
        let v = cands[0]!.v;
        if (cands.length > 1) {
          // newest last sample wins; equal times (one scrape) → the largest value, so that the answer does not depend on order
          let best = -Infinity;
          for (const c of cands) {
            const ts = lastTimes!.get(`${c.series}\u0000${t}`) ?? -Infinity;
            if (ts > best || (ts === best && c.v > v)) {
              best = ts;
              v = c.v;
            }
          }
          if (best === -Infinity) throw new NeedRaw(); // older than the lookback: not in the answer
        }
        if (Number.isFinite(v)) points.push({ t, v });
      }
      if (points.length) series.push({ tags: g.tags, points });
    }
    return sortSeries(series);
  }

  /**
   * Time (ms) of each series' newest sample in each window, as `series key \0 window start` → ms:
   * `timestamp(SEL)` at the windows' ends (an instant vector selector keeps its sample's time; it
   * looks back 5 min, Prometheus' default lookback, so an older sample is missing).
   */
  private async lastSampleTimes(sel: string, segments: Segment[], w: number, cover: (from: number, to: number) => number): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    await Promise.all(
      segments.map(async (seg) => {
        if (seg.kind === 'range') {
          const d = await this.range(`timestamp(${sel} offset 1ms)`, seg.firstWs + w, seg.lastWs + w, w);
          for (const r of d.result) {
            const k = seriesKey(r.metric);
            for (const [ts, val] of r.values ?? []) {
              const ws = Math.round(ts * 1000) - w;
              const at = Math.round(Number(val) * 1000);
              if (at >= ws) out.set(`${k}\u0000${ws}`, at);
            }
          }
        } else if (cover(seg.from, seg.to) > 0) {
          const d = await this.instant(`timestamp(${sel})`, seg.to);
          for (const r of d.result) {
            const at = Math.round(Number(r.value?.[1]) * 1000);
            if (at >= seg.from) out.set(`${seriesKey(r.metric)}\u0000${seg.ws}`, at);
          }
        }
      }),
    );
    return out;
  }

  async tagValues(measurement: string, tag: string, start: number, end: number, where?: SeriesQuery['where']): Promise<string[]> {
    if (whereMatchesNothing(where)) return [];
    const base = prometheusMetricName(measurement, 'value')!;
    const label = prometheusSanitize(tag);
    const closed = await this.rangeSelectorsClosed();
    const span = Math.max(1, Math.ceil(end) - Math.floor(start) + (closed ? 0 : 1));
    const sel = promSelector(`${base.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&')}(_[a-zA-Z0-9:]+)?`, where, true);
    const d = await this.instant(`count by (${label}) (count_over_time(${sel}[${span}ms]))`, end);
    const values = new Set<string>();
    for (const r of d.result) {
      const v = r.metric[label];
      if (v) values.add(v);
    }
    return [...values].sort();
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
