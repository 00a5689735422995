/**
 * Apply only for what can be applied, in the API: each executor states what it changes
 * (JobExecutor.supports), the tuner answers per recommendation (`applicability`: applicable, or
 * why not and the exact settings to change by hand), `GET /diagnoses/:id` and
 * `GET /recommendations/:id` carry it, and applying advice is a 400 naming the settings. Over the
 * fixture control plane (a job on the bundled runtime) with the real API router.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ControlPlane } from '../control-plane/control-plane.ts';
import { createApiRouter } from '../dashboards/server/api.ts';
import type { Diagnosis } from '../diagnoser/types.ts';
import { BundledExecutor, FlinkExecutor } from '../platform/index.ts';
import { applicability, settingsFor } from '../tuner/applicability.ts';
import type { Operation } from '../tuner/types.ts';
import express from 'express';
import { silentLogger } from '../core/logger.ts';
import { errorHandler } from '../dashboards/server/http-error.ts';
import { NOW, diagnosis, fixtureControlPlane, serveFixture } from './helpers/pages-fixture.ts';

const heap: Diagnosis = {
  ...diagnosis,
  id: 'diag-heap',
  rootCause: { kind: 'memory-pressure', vertex: 'enrich', confidence: 0.75, explanation: 'GC 180 ms/s.' },
  recommendations: [
    { id: 'rec-heap', ruleId: 'memory.gc', title: 'Raise the task heap from 1024 MiB to 1536 MiB', rationale: 'GC.', expected: { heapBytes: 1536 * 1048576 }, actions: [{ type: 'set-memory', heapBytes: 1536 * 1048576, fromHeapBytes: 1024 * 1048576 }] },
    { id: 'rec-par', ruleId: 'capacity.under-provisioned', title: 'Set parallelism: enrich 2 → 3', rationale: 'DS2.', expected: {}, actions: [{ type: 'set-parallelism', vertex: { id: 'enrich', name: 'enrich' }, from: 2, to: 3 }] },
    { id: 'rec-skew', ruleId: 'skew.keyed', title: 'Salt the hot keys', rationale: 'skew.', expected: {}, actions: [] },
  ],
};

let cp: ControlPlane;
let served: { base: string; close(): Promise<void> };
const applied: Operation[] = [];

before(async () => {
  cp = await fixtureControlPlane([], async (req) => {
    const op = { id: `op-${applied.length + 1}`, job_id: req.job_id, origin: req.origin, actions: req.actions, previous: { parallelism: {} }, state: 'PENDING', steps: [], createdAt: NOW, updatedAt: NOW } as Operation;
    applied.push(op);
    return op;
  });
  await cp.diagnoses.put(heap);
  served = await serveFixture((app) => {
    app.use('/api/v1', express.json(), createApiRouter(cp, { cacheTtlMs: 0 }));
    app.use(errorHandler(silentLogger));
  });
});

after(async () => {
  await served.close();
  await cp.close();
});

test('executors state what they change: the bundled runtime and Flink (by its configuration)', () => {
  assert.deepEqual(BundledExecutor.prototype.supports('parallelism'), { ok: true });
  assert.deepEqual(BundledExecutor.prototype.supports('checkpointing'), { ok: true });
  assert.equal(BundledExecutor.prototype.supports('memory').ok, false);
  const flink = (o: { jarId?: string; scheduler?: 'default' | 'adaptive' }) => new FlinkExecutor({ rest: { baseUrl: 'http://127.0.0.1:1' }, ...o });
  assert.deepEqual(flink({ jarId: 'j.jar' }).supports('parallelism'), { ok: true });
  assert.deepEqual(flink({ jarId: 'j.jar' }).supports('checkpointing'), { ok: true });
  assert.match(flink({ jarId: 'j.jar' }).supports('memory').ok ? '' : (flink({ jarId: 'j.jar' }).supports('memory') as { reason: string }).reason, /taskmanager\.memory\.\*\) is the Flink cluster's configuration/);
  assert.deepEqual(flink({ scheduler: 'adaptive' }).supports('parallelism'), { ok: true }, 'in place, without a jar');
  assert.equal(flink({ scheduler: 'adaptive' }).supports('checkpointing').ok, false);
  assert.equal(flink({}).supports('parallelism').ok, false);
  // what to change by hand on Flink: the task heap (JVM heap − 128m framework heap) and the process size by the same increase
  assert.deepEqual(settingsFor({ type: 'set-memory', heapBytes: 1536 * 1048576, fromHeapBytes: 1024 * 1048576 }, 'flink').map((s) => [s.key, s.value]), [
    ['taskmanager.memory.task.heap.size', '1408m'],
    ['taskmanager.memory.process.size', 'current + 512m'],
  ]);
  assert.deepEqual(settingsFor({ type: 'set-checkpointing', interval: 120_000, unaligned: true }, 'flink').map((s) => [s.key, s.value]), [
    ['execution.checkpointing.interval', '120000 ms'],
    ['execution.checkpointing.unaligned.enabled', 'true'],
  ]);
  const noJar = applicability([{ type: 'set-checkpointing', timeout: 60_000 }], flink({ scheduler: 'adaptive' }));
  assert.equal(noJar.applicable, false);
  assert.deepEqual(noJar.settings.map((s) => s.key), ['execution.checkpointing.timeout']);
});

test('GET /diagnoses/:id and /recommendations/:id say what can be applied, and why not with the settings', async () => {
  const d = (await (await fetch(`${served.base}/api/v1/diagnoses/diag-heap`)).json()) as { applicability: Record<string, { applicable: boolean; reason?: string; settings: Array<{ key: string; value: string }> }> };
  assert.equal(d.applicability['rec-par']!.applicable, true);
  assert.deepEqual(d.applicability['rec-par']!.settings, []);
  const h = d.applicability['rec-heap']!;
  assert.equal(h.applicable, false);
  assert.match(h.reason!, /V8 heap limit/);
  assert.deepEqual(h.settings.map((s) => [s.key, s.value]), [['NODE_OPTIONS', '--max-old-space-size=1536']]);
  assert.equal(d.applicability['rec-skew']!.applicable, false);
  assert.match(d.applicability['rec-skew']!.reason!, /^advice/);
  const r = (await (await fetch(`${served.base}/api/v1/recommendations/rec-heap`)).json()) as { applicability: { applicable: boolean } };
  assert.equal(r.applicability.applicable, false);
});

test('applying advice is a 400 naming the settings; an applicable recommendation is applied', async () => {
  const res = await fetch(`${served.base}/api/v1/recommendations/rec-heap/apply`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  assert.equal(res.status, 400);
  const body = (await res.json()) as { error: { code: string; field: string; message: string; settings: Array<{ key: string }> } };
  assert.equal(body.error.code, 'INVALID_ARGUMENT');
  assert.equal(body.error.field, 'actions');
  assert.match(body.error.message, /advice, not applicable by streamtune: .*change by hand: NODE_OPTIONS = --max-old-space-size=1536/);
  assert.deepEqual(body.error.settings.map((s) => s.key), ['NODE_OPTIONS']);
  assert.equal(applied.length, 0, 'nothing reached the tuner');
  const ok = await fetch(`${served.base}/api/v1/recommendations/rec-par/apply`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  assert.equal(ok.status, 202);
  assert.equal(applied.length, 1);
});
