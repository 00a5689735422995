/**
 * Requests to `/api/v1` checked against the routes of the OpenAPI document (`openapi.ts`), before
 * any handler runs:
 * - {@link requestValidator}: path parameters (non-empty, well-encoded), query parameters (one value
 *   each, of the declared type, range, pattern or enum; integers given as digits) and JSON or form
 *   bodies (the route's closed object schema: a misspelled field is refused, not ignored). A bad one
 *   is a 400 `INVALID_ARGUMENT` whose `field` names it: `from`, `id`, `actions[0].to`, `body`.
 *   Unknown query parameters are ignored (caches and browsers add their own).
 * - {@link readGuard}: a GET of a route whose access is `sensitive` (stack traces, paths,
 *   configuration) or `token` (the audit log) needs the API token or a logged-in session
 *   (`res.locals.loggedIn`, set by the session middleware); `sensitive` ones are open when the
 *   server runs with `server.publicReads: true`. Mutations are the mutation guard's (auth.ts).
 * A request that matches no route passes on (the router answers 404).
 */
import type { Request, RequestHandler } from 'express';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { HttpError } from './http-error.ts';
import { API_ROUTES, SCHEMAS, type ApiRoute, type Schema } from './openapi.ts';

/** A route with its compiled matcher and validators. */
interface Compiled {
  route: ApiRoute;
  re: RegExp;
  names: string[];
  query?: ValidateFunction;
  body?: ValidateFunction;
}

const ajv = new Ajv({ allErrors: true, strict: false, coerceTypes: false });
for (const [name, s] of Object.entries(SCHEMAS)) ajv.addSchema(s, `#/components/schemas/${name}`);
/** Query values are strings: integers are coerced (digits only, checked before), the rest stays a string. */
const ajvQuery = new Ajv({ allErrors: true, strict: false, coerceTypes: true });

function compile(routes: readonly ApiRoute[]): Compiled[] {
  return routes.map((route) => {
    const names: string[] = [];
    const re = new RegExp(`^${route.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{([^}]+)\\?\}/g, (_m, n: string) => {
      names.push(n);
      return '([^/]+)';
    })}/?$`);
    const c: Compiled = { route, re, names };
    if (route.query) {
      c.query = ajvQuery.compile({ type: 'object', properties: Object.fromEntries(Object.entries(route.query).map(([k, q]) => [k, q.schema])), required: Object.entries(route.query).filter(([, q]) => q.required).map(([k]) => k) });
    }
    if (route.body) c.body = ajv.compile(route.body.json);
    return c;
  });
}

/** The route a request is for, with its decoded path parameters; throws a 400 naming a badly encoded parameter. */
function match(compiled: readonly Compiled[], method: string, path: string): { c: Compiled; params: Record<string, string> } | undefined {
  const m = method.toLowerCase() === 'head' ? 'get' : method.toLowerCase();
  for (const c of compiled) {
    if (c.route.method !== m) continue;
    const x = c.re.exec(path);
    if (!x) continue;
    const params: Record<string, string> = {};
    c.names.forEach((n, i) => {
      try {
        params[n] = decodeURIComponent(x[i + 1]!);
      } catch {
        throw HttpError.badRequest(n, `${n} is not a well-encoded path segment`);
      }
    });
    return { c, params };
  }
  return undefined;
}

/** `field` of an ajv error below `prefix`: `actions[0].to`, `parallelism.enrich`, `from`. */
export function ajvField(e: ErrorObject, prefix: string): string {
  let field = prefix;
  for (const p of e.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))) field += /^[0-9]+$/.test(p) ? `[${p}]` : field ? `.${p}` : p;
  if (e.keyword === 'additionalProperties') field += `${field ? '.' : ''}${String((e.params as { additionalProperty: string }).additionalProperty)}`;
  if (e.keyword === 'required') field += `${field ? '.' : ''}${String((e.params as { missingProperty: string }).missingProperty)}`;
  return field || 'body';
}

/**
 * The most telling of ajv's errors: not a oneOf/anyOf summary, not from a oneOf branch for another
 * `type` (a branch whose `type` enum failed was not meant), the deepest of the rest.
 */
function bestError(errors: readonly ErrorObject[]): ErrorObject | undefined {
  const branchOf = (e: ErrorObject): string | undefined => /^(.*\/(?:oneOf|anyOf)\/[0-9]+)\//.exec(e.schemaPath)?.[1];
  const otherType = new Set(errors.filter((e) => e.keyword === 'enum' && e.instancePath.endsWith('/type') && branchOf(e)).map((e) => branchOf(e)!));
  const inOtherType = (e: ErrorObject): boolean => [...otherType].some((b) => e.schemaPath.startsWith(`${b}/`));
  const pool = errors.filter((e) => e.keyword !== 'oneOf' && e.keyword !== 'anyOf' && !inOtherType(e));
  return [...(pool.length ? pool : errors)].sort((a, b) => b.instancePath.length - a.instancePath.length)[0];
}

/** The 400 for ajv errors of a body or query. */
function badRequest(errors: readonly ErrorObject[], prefix: string): HttpError {
  const e = bestError(errors);
  if (!e) return HttpError.badRequest(prefix || 'body', `${prefix || 'body'} is invalid`);
  const field = ajvField(e, prefix);
  let msg: string;
  if (e.keyword === 'additionalProperties') msg = 'is not a known field';
  else if (e.keyword === 'required') msg = 'is required';
  else if (e.keyword === 'enum') msg = `must be one of ${((e.params as { allowedValues: unknown[] }).allowedValues).map((v) => JSON.stringify(v)).join(', ')}`;
  else msg = e.message ?? 'is invalid';
  return HttpError.badRequest(field, `${field} ${msg}`);
}

/** Validates parameters and bodies of requests under `/api/v1` (mount it there, before the router). */
export function requestValidator(routes: readonly ApiRoute[] = API_ROUTES): RequestHandler {
  const compiled = compile(routes);
  return (req, res, next) => {
    const found = match(compiled, req.method, req.path);
    if (!found) return next();
    const { c, params } = found;
    res.locals.apiRoute = c.route;
    res.locals.apiParams = params;
    for (const [n, v] of Object.entries(params)) if (v.length === 0 || v.length > 500) throw HttpError.badRequest(n, `${n} must be 1 to 500 characters`);
    if (c.query) {
      const q: Record<string, unknown> = {};
      for (const [k, spec] of Object.entries(c.route.query ?? {})) {
        const v = (req.query as Record<string, unknown>)[k];
        if (v === undefined || v === '') continue;
        if (typeof v !== 'string') throw HttpError.badRequest(k, `${k} must be one value`);
        if (((spec.schema as Schema).type === 'integer' || (spec.schema as Schema).type === 'number') && !/^-?[0-9]+$/.test(v)) throw HttpError.badRequest(k, `${k} must be an integer, got "${v.length > 40 ? `${v.slice(0, 40)}…` : v}"`);
        q[k] = v;
      }
      if (!c.query(q)) throw badRequest(c.query.errors ?? [], '');
    }
    if (c.body && req.body !== undefined && req.body !== null && !(typeof req.body === 'string' && c.route.body?.yaml)) {
      if (typeof req.body !== 'object' || Array.isArray(req.body)) throw HttpError.badRequest('body', 'body must be a JSON object');
      // an empty body parsed by express is {} (no content): the handler says what is missing
      if (!c.body(req.body)) throw badRequest(c.body.errors ?? [], '');
    }
    next();
  };
}

/** What {@link readGuard} needs to know about the server. */
export interface ReadGuardOptions {
  /** `server.publicReads`: sensitive reads are open. Default false. */
  publicReads?: boolean;
}

/** True when a request is logged in (session or API token), as the session middleware decided. */
function loggedIn(res: Parameters<RequestHandler>[1]): boolean {
  return res.locals.loggedIn === true;
}

/** Refuses reads of `sensitive` (unless publicReads) and `token` routes without the token or a session: 401. */
export function readGuard(opts: ReadGuardOptions = {}, routes: readonly ApiRoute[] = API_ROUTES): RequestHandler {
  const compiled = compile(routes);
  return (req: Request, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    let route = res.locals.apiRoute as ApiRoute | undefined;
    if (!route) {
      try {
        route = match(compiled, req.method, req.path)?.c.route;
      } catch {
        route = undefined;
      }
    }
    if (!route || route.access === 'open' || route.access === 'mutation') return next();
    if (route.access === 'sensitive' && opts.publicReads) return next();
    if (loggedIn(res)) return next();
    const wrong = /^Bearer\s/i.test(req.get('authorization') ?? '');
    next(new HttpError(401, 'UNAUTHORIZED', wrong
      ? 'wrong API token'
      : `${route.access === 'token' ? 'the audit log' : 'this read (stack traces, savepoint paths or configuration)'} needs Authorization: Bearer <STREAMTUNE_API_TOKEN> or a logged-in session${route.access === 'sensitive' ? ' (or server.publicReads: true)' : ''}`));
  };
}

/** The route of the document a request is for (after {@link requestValidator} ran), if any. */
export function apiRouteOf(res: Parameters<RequestHandler>[1]): ApiRoute | undefined {
  return res.locals.apiRoute as ApiRoute | undefined;
}
