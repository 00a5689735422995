/**
 * What a "clear error" is, as assertions (issue 18, "Bad input"). Every malformed input must end in
 * one of these, and never in a crash, a hang or a stack trace shown to the user:
 *
 * - **In process** (a function given the input): it throws a `StreamtuneError` whose `code` is one of
 *   the input's codes (INVALID_SPEC, INVALID_RULES, INVALID_CONFIG, SAVEPOINT_CORRUPT,
 *   SAVEPOINT_MISSING, INVALID_ARGUMENT), whose message is non-empty, at most 64 KiB and has no stack
 *   frame (`    at fn (file:1:2)`), and whose `details` name where the problem is:
 *   - a text read from a file: `details.file` is that file and appears in the message, and
 *     `details.line` is a 1-based line within the text (+1, for "missing at the end") that appears in
 *     the message as `FILE:LINE`;
 *   - an object (a JSON body, an environment variable): `details.field` is a non-empty string
 *     (and `details.variable` the variable, for the environment);
 *   - `details.field`, when present, is a string; `details.line`, when present, an integer >= 1.
 * - **HTTP** (the API): status 400 with the body `{"error": {"code", "message", "field"}}`, `field` a
 *   non-empty string naming a parameter or body field of the request (the route's query and path
 *   parameters, a body field path, `body` for the body as a whole); or 404 (unknown id), 401/403
 *   (credentials), 409, 413 (too large), 415, 429 (rate limit) with the same error shape; never 5xx,
 *   and no stack frame anywhere in the body.
 * - **CLI** (a child process): exits with a non-zero code (2 for bad input) or 0, writes no stack
 *   frame to stderr or stdout, and every `error:`/`warning:` line names the file.
 */
import { StreamtuneError } from '../../../core/errors.ts';

/** A stack frame as V8 prints it: four spaces, `at `, then a function or location. */
export const STACK_FRAME = /^ {4}at \S/m;

/** What one malformed input led to. */
export type Outcome =
  /** the input was valid after all (a mutation can land on a valid document); `note` says why it is fine */
  | { kind: 'accepted'; note?: string }
  /** refused with a clear error */
  | { kind: 'rejected' }
  /** refused unclearly, crashed, or accepted something broken: `why` says what */
  | { kind: 'unclear'; why: string };

/** What a clear error must name for one kind of input. */
export interface ClearExpectation {
  /** allowed StreamtuneError codes */
  codes: readonly string[];
  /** the file the text was read from (or the source name it was given): must be `details.file` */
  file?: string;
  /** number of lines of the text: `details.line` must be present and within 1..lines + 1 */
  lines?: number;
  /** `details.field` must be a non-empty string */
  needField?: boolean;
  /** `details.variable` must be this environment variable */
  variable?: string;
}

/** Why `err` is not a clear error for `x`, or undefined when it is one. */
export function unclearReason(err: unknown, x: ClearExpectation): string | undefined {
  if (!(err instanceof StreamtuneError)) {
    const e = err as Error;
    return `threw ${e?.constructor?.name ?? typeof err} (not a StreamtuneError): ${String(e?.message ?? err).slice(0, 300)}`;
  }
  if (!x.codes.includes(err.code)) return `code ${err.code}, expected one of ${x.codes.join(', ')}: ${err.message.slice(0, 300)}`;
  const msg = err.message;
  if (!msg || msg.trim() === '') return 'empty message';
  if (msg.length > 65_536) return `message of ${msg.length} characters`;
  if (STACK_FRAME.test(msg)) return `stack frame in the message: ${msg.slice(0, 300)}`;
  const d = err.details ?? {};
  if (d.field !== undefined && typeof d.field !== 'string') return `details.field is ${typeof d.field}`;
  if (d.line !== undefined && !(Number.isInteger(d.line) && (d.line as number) >= 1)) return `details.line is ${String(d.line)}`;
  if (x.file !== undefined) {
    if (d.file !== x.file) return `details.file is ${JSON.stringify(d.file)}, expected ${JSON.stringify(x.file)}: ${msg.slice(0, 300)}`;
    if (!msg.includes(x.file)) return `the message does not name the file: ${msg.slice(0, 300)}`;
  }
  if (x.lines !== undefined) {
    if (d.line === undefined) return `no details.line: ${msg.slice(0, 300)}`;
    if ((d.line as number) > x.lines + 1) return `details.line ${String(d.line)} beyond the text's ${x.lines} lines`;
    if (x.file !== undefined && !msg.includes(`${x.file}:${String(d.line)}`)) return `the message does not say ${x.file}:${String(d.line)}: ${msg.slice(0, 300)}`;
  }
  if (x.needField && (typeof d.field !== 'string' || d.field === '')) return `no details.field: ${msg.slice(0, 300)}`;
  if (x.variable !== undefined && d.variable !== x.variable) return `details.variable is ${JSON.stringify(d.variable)}, expected ${x.variable}`;
  if (d.file === undefined && d.line === undefined && (d.field === undefined || d.field === '') && d.variable === undefined) return `names no file, line, field or variable: ${msg.slice(0, 300)}`;
  return undefined;
}

/** Runs `fn`: accepted when it returns (then `accept` may still find something broken), else the clear-error check. */
export function outcomeOf<T>(fn: () => T, x: ClearExpectation, accept?: (value: T) => string | undefined): Outcome {
  let value: T;
  try {
    value = fn();
  } catch (err) {
    const why = unclearReason(err, x);
    return why ? { kind: 'unclear', why } : { kind: 'rejected' };
  }
  const broken = accept?.(value);
  return broken ? { kind: 'unclear', why: `accepted, but ${broken}` } : { kind: 'accepted' };
}

/** {@link outcomeOf} for an async `fn`. */
export async function outcomeOfAsync<T>(fn: () => Promise<T>, x: ClearExpectation, accept?: (value: T) => string | undefined | Promise<string | undefined>): Promise<Outcome> {
  let value: T;
  try {
    value = await fn();
  } catch (err) {
    const why = unclearReason(err, x);
    return why ? { kind: 'unclear', why } : { kind: 'rejected' };
  }
  const broken = await accept?.(value);
  return broken ? { kind: 'unclear', why: `accepted, but ${broken}` } : { kind: 'accepted' };
}

/** The first number in `v` (deeply) that is not finite, as a path, or undefined. */
export function nonFinitePath(v: unknown, path = ''): string | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? undefined : path || '(root)';
  if (v === null || typeof v !== 'object') return undefined;
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    const p = nonFinitePath(x, path ? `${path}.${k}` : k);
    if (p !== undefined) return p;
  }
  return undefined;
}
