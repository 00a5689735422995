/**
 * The Grafana dashboard's queries against a real InfluxDB 1.6.7, over data the real Kafka lag
 * collector wrote (Grafana itself is not in Debian's repositories, so its query editor is not run;
 * what Grafana sends is reproduced: `$timeFilter`, `$__interval` and the multi-value `$group`
 * variable interpolated as Grafana's InfluxDB datasource does for a regex match, `(a|b)`).
 *
 * The consumer group reads a 4-partition topic on a real Kafka broker and commits part of
 * it; the collector polls five times 10 s apart (timestamps in the past) while more records arrive,
 * into the InfluxDB store. The `group` variable's query must list the group, and every panel query
 * must return a series for it with values, on InfluxDB's own `/query` endpoint.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { KafkaLagCollector } from '../collector/kafka/index.ts';
import { createInfluxStore } from '../collector/store/influx.ts';
import { grafanaDashboard } from '../dashboards/grafana.ts';
import { startInfluxDB } from './helpers/influxdb.ts';
import { consumeAndCommit, produce, testKafkaBroker } from './helpers/kafka-broker.ts';
import { uniqueName } from './helpers/wait.ts';

interface InfluxQueryResult {
  results: Array<{ error?: string; series?: Array<{ name: string; tags?: Record<string, string>; columns: string[]; values: unknown[][] }> }>;
}

/** Grafana's interpolation of the dashboard's variables and macros for InfluxQL. */
function interpolate(query: string, groups: string[], intervalS: number): string {
  const escaped = groups.map((g) => g.replace(/[\\^$*+?.()|[\]{}/]/g, '\\$&'));
  return query
    .replaceAll('$timeFilter', 'time > now() - 1h')
    .replaceAll('$__interval', `${intervalS}s`)
    .replaceAll('$group', `(${escaped.join('|')})`);
}

test('every panel query of the Grafana dashboard returns the consumer group\'s series from InfluxDB 1.6.7 filled by the lag collector', { timeout: 240_000 }, async () => {
  const [influx, mock] = await Promise.all([startInfluxDB(), testKafkaBroker()]);
  let collector: KafkaLagCollector | undefined;
  let consumer: { disconnect(): Promise<void> } | undefined;
  try {
    const db = await influx.createDatabase();
    const store = await createInfluxStore({ url: influx.url, bucket: db, writeApi: 'v1' });
    const topic = uniqueName('grafana');
    const group = uniqueName('grafana-group');
    await produce(mock.bootstrap, topic, Array.from({ length: 40 }, (_, i) => ({ value: `v${i}`, partition: i % 4 })));
    const kafka = new Kafka({ clientId: 'grafana-it', brokers: mock.bootstrap, logLevel: logLevel.NOTHING });
    consumer = await consumeAndCommit(kafka, topic, group, [3, 10, 0, 7]);
    const pending: Array<Parameters<typeof store.write>[0]> = [];
    const lag = new KafkaLagCollector({ brokers: mock.bootstrap, sink: (points) => { pending.push(points); }, groups: [{ groupId: group, topics: [topic] }] });
    collector = lag;
    const t0 = Date.now() - 60_000;
    for (let i = 0; i < 5; i++) {
      // more records arrive between polls: the produced rate is not zero
      await produce(mock.bootstrap, topic, Array.from({ length: 8 }, (_, k) => ({ value: `late${i}-${k}`, partition: k % 4 })));
      const polled = await lag.pollOnce(t0 + i * 10_000);
      assert.deepEqual(polled.errors, [], `poll ${i}`);
      for (const points of pending.splice(0)) await store.write(points);
    }
    await store.close();

    const run = async (q: string): Promise<InfluxQueryResult> => {
      const res = await fetch(`${influx.url}/query?db=${encodeURIComponent(db)}&epoch=ms&q=${encodeURIComponent(q)}`);
      assert.equal(res.status, 200, q);
      return (await res.json()) as InfluxQueryResult;
    };

    const d = grafanaDashboard();
    const groupVar = d.templating.list.find((v) => v.name === 'group');
    assert.ok(groupVar?.query);
    const tagValues = await run(groupVar.query);
    assert.ok(tagValues.results[0]?.series?.[0]?.values.some((v) => v[1] === group), `the group variable lists ${group}: ${JSON.stringify(tagValues)}`);

    let queries = 0;
    for (const p of d.panels) {
      for (const t of p.targets) {
        const q = interpolate(t.query, [group, 'some-other-group'], 10);
        const r = await run(q);
        const res = r.results[0]!;
        assert.equal(res.error, undefined, `${p.title} ${t.refId}: ${q}`);
        const series = (res.series ?? []).filter((s) => s.tags?.group === group);
        assert.ok(series.length > 0, `${p.title} ${t.refId}: no series for ${group}: ${q}`);
        const vi = series[0]!.columns.indexOf(series[0]!.columns.find((c) => c !== 'time')!);
        const values = series.flatMap((s) => s.values.map((row) => row[vi])).filter((v) => typeof v === 'number');
        assert.ok(values.length > 0, `${p.title} ${t.refId}: only nulls`);
        if (/Records\/s/.test(p.title) && /logEndOffset/.test(t.query)) assert.ok(values.some((v) => (v as number) > 0), `${p.title}: produced records/s is positive`);
        queries++;
      }
    }
    assert.ok(queries >= 8, `ran ${queries} panel queries`);
  } finally {
    await collector?.stop();
    await consumer?.disconnect().catch(() => undefined);
    await mock.stop();
    await influx.close();
  }
});
