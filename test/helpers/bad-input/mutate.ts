/**
 * Malformed inputs made from valid ones, with fast-check arbitraries:
 * - {@link treeMutation}: a document parsed to plain data with 1–4 changes at random places (a field
 *   removed, renamed or added, a value replaced by one of the wrong type or out of range, a list
 *   emptied or an element duplicated), then written back as YAML or JSON text;
 * - {@link textMutation}: the text itself cut off, with characters or YAML punctuation inserted,
 *   a range deleted, a line duplicated, swapped or re-indented, a byte replaced;
 * - {@link garbageText}: text unrelated to any document (random strings of any Unicode, random
 *   JSON values, binary);
 * - {@link YAML_ATTACKS}: hand-written documents that trip parsers (alias bombs, unresolved aliases,
 *   nesting deeper than the stack, several documents, tags, `__proto__`, collection keys, BOMs, NULs).
 * Shrinking works on the choices (which node, which change), so a failure shrinks to a small edit.
 */
import fc from 'fast-check';
import { stringify as yamlStringify } from 'yaml';

/** Plain data as JSON or YAML holds it. */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Values that are wrong in many places: wrong types, edges of ranges, strings that look like code or paths. */
export const weirdValue: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom<Json>(null, true, false, 0, -1, 1, 0.5, -0.000001, 1e21, 2 ** 31, 2 ** 53 + 1, -(2 ** 31), 32769, 1e308, -1e308),
  fc.constantFrom<Json>('', ' ', '0', '-1', '1e999', '9'.repeat(400), `${'9'.repeat(40)}s`, `${'9'.repeat(400)}d`, 'NaN', '.inf', '-.inf', '10x', '1.5.5s', 'now', '__proto__', 'constructor',
    '../../../etc/passwd', '/dev/zero', 'C:\\\\x', '\u0000', '\uFEFF', '\u202E', 'a\nb', '${HOME}', '%s%n', '{{x}}', "'; DROP TABLE x; --", '<script>alert(1)</script>', 'x'.repeat(5000), '🙂'.repeat(50)),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.array(fc.oneof(fc.integer(), fc.string({ maxLength: 5 }), fc.constant(null)), { maxLength: 4 }),
  fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(fc.integer(), fc.string({ maxLength: 5 }), fc.boolean()), { maxKeys: 3 }),
);

/** One change to a tree: which node (an index into its paths, taken modulo) and what to do there. */
interface TreeEdit {
  pick: number;
  op: 'delete' | 'replace' | 'add-key' | 'rename-key' | 'wrap-in-list' | 'to-string' | 'negate' | 'empty' | 'duplicate';
  value: Json;
  key: string;
}

const treeEdit: fc.Arbitrary<TreeEdit> = fc.record({
  pick: fc.nat(),
  op: fc.constantFrom('delete', 'replace', 'replace', 'replace', 'add-key', 'rename-key', 'wrap-in-list', 'to-string', 'negate', 'empty', 'duplicate'),
  value: weirdValue,
  key: fc.oneof(fc.constantFrom('name', 'type', 'id', 'parallelism', '__proto__', 'constructor', '', ' ', 'x.y', 'a/b', '~1'), fc.string({ maxLength: 10 })),
});

/** Every path in `t` (the root is `[]`). */
function paths(t: Json, at: Array<string | number> = [], out: Array<Array<string | number>> = []): Array<Array<string | number>> {
  out.push(at);
  if (ArrayBuffer.isView(t)) return out; // typed arrays (savepoint state columns) are leaves
  if (Array.isArray(t)) t.forEach((x, i) => paths(x, [...at, i], out));
  else if (t !== null && typeof t === 'object') for (const [k, x] of Object.entries(t)) paths(x, [...at, k], out);
  return out;
}

function setAt(root: Json, path: Array<string | number>, f: (parent: Json[] | Record<string, Json>, key: string | number) => void): Json {
  if (path.length === 0) return root;
  let node = root as Json[] | Record<string, Json>;
  for (const seg of path.slice(0, -1)) node = (node as Record<string, Json>)[seg as string] as Json[] | Record<string, Json>;
  f(node, path[path.length - 1]!);
  return root;
}

/** Applies one edit to a copy of `tree`. */
export function applyEdit(tree: Json, e: TreeEdit): Json {
  const t = structuredClone(tree);
  const all = paths(t);
  const path = all[e.pick % all.length]!;
  if (path.length === 0) {
    if (e.op === 'replace') return e.value;
    if (e.op === 'wrap-in-list') return [t];
    if (e.op === 'add-key' && t !== null && typeof t === 'object' && !Array.isArray(t)) return { ...t, [e.key]: e.value };
    return e.op === 'empty' ? (Array.isArray(t) ? [] : {}) : t;
  }
  return setAt(t, path, (parent, key) => {
    const cur = (parent as Record<string | number, Json>)[key]!;
    const put = (v: Json) => ((parent as Record<string | number, Json>)[key] = v);
    switch (e.op) {
      case 'delete':
        if (Array.isArray(parent)) parent.splice(key as number, 1);
        else delete parent[key as string];
        break;
      case 'replace':
        put(e.value);
        break;
      case 'add-key':
        if (cur !== null && typeof cur === 'object' && !Array.isArray(cur)) Object.defineProperty(cur, e.key, { value: e.value, enumerable: true, writable: true, configurable: true });
        else put(e.value);
        break;
      case 'rename-key':
        if (!Array.isArray(parent)) {
          delete parent[key as string];
          Object.defineProperty(parent, `${String(key)}${e.key || 'x'}`, { value: cur, enumerable: true, writable: true, configurable: true });
        } else put(e.value);
        break;
      case 'wrap-in-list':
        put([cur]);
        break;
      case 'to-string':
        put(typeof cur === 'string' ? Number(cur.length) : JSON.stringify(cur));
        break;
      case 'negate':
        put(typeof cur === 'number' ? -cur - 1 : typeof cur === 'boolean' ? String(cur) : typeof cur === 'string' ? `-${cur}` : null);
        break;
      case 'empty':
        put(Array.isArray(cur) ? [] : cur !== null && typeof cur === 'object' ? {} : '');
        break;
      case 'duplicate':
        if (Array.isArray(parent)) parent.splice(key as number, 0, structuredClone(cur));
        else put(Array.isArray(cur) ? [...cur, ...structuredClone(cur)] : cur);
        break;
    }
  });
}

/** `base` with 1–`max` edits (see {@link TreeEdit}). */
export function treeMutation(base: Json, max = 4): fc.Arbitrary<Json> {
  return fc.array(treeEdit, { minLength: 1, maxLength: max }).map((edits) => edits.reduce(applyEdit, base));
}

/** How a tree is written back as text. */
export const TEXT_FORMATS = ['yaml', 'yaml-flow', 'json', 'json-compact'] as const;

/** Writes `t` as text in `format` (YAML block or flow style, JSON pretty or compact). */
export function writeTree(t: Json, format: (typeof TEXT_FORMATS)[number]): string {
  switch (format) {
    case 'yaml':
      return yamlStringify(t, { aliasDuplicateObjects: false });
    case 'yaml-flow':
      return yamlStringify(t, { aliasDuplicateObjects: false, collectionStyle: 'flow' });
    case 'json':
      return JSON.stringify(t, null, 2) ?? 'null';
    case 'json-compact':
      return JSON.stringify(t) ?? 'null';
  }
}

/** YAML punctuation and characters that break parsers. */
const YAML_BITS = [':', ': ', '- ', '-', '[', ']', '{', '}', ',', '"', "'", '\t', '&a ', '*a', '*', '!!binary ', '!!js/function ', '!foo ', '%YAML 1.2\n', '---\n', '\n...\n', '#', '|', '>', '\\', '\u0000', '\uFEFF', '\r', '\n', '  ', '? ', '@', '`', '<<: *a\n', '\u2028', '\ud800'];

/** One change to a text. */
const textEdit = fc.oneof(
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), s: fc.oneof(fc.constantFrom(...YAML_BITS), fc.string({ maxLength: 8 }), fc.string({ unit: 'binary', maxLength: 4 })) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ op: fc.constant('dup-line' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('swap-lines' as const), at: fc.nat(), other: fc.nat() }),
  fc.record({ op: fc.constant('indent' as const), at: fc.nat(), by: fc.integer({ min: -4, max: 5 }) }),
  fc.record({ op: fc.constant('replace-char' as const), at: fc.nat(), c: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) }),
);

type TextEdit = typeof textEdit extends fc.Arbitrary<infer T> ? T : never;

function applyTextEdit(text: string, e: TextEdit): string {
  const len = text.length;
  const at = len === 0 ? 0 : e.at % (len + 1);
  switch (e.op) {
    case 'truncate':
      return text.slice(0, at);
    case 'insert':
      return text.slice(0, at) + e.s + text.slice(at);
    case 'delete':
      return text.slice(0, at) + text.slice(at + e.n);
    case 'replace-char':
      return text.slice(0, at) + e.c + text.slice(at + 1);
    default: {
      const lines = text.split('\n');
      const i = e.at % lines.length;
      if (e.op === 'dup-line') lines.splice(i, 0, lines[i]!);
      else if (e.op === 'swap-lines') {
        const j = e.other % lines.length;
        [lines[i], lines[j]] = [lines[j]!, lines[i]!];
      } else lines[i] = e.by >= 0 ? ' '.repeat(e.by) + lines[i] : lines[i]!.replace(new RegExp(`^ {0,${-e.by}}`), '');
      return lines.join('\n');
    }
  }
}

/** `base` with 1–`max` text edits. */
export function textMutation(base: string, max = 3): fc.Arbitrary<string> {
  return fc.array(textEdit, { minLength: 1, maxLength: max }).map((edits) => edits.reduce(applyTextEdit, base));
}

/** Text unrelated to any valid document. */
export const garbageText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v) ?? 'null'),
  fc.jsonValue({ maxDepth: 4 }).map((v) => yamlStringify(v)),
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('latin1')),
);

/** Documents that trip YAML parsers, each with the name of the trick. */
export const YAML_ATTACKS: ReadonlyArray<[string, string]> = [
  ['alias bomb', 'a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n'],
  ['unresolved alias', 'name: *nowhere\n'],
  ['alias before anchor', 'a: *x\nb: &x 1\n'],
  ['merge key of a scalar', 'a: &a 1\nb:\n  <<: *a\n'],
  ['flow nesting 20,000 deep', `${'['.repeat(20_000)}${']'.repeat(20_000)}`],
  ['block nesting 2,000 deep', Array.from({ length: 2000 }, (_, i) => `${' '.repeat(i)}a:`).join('\n')],
  ['two documents', 'name: a\n---\nname: b\n'],
  ['directive only', '%YAML 1.2\n---\n'],
  ['unknown tag', 'name: !foo bar\n'],
  ['binary tag', 'name: !!binary aGVsbG8=\n'],
  ['set tag', 'name: !!set {a, b}\n'],
  ['__proto__ key', '__proto__: {polluted: yes}\nname: x\n'],
  ['constructor key', 'constructor: {prototype: {polluted: yes}}\n'],
  ['collection as key', '? [a, b]\n: c\n'],
  ['duplicate keys', 'name: a\nname: b\n'],
  ['BOM then tab indent', '\uFEFFname: x\n\tvertices: []\n'],
  ['NUL in a key', 'na\u0000me: x\n'],
  ['lone surrogate', 'name: "\ud800"\n'],
  ['only a comment', '# nothing\n'],
  ['only whitespace', '   \n\n  \n'],
  ['empty', ''],
  ['a scalar', 'hello'],
  ['a list', '- a\n- b\n'],
  ['a number', '42'],
  ['null', 'null'],
  ['huge integer', `name: x\nport: ${'9'.repeat(400)}\n`],
  ['infinity', 'x: .inf\ny: -.inf\nz: .nan\n'],
  ['10,000 keys', Array.from({ length: 10_000 }, (_, i) => `k${i}: ${i}`).join('\n')],
  ['long line', `name: ${'x'.repeat(200_000)}\n`],
  ['CRLF and CR', 'name: x\r\nvertices: []\redges: []\r\n'],
];

/** One of {@link YAML_ATTACKS}, optionally put under a key of a valid document or appended to it. */
export function yamlAttack(base: string): fc.Arbitrary<string> {
  return fc.tuple(fc.constantFrom(...YAML_ATTACKS), fc.constantFrom('alone', 'appended', 'prepended')).map(([[, text], where]) =>
    where === 'alone' ? text : where === 'appended' ? `${base}\n${text}` : `${text}\n${base}`,
  );
}

/** Number of lines of `text` (as the parsers count: `\n`, `\r\n` and lone `\r`). */
export function lineCount(text: string): number {
  return text.split(/\r\n|\r|\n/).length;
}

/** The first `n` characters of `s` with control characters escaped, for reports. */
export function preview(s: string, n = 300): string {
  const j = JSON.stringify(s.length > n ? `${s.slice(0, n)}…(${s.length} chars)` : s);
  return j.slice(1, -1);
}
