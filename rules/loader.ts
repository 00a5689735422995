/**
 * Loads and validates rule files: YAML (the `yaml` package, with a LineCounter so every error
 * names FILE:LINE) checked against a JSON schema (ajv) plus semantic checks (thresholds ordered,
 * utilisation band sane, ids unique). `loadRules(dir)` merges the built-in rules in this folder
 * with the files of `dir` (a user's rule overrides the built-in rule of the same id, field by field).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject } from 'ajv';
import { isMap, isSeq, isPair, isScalar, type Document, type LineCounter, type Node as YamlNode } from 'yaml';
import { parseYaml, StreamtuneError } from '../core/index.ts';
import { DETECTOR_PARAMS, parseDuration, rulesFileSchema, type DetectorId } from './schema.ts';
import type { AlertOp, AlertRule, DetectorRule, PlannerSettings, RuleError, RuleSet, Thresholds } from './types.ts';

/** The folder holding the built-in rule files (this folder). */
export const BUILTIN_RULES_DIR = fileURLToPath(new URL('.', import.meta.url));

/** Planner defaults (Flink autoscaler defaults; see rules/types.ts). */
export const DEFAULT_PLANNER: PlannerSettings = {
  targetUtilization: 0.85,
  utilizationLow: 0.4,
  utilizationHigh: 1.0,
  catchUpMs: 30 * 60_000,
  restartMs: 5 * 60_000,
  alignmentOvershoot: 0.25,
  maxScaleUpFactor: 0,
  scaleDownIntervalMs: 60 * 60_000,
  maxScaleDownFactor: 0.6,
};

/** Schema errors placed and listed per file at most. */
export const MAX_ERRORS_PER_FILE = 20;

const ajv = new Ajv({ allErrors: true, strict: false });
const validateFile = ajv.compile(rulesFileSchema);

/** Raw shape of a rules file after schema validation. */
interface RawFile {
  planner?: Record<string, number | string>;
  detectors?: Record<string, { enabled?: boolean; help: string; severity?: { thresholds: number[]; direction?: 'higher' | 'lower' }; params?: Record<string, number> }>;
  alerts?: Array<Record<string, unknown>>;
}

/** The parsed content of one file, or its errors. */
interface ParsedFile {
  file: string;
  raw?: RawFile;
  doc?: Document.Parsed;
  lc?: LineCounter;
  errors: RuleError[];
}

function unescapePointer(seg: string): string {
  return seg.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** Line/column of the node at `path` (the key when `key`), falling back to the closest ancestor. */
function locate(doc: Document.Parsed, lc: LineCounter, path: string[], key = false): { line: number; column: number } {
  let node: unknown = doc.contents;
  let pos: [number, number, number] | undefined = (doc.contents as YamlNode | null)?.range ?? undefined;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!;
    let next: unknown;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === seg);
      if (!pair) break;
      const last = i === path.length - 1;
      if (last && key && isScalar(pair.key) && pair.key.range) {
        pos = pair.key.range;
        node = undefined;
        break;
      }
      next = pair.value;
      const r = (pair.value as YamlNode | null)?.range ?? (isScalar(pair.key) ? pair.key.range : undefined);
      if (r) pos = r;
    } else if (isSeq(node)) {
      next = node.items[Number(seg)];
      const r = (next as YamlNode | null)?.range;
      if (r) pos = r;
    } else break;
    node = next;
  }
  const lp = lc.linePos(pos ? pos[0] : 0);
  return { line: lp.line, column: lp.col };
}

function ajvErrorToRuleError(file: string, doc: Document.Parsed, lc: LineCounter, e: ErrorObject): RuleError {
  const path = e.instancePath.split('/').slice(1).map(unescapePointer);
  let reason = `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`;
  let pos: { line: number; column: number };
  if (e.keyword === 'additionalProperties') {
    const prop = String((e.params as { additionalProperty: string }).additionalProperty);
    pos = locate(doc, lc, [...path, prop], true);
    const known = path.length === 3 && path[0] === 'detectors' && path[2] === 'params' ? DETECTOR_PARAMS[path[1] as DetectorId] : undefined;
    reason = known
      ? `unknown parameter '${prop}' of detector ${path[1]} (${known.length ? `known: ${known.join(', ')}` : 'it takes no params'})`
      : `unknown key '${prop}' at ${e.instancePath || '/'}`;
  } else if (e.keyword === 'propertyNames') {
    const prop = String((e.params as { propertyName: string }).propertyName);
    pos = locate(doc, lc, [...path, prop], true);
    reason = `unknown detector '${prop}' (known ids are listed in rules/schema.ts)`;
  } else if (e.keyword === 'enum') {
    pos = locate(doc, lc, path);
    reason = `${e.instancePath} must be one of ${JSON.stringify((e.params as { allowedValues: unknown[] }).allowedValues)}`;
  } else {
    pos = locate(doc, lc, path);
  }
  return { file, line: pos.line, column: pos.column, reason };
}

/** Paths of numbers that are not finite, durations that parse to no finite number, and conditions whose threshold overflows. */
function nonFinite(v: unknown, path: string[] = []): string[][] {
  if (typeof v === 'number') return Number.isFinite(v) ? [] : [path];
  if (typeof v === 'string') {
    const last = path[path.length - 1];
    if ((last === 'window' || last === 'for' || last === 'catchUpDuration' || last === 'restartTime' || last === 'scaleDownInterval') && !Number.isFinite(parseDuration(v))) return [path];
    if (last === 'condition' && /^\D*-?[0-9]/.test(v) && !Number.isFinite(Number(v.replace(/^(>=|<=|==|!=|>|<)\s*/, '')))) return [path];
    return [];
  }
  if (v === null || typeof v !== 'object') return [];
  return Object.entries(v as Record<string, unknown>).flatMap(([k, x]) => nonFinite(x, [...path, k]));
}

/** Reads, parses and schema-checks one file. Never throws: problems come back as errors. */
function parseFile(file: string): ParsedFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { file, errors: [{ file, line: 0, column: 0, reason: `cannot read: ${(err as Error).message}` }] };
  }
  const parsed = parseYaml(text, { uniqueKeys: true });
  if (!parsed.ok) {
    return { file, errors: parsed.problems.map((e) => ({ file, line: e.line, column: e.column, reason: `YAML: ${e.message}` })) };
  }
  const { doc, lineCounter: lc } = parsed;
  const data = parsed.value ?? {};
  if (!validateFile(data)) {
    // ajv reports anyOf branches separately; keep one message per location.
    // At most MAX_ERRORS_PER_FILE are placed and listed: placing each of 10,000 unknown keys takes seconds.
    const seen = new Set<string>();
    const errors: RuleError[] = [];
    const all = validateFile.errors ?? [];
    let i = 0;
    for (; i < all.length && errors.length < MAX_ERRORS_PER_FILE; i++) {
      const re = ajvErrorToRuleError(file, doc, lc, all[i]!);
      const k = `${re.line}:${re.reason}`;
      if (!seen.has(k)) {
        seen.add(k);
        errors.push(re);
      }
    }
    if (i < all.length) errors.push({ ...errors[errors.length - 1]!, reason: `… and up to ${all.length - i} more problems in this file` });
    return { file, errors };
  }
  const raw = data as RawFile;
  const errors: RuleError[] = [];
  // Semantic checks the schema cannot express.
  for (const path of nonFinite(data)) {
    const pos = locate(doc, lc, path);
    errors.push({ file, ...pos, reason: `${path.join('.')} must be a finite number (a duration, threshold or parameter this large cannot be used)` });
  }
  for (const [id, d] of Object.entries(raw.detectors ?? {})) {
    if (!d.severity) continue;
    const t = d.severity.thresholds;
    const dir = d.severity.direction ?? 'higher';
    const ordered = t.every((v, i) => i === 0 || (dir === 'higher' ? v >= t[i - 1]! : v <= t[i - 1]!));
    if (!ordered) {
      const pos = locate(doc, lc, ['detectors', id, 'severity', 'thresholds']);
      errors.push({ file, ...pos, reason: `detectors.${id}.severity.thresholds must be ${dir === 'higher' ? 'ascending' : 'descending'} (direction: ${dir}), got [${t.join(', ')}]` });
    }
  }
  if (raw.planner) {
    const lo = raw.planner.utilizationLow as number | undefined;
    const hi = raw.planner.utilizationHigh as number | undefined;
    if (lo !== undefined && hi !== undefined && lo >= hi) {
      const pos = locate(doc, lc, ['planner', 'utilizationLow']);
      errors.push({ file, ...pos, reason: `planner.utilizationLow (${lo}) must be lower than utilizationHigh (${hi})` });
    }
  }
  const ids = new Set<string>();
  (raw.alerts ?? []).forEach((a, i) => {
    const id = String(a.id);
    if (ids.has(id)) {
      const pos = locate(doc, lc, ['alerts', String(i), 'id']);
      errors.push({ file, ...pos, reason: `duplicate alert id '${id}'` });
    }
    ids.add(id);
  });
  return { file, raw, doc, lc, errors };
}

/** The .yaml/.yml files of a folder, sorted by name. Throws INVALID_RULES when it cannot be listed. */
function ruleFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    throw new StreamtuneError('INVALID_RULES', `cannot read rules folder ${dir}: ${(err as Error).message}`, { cause: err, details: { dir } });
  }
  return names
    .filter((n) => /\.ya?ml$/.test(n))
    .sort()
    .map((n) => join(dir, n))
    .filter((f) => statSync(f).isFile());
}

function lineOf(p: ParsedFile, path: string[]): number {
  return p.doc && p.lc ? locate(p.doc, p.lc, path, true).line : 0;
}

function parseCondition(c: string): { op: AlertOp; threshold: number } {
  const m = /^(>=|<=|==|!=|>|<)\s*(-?[0-9]+(?:\.[0-9]+)?)$/.exec(c)!;
  return { op: m[1] as AlertOp, threshold: Number(m[2]) };
}

/** Merges parsed files (in order) into a RuleSet; later files override earlier ones by id. */
function merge(parsed: ParsedFile[], base?: RuleSet): RuleSet {
  const rs: RuleSet = base
    ? { detectors: { ...base.detectors }, alerts: [...base.alerts], planner: { ...base.planner }, files: [...base.files] }
    : { detectors: {}, alerts: [], planner: { ...DEFAULT_PLANNER }, files: [] };
  for (const p of parsed) {
    const raw = p.raw!;
    rs.files.push(p.file);
    if (raw.planner) {
      const pl = raw.planner;
      if (pl.targetUtilization !== undefined) rs.planner.targetUtilization = Number(pl.targetUtilization);
      if (pl.utilizationLow !== undefined) rs.planner.utilizationLow = Number(pl.utilizationLow);
      if (pl.utilizationHigh !== undefined) rs.planner.utilizationHigh = Number(pl.utilizationHigh);
      if (pl.catchUpDuration !== undefined) rs.planner.catchUpMs = parseDuration(pl.catchUpDuration);
      if (pl.restartTime !== undefined) rs.planner.restartMs = parseDuration(pl.restartTime);
      if (pl.alignmentOvershoot !== undefined) rs.planner.alignmentOvershoot = Number(pl.alignmentOvershoot);
      if (pl.maxScaleUpFactor !== undefined) rs.planner.maxScaleUpFactor = Number(pl.maxScaleUpFactor);
      if (pl.scaleDownInterval !== undefined) rs.planner.scaleDownIntervalMs = parseDuration(pl.scaleDownInterval);
      if (pl.maxScaleDownFactor !== undefined) rs.planner.maxScaleDownFactor = Number(pl.maxScaleDownFactor);
    }
    for (const [id, d] of Object.entries(raw.detectors ?? {})) {
      const prev = rs.detectors[id];
      const rule: DetectorRule = {
        id,
        enabled: d.enabled ?? prev?.enabled ?? true,
        help: d.help,
        severity: d.severity
          ? { thresholds: d.severity.thresholds as Thresholds, direction: d.severity.direction ?? 'higher' }
          : prev?.severity,
        params: { ...(prev?.params ?? {}), ...(d.params ?? {}) },
        origin: { file: p.file, line: lineOf(p, ['detectors', id]) },
      };
      rs.detectors[id] = rule;
    }
    (raw.alerts ?? []).forEach((a, i) => {
      const rule: AlertRule = {
        id: String(a.id),
        metric: String(a.metric),
        field: (a.field as string | undefined) ?? 'value',
        where: (a.where as Record<string, string> | undefined) ?? {},
        groupBy: (a.groupBy as string[] | undefined) ?? [],
        aggregate: (a.aggregate as AlertRule['aggregate'] | undefined) ?? 'sum',
        windowMs: parseDuration(a.window as number | string),
        condition: parseCondition(String(a.condition)),
        forMs: a.for === undefined ? 0 : parseDuration(a.for as number | string),
        severity: a.severity as AlertRule['severity'],
        help: String(a.help),
        origin: { file: p.file, line: lineOf(p, ['alerts', String(i)]) },
      };
      const at = rs.alerts.findIndex((x) => x.id === rule.id);
      if (at >= 0) rs.alerts[at] = rule;
      else rs.alerts.push(rule);
    });
  }
  return rs;
}

/** Formats errors as `FILE:LINE:COL reason` lines. */
export function formatRuleErrors(errors: readonly RuleError[]): string {
  return errors.map((e) => `${e.file}:${e.line}:${e.column} ${e.reason}`).join('\n');
}

/** Options of {@link loadRules}. */
export interface LoadRulesOptions {
  /** Start from the built-in rules (this folder) and apply `dir` on top. Default true. */
  extendBuiltin?: boolean;
}

/**
 * Checks the files of `dir` without building a RuleSet: every problem with file, line and reason
 * (an empty list when valid).
 */
export function checkRules(dir: string): RuleError[] {
  return ruleFiles(resolve(dir)).flatMap((f) => parseFile(f).errors);
}

/**
 * Loads the rule set from the YAML files in `dir` (sorted by name; later files override earlier
 * ones by id), on top of the built-in rules unless `extendBuiltin: false`.
 * Throws StreamtuneError INVALID_RULES whose message lists `FILE:LINE:COL reason` for every
 * problem and whose `details.errors` holds them as {@link RuleError}s (`details.file` and
 * `details.line`: the first one's).
 */
export function loadRules(dir: string = BUILTIN_RULES_DIR, opts: LoadRulesOptions = {}): RuleSet {
  const abs = resolve(dir);
  const builtinDir = resolve(BUILTIN_RULES_DIR);
  const dirs = opts.extendBuiltin === false || abs === builtinDir ? [abs] : [builtinDir, abs];
  let rs: RuleSet | undefined;
  for (const d of dirs) {
    const parsed = ruleFiles(d).map(parseFile);
    const errors = parsed.flatMap((p) => p.errors);
    if (errors.length > 0) {
      throw new StreamtuneError('INVALID_RULES', `invalid rules:\n${formatRuleErrors(errors)}`, { details: { errors, file: errors[0]!.file, line: errors[0]!.line } });
    }
    // Within one folder an id defined in two files is a mistake.
    const seen = new Map<string, string>();
    const dup: RuleError[] = [];
    for (const p of parsed) {
      for (const id of Object.keys(p.raw!.detectors ?? {})) {
        if (seen.has(`d:${id}`)) dup.push({ file: p.file, line: lineOf(p, ['detectors', id]), column: 1, reason: `detector '${id}' is also defined in ${seen.get(`d:${id}`)}` });
        seen.set(`d:${id}`, p.file);
      }
      (p.raw!.alerts ?? []).forEach((a, i) => {
        const id = String(a.id);
        if (seen.has(`a:${id}`)) dup.push({ file: p.file, line: lineOf(p, ['alerts', String(i), 'id']), column: 1, reason: `alert '${id}' is also defined in ${seen.get(`a:${id}`)}` });
        seen.set(`a:${id}`, p.file);
      });
    }
    if (dup.length > 0) throw new StreamtuneError('INVALID_RULES', `invalid rules:\n${formatRuleErrors(dup)}`, { details: { errors: dup, file: dup[0]!.file, line: dup[0]!.line } });
    rs = merge(parsed, rs);
  }
  return rs!;
}
