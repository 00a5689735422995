import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StreamtuneError } from '../core/errors.ts';
import type { TuningAction } from '../diagnoser/types.ts';
import { actionKey, blockedActions, checkGuardrails, DEFAULT_POLICY, insideWindow, resolvePolicy } from '../tuner/policy.ts';
import type { Operation, OperationState, TuningPolicy } from '../tuner/types.ts';

const JOB = 'a'.repeat(32);
const NOW = Date.UTC(2025, 0, 15, 12, 0, 0); // 12:00 UTC
const MIN = 60_000;
const up: TuningAction = { type: 'set-parallelism', vertex: { id: 'enrich', name: 'enrich' }, from: 2, to: 4 };

function op(over: Partial<Operation> & { id: string; state: OperationState }): Operation {
  return {
    job_id: JOB, origin: 'user', actions: [up], previous: { parallelism: { enrich: 2 } }, steps: [],
    createdAt: NOW - 120 * MIN, updatedAt: NOW - 110 * MIN, finishedAt: NOW - 110 * MIN, ...over,
  };
}

const auto = (over: Partial<TuningPolicy> = {}): TuningPolicy => resolvePolicy({ mode: 'auto', ...over });

function expectInvalid(fn: () => unknown, field: string): void {
  assert.throws(fn, (e: unknown) => e instanceof StreamtuneError && e.code === 'INVALID_CONFIG' && e.details.field === field && e.message.includes(field));
}

test('resolvePolicy fills the documented defaults', () => {
  assert.deepEqual(resolvePolicy(), {
    mode: 'recommend', cooldownMs: 600_000, maxParallelism: 32, maxOperationsPerHour: 2, allowedWindows: [],
    verifyAfterMs: 60_000, onIneffective: 'mark', onWorse: 'rollback', blockIneffectiveMs: 3_600_000,
  });
  assert.deepEqual(resolvePolicy(), DEFAULT_POLICY);
  const p = resolvePolicy({ mode: 'auto', cooldownMs: undefined, allowedWindows: ['22:00-06:00'] });
  assert.equal(p.mode, 'auto');
  assert.equal(p.cooldownMs, 600_000);
  assert.deepEqual(p.allowedWindows, ['22:00-06:00']);
  p.allowedWindows.push('01:00-02:00');
  assert.deepEqual(DEFAULT_POLICY.allowedWindows, [], 'defaults are not shared with results');
});

test('resolvePolicy names the field and the rule it breaks', () => {
  expectInvalid(() => resolvePolicy({ mode: 'active' as 'auto' }), 'mode');
  expectInvalid(() => resolvePolicy({ cooldownMs: -1 }), 'cooldownMs');
  expectInvalid(() => resolvePolicy({ cooldownMs: 1.5 }), 'cooldownMs');
  expectInvalid(() => resolvePolicy({ maxParallelism: 0 }), 'maxParallelism');
  expectInvalid(() => resolvePolicy({ maxParallelism: 40_000 }), 'maxParallelism');
  expectInvalid(() => resolvePolicy({ maxOperationsPerHour: '2' as unknown as number }), 'maxOperationsPerHour');
  expectInvalid(() => resolvePolicy({ verifyAfterMs: Number.NaN }), 'verifyAfterMs');
  expectInvalid(() => resolvePolicy({ blockIneffectiveMs: -5 }), 'blockIneffectiveMs');
  expectInvalid(() => resolvePolicy({ onIneffective: 'undo' as 'mark' }), 'onIneffective');
  expectInvalid(() => resolvePolicy({ allowedWindows: '22:00-06:00' as unknown as string[] }), 'allowedWindows');
  expectInvalid(() => resolvePolicy({ allowedWindows: ['09:00-17:00', '25:00-06:00'] }), 'allowedWindows[1]');
  expectInvalid(() => resolvePolicy({ allowedWindows: ['9:00-17:00'] }), 'allowedWindows[0]');
  expectInvalid(() => resolvePolicy({ cooldown: 5 } as unknown as Partial<TuningPolicy>), 'cooldown');
  assert.throws(() => resolvePolicy({ maxParallelism: 0 }), /must be an integer in \[1, 32768\]/);
});

test('actionKey identifies the action and its direction', () => {
  assert.equal(actionKey(up), 'set-parallelism:enrich:up');
  assert.equal(actionKey({ type: 'set-parallelism', vertex: { id: 'enrich', name: 'enrich' }, from: 4, to: 2 }), 'set-parallelism:enrich:down');
  assert.equal(actionKey({ type: 'set-parallelism', vertex: { id: 'enrich', name: 'enrich' }, from: 4, to: 4 }), 'set-parallelism:enrich:same');
  assert.equal(actionKey({ type: 'set-checkpointing', interval: 30_000 }), 'set-checkpointing');
  assert.equal(actionKey({ type: 'set-memory', heapBytes: 2 ** 30 }), 'set-memory:up');
});

test('blockedActions: ineffective operations block their action for blockIneffectiveMs', () => {
  const policy = resolvePolicy();
  const ineffective = op({ id: 'op-1', state: 'INEFFECTIVE', finishedAt: NOW - 30 * MIN, verification: { from: 0, to: 1, throughputBefore: 100, throughputAfter: 101, effective: false, reason: 'throughput did not rise' } });
  const b = blockedActions([ineffective], policy, NOW);
  assert.equal(b.length, 1);
  assert.deepEqual({ ...b[0], reason: undefined }, { job_id: JOB, actionKey: 'set-parallelism:enrich:up', until: NOW + 30 * MIN, operationId: 'op-1', reason: undefined });
  assert.match(b[0]!.reason, /throughput did not rise/);
  // expired
  assert.deepEqual(blockedActions([ineffective], policy, NOW + 31 * MIN), []);
  // rolled back for ineffectiveness blocks; rolled back after a failed start does not
  const rb1 = op({ id: 'op-2', state: 'ROLLED_BACK', finishedAt: NOW - MIN, verification: { from: 0, to: 1, throughputBefore: 1, throughputAfter: 1, effective: false, reason: 'x' } });
  const rb2 = op({ id: 'op-3', state: 'ROLLED_BACK', finishedAt: NOW - MIN, error: 'start failed' });
  assert.deepEqual(blockedActions([rb1, rb2], policy, NOW).map((x) => x.operationId), ['op-2']);
  // succeeded and failed never block
  assert.deepEqual(blockedActions([op({ id: 'a', state: 'SUCCEEDED' }), op({ id: 'b', state: 'FAILED' })], policy, NOW), []);
  // the latest block wins
  const older = op({ id: 'old', state: 'INEFFECTIVE', finishedAt: NOW - 50 * MIN });
  assert.equal(blockedActions([ineffective, older], policy, NOW)[0]!.operationId, 'op-1');
  assert.equal(blockedActions([older, ineffective], policy, NOW)[0]!.operationId, 'op-1');
});

test('checkGuardrails: an operation in progress owns the job (CONFLICT)', () => {
  const r = checkGuardrails({ policy: resolvePolicy(), origin: 'user', actions: [up], history: [op({ id: 'busy', state: 'SAVEPOINTING', finishedAt: undefined })], now: NOW });
  assert.equal(r.allowed, false);
  assert.ok(!r.allowed && r.code === 'CONFLICT' && /busy/.test(r.reason));
});

test('checkGuardrails: cooldown after the last operation, for both origins, with retryAfterMs', () => {
  const history = [op({ id: 'recent', state: 'SUCCEEDED', finishedAt: NOW - 4 * MIN }), op({ id: 'old', state: 'SUCCEEDED', finishedAt: NOW - 100 * MIN })];
  for (const origin of ['user', 'auto'] as const) {
    const r = checkGuardrails({ policy: auto(), origin, actions: [up], history, now: NOW });
    assert.ok(!r.allowed);
    assert.equal(r.code, 'CONFLICT');
    assert.equal(r.retryAfterMs, 6 * MIN);
    assert.match(r.reason, /cooldown/);
  }
  assert.deepEqual(checkGuardrails({ policy: auto(), origin: 'user', actions: [up], history, now: NOW + 6 * MIN }), { allowed: true });
  assert.deepEqual(checkGuardrails({ policy: resolvePolicy(), origin: 'user', actions: [up], history: [], now: NOW }), { allowed: true });
});

test('checkGuardrails: an ineffective action is FORBIDDEN, other actions are not', () => {
  const history = [op({ id: 'bad', state: 'INEFFECTIVE', finishedAt: NOW - 20 * MIN })];
  const r = checkGuardrails({ policy: resolvePolicy(), origin: 'user', actions: [up], history, now: NOW });
  assert.ok(!r.allowed && r.code === 'FORBIDDEN');
  assert.equal(r.retryAfterMs, 40 * MIN);
  assert.match(r.reason, /set-parallelism:enrich:up/);
  const down: TuningAction = { type: 'set-parallelism', vertex: { id: 'enrich', name: 'enrich' }, from: 4, to: 2 };
  assert.deepEqual(checkGuardrails({ policy: resolvePolicy(), origin: 'user', actions: [down], history, now: NOW }), { allowed: true });
});

test('checkGuardrails: auto operations need mode auto', () => {
  const r = checkGuardrails({ policy: resolvePolicy(), origin: 'auto', actions: [up], history: [], now: NOW });
  assert.ok(!r.allowed && r.code === 'FORBIDDEN' && /mode/.test(r.reason));
  // the user may still apply in recommend mode
  assert.deepEqual(checkGuardrails({ policy: resolvePolicy(), origin: 'user', actions: [up], history: [], now: NOW }), { allowed: true });
});

test('checkGuardrails: auto parallelism is capped by maxParallelism (users are not)', () => {
  const big: TuningAction = { type: 'set-parallelism', vertex: { id: 'enrich', name: 'enrich' }, from: 8, to: 40 };
  const r = checkGuardrails({ policy: auto(), origin: 'auto', actions: [big], history: [], now: NOW });
  assert.ok(!r.allowed && r.code === 'FORBIDDEN' && /40.*32/.test(r.reason));
  assert.deepEqual(checkGuardrails({ policy: auto({ maxParallelism: 40 }), origin: 'auto', actions: [big], history: [], now: NOW }), { allowed: true });
  assert.deepEqual(checkGuardrails({ policy: auto(), origin: 'user', actions: [big], history: [], now: NOW }), { allowed: true });
});

test('checkGuardrails: at most maxOperationsPerHour auto operations per rolling hour', () => {
  const policy = auto({ cooldownMs: 0 });
  const history = [
    op({ id: 'a1', state: 'SUCCEEDED', origin: 'auto', createdAt: NOW - 50 * MIN, finishedAt: NOW - 49 * MIN }),
    op({ id: 'a2', state: 'SUCCEEDED', origin: 'auto', createdAt: NOW - 20 * MIN, finishedAt: NOW - 19 * MIN }),
    op({ id: 'u1', state: 'SUCCEEDED', origin: 'user', createdAt: NOW - 10 * MIN, finishedAt: NOW - 9 * MIN }),
  ];
  const r = checkGuardrails({ policy, origin: 'auto', actions: [up], history, now: NOW });
  assert.ok(!r.allowed && r.code === 'FORBIDDEN' && /2 automatic operations/.test(r.reason));
  assert.equal(r.retryAfterMs, 10 * MIN, 'until a1 leaves the hour');
  assert.deepEqual(checkGuardrails({ policy, origin: 'auto', actions: [up], history, now: NOW + 10 * MIN + 1 }), { allowed: true });
  assert.deepEqual(checkGuardrails({ policy, origin: 'user', actions: [up], history, now: NOW }), { allowed: true });
  const zero = checkGuardrails({ policy: auto({ maxOperationsPerHour: 0 }), origin: 'auto', actions: [up], history: [], now: NOW });
  assert.ok(!zero.allowed && zero.retryAfterMs === undefined);
});

test('checkGuardrails: allowed windows in local time, crossing midnight', () => {
  const at = (hhmm: string, tz: string, windows: string[]) => {
    const [h, m] = hhmm.split(':').map(Number);
    // NOW's date at hh:mm UTC; Asia/Kolkata is UTC+05:30 with no DST
    const now = Date.UTC(2025, 0, 15, h!, m!);
    return checkGuardrails({ policy: auto({ allowedWindows: windows }), origin: 'auto', actions: [up], history: [], now, timeZone: tz });
  };
  assert.deepEqual(at('23:30', 'UTC', ['22:00-06:00']), { allowed: true });
  assert.deepEqual(at('05:59', 'UTC', ['22:00-06:00']), { allowed: true });
  const r = at('06:00', 'UTC', ['22:00-06:00']);
  assert.ok(!r.allowed && r.code === 'FORBIDDEN' && /06:00/.test(r.reason));
  // 17:00 UTC is 22:30 in Kolkata: inside there, outside in UTC
  assert.deepEqual(at('17:00', 'Asia/Kolkata', ['22:00-06:00']), { allowed: true });
  assert.equal(at('17:00', 'UTC', ['22:00-06:00']).allowed, false);
  assert.deepEqual(at('12:00', 'UTC', ['01:00-02:00', '11:00-13:00']), { allowed: true });
  // user operations ignore windows
  assert.deepEqual(checkGuardrails({ policy: auto({ allowedWindows: ['01:00-02:00'] }), origin: 'user', actions: [up], history: [], now: NOW, timeZone: 'UTC' }), { allowed: true });
  assert.throws(() => at('12:00', 'Mars/Olympus', ['01:00-02:00']), (e: unknown) => e instanceof StreamtuneError && e.code === 'INVALID_CONFIG');
});

test('insideWindow: start inclusive, end exclusive, equal bounds = whole day', () => {
  assert.equal(insideWindow('09:00-17:00', 9 * 60), true);
  assert.equal(insideWindow('09:00-17:00', 17 * 60), false);
  assert.equal(insideWindow('22:00-06:00', 0), true);
  assert.equal(insideWindow('22:00-06:00', 12 * 60), false);
  assert.equal(insideWindow('00:00-00:00', 12 * 60), true);
});
