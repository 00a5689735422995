/**
 * Server-rendered SVG pieces of the job page: the job graph coloured by busy and backpressured time,
 * and per-subtask bars. Presentation attributes only (no style attributes: the CSP allows none).
 */
import { formatValue } from '../../../notify/index.ts';
import type { VertexLoad } from '../../../control-plane/index.ts';

/** `s` with the five XML special characters escaped. */
export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Fill colour of a vertex: red by busy time, grey-blue by backpressured time (Flink's web UI idea). */
export function vertexColor(busy: number | undefined, bp: number | undefined): string {
  if (busy === undefined && bp === undefined) return '#e8e8e8';
  const b = Math.min(1, Math.max(0, (busy ?? 0) / 1000));
  const p = Math.min(1, Math.max(0, (bp ?? 0) / 1000));
  if (p > b) {
    const l = Math.round(92 - 52 * p);
    return `hsl(220, 15%, ${l}%)`;
  }
  const l = Math.round(95 - 45 * b);
  return `hsl(0, ${Math.round(30 + 60 * b)}%, ${l}%)`;
}

function pct(msPerS: number | undefined): string {
  return msPerS === undefined ? '–' : `${Math.round(msPerS / 10)}%`;
}

/** The job graph as SVG: vertices in layers from the sources, coloured by busy/backpressured time. */
export function jobGraphSvg(loads: VertexLoad[]): string {
  const depth = new Map<string, number>();
  const d = (name: string, seen = new Set<string>()): number => {
    if (depth.has(name)) return depth.get(name)!;
    if (seen.has(name)) return 0;
    seen.add(name);
    const v = loads.find((x) => x.name === name);
    const r = !v || v.inputs.length === 0 ? 0 : 1 + Math.max(...v.inputs.map((i) => d(i, seen)));
    depth.set(name, r);
    return r;
  };
  for (const v of loads) d(v.name);
  const layers: string[][] = [];
  for (const v of loads) (layers[depth.get(v.name)!] ??= []).push(v.name);
  const W = 190, H = 78, GX = 50, GY = 20;
  const pos = new Map<string, { x: number; y: number }>();
  layers.forEach((names, li) => names.forEach((n, i) => pos.set(n, { x: 10 + li * (W + GX), y: 10 + i * (H + GY) })));
  const width = 20 + layers.length * (W + GX) - GX;
  const height = 20 + Math.max(1, ...layers.map((l) => l.length)) * (H + GY) - GY;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" class="job-graph" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="job graph">`);
  parts.push('<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>');
  for (const v of loads) {
    const to = pos.get(v.name)!;
    for (const i of v.inputs) {
      const from = pos.get(i);
      if (!from) continue;
      parts.push(`<line x1="${from.x + W}" y1="${from.y + H / 2}" x2="${to.x}" y2="${to.y + H / 2}" stroke="#555" stroke-width="1.5" marker-end="url(#arrow)"/>`);
    }
  }
  for (const v of loads) {
    const { x, y } = pos.get(v.name)!;
    parts.push(
      `<g class="vertex" data-vertex="${esc(v.name)}" data-parallelism="${v.parallelism}" data-busy="${v.busy === undefined ? '' : Math.round(v.busy)}" data-backpressured="${v.backPressured === undefined ? '' : Math.round(v.backPressured)}">` +
        `<rect x="${x}" y="${y}" width="${W}" height="${H}" rx="6" fill="${vertexColor(v.busy, v.backPressured)}" stroke="#333"/>` +
        `<text x="${x + 10}" y="${y + 22}" font-weight="bold">${esc(v.name)}</text>` +
        `<text x="${x + 10}" y="${y + 43}">parallelism ${v.parallelism}</text>` +
        `<text x="${x + 10}" y="${y + 64}">busy ${pct(v.busy)} · backpressured ${pct(v.backPressured)}</text>` +
        `<title>${esc(v.name)}: parallelism ${v.parallelism}, busy ${pct(v.busy)}, backpressured ${pct(v.backPressured)}</title></g>`,
    );
  }
  parts.push('</svg>');
  return parts.join('');
}

/** Horizontal bars, one per subtask, scaled to the largest; skew shows as one long bar. */
export function subtaskBarsSvg(values: Array<{ index: number; value?: number }>, unit: string, max?: number): string {
  const W = 320, ROW = 18, LABEL = 34;
  const top = max ?? Math.max(1, ...values.map((v) => v.value ?? 0));
  const height = values.length * ROW + 4;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" class="bars" width="${W + LABEL + 110}" height="${height}" role="img">`];
  values.forEach((v, i) => {
    const w = v.value === undefined ? 0 : Math.max(1, Math.round((Math.min(v.value, top) / top) * W));
    const y = 2 + i * ROW;
    parts.push(
      `<g class="bar" data-subtask="${v.index}" data-value="${v.value === undefined ? '' : Math.round(v.value)}">` +
        `<text x="0" y="${y + 13}">#${v.index}</text>` +
        `<rect x="${LABEL}" y="${y}" width="${w}" height="${ROW - 4}" fill="#4a78c2"/>` +
        `<text x="${LABEL + w + 6}" y="${y + 13}">${v.value === undefined ? '–' : esc(formatValue(Math.round(v.value)))} ${esc(unit)}</text></g>`,
    );
  });
  parts.push('</svg>');
  return parts.join('');
}
