import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseLineProtocol, toLineProtocol } from '../core/line-protocol.ts';
import { FLINK_REPORTER_SAMPLE } from './helpers/fixtures.ts';

const SAMPLE = FLINK_REPORTER_SAMPLE;

test('parses escaped measurement, tag keys/values and field keys', () => {
  const text = 'my\\ meas\\,ure,tag\\ key=val\\,ue\\=x\\ y,b=2 fi\\=eld\\ k=1.5,s="a \\"q\\" \\\\ b",i=-42i,t=t,f=FALSE 1767225600123456789\n';
  const { points, errors } = parseLineProtocol(text);
  assert.deepEqual(errors, []);
  assert.equal(points.length, 1);
  const p = points[0]!;
  assert.equal(p.measurement, 'my meas,ure');
  assert.deepEqual(p.tags, { 'tag key': 'val,ue=x y', b: '2' });
  assert.deepEqual(p.fields, { 'fi=eld k': 1.5, s: 'a "q" \\ b', i: -42, t: true, f: false });
  assert.deepEqual(p.intFields, ['i']);
  assert.equal(p.timestamp, 1767225600123, 'ns are converted to ms (truncated)');
});

test('timestamp precision and a missing timestamp', () => {
  assert.equal(parseLineProtocol('m v=1 1767225600', { precision: 's' }).points[0]!.timestamp, 1767225600000);
  assert.equal(parseLineProtocol('m v=1 1767225600123456', { precision: 'us' }).points[0]!.timestamp, 1767225600123);
  assert.equal(parseLineProtocol('m v=1 1767225600123', { precision: 'ms' }).points[0]!.timestamp, 1767225600123);
  assert.equal(parseLineProtocol('m v=1', { now: 42 }).points[0]!.timestamp, 42);
});

test('a quoted string may contain newlines, commas, spaces and equals signs', () => {
  const { points, errors } = parseLineProtocol('log,level=error message="boom, x=1\n  at a.b(C.java:1)" 1000000\nm v=2 2000000\n');
  assert.deepEqual(errors, []);
  assert.equal(points.length, 2);
  assert.equal(points[0]!.fields.message, 'boom, x=1\n  at a.b(C.java:1)');
  assert.equal(points[1]!.timestamp, 2);
});

test('bad lines are rejected with their line number and reason; the rest is kept', () => {
  const text = [
    'good v=1 1000000', // 1
    'nofields 1000000', // 2
    'm v=abc 1000000', // 3
    '# a comment', // 4
    '', // 5
    'm,t= v=1 1000000', // 6
    'm v=1 12x', // 7
    'm v="unterminated 1000000', // 8
  ].join('\n');
  const { points, errors } = parseLineProtocol(text, { source: 'x.lp' });
  assert.equal(points.length, 1);
  assert.equal(points[0]!.measurement, 'good');
  assert.deepEqual(errors.map((e) => e.line), [2, 3, 6, 7, 8]);
  assert.match(errors[0]!.message, /^x\.lp: line 2: field "1000000" has no '='/);
  assert.match(errors[1]!.message, /invalid value: abc/);
  assert.match(errors[2]!.message, /empty value/);
  assert.match(errors[3]!.message, /invalid timestamp/);
  assert.match(errors[4]!.message, /unterminated string/);
});

test('a string spanning lines followed by a bad line reports the right line number', () => {
  const { errors, points } = parseLineProtocol('a s="x\ny\nz" 1\nbad\nb v=1 2');
  assert.equal(points.length, 2);
  assert.deepEqual(errors.map((e) => e.line), [4]);
});

test('encodes with escaping, sorted tags and fields, ints, floats, strings and booleans', () => {
  const lp = toLineProtocol([
    {
      measurement: 'a b,c',
      tags: { z: 'x y', 'k=1': 'v,w', empty: '' },
      fields: { value: 734, count: 5, s: 'he said "hi" \\', ok: true, bad: Number.NaN },
      intFields: ['count'],
      timestamp: 1767225600000,
    },
    { measurement: 'nothing', tags: {}, fields: { v: Number.POSITIVE_INFINITY }, timestamp: 1 },
  ]);
  assert.equal(lp, 'a\\ b\\,c,k\\=1=v\\,w,z=x\\ y count=5i,ok=true,s="he said \\"hi\\" \\\\",value=734.0 1767225600000000000\n');
  assert.equal(toLineProtocol([{ measurement: 'm', tags: {}, fields: { v: 1.25 }, timestamp: 1500 }], 'ms'), 'm v=1.25 1500\n');
  assert.equal(toLineProtocol([{ measurement: 'm', tags: {}, fields: { v: 1.25 }, timestamp: 1500 }], 's'), 'm v=1.25 1\n');
});

test('round-trips the Flink InfluxDB reporter sample exactly', () => {
  const text = readFileSync(SAMPLE, 'utf8');
  const parsed = parseLineProtocol(text, { source: SAMPLE });
  assert.deepEqual(parsed.errors, []);
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  assert.equal(parsed.points.length, lines.length);
  const encoded = toLineProtocol(parsed.points);
  assert.equal(encoded, lines.join('\n') + '\n');
  assert.deepEqual(parseLineProtocol(encoded).points, parsed.points);
  const busy = parsed.points.find((p) => p.measurement === 'taskmanager_job_task_busyTimeMsPerSecond')!;
  assert.equal(busy.tags.task_name, 'Source: orders -> Map');
  assert.equal(busy.fields.value, 734);
  assert.equal(busy.intFields, undefined);
  assert.equal(busy.timestamp, 1767225600000);
  const lagMax = parsed.points.find((p) => p.measurement.endsWith('records-lag-max'))!;
  assert.equal(lagMax.fields.value, 16071);
  const bp = parsed.points.find((p) => p.measurement === 'taskmanager_job_task_isBackPressured')!;
  assert.equal(bp.fields.value, 'true');
});
