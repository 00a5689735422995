/**
 * Process roles (`serve --roles`, `roles:`, STREAMTUNE_ROLES): defaults, validation with errors that
 * name the file line or variable and state the rule, and the read-only job mirror a process without
 * the `jobs` role keeps from the bus topic 'jobs'. Plain data, no servers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StreamtuneError, isErrorCode } from '../core/errors.ts';
import { checkRoles, loadConfig, ROLES } from '../control-plane/config.ts';
import { createMirrorCatalog, type ManagedJob } from '../platform/index.ts';
import { tempDir } from './helpers/wait.ts';

const split = { STREAMTUNE_BUS: 'kafka', STREAMTUNE_KAFKA_BROKERS: '127.0.0.1:9092', STREAMTUNE_INFLUXDB_URL: 'http://127.0.0.1:8086' };

function configError(fn: () => unknown): StreamtuneError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof StreamtuneError && err.code === 'INVALID_CONFIG', String(err));
    return err;
  }
  assert.fail('expected INVALID_CONFIG');
}

test('roles default to all of them: one process, any bus and store', () => {
  const c = loadConfig({ env: {} });
  assert.deepEqual(c.roles, [...ROLES]);
  assert.equal(checkRoles(c.roles, 'memory', undefined), undefined);
});

test('STREAMTUNE_ROLES and --roles select roles; a split needs the Kafka bus and InfluxDB', () => {
  assert.deepEqual(loadConfig({ env: { ...split, STREAMTUNE_ROLES: 'alerter, diagnoser' } }).roles, ['alerter', 'diagnoser']);
  assert.deepEqual(loadConfig({ env: { ...split, STREAMTUNE_ROLES: 'alerter' }, overrides: { roles: ['diagnoser'] } }).roles, ['diagnoser']);

  const noBus = configError(() => loadConfig({ env: { STREAMTUNE_ROLES: 'diagnoser', STREAMTUNE_INFLUXDB_URL: 'http://127.0.0.1:8086' } }));
  assert.match(noBus.message, /bus: must be 'kafka' .*roles are split over processes .*does not reach the other processes/);
  const noInflux = configError(() => loadConfig({ env: { STREAMTUNE_ROLES: 'jobs,server', STREAMTUNE_BUS: 'kafka', STREAMTUNE_KAFKA_BROKERS: '127.0.0.1:9092' } }));
  assert.match(noInflux.message, /store\.influxUrl: is needed .*DuckDB file only one process can open/);
  const unknown = configError(() => loadConfig({ env: { ...split, STREAMTUNE_ROLES: 'diagnoser,collectr' } }));
  assert.match(unknown.message, /STREAMTUNE_ROLES: roles\.1: must be one of "jobs", "server", "notify", "alerter", "diagnoser"/);
});

test('server and notify run beside jobs; the file line of roles is named', () => {
  const dir = tempDir('streamtune-roles-');
  const f = join(dir, 'streamtune.yaml');
  writeFileSync(f, ['bus: kafka', 'kafka:', '  brokers: ["127.0.0.1:9092"]', 'store:', '  influxUrl: http://127.0.0.1:8086', 'roles: [server, alerter]', ''].join('\n'));
  const e = configError(() => loadConfig({ file: f, env: {} }));
  assert.match(e.message, new RegExp(`${f.replace(/[.]/g, '\\.')}:6: roles: 'server' runs in the process with 'jobs'`));
  assert.equal(e.details.line, 6);
  assert.equal(checkRoles(['jobs', 'notify'], 'kafka', 'http://x'), undefined);
  assert.match(checkRoles(['notify', 'diagnoser'], 'kafka', 'http://x')!.message, /'notify' runs in the process with 'jobs'/);
});

const job = (id: string, state: ManagedJob['state'] = 'RUNNING'): ManagedJob => ({
  job_id: id, name: `job-${id}`, executor: 'bundled', state, consumerGroup: `job-${id}`, topology: [{ id: 'v1', name: 'src', parallelism: 1, maxParallelism: 128, inputs: [] }],
});

test('mirror catalog: an origin\'s newest announcement replaces its jobs; late and stale announcements are dropped; mutations are refused', async () => {
  let t = 1000;
  const m = createMirrorCatalog({ now: () => t, staleMs: 10_000 });
  const changed: string[] = [];
  m.onChange((j) => changed.push(`${j.job_id}:${j.state}`));
  m.apply({ origin: 'a', at: 1000, jobs: [job('1'), job('2')] });
  m.apply({ origin: 'b', at: 1000, jobs: [job('3')] });
  assert.deepEqual(m.list().map((j) => j.job_id).sort(), ['1', '2', '3']);
  assert.deepEqual(changed, ['1:RUNNING', '2:RUNNING', '3:RUNNING']);

  // the same list again tells no listener; a changed state does; a job left out is gone
  m.apply({ origin: 'a', at: 2000, jobs: [job('1'), job('2')] });
  m.apply({ origin: 'a', at: 3000, jobs: [job('1', 'RESTARTING')] });
  assert.deepEqual(changed.slice(3), ['1:RESTARTING']);
  assert.equal(m.get('2'), undefined);
  assert.equal(m.get('1')?.state, 'RESTARTING');

  // an older announcement delivered late changes nothing
  m.apply({ origin: 'a', at: 2500, jobs: [] });
  assert.ok(m.get('1'));

  // origin b stops announcing: after staleMs its jobs are dropped
  t = 12_000;
  m.apply({ origin: 'a', at: 12_000, jobs: [job('1')] });
  assert.deepEqual(m.list().map((j) => j.job_id), ['1']);

  await assert.rejects(() => m.submit('name: x'), (e) => isErrorCode(e, 'FORBIDDEN') && /no 'jobs' role/.test((e as Error).message));
  await assert.rejects(() => m.stop('1'), (e) => isErrorCode(e, 'FORBIDDEN'));
  await assert.rejects(() => m.triggerSavepoint('1'), (e) => isErrorCode(e, 'FORBIDDEN'));
});
