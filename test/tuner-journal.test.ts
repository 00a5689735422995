/** The operations journal: durable appends, reload, torn last line skipped and cut off. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync } from 'node:fs';
import { openJournal } from '../tuner/journal.ts';
import type { Operation } from '../tuner/types.ts';
import { tempDir } from './helpers/wait.ts';

function op(id: string, createdAt: number): Operation {
  return {
    id,
    job_id: 'j1',
    origin: 'user',
    actions: [{ type: 'set-parallelism', vertex: { id: 'agg', name: 'agg' }, from: 1, to: 2 }],
    previous: { parallelism: { agg: 1 } },
    state: 'PENDING',
    steps: [],
    createdAt,
    updatedAt: createdAt,
  };
}

test('operations and snapshots survive a reopen; the last record of an operation wins; a torn last line is skipped', async () => {
  const dataDir = tempDir();
  const j = await openJournal({ dataDir });
  const a = op('a', 1000);
  await j.putOperation(a);
  a.state = 'SAVEPOINTING';
  a.steps.push({ name: 'savepoint', status: 'started', startedAt: 1001 });
  await j.putOperation(a);
  await j.putOperation(op('b', 2000));
  await j.addSnapshot({ job_id: 'j1', kind: 'checkpoint', path: '/x/chk-1', completedAt: 10 });
  await j.addSnapshot({ job_id: 'j1', kind: 'savepoint', path: '/x/sp-2', completedAt: 20 });
  await j.addSnapshot({ job_id: 'j1', kind: 'savepoint', path: '/x/sp-2', completedAt: 20, operationId: 'a' });
  await j.close();
  appendFileSync(j.path, '{"t":"op","v":{"id":"c","job_'); // crash mid-write

  const j2 = await openJournal({ dataDir });
  assert.deepEqual(j2.operations().map((o) => o.id), ['b', 'a']);
  assert.equal(j2.operation('a')!.state, 'SAVEPOINTING');
  assert.equal(j2.operation('c'), undefined);
  assert.deepEqual(j2.snapshots('j1').map((s) => [s.path, s.operationId]), [['/x/sp-2', 'a'], ['/x/chk-1', undefined]]);
  const c = op('c', 3000);
  await j2.putOperation(c);
  await j2.close();
  const lines = readFileSync(j.path, 'utf8').trimEnd().split('\n');
  assert.ok(lines.every((l) => JSON.parse(l)), 'every line whole after the torn one was cut off');

  const j3 = await openJournal({ dataDir });
  assert.deepEqual(j3.operations().map((o) => o.id), ['c', 'b', 'a']);
  // copies: changing a returned operation does not change the journal
  j3.operation('c')!.state = 'FAILED';
  assert.equal(j3.operation('c')!.state, 'PENDING');
  await j3.close();
});
