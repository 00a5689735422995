/** express's route table, walked: what the OpenAPI and security tests compare with the document. */
import type { Express } from 'express';

/** Every route of an express 5 app: method and full path (mount paths of routers joined). */
export function expressRoutes(app: Express): Array<{ method: string; path: string }> {
  const out: Array<{ method: string; path: string }> = [];
  const walk = (stack: Array<Record<string, any>>, prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const m of Object.keys(layer.route.methods as Record<string, boolean>)) out.push({ method: m, path: `${prefix}${layer.route.path as string}` });
      } else if (layer.name === 'router' && layer.handle?.stack) {
        const mount = typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : '';
        walk(layer.handle.stack, `${prefix}${mount}`);
      }
    }
  };
  walk((app as unknown as { router: { stack: Array<Record<string, any>> } }).router.stack, '');
  return out;
}
