/**
 * Issue 18, bad input to the API (short version): at least 1,000 malformed request bodies and query
 * strings, made by fast-check from the OpenAPI document's routes (test/helpers/bad-input/api.ts), sent
 * to the real app over a real control plane. Each gets a documented 4xx with `{error: {code, message}}`
 * naming the field for a 400 (or is valid after all), never a 5xx or a stack frame, within 20 s; the
 * job the server runs stays as it was (same state, not restarted) and only the fuzzer's own accepted
 * specs were started (and stopped again).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Diagnosis } from '../diagnoser/types.ts';
import { isTerminalJobState } from '../platform/index.ts';
import { runApiFuzz } from './helpers/bad-input/api.ts';
import { startApiServer, type ApiServer } from './helpers/api-server.ts';

let s: ApiServer;

before(async () => {
  s = await startApiServer({ loginLimit: 1_000_000 });
});

after(async () => {
  await s?.close();
});

test('2,500 API requests, at least 1,000 malformed: clear 4xx naming the field, no 5xx, no stack trace, the running job untouched', { timeout: 900_000 }, async () => {
  const now = Date.now();
  // a recommendation for a job that does not exist: a valid apply ends in the tuner's 404, never an operation
  const d: Diagnosis = {
    id: `fuzz-${now}`, job_id: 'f'.repeat(32), job_name: 'gone', windowStart: now - 60_000, windowEnd: now, createdAt: now, trigger: { type: 'manual' },
    lagStatus: 'WARN', findings: [], severity: 'severe', rootCause: { kind: 'under-provisioned', vertex: 'work', confidence: 0.9, explanation: 'x' },
    recommendations: [{ id: `fuzz-${now}-r1`, ruleId: 'capacity', title: 't', rationale: 'r', expected: {}, actions: [{ type: 'set-parallelism', vertex: { id: 'v', name: 'work' }, from: 1, to: 2 }] }],
  };
  await s.cp.diagnoses.put(d);
  const jobs = async () => (await s.req('GET', '/api/v1/jobs')).json.jobs as Array<{ job_id: string; state: string; startedAt?: number; parallelism: Record<string, number> }>;
  const before = (await jobs()).find((j) => j.job_id === s.jobId)!;
  const r = await runApiFuzz({ base: s.base, token: s.cp.config.server.apiToken!, jobId: s.jobId, recommendationId: `fuzz-${now}-r1`, diagnosisId: d.id, dataFile: join(s.dir, 'events.jsonl') }, 2500);
  const report = `${r.tried} requests, ${r.rejected} refused clearly, ${r.accepted} valid after all, ${r.unclear} unclear (seed ${r.seed}, slowest ${Math.round(r.slowestMs)} ms)\n${r.failures.map((f) => `  ${f.why}\n    ${f.input}`).join('\n')}`;
  assert.equal(r.unclear, 0, report);
  assert.ok(r.rejected >= 1000, `fewer than 1,000 malformed requests: ${report}`);
  const after = (await jobs()).find((j) => j.job_id === s.jobId)!;
  assert.deepEqual([after.state, after.startedAt, after.parallelism], [before.state, before.startedAt, before.parallelism], 'the running job is as it was');
  const others = (await jobs()).filter((j) => j.job_id !== s.jobId && !isTerminalJobState(j.state));
  assert.deepEqual(others.map((j) => `${j.job_id} ${j.state}`), [], 'no job the fuzzer got accepted is still running');
  assert.equal(s.cp.tuner.operations({}).length, 0, 'no tuner operation was started');
});
