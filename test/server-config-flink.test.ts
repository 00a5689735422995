/**
 * The `flink` section of the server configuration: file and STREAMTUNE_FLINK_* environment
 * (environment wins), defaults, durations, and errors naming FILE:LINE and the field (or the
 * variable) — without ever echoing the authorization header.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StreamtuneError } from '../core/errors.ts';
import { loadConfig } from '../control-plane/config.ts';
import { tempDir } from './helpers/wait.ts';

function file(text: string): string {
  const p = join(tempDir('streamtune-config-flink-'), 'streamtune.yaml');
  writeFileSync(p, text);
  return p;
}

function configError(fn: () => unknown): StreamtuneError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof StreamtuneError, String(err));
    assert.equal(err.code, 'INVALID_CONFIG');
    return err;
  }
  assert.fail('expected INVALID_CONFIG');
}

test('flink section from the file, with defaults and durations; absent without one', () => {
  assert.equal(loadConfig({ env: {} }).flink, undefined);
  const c = loadConfig({
    env: {},
    file: file(`flink:
  url: http://flink-jobmanager:8081/
  jarId: f1e2d3c4_orders.jar
  programArgs: [--topic, orders]
  pollIntervalMs: 10s
  restartTimeMs: 2m
  jobs:
    orders-enrichment: { consumerGroup: orders-enricher, topics: [orders] }
`),
  });
  assert.deepEqual(c.flink, {
    url: 'http://flink-jobmanager:8081',
    scheduler: 'default',
    pollIntervalMs: 10_000,
    influxReporter: false,
    jobs: { 'orders-enrichment': { consumerGroup: 'orders-enricher', topics: ['orders'] } },
    jarId: 'f1e2d3c4_orders.jar',
    programArgs: ['--topic', 'orders'],
    restartTimeMs: 120_000,
  });
});

test('STREAMTUNE_FLINK_* win over the file', () => {
  const c = loadConfig({
    file: file('flink:\n  url: http://a:8081\n  scheduler: default\n'),
    env: { STREAMTUNE_FLINK_URL: 'https://b:8443', STREAMTUNE_FLINK_AUTHORIZATION: 'Bearer s3cret', STREAMTUNE_FLINK_JAR_ID: 'j.jar', STREAMTUNE_FLINK_SCHEDULER: 'adaptive', STREAMTUNE_FLINK_POLL_INTERVAL: '2s', STREAMTUNE_FLINK_ENTRY_CLASS: 'com.example.Main' },
  });
  assert.equal(c.flink?.url, 'https://b:8443');
  assert.equal(c.flink?.authorization, 'Bearer s3cret');
  assert.equal(c.flink?.jarId, 'j.jar');
  assert.equal(c.flink?.entryClass, 'com.example.Main');
  assert.equal(c.flink?.scheduler, 'adaptive');
  assert.equal(c.flink?.pollIntervalMs, 2000);
});

test('bad flink values name the file, line and field, or the variable; the authorization is never echoed', () => {
  const f = file('dataDir: ./d\nflink:\n  url: flink:8081\n  authorization: Bearer s3cret\n  scheduler: reactive\n  jobs:\n    orders: { group: x }\n');
  const e = configError(() => loadConfig({ env: {}, file: f }));
  assert.match(e.message, new RegExp(`${f.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:3: flink\\.url: `));
  assert.match(e.message, /:5: flink\.scheduler: must be one of "default", "adaptive"/);
  assert.match(e.message, /:7: flink\.jobs\.orders\.group: unknown field/);
  assert.equal(e.details.field, 'flink.url');
  assert.doesNotMatch(e.message, /s3cret/);

  const missing = configError(() => loadConfig({ env: {}, file: file('flink:\n  jarId: j.jar\n') }));
  assert.match(missing.message, /flink: missing required field 'url'/);

  const env = configError(() => loadConfig({ env: { STREAMTUNE_FLINK_URL: 'http://a:8081', STREAMTUNE_FLINK_SCHEDULER: 'fast' } }));
  assert.match(env.message, /STREAMTUNE_FLINK_SCHEDULER: flink\.scheduler: must be one of/);
  assert.equal(env.details.variable, 'STREAMTUNE_FLINK_SCHEDULER');

  const reporter = configError(() => loadConfig({ env: { STREAMTUNE_FLINK_URL: 'http://a:8081', STREAMTUNE_FLINK_INFLUX_REPORTER: 'true' } }));
  assert.match(reporter.message, /flink\.influxReporter: true needs the InfluxDB the reporter writes to/);
});
