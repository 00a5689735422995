/**
 * Reading YAML that users write (job specs, rule files, the server config) with the `yaml` package,
 * so that every problem comes back with a 1-based line instead of escaping as an exception.
 *
 * `yaml`'s `parseDocument` collects syntax errors in `doc.errors`, but converting the document to
 * plain data (`toJS`) can still throw: an alias whose anchor is not set yet (`ReferenceError:
 * Unresolved alias`), more alias expansions than `maxAliasCount` (100; the "billion laughs" attack,
 * `ReferenceError: Excessive alias count`), or nesting deeper than the call stack (`RangeError`). Those
 * are returned here as problems like the syntax errors. Warnings (`yaml` writes them with
 * `process.emitWarning`, e.g. for a mapping key that is itself a collection) are silenced: the
 * callers' schemas report what matters.
 */
import { isAlias, isScalar, LineCounter, parseDocument, visit, type Document } from 'yaml';

/** Where and what one problem of a YAML text is. `line` and `column` are 1-based. */
export interface YamlProblem {
  line: number;
  column: number;
  /** one line, e.g. 'Unresolved alias (the anchor must be set before the alias): x' */
  message: string;
}

/** A parsed YAML text: the document (for node ranges), its line counter and the plain data. */
export interface YamlParsed {
  ok: true;
  doc: Document.Parsed;
  lineCounter: LineCounter;
  /** the document as plain data (`doc.toJS()`); null for an empty text */
  value: unknown;
}

/** Syntax errors returned at most (a binary file can have thousands). */
export const MAX_PROBLEMS = 20;

/** Options of {@link parseYaml}. */
export interface ParseYamlOptions {
  /** A key repeated in one mapping is an error. Default true (yaml's default). */
  uniqueKeys?: boolean;
  /** Alias expansions allowed while converting to plain data. Default 100 (yaml's default). */
  maxAliasCount?: number;
}

/**
 * Parses `text` and converts it to plain data. Never throws: syntax errors and conversion failures
 * come back as `{ ok: false, problems }`, each with its line (the first alias for alias problems,
 * line 1 when no node can be placed).
 */
export function parseYaml(text: string, opts: ParseYamlOptions = {}): YamlParsed | { ok: false; problems: YamlProblem[] } {
  const lineCounter = new LineCounter();
  const at = (offset: number): { line: number; column: number } => {
    const p = lineCounter.linePos(offset);
    return { line: Math.max(1, p.line), column: Math.max(1, p.col) };
  };
  let doc: Document.Parsed;
  try {
    // yaml's own uniqueKeys check compares each key with every earlier one (10,000 keys: 4 s,
    // 50,000: 110 s); duplicates are found below with a Set instead
    doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false, logLevel: 'error' });
  } catch (err) {
    return { ok: false, problems: [{ line: 1, column: 1, message: oneLine(err) }] };
  }
  if (doc.errors.length > 0) {
    return { ok: false, problems: doc.errors.slice(0, MAX_PROBLEMS).map((e) => ({ ...at(e.pos[0]), message: oneLine(e) })) };
  }
  if (opts.uniqueKeys ?? true) {
    const dup = firstDuplicateKey(doc);
    if (dup) return { ok: false, problems: [{ ...at(dup.offset), message: `Map keys must be unique: '${dup.key.length > 80 ? `${dup.key.slice(0, 80)}…` : dup.key}' appears twice` }] };
  }
  try {
    const value = doc.toJS({ maxAliasCount: opts.maxAliasCount ?? 100 }) as unknown;
    return { ok: true, doc, lineCounter, value: value === undefined ? null : value };
  } catch (err) {
    let offset = 0;
    try {
      visit(doc, {
        Alias(_k, node) {
          if (isAlias(node) && node.range) {
            offset = node.range[0];
            return visit.BREAK;
          }
          return undefined;
        },
      });
    } catch {
      offset = 0; // as deep as toJS: no place to point at
    }
    const message = err instanceof RangeError ? 'nesting too deep' : oneLine(err);
    return { ok: false, problems: [{ ...at(offset), message }] };
  }
}

/** The first key repeated within one mapping (scalar keys compared by value, others by their text), in O(keys). */
function firstDuplicateKey(doc: Document.Parsed): { key: string; offset: number } | undefined {
  let found: { key: string; offset: number } | undefined;
  try {
    visit(doc, {
      Map(_k, map) {
        const seen = new Set<string>();
        for (const pair of map.items) {
          const k = pair.key;
          const key = isScalar(k) ? String(k.value) : String(k);
          if (seen.has(key)) {
            found = { key, offset: (k as { range?: [number, number, number] } | null)?.range?.[0] ?? 0 };
            return visit.BREAK;
          }
          seen.add(key);
        }
        return undefined;
      },
    });
  } catch {
    return undefined; // nesting too deep to walk: toJS reports it
  }
  return found;
}

function oneLine(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  return (m.split('\n')[0] ?? '').trim() || 'invalid YAML';
}
