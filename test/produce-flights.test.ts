/**
 * `streamtune produce-flights` and produceFlights() against a real Kafka broker
 * (platform/local/kafka.ts): flights in event-time order, record timestamp = the flight's date,
 * JSON values, keyed by origin (or unkeyed), exactly the rows DuckDB selects for the same slice.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { Kafka, logLevel, type KafkaMessage } from 'kafkajs';
import { REPO_ROOT } from '../platform/local/cache.ts';
import { startKafkaBroker, type KafkaBroker } from '../platform/local/kafka.ts';
import { flightsSliceSql, produceFlights } from '../platform/kafka/produce-flights.ts';
import { isErrorCode } from '../core/errors.ts';
import { uniqueName, waitFor } from './helpers/wait.ts';

interface Read {
  partition: number;
  key: string | null;
  timestamp: number;
  value: { date: string; delay: number; distance: number; origin: string; destination: string };
}

async function readAll(broker: KafkaBroker, topic: string, n: number): Promise<Read[]> {
  const kafka = new Kafka({ clientId: 'produce-flights-test', brokers: broker.bootstrap, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: uniqueName('read') });
  const out: Read[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }: { partition: number; message: KafkaMessage }) => {
        out.push({ partition, key: message.key?.toString() ?? null, timestamp: Number(message.timestamp), value: JSON.parse(message.value!.toString()) as Read['value'] });
      },
    });
    await waitFor(() => out.length >= n, { timeoutMs: 60_000, intervalMs: 100, what: `${n} records on ${topic}` });
  } finally {
    await consumer.disconnect();
  }
  return out;
}

async function expectedRows(limit: number, offset: number): Promise<string[]> {
  const inst = await DuckDBInstance.create(':memory:');
  const con = await inst.connect();
  try {
    const r = await con.runAndReadAll(`SELECT epoch_ms(date)::DOUBLE, delay::DOUBLE, distance::DOUBLE, origin, destination FROM (${flightsSliceSql({ limit, offset })})`);
    return r.getRows().map((x) => `${Number(x[0])}|${Number(x[1])}|${Number(x[2])}|${String(x[3])}|${String(x[4])}`);
  } finally {
    con.closeSync();
    inst.closeSync();
  }
}

const asRow = (r: Read) => `${r.timestamp}|${r.value.delay}|${r.value.distance}|${r.value.origin}|${r.value.destination}`;

describe('produce-flights against a real Kafka broker', { timeout: 300_000 }, () => {
  let broker: KafkaBroker;
  before(async () => {
    broker = await startKafkaBroker({ numPartitions: 4, properties: { 'log.retention.ms': -1 } });
  });
  after(async () => {
    await broker?.close();
  });

  test('produceFlights: a slice in event-time order, timestamp = date, keyed by origin', async () => {
    const topic = uniqueName('flights');
    await broker.createTopic(topic, 4);
    const producer = new Kafka({ clientId: 'produce-flights-test', brokers: broker.bootstrap, logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    const r = await produceFlights({ producer, topic, limit: 3000, offset: 1000, batchSize: 250 }).finally(() => producer.disconnect());
    assert.equal(r.records, 3000);
    assert.equal(r.aborted, false);
    const got = await readAll(broker, topic, 3000);
    assert.equal(got.length, 3000);
    assert.deepEqual(got.map(asRow).sort(), (await expectedRows(3000, 1000)).sort());
    for (const m of got) {
      assert.equal(m.key, m.value.origin);
      assert.equal(Date.parse(m.value.date), m.timestamp);
    }
    // one origin, one partition; in each partition, event time never goes back
    const partitionOf = new Map<string, number>();
    for (const m of got) {
      assert.equal(partitionOf.get(m.key!) ?? m.partition, m.partition);
      partitionOf.set(m.key!, m.partition);
    }
    for (let p = 0; p < 4; p++) {
      const ts = got.filter((m) => m.partition === p).map((m) => m.timestamp);
      assert.ok(ts.every((t, i) => i === 0 || t >= ts[i - 1]!), `partition ${p} in event-time order`);
    }
    assert.equal(r.firstTimestamp, Math.min(...got.map((m) => m.timestamp)));
    assert.equal(r.lastTimestamp, Math.max(...got.map((m) => m.timestamp)));
  });

  test('streamtune produce-flights: unkeyed (round-robin) at a rate, summary on stdout', async () => {
    const topic = uniqueName('flights');
    await broker.createTopic(topic, 4);
    const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'streamtune.js'), 'produce-flights', '--brokers', broker.bootstrap.join(','), '--topic', topic, '--limit', '400', '--rate', '2000', '--key', 'round-robin'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 0, stderr);
    const summary = JSON.parse(stdout.trim()) as { topic: string; records: number; firstTimestamp: string };
    assert.equal(summary.records, 400);
    assert.equal(summary.firstTimestamp, '2001-01-01T00:01:00.000Z');
    const got = await readAll(broker, topic, 400);
    assert.ok(got.every((m) => m.key === null));
    assert.equal(new Set(got.map((m) => m.partition)).size, 4);
    assert.deepEqual(got.map(asRow).sort(), (await expectedRows(400, 0)).sort());
  });

  test('bad arguments are refused before anything is sent', async () => {
    const producer = new Kafka({ clientId: 'x', brokers: broker.bootstrap, logLevel: logLevel.NOTHING }).producer();
    await assert.rejects(produceFlights({ producer, topic: 't', rate: -1 }), (e: unknown) => isErrorCode(e, 'INVALID_ARGUMENT'));
    await assert.rejects(produceFlights({ producer, topic: 't', limit: 1.5 }), (e: unknown) => isErrorCode(e, 'INVALID_ARGUMENT'));
    await assert.rejects(produceFlights({ producer, topic: 't', path: join(REPO_ROOT, 'no-such-flights.parquet') }), (e: unknown) => isErrorCode(e, 'INVALID_ARGUMENT'));
  });
});
