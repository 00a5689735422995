/**
 * Rendering of the pages: handlebars templates from `dashboards/templates/pages/` inside the layout,
 * and what every page file shares (the control plane, the read cache, the page and 404 helpers).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Response } from 'express';
import Handlebars from 'handlebars';
import type { ControlPlane } from '../../../control-plane/index.ts';
import type { Logger } from '../../../core/index.ts';

/** The page templates, rendered inside `layout.hbs`. */
export interface Templates {
  render(name: string, ctx: Record<string, unknown>): string;
}

/** Compiles the layout and partials of `dir` at once, each page template on first use. */
export function loadTemplates(dir: string): Templates {
  const hb = Handlebars.create();
  hb.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  const partialsDir = join(dir, 'partials');
  for (const f of readdirSync(partialsDir)) {
    if (f.endsWith('.hbs')) hb.registerPartial(f.slice(0, -4), readFileSync(join(partialsDir, f), 'utf8'));
  }
  const layout = hb.compile(readFileSync(join(dir, 'layout.hbs'), 'utf8'));
  const cache = new Map<string, Handlebars.TemplateDelegate>();
  return {
    render(name, ctx) {
      let t = cache.get(name);
      if (!t) {
        t = hb.compile(readFileSync(join(dir, `${name}.hbs`), 'utf8'));
        cache.set(name, t);
      }
      return layout({ ...ctx, body: new hb.SafeString(t(ctx)) });
    },
  };
}

/** What each page file gets from the router. */
export interface PageContext {
  cp: ControlPlane;
  log: Logger;
  /** `load()` memoised under `key` for the cache TTL (many browsers polling one job cost one set of reads). */
  cached<T>(key: string, load: () => Promise<T>): Promise<T>;
  /** Renders page `name` with its title and the session's CSRF token and login state. */
  page(res: Response, name: string, title: string, ctx: Record<string, unknown>, status?: number): void;
  /** The HTML 404 page naming what was not found. */
  notFound(res: Response, what: string): void;
}

/** Raw HTML for a template (already escaped SVG). */
export function html(s: string): Handlebars.SafeString {
  return new Handlebars.SafeString(s);
}
