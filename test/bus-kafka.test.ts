import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createKafkaBus } from '../core/bus-kafka.ts';
import { createBus } from '../core/bus-factory.ts';
import { isErrorCode } from '../core/errors.ts';
import { testKafkaBroker, type TestKafka } from './helpers/kafka-broker.ts';
import { busContract } from './bus-contract.ts';

let mock: TestKafka;
before(async () => { mock = await testKafkaBroker(); });
after(async () => { await mock?.stop(); });

// Two bus instances = two processes: the alerting one publishes, the diagnosis one subscribes.
busContract('Kafka bus (two instances on a real Kafka broker)', async () => {
  const topicPrefix = `st-${randomUUID().slice(0, 8)}`;
  const publisher = createKafkaBus({ brokers: mock.bootstrap, topicPrefix, groupId: `alerting-${topicPrefix}` });
  const subscriber = createKafkaBus({ brokers: mock.bootstrap, topicPrefix, groupId: `diagnoser-${topicPrefix}`, fromBeginning: true });
  return { publisher, subscriber, cleanup: async () => { await Promise.all([publisher.close(), subscriber.close()]); } };
});

test('createBus picks Kafka when configured; an empty broker list is a config error', async () => {
  const bus = await createBus({ kafka: { brokers: mock.bootstrap } });
  assert.equal(bus.kind, 'kafka');
  await bus.close();
  await assert.rejects(createBus({ kafka: { brokers: [] } }), (e) => isErrorCode(e, 'INVALID_CONFIG'));
});
