/**
 * Repeat reads of the two routes dashboards and scripts poll hardest, the overview
 * (`GET /api/v1/jobs`) and a job's lag series (`GET /api/v1/jobs/:id/lag`), answered ahead of the
 * middleware stack. When the API router answers one of them from its cache (dashboards/server/api.ts
 * `TtlCache`), it gives the prepared answer to {@link FastReads.remember} together with the exact
 * URL and the security headers already set on the response (helmet's). The same URL asked again
 * gets that answer for as long as the router's cache would serve it: for the TTL after it was
 * prepared, then for as long again while the router refreshes it (stale-while-revalidate; the first
 * request past the TTL goes to the router, which starts the refresh). It gets the bytes, ETag and
 * 304, compression and headers the router would send from its cache; only the work that would have
 * led to them is skipped: helmet, body parsers, session, routing.
 *
 * Only GETs without a query and without `Cache-Control: no-cache` qualify; every other request goes
 * through the app as usual. Reads
 * are open (auth.ts: only mutations need credentials), so skipping the session changes nothing for
 * them. The answers are counted in `/metrics` under their routes, like the app's own.
 *
 * Why: with 100 clients polling, the middleware stack, not the answer, was most of the CPU of a
 * cached response (BENCHMARKS.md, api rows).
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { encodedBody, type PreparedJson } from './prepared.ts';

/** The routes served here, as `/metrics` labels them. */
export const FAST_ROUTES = { overview: '/api/v1/jobs', lag: '/api/v1/jobs/:id/lag' } as const;

const LAG_URL = /^\/api\/v1\/jobs\/[^/?#]+\/lag$/;

/** The route of a URL served here, or undefined (a query string never qualifies). */
export function fastRouteOf(url: string | undefined): string | undefined {
  if (url === FAST_ROUTES.overview) return FAST_ROUTES.overview;
  return url !== undefined && LAG_URL.test(url) ? FAST_ROUTES.lag : undefined;
}

/** A remembered answer. */
interface Answer {
  route: string;
  p: PreparedJson;
  /** the headers the app had set before the router answered (security headers), without cookies */
  headers: OutgoingHttpHeaders;
  /** the full response headers per encoding ('' = plain), built on first use */
  byEncoding: Map<string, OutgoingHttpHeaders>;
  /** true once a request past the TTL was let through to the router (which then refreshes its entry) */
  passed: boolean;
}

/** Called for every answer sent here: method, route label, status, seconds (for `/metrics`). */
export type FastReadObserver = (method: string, route: string, status: number, seconds: number) => void;

/** Answers repeat reads of the hot routes from the router's last answer; see the module comment. */
export class FastReads {
  private readonly answers = new Map<string, Answer>();

  /**
   * @param ttlMs ms an answer is served again (the API cache TTL); 0 disables the fast path
   * @param observe records each answer in the server's metrics
   * @param clock ms since epoch
   * @param max URLs remembered; the oldest are dropped first
   */
  constructor(private readonly ttlMs: number, private readonly observe: FastReadObserver = () => {}, private readonly clock: () => number = Date.now, private readonly max = 1000) {}

  /**
   * Keeps the answer the router is about to send for `url` (the request's original URL), with the
   * headers already on `res`. Ignores URLs that do not qualify ({@link fastRouteOf}).
   */
  remember(url: string, res: ServerResponse, p: PreparedJson): void {
    if (this.ttlMs <= 0) return;
    const route = fastRouteOf(url);
    if (!route) return;
    // the router served the entry remembered already (stale, while it refreshes it): keep its state
    if (this.answers.get(url)?.p === p) return;
    const headers: OutgoingHttpHeaders = { ...res.getHeaders() };
    delete headers['set-cookie'];
    this.answers.delete(url);
    this.answers.set(url, { route, p, headers, byEncoding: new Map(), passed: false });
    if (this.answers.size > this.max) this.answers.delete(this.answers.keys().next().value!);
  }

  /** Answers `req` when a fresh answer for its URL is remembered and returns true; false leaves it to the app. */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== 'GET' || this.ttlMs <= 0) return false;
    const a = req.url === undefined ? undefined : this.answers.get(req.url);
    if (!a) return false;
    // the router's cache (TtlCache) serves an entry for its TTL, then for as long again while one
    // request refreshes it: the same here, with the first request past the TTL let through to start
    // the refresh (its answer replaces this one when it lands)
    const age = this.clock() - a.p.at;
    if (age >= 2 * this.ttlMs) return false;
    if (age >= this.ttlMs && !a.passed) {
      a.passed = true;
      return false;
    }
    const cc = req.headers['cache-control'];
    if (cc && /no-cache/i.test(cc)) return false;
    const start = process.hrtime.bigint();
    const p = a.p;
    let status = 200;
    if (etagMatches(req.headers['if-none-match'], p.etag)) {
      status = 304;
      res.writeHead(304, this.headersFor(a, ''));
      res.end();
    } else {
      const { encoding, body } = encodedBody(p, req.headers['accept-encoding']);
      res.writeHead(200, this.headersFor(a, encoding ?? '', body.length));
      res.end(body);
    }
    this.observe('GET', a.route, status, Number(process.hrtime.bigint() - start) / 1e9);
    return true;
  }

  /** The response headers of one answer and encoding (built once); a 304's when `length` is undefined. */
  private headersFor(a: Answer, encoding: string, length?: number): OutgoingHttpHeaders {
    const key = length === undefined ? '304' : encoding;
    let h = a.byEncoding.get(key);
    if (!h) {
      h = { ...a.headers, etag: a.p.etag, vary: 'Accept-Encoding', 'content-type': 'application/json; charset=utf-8' };
      if (encoding) h['content-encoding'] = encoding;
      if (length !== undefined) h['content-length'] = length;
      a.byEncoding.set(key, h);
    }
    return h;
  }
}

/** Whether an `If-None-Match` header lists `etag` (or is `*`), compared weakly (RFC 9110 §13.1.2). */
function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  const strip = (t: string) => t.trim().replace(/^W\//, '');
  const want = strip(etag);
  return header.split(',').some((t) => strip(t) === want);
}
