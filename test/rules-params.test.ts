import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadRules, checkRules } from '../rules/index.ts';
import { StreamtuneError } from '../core/errors.ts';
import { tempDir } from './helpers/wait.ts';

test('a typo under params is an error naming file, line and key; the known params are listed', () => {
  const dir = tempDir();
  try {
    const f = join(dir, 'typo.yaml');
    writeFileSync(f, [
      'detectors:',                 // 1
      '  lag.burrow:',              // 2
      '    help: my lag rule',      // 3
      '    params:',                // 4
      '      allowedLag: 1',        // 5
      '      windowSise: 20',       // 6  ← typo of windowSize
      '  capacity.under-provisioned:', // 7
      '    help: no params here',   // 8
      '    params: { ratio: 2 }',   // 9  ← this detector takes none
      '',
    ].join('\n'));
    let err: unknown;
    try {
      loadRules(dir);
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof StreamtuneError, 'the typo is rejected');
    assert.equal(err.code, 'INVALID_RULES');
    assert.match(err.message, new RegExp(`${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:6:\\d+ unknown parameter 'windowSise' of detector lag.burrow \\(known: allowedLag, windowSize`));
    const errors = checkRules(dir);
    const l6 = errors.find((e) => e.line === 6);
    assert.ok(l6, JSON.stringify(errors));
    assert.equal(l6.file, f);
    assert.match(l6.reason, /'windowSise'/);
    const l9 = errors.find((e) => e.line === 9);
    assert.ok(l9, JSON.stringify(errors));
    assert.match(l9.reason, /unknown parameter 'ratio' of detector capacity.under-provisioned \(it takes no params\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the planner takes scaleDownInterval and maxScaleDownFactor (Flink autoscaler defaults 1 h, 0.6); a typo there is an error too', () => {
  const rs = loadRules();
  assert.equal(rs.planner.scaleDownIntervalMs, 3_600_000);
  assert.equal(rs.planner.maxScaleDownFactor, 0.6);
  const dir = tempDir();
  try {
    writeFileSync(join(dir, 'p.yaml'), 'planner:\n  scaleDownInterval: 0s\n  maxScaleDownFactor: 1\n');
    const mine = loadRules(dir);
    assert.equal(mine.planner.scaleDownIntervalMs, 0);
    assert.equal(mine.planner.maxScaleDownFactor, 1);
    writeFileSync(join(dir, 'p.yaml'), 'planner:\n  scaleDownIntervall: 5m\n');
    const [e] = checkRules(dir);
    assert.equal(e?.line, 2);
    assert.match(e?.reason ?? '', /unknown key 'scaleDownIntervall'/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
