/**
 * The name mapping of core/prometheus-names.ts, as docs/METRICS.md's tables give it: every row that
 * names one measurement, field and Prometheus metric is what `prometheusMetricName` computes; plus the
 * label value filter on the values a real Flink 1.20.3 scrape shows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { isStreamtuneMeasurement, prometheusMetricName, prometheusSanitize } from '../core/prometheus-names.ts';
import { promSelector } from '../collector/store/prometheus.ts';

test("docs/METRICS.md's mapping tables agree with prometheusMetricName", () => {
  const doc = readFileSync(new URL('../docs/METRICS.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('## Prometheus: the name mapping'), doc.indexOf('### How the Prometheus store computes'));
  let checked = 0;
  for (const line of section.split('\n')) {
    const m = /^\| `([A-Za-z0-9_:-]+)`, ([a-zA-Z]+)[^|]* \| `([A-Za-z0-9_:]+)`/.exec(line);
    if (!m) continue;
    const [, measurement, field, name] = m;
    assert.equal(prometheusMetricName(measurement!, field!), name, line);
    checked++;
  }
  assert.ok(checked >= 20, `rows checked: ${checked}`);
});

test('names, meters and streamtune measurements', () => {
  assert.equal(prometheusMetricName('taskmanager_job_task_numRecordsInPerSecond', 'count'), undefined, "a meter's count is not exported");
  assert.equal(prometheusMetricName('streamtune_job_vertex', 'maxParallelism'), 'streamtune_job_vertex_maxParallelism');
  assert.equal(isStreamtuneMeasurement('taskmanager_job_task_streamtune_keyGroupRecords'), true);
  assert.equal(isStreamtuneMeasurement('taskmanager_job_task_busyTimeMsPerSecond'), false);
});

test("Flink's label value filter, on the values of the real scrape; where values match both forms", () => {
  assert.equal(prometheusSanitize('results: Writer -> results: Committer'), 'results:_Writer____results:_Committer');
  assert.equal(prometheusSanitize('flight-delays'), 'flight_delays');
  assert.equal(prometheusSanitize('127.0.0.1'), '127_0_0_1');
  const scrape = readFileSync(new URL('./fixtures/flink/prometheus-reporter-1.20.3-taskmanager.txt', import.meta.url), 'utf8');
  assert.match(scrape, /task_name="results:_Writer____results:_Committer"/);
  assert.match(scrape, /job_name="flight_delays"/);
  assert.equal(promSelector('m', { task_name: 'Source: flights' }), '{__name__="m",task_name=~"Source: flights|Source:_flights"}');
  assert.equal(promSelector('m', { job_id: ['b', 'a'] }), '{__name__="m",job_id=~"a|b"}');
  assert.equal(promSelector('m', { x: 'a.b"c' }), '{__name__="m",x=~"a\\\\.b\\"c|a_b_c"}');
});
