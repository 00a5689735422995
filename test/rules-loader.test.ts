import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, rmSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadRules, checkRules, RuleSetManager, BUILTIN_RULES_DIR, DETECTOR_IDS } from '../rules/index.ts';
import { StreamtuneError } from '../core/errors.ts';
import { MemoryLogger } from '../core/logger.ts';
import { tempDir, waitFor } from './helpers/wait.ts';

test('built-in rules load: every detector has help and a stable id, alerts parsed with durations in ms', () => {
  const rs = loadRules();
  assert.deepEqual(Object.keys(rs.detectors).sort(), [...DETECTOR_IDS].sort());
  for (const d of Object.values(rs.detectors)) {
    assert.ok(d.help.length > 20, `${d.id} has help`);
    assert.equal(d.origin.file, join(BUILTIN_RULES_DIR, 'detectors.yaml'));
    assert.ok(d.origin.line > 0);
  }
  const lag = rs.alerts.find((a) => a.id === 'lag.consumer-group');
  assert.ok(lag);
  assert.equal(lag.windowMs, 600_000);
  assert.equal(lag.forMs, 120_000);
  assert.deepEqual(lag.condition, { op: '>', threshold: 10000 });
  assert.equal(rs.planner.catchUpMs, 1_800_000);
});

test('a user folder overrides a built-in detector field by field and adds alerts', () => {
  const dir = tempDir();
  try {
    writeFileSync(join(dir, 'mine.yaml'), [
      'planner:',
      '  targetUtilization: 0.8',
      'detectors:',
      '  skew.keyed:',
      '    help: my help',
      '    params: { maxMinRatio: 2 }',
      'alerts:',
      '  - id: my.alert',
      '    metric: m',
      '    window: 30s',
      '    condition: "<= 1.5"',
      '    severity: low',
      '    help: h',
      '',
    ].join('\n'));
    const rs = loadRules(dir);
    assert.equal(rs.planner.targetUtilization, 0.8);
    assert.equal(rs.detectors['skew.keyed']!.help, 'my help');
    assert.equal(rs.detectors['skew.keyed']!.params.maxMinRatio, 2);
    assert.equal(rs.detectors['skew.keyed']!.params.hotKeyGroupFactor, 4, 'built-in params kept');
    assert.deepEqual(rs.detectors['skew.keyed']!.severity?.thresholds, [0.2, 0.3, 0.5, 0.7]);
    const mine = rs.alerts.find((a) => a.id === 'my.alert')!;
    assert.deepEqual(mine.condition, { op: '<=', threshold: 1.5 });
    assert.equal(mine.windowMs, 30_000);
    assert.equal(mine.forMs, 0);
    assert.ok(rs.alerts.length > 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function expectRulesError(dir: string): { file: string; line: number; reason: string }[] {
  try {
    loadRules(dir);
  } catch (err) {
    assert.ok(err instanceof StreamtuneError);
    assert.equal(err.code, 'INVALID_RULES');
    return err.details.errors as { file: string; line: number; reason: string }[];
  }
  assert.fail('expected INVALID_RULES');
}

test('errors name the file, the line and the reason', () => {
  const dir = tempDir();
  try {
    const f = join(dir, 'bad.yaml');
    // line 5: unknown detector id; line 9: threshold not a number; line 14: bad condition
    writeFileSync(f, [
      'detectors:',             // 1
      '  skew.keyed:',          // 2
      '    help: ok',           // 3
      '    params: { a: 1 }',   // 4
      '  skew.keyd:',           // 5
      '    help: typo',         // 6
      '  memory.gc:',           // 7
      '    help: x',            // 8
      '    severity: { thresholds: [1, 2, three, 4] }', // 9
      'alerts:',                // 10
      '  - id: a1',             // 11
      '    metric: m',          // 12
      '    window: 5m',         // 13
      '    condition: "bigger than 3"', // 14
      '    severity: low',      // 15
      '    help: h',            // 16
      '',
    ].join('\n'));
    const errors = expectRulesError(dir);
    const byLine = new Map(errors.map((e) => [e.line, e]));
    assert.ok(errors.every((e) => e.file === f));
    assert.match(byLine.get(5)?.reason ?? '', /unknown detector 'skew.keyd'/);
    assert.ok(byLine.get(9), `line 9 reported: ${JSON.stringify(errors)}`);
    assert.match(byLine.get(14)?.reason ?? '', /condition/);
    assert.deepEqual(checkRules(dir).map((e) => e.line).sort(), errors.map((e) => e.line).sort());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('YAML syntax errors and unordered thresholds are reported with their line', () => {
  const dir = tempDir();
  try {
    writeFileSync(join(dir, 'a.yaml'), 'detectors:\n  memory.gc:\n    help: x\n    severity: { thresholds: [4, 3, 2, 1] }\n');
    let errors = expectRulesError(dir);
    assert.equal(errors[0]!.line, 4);
    assert.match(errors[0]!.reason, /ascending/);
    writeFileSync(join(dir, 'a.yaml'), 'alerts:\n  - id: x\n    metric: [unclosed\n');
    errors = expectRulesError(dir);
    assert.ok(errors[0]!.line >= 3, JSON.stringify(errors));
    assert.match(errors[0]!.reason, /YAML/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('RuleSetManager reloads on change and keeps the last valid set when a file is invalid', async () => {
  const dir = tempDir();
  const log = new MemoryLogger();
  const f = join(dir, 'r.yaml');
  writeFileSync(f, 'planner:\n  targetUtilization: 0.6\n');
  const m = new RuleSetManager(dir, { logger: log, debounceMs: 50 });
  try {
    assert.equal(m.current().planner.targetUtilization, 0.6);
    // a valid change is picked up by the watcher, without reload()
    writeFileSync(f, 'planner:\n  targetUtilization: 0.65\n');
    await waitFor(() => m.current().planner.targetUtilization === 0.65, { timeoutMs: 30_000, what: 'watch reload' });
    // an invalid change: the previous set stays, the error names file and line
    const errs: unknown[] = [];
    m.onError((e) => errs.push(e));
    writeFileSync(f, 'planner:\n  targetUtilization: 0.9\n  bogus: 1\n');
    const r = m.reload();
    assert.equal(r.ok, false);
    assert.equal(m.current().planner.targetUtilization, 0.65);
    assert.deepEqual(m.lastErrors().map((e) => [e.file, e.line]), [[f, 3]]);
    assert.ok(errs.length >= 1);
    assert.ok(log.lines.some((l) => l.level === 'error' && l.meta.line === 3 && l.meta.file === f));
    // fixing the file brings the new set in
    writeFileSync(f, 'planner:\n  targetUtilization: 0.9\n');
    assert.equal(m.reload().ok, true);
    assert.equal(m.current().planner.targetUtilization, 0.9);
    assert.deepEqual(m.lastErrors(), []);
    assert.ok(readFileSync(f, 'utf8').includes('0.9'));
  } finally {
    m.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an invalid folder at start throws INVALID_RULES (there is no last valid set yet)', () => {
  const dir = tempDir();
  try {
    writeFileSync(join(dir, 'r.yaml'), 'nope: 1\n');
    assert.throws(() => new RuleSetManager(dir, { watch: false }), (e: unknown) => e instanceof StreamtuneError && e.code === 'INVALID_RULES');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
