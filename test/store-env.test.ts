import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createStoreFromEnv, resolveStoreSettings, type EmbeddedStore } from '../collector/store/index.ts';
import { StreamtuneError } from '../core/errors.ts';
import { tempDir } from './helpers/wait.ts';

const invalid = (variable: string) => (e: unknown) => e instanceof StreamtuneError && e.code === 'INVALID_CONFIG' && e.message.includes(variable);

test('no STREAMTUNE_INFLUXDB_URL: the embedded store in STREAMTUNE_DATA_DIR/metrics.duckdb', async () => {
  const dir = tempDir('streamtune-env-');
  try {
    const store = await createStoreFromEnv({ STREAMTUNE_DATA_DIR: join(dir, 'd') });
    await store.write([{ measurement: 'm', tags: {}, fields: { value: 1 }, timestamp: 1000 }]);
    await store.close();
    assert.ok(existsSync(join(dir, 'd', 'metrics.duckdb')));
    assert.deepEqual(resolveStoreSettings({}), { kind: 'embedded', path: './data/metrics.duckdb', retentionDays: 7 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('InfluxDB settings from the environment; the config object overrides them', () => {
  const env = {
    STREAMTUNE_INFLUXDB_URL: 'http://127.0.0.1:8086/',
    STREAMTUNE_INFLUXDB_TOKEN: 'tok',
    STREAMTUNE_INFLUXDB_ORG: 'acme',
    STREAMTUNE_INFLUXDB_BUCKET: 'flink',
    STREAMTUNE_INFLUXDB_WRITE_API: 'v1',
  };
  assert.deepEqual(resolveStoreSettings(env), {
    kind: 'influxdb', url: 'http://127.0.0.1:8086', org: 'acme', bucket: 'flink', writeApi: 'v1', hasToken: true, token: 'tok',
  });
  const s = resolveStoreSettings(env, { influxBucket: 'other', influxWriteApi: 'v2' });
  assert.equal(s.kind === 'influxdb' && s.bucket, 'other');
  assert.equal(s.kind === 'influxdb' && s.writeApi, 'v2');
  assert.equal(resolveStoreSettings(env, { embeddedPath: ':memory:', influxUrl: '' }).kind, 'embedded');
});

test('invalid values are INVALID_CONFIG naming the variable', async () => {
  await assert.rejects(createStoreFromEnv({ STREAMTUNE_INFLUXDB_URL: 'not a url' }), invalid('STREAMTUNE_INFLUXDB_URL'));
  await assert.rejects(createStoreFromEnv({ STREAMTUNE_INFLUXDB_URL: 'ftp://x' }), invalid('STREAMTUNE_INFLUXDB_URL'));
  await assert.rejects(createStoreFromEnv({ STREAMTUNE_INFLUXDB_URL: 'http://127.0.0.1:1', STREAMTUNE_INFLUXDB_WRITE_API: 'v3' }), invalid('STREAMTUNE_INFLUXDB_WRITE_API'));
  await assert.rejects(createStoreFromEnv({ STREAMTUNE_INFLUXDB_URL: 'http://127.0.0.1:1', STREAMTUNE_INFLUXDB_BUCKET: 'a b' }), invalid('STREAMTUNE_INFLUXDB_BUCKET'));
  await assert.rejects(createStoreFromEnv({ STREAMTUNE_INFLUXDB_URL: 'http://127.0.0.1:1' }, { influxWriteApi: 'x' as 'v1' }), invalid('config.influxWriteApi'));
  await assert.rejects(createStoreFromEnv({ STREAMTUNE_STORE_HEAD_MINUTES: '-1' }), invalid('STREAMTUNE_STORE_HEAD_MINUTES'));
  await assert.rejects(createStoreFromEnv({}, { headMaxPoints: 0 }), invalid('config.headMaxPoints'));
});

test('the embedded store head from the environment: STREAMTUNE_STORE_HEAD_MINUTES=0 turns it off', async () => {
  assert.deepEqual(resolveStoreSettings({ STREAMTUNE_STORE_HEAD_MINUTES: '15' }), { kind: 'embedded', path: './data/metrics.duckdb', retentionDays: 7, headMinutes: 15 });
  const off = await createStoreFromEnv({ STREAMTUNE_STORE_HEAD_MINUTES: '0' }, { embeddedPath: ':memory:' });
  const on = await createStoreFromEnv({}, { embeddedPath: ':memory:' });
  try {
    assert.equal((off as EmbeddedStore).headStats(), null);
    assert.equal((on as EmbeddedStore).headStats()?.points, 0);
  } finally {
    await off.close();
    await on.close();
  }
});
