/**
 * InfluxDB line protocol: parsing into {@link MetricPoint}s and encoding them back.
 *
 * Syntax (InfluxDB 1.x/2.x "Line protocol reference"):
 * `measurement[,tag_key=tag_value...] field_key=field_value[,field_key=field_value...] [timestamp]`
 * - measurement: `\,` `\ ` (and, leniently, `\=`) are escapes;
 * - tag keys, tag values, field keys: `\,` `\=` `\ ` are escapes;
 * - string field values are double-quoted, with `\"` and `\\` escapes; they may span lines;
 * - `123i` is an integer (`123u` unsigned, read as an integer), `1.5`/`1e3`/`7` floats,
 *   `t T true True TRUE f F false False FALSE` booleans;
 * - the timestamp is an integer in the write precision (ns by default); points carry ms.
 * Blank lines and lines starting with `#` are skipped. A backslash before any other character is
 * kept literally.
 */
import type { FieldValue, MetricPoint } from './points.ts';

/** Timestamp precision of line protocol text. */
export type Precision = 'ns' | 'us' | 'ms' | 's';

/** Options of {@link parseLineProtocol}. */
export interface ParseOptions {
  /** Name of the input (file name, URL) put in front of error messages. Default none. */
  source?: string;
  /** Precision of the timestamps in the text. Default 'ns' (what Flink's reporter writes). */
  precision?: Precision;
  /** Timestamp (ms) given to lines without one. Default `Date.now()` at the call. */
  now?: number;
}

/** Result of {@link parseLineProtocol}: the good points and one error per rejected line. */
export interface ParseResult {
  points: MetricPoint[];
  /** `line` is the 1-based line number where the rejected entry starts. */
  errors: Array<{ line: number; message: string }>;
}

class LineError extends Error {}

/** A value for an error message: at most 60 characters (a line can be megabytes). */
function short(v: string): string {
  return v.length > 60 ? `${v.slice(0, 60)}…(${v.length} chars)` : v;
}

const BOOL_TRUE = new Set(['t', 'T', 'true', 'True', 'TRUE']);
const BOOL_FALSE = new Set(['f', 'F', 'false', 'False', 'FALSE']);
const FLOAT_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INT_RE = /^[+-]?\d+[iu]$/;
const TS_RE = /^-?\d+$/;

const DIVISOR: Record<Precision, bigint> = { ns: 1_000_000n, us: 1_000n, ms: 1n, s: 1n };

function toMs(ts: string, precision: Precision): number {
  const n = BigInt(ts);
  if (precision === 's') return Number(n * 1000n);
  const d = DIVISOR[precision];
  // floor division also for negative timestamps
  const q = n / d;
  return Number(n < 0n && q * d !== n ? q - 1n : q);
}

/**
 * Parses line protocol text. Bad lines are rejected with their line number and the reason; the
 * other lines are kept. Never throws.
 *
 * @param text line protocol, lines separated by `\n` (a trailing `\r` is ignored)
 * @returns points (timestamps in ms, integer fields listed in `intFields`) and errors
 */
export function parseLineProtocol(text: string, opts: ParseOptions = {}): ParseResult {
  const precision = opts.precision ?? 'ns';
  const now = opts.now ?? Date.now();
  const prefix = opts.source ? `${opts.source}: ` : '';
  const points: MetricPoint[] = [];
  const errors: ParseResult['errors'] = [];
  const len = text.length;
  let pos = 0;
  let line = 1;

  while (pos < len) {
    const startLine = line;
    // skip leading whitespace of the line (not newlines)
    while (pos < len && (text[pos] === ' ' || text[pos] === '\t' || text[pos] === '\r')) pos++;
    if (pos >= len) break;
    if (text[pos] === '\n') {
      pos++;
      line++;
      continue;
    }
    if (text[pos] === '#') {
      while (pos < len && text[pos] !== '\n') pos++;
      continue;
    }
    try {
      // measurement
      let measurement = '';
      while (pos < len) {
        const c = text[pos]!;
        if (c === '\\' && pos + 1 < len && (text[pos + 1] === ',' || text[pos + 1] === ' ' || text[pos + 1] === '=' || text[pos + 1] === '\\')) {
          measurement += text[pos + 1];
          pos += 2;
          continue;
        }
        if (c === ',' || c === ' ' || c === '\n') break;
        measurement += c;
        pos++;
      }
      if (!measurement) throw new LineError('missing measurement');
      const tags: Record<string, string> = {};
      // tags
      while (pos < len && text[pos] === ',') {
        pos++;
        const key = readKey(text, pos);
        pos = key.end;
        if (!key.value) throw new LineError('empty tag key');
        if (text[pos] !== '=') throw new LineError(`tag "${short(key.value)}" has no '='`);
        pos++;
        const val = readKey(text, pos);
        pos = val.end;
        if (!val.value) throw new LineError(`tag "${short(key.value)}" has an empty value`);
        tags[key.value] = val.value;
      }
      if (text[pos] !== ' ') throw new LineError('missing fields');
      while (text[pos] === ' ') pos++;
      // fields
      const fields: Record<string, FieldValue> = {};
      const intFields: string[] = [];
      for (;;) {
        const key = readKey(text, pos);
        pos = key.end;
        if (!key.value) throw new LineError('empty field key');
        if (text[pos] !== '=') throw new LineError(`field "${short(key.value)}" has no '='`);
        pos++;
        if (text[pos] === '"') {
          pos++;
          let s = '';
          let closed = false;
          while (pos < len) {
            const c = text[pos]!;
            if (c === '\\' && pos + 1 < len && (text[pos + 1] === '"' || text[pos + 1] === '\\')) {
              s += text[pos + 1];
              pos += 2;
              continue;
            }
            if (c === '"') {
              closed = true;
              pos++;
              break;
            }
            if (c === '\n') line++;
            s += c;
            pos++;
          }
          if (!closed) throw new LineError(`unterminated string in field "${short(key.value)}"`);
          fields[key.value] = s;
        } else {
          let raw = '';
          while (pos < len && text[pos] !== ',' && text[pos] !== ' ' && text[pos] !== '\n' && text[pos] !== '\r') raw += text[pos++];
          if (!raw) throw new LineError(`field "${short(key.value)}" has no value`);
          if (INT_RE.test(raw)) {
            const n = Number(raw.slice(0, -1));
            if (!Number.isSafeInteger(n)) throw new LineError(`integer field "${short(key.value)}" out of range: ${short(raw)}`);
            if (raw.endsWith('u') && n < 0) throw new LineError(`unsigned field "${short(key.value)}" is negative: ${short(raw)}`);
            fields[key.value] = n;
            intFields.push(key.value);
          } else if (BOOL_TRUE.has(raw)) fields[key.value] = true;
          else if (BOOL_FALSE.has(raw)) fields[key.value] = false;
          else if (FLOAT_RE.test(raw)) {
            const n = Number(raw);
            if (!Number.isFinite(n)) throw new LineError(`float field "${short(key.value)}" is not finite: ${short(raw)}`);
            fields[key.value] = n;
          } else throw new LineError(`field "${short(key.value)}" has an invalid value: ${short(raw)}`);
        }
        if (text[pos] === ',') {
          pos++;
          continue;
        }
        break;
      }
      // timestamp
      while (text[pos] === ' ') pos++;
      let ts = '';
      while (pos < len && text[pos] !== '\n' && text[pos] !== ' ' && text[pos] !== '\r') ts += text[pos++];
      while (pos < len && (text[pos] === ' ' || text[pos] === '\r')) pos++;
      if (pos < len && text[pos] !== '\n') throw new LineError('unexpected text after the timestamp');
      let timestamp = now;
      if (ts) {
        if (!TS_RE.test(ts)) throw new LineError(`invalid timestamp: ${short(ts)}`);
        timestamp = toMs(ts, precision);
        if (!Number.isSafeInteger(timestamp)) throw new LineError(`timestamp out of range: ${short(ts)}`);
      }
      const point: MetricPoint = { measurement, tags, fields, timestamp };
      if (intFields.length) point.intFields = intFields;
      points.push(point);
    } catch (err) {
      if (!(err instanceof LineError)) throw err;
      errors.push({ line: startLine, message: `${prefix}line ${startLine}: ${err.message}` });
      while (pos < len && text[pos] !== '\n') pos++;
    }
    if (pos < len && text[pos] === '\n') {
      pos++;
      line++;
    }
  }
  return { points, errors };
}

/** Reads a tag key, tag value or field key: stops at an unescaped ',', '=', ' ' or a newline. */
function readKey(text: string, start: number): { value: string; end: number } {
  let pos = start;
  let value = '';
  while (pos < text.length) {
    const c = text[pos]!;
    if (c === '\\' && pos + 1 < text.length) {
      const n = text[pos + 1]!;
      if (n === ',' || n === '=' || n === ' ' || n === '\\') {
        value += n;
        pos += 2;
        continue;
      }
    }
    if (c === ',' || c === '=' || c === ' ' || c === '\n') break;
    value += c;
    pos++;
  }
  return { value, end: pos };
}

const escMeasurement = (s: string): string => s.replace(/[\\, ]/g, (c) => '\\' + c).replace(/\n/g, ' ');
const escKey = (s: string): string => s.replace(/[\\,= ]/g, (c) => '\\' + c).replace(/\n/g, ' ');
const escString = (s: string): string => s.replace(/[\\"]/g, (c) => '\\' + c);

function formatFloat(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return `${n}.0`;
  return String(n);
}

function formatTimestamp(ms: number, precision: Precision): string {
  const t = Math.trunc(ms);
  switch (precision) {
    case 'ns':
      return t === 0 ? '0' : `${t}000000`;
    case 'us':
      return t === 0 ? '0' : `${t}000`;
    case 'ms':
      return String(t);
    case 's':
      return String(Math.floor(t / 1000));
  }
}

/** Encodes one point as one line, or '' when it has no encodable field. See {@link toLineProtocol}. */
export function pointToLine(p: MetricPoint, precision: Precision = 'ns'): string {
  const ints = p.intFields;
  const fieldParts: string[] = [];
  for (const key of Object.keys(p.fields).sort()) {
    const v = p.fields[key];
    let enc: string;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) continue;
      enc = ints && ints.includes(key) ? `${Math.trunc(v)}i` : formatFloat(v);
    } else if (typeof v === 'boolean') enc = v ? 'true' : 'false';
    else if (typeof v === 'string') enc = `"${escString(v)}"`;
    else continue;
    fieldParts.push(`${escKey(key)}=${enc}`);
  }
  if (!fieldParts.length) return '';
  let head = escMeasurement(p.measurement);
  for (const key of Object.keys(p.tags).sort()) {
    const v = p.tags[key];
    if (v === undefined || v === '') continue;
    head += `,${escKey(key)}=${escKey(v)}`;
  }
  return `${head} ${fieldParts.join(',')} ${formatTimestamp(p.timestamp, precision)}`;
}

/**
 * Encodes points as line protocol, one line each, `\n`-separated with a trailing newline, in the
 * way Flink's reporter (influxdb-java) writes them: tags and fields in sorted key order, empty tag
 * values dropped, NaN/±Infinity fields dropped (a point left without fields is left out), floats
 * with at least one decimal (`734.0`), fields named in `intFields` as `123i` (truncated), booleans
 * as `true`/`false`, strings quoted with `\"` and `\\` escapes. Newlines in names become spaces.
 *
 * @param precision unit of the written timestamps; default 'ns'
 */
export function toLineProtocol(points: readonly MetricPoint[], precision: Precision = 'ns'): string {
  let out = '';
  for (const p of points) {
    const l = pointToLine(p, precision);
    if (l) out += l + '\n';
  }
  return out;
}
