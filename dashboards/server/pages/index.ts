/**
 * The dashboard's HTML pages, rendered server-side with handlebars from the control plane, plus the
 * static assets they need (CSS, client JS, uPlot from node_modules) and the Grafana dashboard.
 *
 * Pages: `/` (overview), `/jobs/:id`, `/diagnoses/:id`, `/incidents`, `/incidents/:id`, `/operations`,
 * `/operations/:id`, `/login`.
 * View-model JSON the client scripts poll (same shapes the pages render, read from the control plane):
 * `/jobs/:id/charts.json?range=5m|15m|1h`, `/operations/:id.json`.
 * Mutations (apply, dismiss, login, logout) are the API's (`/api/v1/...`, `POST /login`): the pages
 * only post to them with the session's CSRF token (`res.locals.csrfToken`, rendered in a meta tag).
 *
 * CSP: no inline script or style. Scripts are files under `dashboards/public/`; data goes through
 * `data-*` attributes or the JSON above; colours and sizes are SVG presentation attributes.
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Response, type Router } from 'express';
import type { ControlPlane } from '../../../control-plane/index.ts';
import { grafanaDashboard } from '../../grafana.ts';
import { TtlCache } from '../ttl-cache.ts';
import { diagnosisPage } from './diagnosis.ts';
import { incidentPages } from './incidents.ts';
import { jobPage } from './job.ts';
import { operationPages } from './operations.ts';
import { overviewPage } from './overview.ts';
import { loadTemplates, type PageContext } from './render.ts';

export { changeText } from './views.ts';
export { vertexColor, jobGraphSvg, subtaskBarsSvg } from './svg.ts';
export { RANGES, jobCharts, type JobCharts } from './job.ts';

/** Options of {@link createPagesRouter}. */
export interface PagesOptions {
  /** Public root of the dashboard, e.g. 'http://127.0.0.1:8080'; used for absolute links. */
  baseUrl: string;
  /** Templates directory. Default `dashboards/templates/pages/`. */
  templatesDir?: string;
  /** Static assets directory served under `/assets/`. Default `dashboards/public/`. */
  publicDir?: string;
  /** ms a job's lag, throughput, load and chart reads are reused across requests (many browsers
   * polling one job cost one set of store reads). Default 1,000; 0 disables. */
  cacheTtlMs?: number;
}

const DEFAULT_TEMPLATES = fileURLToPath(new URL('../../templates/pages/', import.meta.url));
const DEFAULT_PUBLIC = fileURLToPath(new URL('../../public/', import.meta.url));

/** Directory of uPlot's browser builds (`node_modules/uplot/dist`). */
export function uplotDistDir(): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve('uplot'));
}

/**
 * The pages router, to mount at `/` after the session middleware (which sets `res.locals.csrfToken`
 * and `res.locals.loggedIn`). Unknown job, diagnosis and operation ids, and any other path a browser
 * GETs (it accepts HTML, not under /api/), render the HTML 404 page. Errors from the control plane
 * other than unknown ids go to express' error handler.
 */
export function createPagesRouter(cp: ControlPlane, opts: PagesOptions): Router {
  const templates = loadTemplates(opts.templatesDir ?? DEFAULT_TEMPLATES);
  const router = express.Router();
  const baseUrl = opts.baseUrl.replace(/\/+$/, '');
  const ttl = opts.cacheTtlMs ?? 1000;
  const cache = new TtlCache<unknown>(ttl);

  router.use('/assets/uplot', express.static(uplotDistDir(), { index: false, maxAge: '1h' }));
  router.use('/assets', express.static(opts.publicDir ?? DEFAULT_PUBLIC, { index: false }));

  const page = (res: Response, name: string, title: string, ctx: Record<string, unknown>, status = 200): void => {
    res
      .status(status)
      .type('html')
      .send(
        templates.render(name, {
          ...ctx,
          title,
          baseUrl,
          csrfToken: typeof res.locals.csrfToken === 'string' ? res.locals.csrfToken : '',
          loggedIn: res.locals.loggedIn === true,
        }),
      );
  };
  const ctx: PageContext = {
    cp,
    log: cp.logger.namespace('pages'),
    cached: <T>(key: string, load: () => Promise<T>): Promise<T> => (ttl > 0 ? (cache.get(key, load) as Promise<T>) : load()),
    page,
    notFound: (res, what) => page(res, 'not-found', 'Not found', { what }, 404),
  };

  overviewPage(router, ctx);
  jobPage(router, ctx);
  diagnosisPage(router, ctx);
  operationPages(router, ctx);
  incidentPages(router, ctx);

  router.get('/login', (req, res) => {
    page(res, 'login', 'Log in', { failed: req.query.error !== undefined, next: typeof req.query.next === 'string' && req.query.next.startsWith('/') && !req.query.next.startsWith('//') ? req.query.next : '/' });
  });

  router.get('/grafana/streamtune-lag.json', (_req, res) => {
    res.attachment('streamtune-lag.json').type('application/json').send(JSON.stringify(grafanaDashboard(), null, 2));
  });

  // Any other GET a browser makes (it accepts HTML) gets the HTML 404 page; API paths and clients
  // asking for JSON fall through to the app's JSON 404.
  router.get('/*path', (req, res, next) => {
    if (req.path.startsWith('/api/') || req.accepts(['json', 'html']) !== 'html') return next();
    ctx.notFound(res, `page ${req.path}`);
  });

  return router;
}
