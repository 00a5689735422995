import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryBus } from '../core/bus-memory.ts';
import { createBus } from '../core/bus-factory.ts';
import { MemoryLogger } from '../core/logger.ts';
import { isErrorCode } from '../core/errors.ts';
import { anomaly, busContract } from './bus-contract.ts';

busContract('memory bus', async () => {
  const bus = createMemoryBus();
  return { publisher: bus, subscriber: bus, cleanup: () => bus.close() };
});

test('memory bus logs a failing handler and refuses use after close', async () => {
  const log = new MemoryLogger();
  const bus = await createBus({}, log);
  assert.equal(bus.kind, 'memory');
  await bus.subscribe('anomalies', () => { throw new Error('boom'); });
  await bus.publish('anomalies', anomaly(1));
  assert.ok(log.lines.some((l) => l.level === 'error' && l.meta.error === 'boom' && l.meta.topic === 'anomalies'));
  await bus.close();
  await assert.rejects(bus.publish('anomalies', anomaly(2)), (e) => isErrorCode(e, 'BUS_UNAVAILABLE'));
});
