/**
 * Malformed InfluxDB line protocol, as `streamtune diagnose --metrics FILE` reads it: made from the
 * Flink reporter fixtures (test/fixtures/flink/*.lp) by cutting, inserting and replacing characters,
 * from lines built of broken parts (empty or escaped names, unterminated strings, bad numbers,
 * out-of-range integers and timestamps), and from garbage. `parseLineProtocol` never throws: a bad
 * line is an error naming the source and its line (`FILE: line N: reason`, N within the text), the
 * good lines are kept; a point it returns has a measurement, finite numbers and a safe-integer time.
 */
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { parseLineProtocol } from '../../../../core/line-protocol.ts';
import { STACK_FRAME, type Outcome } from '../clear.ts';
import { garbageText, lineCount, preview, textMutation } from '../mutate.ts';
import type { BadInputKind } from './types.ts';

/** Lines of the Flink InfluxDB reporter fixtures. */
export function baseLines(): string[] {
  const dir = new URL('../../../fixtures/flink/', import.meta.url);
  return ['influxdb-reporter-sample.lp', 'influxdb-reporter-handmade.lp']
    .flatMap((f) => readFileSync(new URL(f, dir), 'utf8').split('\n'))
    .filter((l) => l.trim() !== '' && !l.startsWith('#'));
}

const part = {
  name: fc.oneof(fc.constantFrom('m', 'cpu', 'taskmanager_job_task_busyTimeMsPerSecond', '', ' ', ',', '=', 'a\\', 'a\\ b', 'a\\,b', '"q"', '#m', 'ü', '\u0000', '\t'), fc.string({ maxLength: 6 })),
  value: fc.oneof(
    fc.constantFrom('1', '1.5', '-0', '1e3', '1e999', '-1e999', 'NaN', 'inf', '1i', '-1i', '1u', '-1u', '9223372036854775807i', '99999999999999999999i', 't', 'TRUE', 'tru', 'f', '"s"', '"unterminated', '"a\\"b"', '""', '"multi\nline"', '.', '+', '-', '0x10', '1_000', '1.2.3', ''),
    fc.double().map(String),
    fc.integer().map((n) => `${n}i`),
    fc.string({ maxLength: 5 }),
  ),
  ts: fc.oneof(fc.constantFrom('', '0', '-1', '1796672042470000000', '17966720424700000000000', '9'.repeat(30), '1.5', 'now', '1e18', '-9223372036854775808'), fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String)),
};

/** One line built of (often broken) parts. */
const builtLine = fc
  .tuple(part.name, fc.array(fc.tuple(part.name, part.name), { maxLength: 3 }), fc.array(fc.tuple(part.name, part.value), { maxLength: 3 }), part.ts, fc.constantFrom(' ', '  ', '\t', ''))
  .map(([m, tags, fields, ts, sep]) => `${m}${tags.map(([k, v]) => `,${k}=${v}`).join('')}${sep}${fields.map(([k, v]) => `${k}=${v}`).join(',')}${ts ? ` ${ts}` : ''}`);

/** Malformed line protocol text (several lines, good and bad mixed). */
export function lineProtocolArbitrary(lines: string[] = baseLines()): fc.Arbitrary<string> {
  const good = fc.constantFrom(...lines);
  return fc.oneof(
    { weight: 3, arbitrary: fc.array(fc.oneof(good, good.chain((l) => textMutation(l, 2)), builtLine), { minLength: 1, maxLength: 12 }).map((ls) => ls.join('\n')) },
    { weight: 2, arbitrary: fc.array(good, { minLength: 1, maxLength: 12 }).chain((ls) => textMutation(ls.join('\n'), 4)) },
    { weight: 1, arbitrary: garbageText },
    { weight: 1, arbitrary: fc.constantFrom(`m f=1 ${'9'.repeat(100_000)}`, `m,${'k=v,'.repeat(20_000)}k=v f=1`, `m f="${'x'.repeat(200_000)}`, '\n'.repeat(50_000), `${'m f=1\r\n'.repeat(20_000)}`) },
  );
}

/** Line protocol text fed to parseLineProtocol. */
export const lineProtocolKind: BadInputKind<string> = {
  title: 'InfluxDB line protocol',
  fedTo: '`parseLineProtocol(text, {source})` (core/line-protocol.ts), what `streamtune diagnose --metrics` reads',
  arbitrary: lineProtocolArbitrary(),
  check(text): Outcome {
    const source = 'bad.lp';
    let r: ReturnType<typeof parseLineProtocol>;
    try {
      r = parseLineProtocol(text, { source, now: 1_700_000_000_000 });
    } catch (err) {
      return { kind: 'unclear', why: `threw ${(err as Error)?.constructor?.name}: ${String((err as Error)?.message).slice(0, 300)}` };
    }
    const lines = lineCount(text);
    for (const e of r.errors) {
      if (!(Number.isInteger(e.line) && e.line >= 1 && e.line <= lines)) return { kind: 'unclear', why: `error on line ${e.line} of a ${lines}-line text: ${e.message.slice(0, 200)}` };
      if (!e.message.startsWith(`${source}: line ${e.line}: `)) return { kind: 'unclear', why: `message does not name the file and line: ${e.message.slice(0, 200)}` };
      if (STACK_FRAME.test(e.message) || e.message.length > 2000) return { kind: 'unclear', why: `message too long or with a stack frame: ${e.message.slice(0, 200)}` };
    }
    for (const p of r.points) {
      if (!p.measurement) return { kind: 'unclear', why: 'a point without a measurement was kept' };
      if (!Number.isSafeInteger(p.timestamp)) return { kind: 'unclear', why: `a point with timestamp ${p.timestamp} was kept` };
      for (const [k, v] of Object.entries(p.fields)) if (typeof v === 'number' && !Number.isFinite(v)) return { kind: 'unclear', why: `field ${k} = ${v} was kept` };
      if (Object.keys(p.fields).length === 0) return { kind: 'unclear', why: 'a point without fields was kept' };
    }
    return r.errors.length > 0 ? { kind: 'rejected' } : { kind: 'accepted' };
  },
  preview: (t) => preview(t),
};
