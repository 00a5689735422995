/**
 * The one contract suite every EventBus passes (run from bus-*.test.ts with a factory), like
 * store-contract.ts for stores. Not itself a test file. The factory gives a publishing and a
 * subscribing bus: the same instance in process, two instances (two "processes") on Kafka.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AnomalyEvent } from '../diagnoser/index.ts';
import type { EventBus } from '../core/bus.ts';
import { waitFor } from './helpers/wait.ts';

/** A publishing and a subscribing bus, fresh (no earlier events), and how to dispose of them. */
export interface BusUnderTest {
  publisher: EventBus;
  subscriber: EventBus;
  cleanup: () => Promise<void>;
}

/** An anomaly event numbered `n`. */
export function anomaly(n: number, job = 'job-1'): AnomalyEvent {
  return { alertId: `lag|group=g${n}`, ruleId: 'lag.consumer-group', severity: 'severe', job_id: job, state: 'fired', since: 1000 + n, at: 2000 + n, value: 12_000 + n, labels: { group: `g${n}` } };
}

/** Registers the contract tests for buses made by `factory`. */
export function busContract(name: string, factory: () => Promise<BusUnderTest>, timeoutMs = 60_000): void {
  const opts = { timeout: timeoutMs * 2 };
  test(`${name}: an event published reaches every subscriber intact`, opts, async () => {
    const { publisher, subscriber, cleanup } = await factory();
    try {
      const a: AnomalyEvent[] = [];
      const b: AnomalyEvent[] = [];
      await subscriber.subscribe('anomalies', (e) => { a.push(e); });
      await subscriber.subscribe('anomalies', async (e) => { b.push(e); });
      await publisher.publish('anomalies', anomaly(1));
      await waitFor(() => a.length >= 1 && b.length >= 1, { timeoutMs, what: 'delivery to both handlers' });
      assert.deepEqual(a[0], anomaly(1));
      assert.deepEqual(b[0], anomaly(1));
    } finally {
      await cleanup();
    }
  });

  test(`${name}: a throwing handler does not stop delivery to the others nor later events`, opts, async () => {
    const { publisher, subscriber, cleanup } = await factory();
    try {
      const got: number[] = [];
      let thrown = 0;
      await subscriber.subscribe('anomalies', () => { thrown++; throw new Error('handler bug'); });
      await subscriber.subscribe('anomalies', (e) => { got.push(e.value); });
      await publisher.publish('anomalies', anomaly(1));
      await publisher.publish('anomalies', anomaly(2));
      await waitFor(() => got.length >= 2, { timeoutMs, what: 'both events' });
      assert.deepEqual(got.slice(0, 2), [12_001, 12_002]);
      assert.ok(thrown >= 2, 'the failing handler was called for each event');
    } finally {
      await cleanup();
    }
  });

  test(`${name}: unsubscribe stops delivery to that handler only`, opts, async () => {
    const { publisher, subscriber, cleanup } = await factory();
    try {
      const gone: number[] = [];
      const kept: number[] = [];
      const off = await subscriber.subscribe('anomalies', (e) => { gone.push(e.value); });
      await subscriber.subscribe('anomalies', (e) => { kept.push(e.value); });
      await publisher.publish('anomalies', anomaly(1));
      await waitFor(() => gone.length >= 1 && kept.length >= 1, { timeoutMs, what: 'first event' });
      await off();
      await publisher.publish('anomalies', anomaly(2));
      await waitFor(() => kept.includes(12_002), { timeoutMs, what: 'second event to the kept handler' });
      assert.deepEqual(gone, [12_001], 'the unsubscribed handler saw only the first event');
    } finally {
      await cleanup();
    }
  });
}
