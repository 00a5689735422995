/**
 * What every API route file shares: the control plane, the response cache (answers serialised,
 * hashed and compressed once per entry), and the lookups that turn unknown ids into 404s.
 */
import type { Request, Response } from 'express';
import type { ControlPlane } from '../../../control-plane/index.ts';
import type { ManagedJob } from '../../../platform/index.ts';
import type { FastReads } from '../fast-reads.ts';
import { HttpError } from '../http-error.ts';
import { prepareJsonCompressed, sendPrepared, type PreparedJson } from '../prepared.ts';
import { TtlCache } from '../ttl-cache.ts';
import { isRelativeRange } from './params.ts';

/** A series range: ms since epoch and ms between points. */
export interface Range {
  from: number;
  to: number;
  step: number;
}

/** The shared context of the API's route files. */
export interface RouteContext {
  cp: ControlPlane;
  /** The job, or a 404 naming it. */
  jobOr404(id: string): ManagedJob;
  /** `now` rounded down to the cache TTL, so that default ranges share cache entries. */
  tick(): number;
  /** Answers the JSON of `load()` from the cache under `key` (filled once per TTL). */
  sendCached(req: Request, res: Response, key: string, load: () => Promise<unknown>): Promise<void>;
  /**
   * {@link sendCached} for a series over the query's range (`parse(now)` validates it, throwing
   * 400s): a range relative to now is keyed by its span and step and re-read at every refresh, so
   * a stale entry can be served while it is refreshed; an absolute range is keyed by its bounds.
   */
  sendRange(req: Request, res: Response, prefix: string, parse: (now: number) => Range, load: (r: Range) => Promise<unknown>): Promise<void>;
}

/** Builds the context. `cacheTtlMs` 0 disables caching. */
export function routeContext(cp: ControlPlane, cacheTtlMs: number, fastReads?: FastReads): RouteContext {
  const cache = new TtlCache<PreparedJson>(cacheTtlMs);
  const tick = (): number => {
    const n = cp.now();
    return cacheTtlMs > 0 ? n - (n % cacheTtlMs) : n;
  };
  const sendCached: RouteContext['sendCached'] = async (req, res, key, load) => {
    const p = await cache.get(key, async () => prepareJsonCompressed(await load()));
    fastReads?.remember(req.originalUrl, res, p);
    sendPrepared(req, res, p);
  };
  return {
    cp,
    tick,
    sendCached,
    jobOr404(id) {
      const j = cp.jobs.get(id);
      if (!j) throw HttpError.notFound('job', id);
      return j;
    },
    async sendRange(req, res, prefix, parse, load) {
      const r = parse(tick());
      const rel = isRelativeRange(req.query);
      const key = `${prefix}:${rel ? `recent:${r.to - r.from}` : `${r.from}:${r.to}`}:${r.step}`;
      await sendCached(req, res, key, () => load(rel ? parse(tick()) : r));
    },
  };
}
