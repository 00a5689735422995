/**
 * The architecture, enforced: the layer order of CONTRIBUTING.md ("Layers"). A product folder imports
 * another only through that folder's `index.ts` and only from a folder below it; a folder never
 * imports its own `index.ts` (that is how barrels make cycles); no import cycles anywhere (madge, as
 * BullMQ runs it before its tests). Tests, benchmarks and scripts stand above every layer and may
 * import any module.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Lowest first; must match CONTRIBUTING.md. */
const LAYERS = ['core', 'runtime', 'platform', 'collector', 'rules', 'diagnoser', 'tuner', 'notify', 'control-plane', 'dashboards', 'cli'] as const;

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...tsFiles(p));
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

const topOf = (file: string): string => relative(ROOT, file).split(sep)[0]!;

/** Every relative import, export-from and dynamic import of the product folders, as [from, to] repo paths. */
function importEdges(): Array<{ from: string; to: string; spec: string }> {
  const edges: Array<{ from: string; to: string; spec: string }> = [];
  for (const layer of LAYERS) {
    for (const file of tsFiles(join(ROOT, layer))) {
      const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
      for (const ref of info.importedFiles) {
        if (!ref.fileName.startsWith('.')) continue;
        edges.push({ from: relative(ROOT, file), to: relative(ROOT, resolve(dirname(file), ref.fileName)), spec: ref.fileName });
      }
    }
  }
  return edges;
}

test('the layer order in CONTRIBUTING.md is the one this test enforces', () => {
  const text = readFileSync(join(ROOT, 'CONTRIBUTING.md'), 'utf8');
  const line = text.split('\n').find((l) => l.includes('`core`') && l.includes('→'));
  assert.ok(line, 'CONTRIBUTING.md has a line with the layer order (`core` → ...)');
  const found = [...line.matchAll(/`([a-z-]+)`/g)].map((m) => m[1]);
  assert.deepEqual(found, [...LAYERS]);
});

test('imports across folders go through the folder index.ts and only downward; no folder imports its own index.ts', () => {
  const bad: string[] = [];
  for (const e of importEdges()) {
    const a = topOf(join(ROOT, e.from));
    const b = topOf(join(ROOT, e.to));
    if (a === b) {
      if (e.to === join(a, 'index.ts') && e.from !== join(a, 'index.ts')) bad.push(`${e.from} imports its own folder's index.ts ('${e.spec}'): import the module itself`);
      continue;
    }
    const ia = LAYERS.indexOf(a as (typeof LAYERS)[number]);
    const ib = LAYERS.indexOf(b as (typeof LAYERS)[number]);
    if (ib < 0) bad.push(`${e.from} imports '${e.spec}' outside the layers`);
    else if (ib >= ia) bad.push(`${e.from} (${a}) imports '${e.spec}' from ${b}, which is not below it`);
    else if (e.to !== join(b, 'index.ts')) bad.push(`${e.from} imports '${e.spec}': go through ${b}/index.ts`);
  }
  assert.deepEqual(bad, []);
});

test('no import cycles (madge --circular)', () => {
  const madge = join(ROOT, 'node_modules', '.bin', 'madge');
  const r = spawnSync(madge, ['--circular', '--json', '--extensions', 'ts', '--ts-config', 'tsconfig.json', ...LAYERS], { cwd: ROOT, encoding: 'utf8' });
  const cycles = JSON.parse(r.stdout) as string[][];
  assert.deepEqual(cycles, [], `madge --circular found cycles:\n${cycles.map((c) => c.join(' > ')).join('\n')}`);
});
