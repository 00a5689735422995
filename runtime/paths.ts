/** Path resolution for job specs: relative to the spec's folder, or `pkg:NAME/PATH` inside node_modules. */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { StreamtuneError } from '../core/index.ts';

const require = createRequire(import.meta.url);

/** Resolves a data path of a spec. `pkg:vega-datasets/data/x.parquet` → the installed package's file.
 * Throws INVALID_SPEC when the package is not installed. */
export function resolveDataPath(p: string, baseDir: string): string {
  if (p.startsWith('pkg:')) {
    const rest = p.slice(4);
    const parts = rest.split('/');
    const nameParts = rest.startsWith('@') ? parts.slice(0, 2) : parts.slice(0, 1);
    const name = nameParts.join('/');
    for (const dir of require.resolve.paths(name) ?? []) {
      if (existsSync(join(dir, name, 'package.json'))) return join(dir, name, ...parts.slice(nameParts.length));
    }
    throw new StreamtuneError('INVALID_SPEC', `package '${name}' of path '${p}' is not installed (run npm ci)`);
  }
  return isAbsolute(p) ? p : resolve(baseDir, p);
}
