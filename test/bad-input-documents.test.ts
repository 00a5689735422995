/**
 * Issue 18, bad input (short version; `npm run bench -- reliability` runs 20,000 of each): at least
 * 1,000 malformed job specs (YAML and JSON), rule files and server configs, made by fast-check from
 * valid documents (test/helpers/bad-input/). Each must end in a clear error (test/helpers/bad-input/
 * clear.ts says exactly what that is: a StreamtuneError INVALID_* naming the file and a line within
 * it, or the field and variable), within 30 s (a worker thread per kind; a hang is reported with the
 * input), never a crash, and a failed rule reload must leave the previous rule set in force. The seed
 * is printed on failure; STREAMTUNE_FUZZ_SEED replays it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeReport, runKind } from './helpers/bad-input/run.ts';
import type { KindName } from './helpers/bad-input/kinds/index.ts';

/** numRuns per kind: enough that at least 1,000 are malformed (some mutations land on valid documents). */
const RUNS: Array<[KindName, number]> = [
  ['job-spec-yaml', 1250],
  ['job-spec-json', 1200],
  ['rule-file', 1250],
  ['server-config', 1300],
];

for (const [kind, numRuns] of RUNS) {
  test(`${kind}: ${numRuns} inputs, at least 1,000 malformed, each refused clearly or valid after all`, { timeout: 900_000 }, async () => {
    const r = await runKind(kind, { numRuns });
    const report = describeReport(r);
    assert.equal(r.hung, undefined, report);
    assert.equal(r.unclear, 0, report);
    assert.equal(r.tried, numRuns, report);
    assert.ok(r.rejected >= 1000, `fewer than 1,000 malformed inputs: ${report}`);
  });
}
