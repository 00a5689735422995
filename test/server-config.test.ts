/**
 * The server configuration: YAML file + STREAMTUNE_* environment (environment wins), defaults, unit
 * conversion, and errors that name FILE:LINE and the field (or the variable).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StreamtuneError } from '../core/errors.ts';
import { loadConfig } from '../control-plane/config.ts';
import { DEMO_JOB, DEMO_RULES, demoConfig, demoDataDir, resetDemoData } from '../control-plane/demo.ts';
import { tempDir } from './helpers/wait.ts';

function file(text: string): string {
  const p = join(tempDir('streamtune-config-'), 'streamtune.yaml');
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

test('defaults without a file or environment', () => {
  const c = loadConfig({ env: {} });
  assert.equal(c.server.port, 8080);
  assert.equal(c.server.host, '127.0.0.1');
  assert.equal(c.server.baseUrl, 'http://127.0.0.1:8080');
  assert.equal(c.server.apiToken, undefined);
  assert.equal(c.bus, 'memory');
  assert.equal(c.collector.intervalMs, 5000);
  assert.deepEqual(c.jobs, []);
  assert.equal(c.kafka, undefined);
  assert.equal(c.notify, undefined);
  assert.match(c.dataDir, /data$/);
});

test('file values, durations in ms, paths relative to the file, environment overriding the file', () => {
  const f = file(
    [
      'server:',
      '  port: 9000',
      '  host: 0.0.0.0',
      'dataDir: ./state',
      'collector:',
      '  intervalMs: 10s',
      'diagnoser:',
      '  windowMs: 5m',
      '  sweepCron: "*/10 * * * *"',
      'rules:',
      '  dir: ./my-rules',
      'tuner:',
      '  policies:',
      "    '*': { mode: recommend, cooldownMs: 2m }",
      '    orders: { mode: auto, maxParallelism: 8 }',
      'notify:',
      '  email:',
      '    recipients: { default: [ops@example.com] }',
      '  incidents: { reminderIntervalMs: 1h }',
      'jobs:',
      '  - jobs/a.yaml',
      '  - { path: jobs/b.yaml, parallelism: { enrich: 2 } }',
    ].join('\n'),
  );
  const dir = join(f, '..');
  const c = loadConfig({
    file: f,
    env: { STREAMTUNE_PORT: '9100', STREAMTUNE_KAFKA_BROKERS: '127.0.0.1:9092, 127.0.0.1:9093', STREAMTUNE_SMTP_URL: 'smtp://127.0.0.1:2525', STREAMTUNE_API_TOKEN: 'x'.repeat(32) },
  });
  assert.equal(c.server.port, 9100, 'STREAMTUNE_PORT wins over the file');
  assert.equal(c.server.host, '0.0.0.0');
  assert.equal(c.server.baseUrl, 'http://0.0.0.0:9100');
  assert.equal(c.server.apiToken, 'x'.repeat(32));
  assert.equal(c.dataDir, join(dir, 'state'));
  assert.equal(c.store.dataDir, join(dir, 'state'));
  assert.equal(c.collector.intervalMs, 10_000);
  assert.equal(c.diagnoser.windowMs, 300_000);
  assert.equal(c.diagnoser.sweepCron, '*/10 * * * *');
  assert.equal(c.rules.dir, join(dir, 'my-rules'));
  assert.deepEqual(c.tuner.policies['*'], { mode: 'recommend', cooldownMs: 120_000 });
  assert.deepEqual(c.tuner.policies.orders, { mode: 'auto', maxParallelism: 8 });
  assert.deepEqual(c.kafka, { brokers: ['127.0.0.1:9092', '127.0.0.1:9093'] });
  assert.equal(c.notify?.email?.smtpUrl, 'smtp://127.0.0.1:2525');
  assert.equal(c.notify?.baseUrl, 'http://0.0.0.0:9100');
  assert.equal(c.notify?.incidents?.reminderIntervalMs, 3_600_000);
  assert.deepEqual(c.jobs, [{ path: join(dir, 'jobs/a.yaml') }, { path: join(dir, 'jobs/b.yaml'), parallelism: { enrich: 2 } }]);
  assert.equal(c.source, f);
});

test('a bad value in the file names FILE:LINE and the field', () => {
  const f = file(['server:', '  port: 8080', 'collector:', '  intervalMs: fast', ''].join('\n'));
  const e = configError(() => loadConfig({ file: f, env: {} }));
  assert.match(e.message, new RegExp(`${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4: collector\\.intervalMs: must be a duration`));
  assert.equal(e.details.file, f);
  assert.equal(e.details.line, 4);
  assert.equal(e.details.field, 'collector.intervalMs');
});

test('an unknown field names the line of its key; every problem is listed', () => {
  const f = file(['server:', '  port: 70000', 'dataDir: ./d', 'colector:', '  intervalMs: 5s', ''].join('\n'));
  const e = configError(() => loadConfig({ file: f, env: {} }));
  assert.match(e.message, /:2: server\.port: must be <= 65535/);
  assert.match(e.message, /:4: colector: unknown field/);
});

test('a bad environment variable is named instead of a file line', () => {
  const f = file('server:\n  port: 8080\n');
  const e = configError(() => loadConfig({ file: f, env: { STREAMTUNE_PORT: 'eighty' } }));
  assert.match(e.message, /STREAMTUNE_PORT: server\.port: must be integer/);
  assert.equal(e.details.variable, 'STREAMTUNE_PORT');
  const e2 = configError(() => loadConfig({ env: { STREAMTUNE_KAFKA_BROKERS: 'localhost' } }));
  assert.match(e2.message, /STREAMTUNE_KAFKA_BROKERS: kafka\.brokers\.0: must match/);
});

test('store settings are checked by the store resolver, naming the variable', () => {
  const e = configError(() => loadConfig({ env: { STREAMTUNE_INFLUXDB_URL: 'ftp://db:8086' } }));
  assert.match(e.message, /STREAMTUNE_INFLUXDB_URL: store\.influxUrl: .*http/);
  const c = loadConfig({ env: { STREAMTUNE_INFLUXDB_URL: 'http://127.0.0.1:8086', STREAMTUNE_INFLUXDB_BUCKET: 'metrics' } });
  assert.equal(c.store.influxUrl, 'http://127.0.0.1:8086');
  assert.equal(c.store.influxBucket, 'metrics');
});

test('the embedded store head: STREAMTUNE_STORE_HEAD_MINUTES or store.headMinutes (0 turns it off), bad values named', () => {
  assert.equal(loadConfig({ env: { STREAMTUNE_STORE_HEAD_MINUTES: '0' } }).store.headMinutes, 0);
  assert.equal(loadConfig({ file: file('store:\n  headMinutes: 15\n  headMaxPoints: 1000000\n') }).store.headMinutes, 15);
  const e = configError(() => loadConfig({ env: { STREAMTUNE_STORE_HEAD_MINUTES: 'soon' } }));
  assert.match(e.message, /STREAMTUNE_STORE_HEAD_MINUTES: store\.headMinutes: must be number/);
  const e2 = configError(() => loadConfig({ file: file('store:\n  headMaxPoints: 0\n') }));
  assert.match(e2.message, /store\.headMaxPoints/);
});

test('YAML syntax errors and a non-mapping root name the line', () => {
  const f = file('server:\n  port: 8080\n  host: [unclosed\n');
  const e = configError(() => loadConfig({ file: f, env: {} }));
  assert.match(e.message, /:\d+: YAML syntax error/);
  assert.equal(typeof e.details.line, 'number');
  const g = file('- just\n- a list\n');
  assert.match(configError(() => loadConfig({ file: g, env: {} })).message, /:1: \(root\): must be a mapping/);
  assert.match(configError(() => loadConfig({ file: '/nonexistent/streamtune.yaml', env: {} })).message, /cannot read config file/);
});

test("bus 'kafka' needs brokers; command-line overrides win over the environment", () => {
  const e = configError(() => loadConfig({ env: { STREAMTUNE_BUS: 'kafka' } }));
  assert.match(e.message, /bus: 'kafka' needs kafka\.brokers/);
  const c = loadConfig({ env: { STREAMTUNE_PORT: '9100' }, overrides: { server: { port: 0 } } });
  assert.equal(c.server.port, 0);
});

test('demo config: its job, rules and data dir; the reset empties only a folder the demo made', () => {
  const base = tempDir('streamtune-demo-');
  const c = demoConfig({ env: { STREAMTUNE_DATA_DIR: base }, port: 0 });
  assert.equal(c.dataDir, join(base, 'demo'));
  assert.deepEqual(c.jobs, [{ path: DEMO_JOB }]);
  assert.equal(c.rules.dir, DEMO_RULES.replace(/\/$/, ''));
  assert.equal(c.server.port, 0);
  assert.equal(c.diagnoser.alertIntervalMs, 5000);

  const dir = demoDataDir({ STREAMTUNE_DATA_DIR: base });
  resetDemoData(dir);
  writeFileSync(join(dir, 'stale.json'), '{}');
  resetDemoData(dir);
  assert.deepEqual(readdirSync(dir), ['.streamtune-demo'], 'a stale demo run is emptied');

  const foreign = tempDir('streamtune-not-demo-');
  writeFileSync(join(foreign, 'precious.txt'), 'keep me');
  const e = configError(() => resetDemoData(foreign));
  assert.match(e.message, /not deleting/);
  assert.deepEqual(readdirSync(foreign), ['precious.txt']);
});
