import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createDiagnosisStore, DIAGNOSIS_JOURNAL } from '../diagnoser/diagnosis-store.ts';
import { MemoryLogger } from '../core/logger.ts';
import { isErrorCode } from '../core/errors.ts';
import type { Diagnosis } from '../diagnoser/types.ts';
import { laggingDiagnosis } from './helpers/diagnosis-fixtures.ts';
import { tempDir } from './helpers/wait.ts';

const T = Date.UTC(2024, 4, 1, 9, 0, 0);

function diag(id: string, job: string, createdAt: number, recId?: string): Diagnosis {
  const base = laggingDiagnosis();
  return {
    ...base, id, job_id: job, createdAt,
    recommendations: recId ? [{ ...base.recommendations[0]!, id: recId }] : [],
  };
}

test('diagnoses and recommendation states survive close and reopen', async () => {
  const dir = join(tempDir(), 'diagnoses');
  let s = await createDiagnosisStore({ dir });
  await s.put(diag('d1', 'job-a', T, 'r1'));
  await s.put(diag('d2', 'job-b', T + 60_000, 'r2'));
  await s.put(diag('d3', 'job-a', T + 120_000));
  await s.setRecommendationState('r1', { status: 'applied', at: T + 130_000, operationId: 'op-1' });
  const before = { list: s.list(), r1: s.recommendation('r1'), r2: s.recommendation('r2'), d2: s.get('d2') };
  assert.deepEqual(before.r1!.state, { status: 'applied', at: T + 130_000, operationId: 'op-1' });
  assert.deepEqual(before.r2!.state, { status: 'open', at: T + 60_000 });
  await s.close();

  s = await createDiagnosisStore({ dir });
  try {
    assert.deepEqual(s.list(), before.list);
    assert.deepEqual(s.list().map((d) => d.id), ['d3', 'd2', 'd1'], 'newest first');
    assert.deepEqual(s.recommendation('r1'), before.r1);
    assert.deepEqual(s.recommendation('r2'), before.r2);
    assert.equal(s.recommendation('r1')!.diagnosisId, 'd1');
    assert.equal(s.recommendation('r1')!.job_id, 'job-a');
    assert.deepEqual(s.get('d2'), before.d2);
    // putting a diagnosis again does not reopen a decided recommendation
    await s.put(diag('d1', 'job-a', T, 'r1'));
    assert.equal(s.recommendation('r1')!.state.status, 'applied');
  } finally {
    await s.close();
  }
});

test('filters by job and time (inclusive), with a limit', async () => {
  const s = await createDiagnosisStore({ dir: tempDir() });
  try {
    for (let i = 0; i < 5; i++) await s.put(diag(`d${i}`, i % 2 ? 'job-b' : 'job-a', T + i * 1000));
    assert.deepEqual(s.list({ job_id: 'job-a' }).map((d) => d.id), ['d4', 'd2', 'd0']);
    assert.deepEqual(s.list({ from: T + 1000, to: T + 3000 }).map((d) => d.id), ['d3', 'd2', 'd1']);
    assert.deepEqual(s.list({ job_id: 'job-b', from: T + 2000 }).map((d) => d.id), ['d3']);
    assert.deepEqual(s.list({ limit: 2 }).map((d) => d.id), ['d4', 'd3']);
    assert.equal(s.get('nope'), undefined);
  } finally {
    await s.close();
  }
});

test('a torn last line is skipped, logged and cut off; later writes stay readable', async () => {
  const dir = tempDir();
  let s = await createDiagnosisStore({ dir });
  await s.put(diag('d1', 'job-a', T, 'r1'));
  await s.close();
  const file = join(dir, DIAGNOSIS_JOURNAL);
  await appendFile(file, '{"type":"diagnosis","diagnosis":{"id":"d2","job_');
  const log = new MemoryLogger();
  s = await createDiagnosisStore({ dir, logger: log });
  assert.deepEqual(s.list().map((d) => d.id), ['d1']);
  assert.ok(log.lines.some((l) => l.level === 'warn' && /torn/.test(l.msg) && l.meta.line === 2));
  await s.put(diag('d3', 'job-a', T + 5000));
  await s.close();
  assert.ok((await readFile(file, 'utf8')).endsWith('\n'));
  s = await createDiagnosisStore({ dir });
  try {
    assert.deepEqual(s.list().map((d) => d.id), ['d3', 'd1']);
  } finally {
    await s.close();
  }
});

test('an unknown recommendation is NOT_FOUND', async () => {
  const s = await createDiagnosisStore({ dir: tempDir() });
  try {
    await assert.rejects(s.setRecommendationState('nope', { status: 'dismissed', at: T }), (e) => isErrorCode(e, 'NOT_FOUND'));
    assert.equal(s.recommendation('nope'), undefined);
  } finally {
    await s.close();
  }
});
