/**
 * Malformed rule files, made from the built-in rules (rules/alerts.yaml, rules/detectors.yaml) and
 * the demo's (jobs/demo-rules/alerts.yaml). Each is written as `zz-bad.yaml` into a user rules folder
 * beside a valid file and fed twice:
 * - `loadRules(dir)`: a clear INVALID_RULES naming the bad file and a line within it, and every
 *   listed error (`details.errors`) with its file, a line ≥ 1 and a reason without a stack frame;
 * - `RuleSetManager.reload()` of a manager already holding a valid set: `ok: false` with the errors,
 *   and the set in force the same object and the same generation as before (nothing damaged).
 * An accepted file must give a rule set of finite numbers; it is removed and the set reloaded.
 */
import fc from 'fast-check';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYamlText } from 'yaml';
import { loadRules } from '../../../../rules/loader.ts';
import { RuleSetManager } from '../../../../rules/manager.ts';
import type { RuleSet } from '../../../../rules/types.ts';
import { nonFinitePath, STACK_FRAME, unclearReason, type Outcome } from '../clear.ts';
import { garbageText, lineCount, preview, textMutation, treeMutation, writeTree, yamlAttack, type Json } from '../mutate.ts';
import { tempDir } from '../../wait.ts';
import type { BadInputKind } from './types.ts';

/** The valid rule files the mutations start from. */
export function baseRuleFiles(): string[] {
  const root = new URL('../../../../', import.meta.url);
  return ['rules/alerts.yaml', 'rules/detectors.yaml', 'jobs/demo-rules/alerts.yaml'].map((f) => readFileSync(new URL(f, root), 'utf8'));
}

/** Malformed rule file text, made 4 ways. */
export function rulesTextArbitrary(bases: string[] = baseRuleFiles()): fc.Arbitrary<string> {
  const trees = bases.map((b) => parseYamlText(b) as Json);
  return fc.oneof(
    { weight: 4, arbitrary: fc.tuple(fc.constantFrom(...trees.map((_, i) => i)), fc.constantFrom('yaml', 'yaml-flow') as fc.Arbitrary<'yaml' | 'yaml-flow'>).chain(([i, f]) => treeMutation(trees[i]!).map((t) => writeTree(t, f))) },
    { weight: 3, arbitrary: fc.constantFrom(...bases).chain((b) => textMutation(b)) },
    { weight: 1, arbitrary: fc.constantFrom(...bases).chain((b) => yamlAttack(b)) },
    { weight: 1, arbitrary: garbageText },
  );
}

interface Ctx {
  dir: string;
  file: string;
  manager: RuleSetManager;
}

function rulesProblem(rs: RuleSet): string | undefined {
  const nf = nonFinitePath({ alerts: rs.alerts, detectors: rs.detectors, planner: rs.planner });
  return nf ? `a non-finite number at ${nf}` : undefined;
}

/** Rule files: loadRules and a manager's reload. */
export const rulesKind: BadInputKind<string, Ctx> = {
  title: 'rule file',
  fedTo: '`loadRules(dir)` and `RuleSetManager.reload()` (rules/), the bad file beside a valid one',
  arbitrary: rulesTextArbitrary(),
  setup() {
    const dir = join(tempDir('bad-rules-'), 'rules');
    mkdirSync(dir);
    writeFileSync(join(dir, 'aa-valid.yaml'), baseRuleFiles()[2]!);
    return { dir, file: join(dir, 'zz-bad.yaml'), manager: new RuleSetManager(dir, { watch: false }) };
  },
  teardown: (ctx) => ctx.manager.close(),
  check(text, ctx): Outcome {
    writeFileSync(ctx.file, text);
    const lines = lineCount(text);
    try {
      let loaded: RuleSet | undefined;
      let error: unknown;
      try {
        loaded = loadRules(ctx.dir);
      } catch (err) {
        error = err;
      }
      const before = ctx.manager.current();
      const generation = ctx.manager.generation();
      const r = ctx.manager.reload();
      if (loaded) {
        if (!r.ok) return { kind: 'unclear', why: `loadRules accepted the file but reload refused it: ${JSON.stringify(r.errors).slice(0, 300)}` };
        const broken = rulesProblem(loaded);
        return broken ? { kind: 'unclear', why: `accepted, but ${broken}` } : { kind: 'accepted' };
      }
      const why = unclearReason(error, { codes: ['INVALID_RULES'], file: ctx.file, lines });
      if (why) return { kind: 'unclear', why: `loadRules: ${why}` };
      if (r.ok) return { kind: 'unclear', why: 'loadRules refused the file but reload accepted it' };
      if (ctx.manager.current() !== before || ctx.manager.generation() !== generation) return { kind: 'unclear', why: 'a failed reload replaced the rule set in force' };
      if (r.errors.length === 0) return { kind: 'unclear', why: 'reload failed without errors' };
      for (const e of r.errors) {
        if (e.file !== ctx.file) return { kind: 'unclear', why: `an error names ${e.file}, not the bad file: ${e.reason}` };
        if (!(Number.isInteger(e.line) && e.line >= 1 && e.line <= lines + 1)) return { kind: 'unclear', why: `an error has line ${e.line} (the file has ${lines}): ${e.reason}` };
        if (!e.reason || STACK_FRAME.test(e.reason) || e.reason.length > 2000) return { kind: 'unclear', why: `an error's reason is empty, too long or has a stack frame: ${e.reason.slice(0, 300)}` };
      }
      return { kind: 'rejected' };
    } finally {
      rmSync(ctx.file, { force: true });
      if (ctx.manager.lastErrors().length === 0 && ctx.manager.current().files.includes(ctx.file)) ctx.manager.reload();
    }
  },
  preview: (t) => preview(t),
};
