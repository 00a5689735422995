/**
 * Parsing of the API's query parameters and bodies. A bad value is a 400 naming the field
 * (`HttpError.badRequest`). Times are ms since epoch, ISO 8601 dates, or `now`/`now-15m`.
 */
import type { Request } from 'express';
import { HttpError } from '../http-error.ts';

/** Most points one series answer may hold. */
export const MAX_POINTS = 5000;

/** Latest time a query may name, ms since epoch: what a JavaScript Date holds (year 275760). */
export const MAX_TIME_MS = 8_640_000_000_000_000;

/**
 * A time query parameter: ms epoch, ISO 8601, `now` or `now-15m` (units ms, s, m, h, d), within
 * 0..{@link MAX_TIME_MS} (a time beyond what a Date holds failed inside the store as a 500).
 */
export function parseTime(field: string, v: unknown, def: number, now: number): number {
  if (v === undefined || v === '') return def;
  if (typeof v !== 'string') throw HttpError.badRequest(field, `${field} must be one value`);
  const shown = v.length > 60 ? `${v.slice(0, 60)}…` : v;
  let t: number;
  const rel = /^now(?:-([0-9]+)(ms|s|m|h|d))?$/.exec(v);
  if (/^[0-9]+$/.test(v)) t = Number(v);
  else if (rel) t = rel[1] ? now - Number(rel[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2] as 'ms'] : now;
  else {
    t = Date.parse(v);
    if (Number.isNaN(t)) throw HttpError.badRequest(field, `${field} must be ms since epoch, an ISO 8601 date or now-<n><ms|s|m|h|d>, got "${shown}"`);
  }
  if (!(t >= 0 && t <= MAX_TIME_MS)) throw HttpError.badRequest(field, `${field} must be a time between 1970 and the year 275760, got "${shown}"`);
  return t;
}

/** A positive integer query parameter within [min, max]. */
export function parseIntParam(field: string, v: unknown, def: number, min: number, max: number): number {
  if (v === undefined || v === '') return def;
  if (typeof v !== 'string' || !/^[0-9]+$/.test(v)) throw HttpError.badRequest(field, `${field} must be an integer, got "${String(v).slice(0, 60)}"`);
  const n = Number(v);
  if (n < min || n > max) throw HttpError.badRequest(field, `${field} must be between ${min} and ${max}, got ${n}`);
  return n;
}

/** A duration query parameter: ms, or `15s`-style. */
function parseStep(field: string, v: unknown): number | undefined {
  if (v === undefined || v === '') return undefined;
  const m = typeof v === 'string' ? /^([0-9]+)(ms|s|m|h)?$/.exec(v) : null;
  if (!m) throw HttpError.badRequest(field, `${field} must be ms or like 10s, 1m, got "${String(v).slice(0, 60)}"`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 'ms') as 'ms'];
}

/** Range [from, to] and step of a series query; 400 naming the field when out of bounds. */
export function parseRange(q: Request['query'], now: number, defaultSpanMs = 15 * 60_000, minStepMs = 1000): { from: number; to: number; step: number } {
  const to = parseTime('to', q.to, now, now);
  const from = parseTime('from', q.from, to - defaultSpanMs, now);
  if (from >= to) throw HttpError.badRequest('from', `from (${from}) must be before to (${to})`);
  let step = parseStep('step', q.step);
  if (step === undefined) step = Math.max(minStepMs, Math.ceil((to - from) / 300 / 1000) * 1000);
  if (step < 1000) throw HttpError.badRequest('step', `step must be at least 1000 ms, got ${step}`);
  if ((to - from) / step > MAX_POINTS) throw HttpError.badRequest('step', `step too small: at most ${MAX_POINTS} points per series ((to - from) / step = ${Math.ceil((to - from) / step)})`);
  return { from, to, step };
}

/** True when a range query is relative to now: `from` and `to` are each absent or `now[-<n><unit>]`. */
export function isRelativeRange(q: Request['query']): boolean {
  const rel = (v: unknown) => v === undefined || v === '' || (typeof v === 'string' && /^now/.test(v));
  return rel(q.from) && rel(q.to);
}

/** The JSON body as an object (`{}` when absent); 400 for anything else. */
export function jsonBody(req: Request): Record<string, unknown> {
  const b = req.body as unknown;
  if (b === undefined || b === null) return {};
  if (typeof b !== 'object' || Array.isArray(b)) throw HttpError.badRequest('body', 'body must be a JSON object');
  return b as Record<string, unknown>;
}

/** A single-valued string query parameter, undefined when absent or empty. */
export function oneParam(field: string, v: unknown): string | undefined {
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string') throw HttpError.badRequest(field, `${field} must be one value`);
  return v;
}
