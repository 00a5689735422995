// test-runner: serial
/**
 * Alerting and diagnosis in separate processes (issue 4): two real `streamtune serve` processes
 * (bin/streamtune.js) over the Kafka bus on a real Kafka broker and one real InfluxDB 1.6.7.
 *
 * Process 1 (`--roles jobs,server,alerter`) runs the demo's lagging flights job (enrich at 0.5 ms per
 * record cannot keep up with 5,000 records/s), the collector writing its metrics and lag to
 * InfluxDB, the alerter and the REST API. Process 2 (`--roles diagnoser`) runs only the diagnoser,
 * knowing the jobs from process 1's announcements on the bus topic 'jobs'. The lag alert fired in
 * process 1 reaches process 2 over Kafka; process 2 diagnoses it from InfluxDB (under-provisioned,
 * enrich); the diagnosis comes back over Kafka and is served by process 1's
 * `GET /api/v1/diagnoses?job=`. The logs show which process did what: process 2 never alerted or
 * collected, process 1 never diagnosed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stringify as stringifyYaml } from 'yaml';
import { DEMO_JOB } from '../control-plane/demo.ts';
import type { Diagnosis } from '../diagnoser/types.ts';
import { startInfluxDB, type InfluxServer } from './helpers/influxdb.ts';
import { testKafkaBroker, type TestKafka } from './helpers/kafka-broker.ts';
import { writeLagAlertRules } from './helpers/rules.ts';
import { tempDir, uniqueName, waitFor } from './helpers/wait.ts';

const BIN = resolve(import.meta.dirname, '../bin/streamtune.js');

interface Proc {
  child: ChildProcess;
  /** stdout lines so far (JSON log lines and the CLI's `streamtune:` lines) */
  lines: string[];
  exited: Promise<number | null>;
}

function serve(config: string, roles: string): Proc {
  const child = spawn(process.execPath, [BIN, 'serve', '--config', config, '--roles', roles], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, STREAMTUNE_LOG_LEVEL: 'info' },
  });
  const lines: string[] = [];
  let buf = '';
  const take = (chunk: Buffer): void => {
    buf += chunk.toString('utf8');
    const parts = buf.split('\n');
    buf = parts.pop()!;
    lines.push(...parts);
  };
  child.stdout!.on('data', take);
  child.stderr!.on('data', take);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, lines, exited };
}

/** The JSON log lines of a process, parsed. */
function logs(p: Proc): Array<{ ns?: string; msg?: string; [k: string]: unknown }> {
  return p.lines.filter((l) => l.startsWith('{')).map((l) => { try { return JSON.parse(l) as { ns?: string; msg?: string }; } catch { return {}; } });
}
/** the line's namespace is `name` under the root ('streamtune.alerter'), or below it */
const nsIs = (l: { ns?: string }, name: string): boolean => typeof l.ns === 'string' && (l.ns.endsWith(`.${name}`) || l.ns.includes(`.${name}.`));
const tail = (p: Proc | undefined): string => (p ? p.lines.slice(-40).join('\n') : '(not started)');

/** waitFor, with both processes' last output in the timeout's message. */
async function until<T>(check: () => T | Promise<T>, timeoutMs: number, what: string): Promise<NonNullable<T>> {
  try {
    return await waitFor(check, { timeoutMs, intervalMs: 500, what });
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- process 1:\n${tail(p1)}\n--- process 2:\n${tail(p2)}`);
  }
}

let influx: InfluxServer;
let kafka: TestKafka;
let p1: Proc | undefined;
let p2: Proc | undefined;
let dir: string;

before(async () => {
  [influx, kafka] = await Promise.all([startInfluxDB(), testKafkaBroker()]);
  dir = tempDir('streamtune-roles-');
  const db = await influx.createDatabase();
  const common = {
    bus: 'kafka',
    kafka: { brokers: kafka.bootstrap, topicPrefix: uniqueName('roles') },
    store: { influxUrl: influx.url, influxBucket: db, influxWriteApi: 'v1' },
    rules: { dir: writeLagAlertRules(dir, '3s'), watch: false },
    collector: { intervalMs: '1s' },
    diagnoser: { windowMs: '1m', stepMs: '1s', rediagnoseMs: '5s', alertIntervalMs: '1s', sweepCron: 'off' },
  };
  writeFileSync(join(dir, 'p1.yaml'), stringifyYaml({ ...common, dataDir: join(dir, 'p1'), server: { port: 0, host: '127.0.0.1', apiToken: 'roles-test-token-4f0c2a9e81' }, jobs: [DEMO_JOB] }));
  writeFileSync(join(dir, 'p2.yaml'), stringifyYaml({ ...common, dataDir: join(dir, 'p2') }));
});

after(async () => {
  for (const p of [p1, p2]) {
    if (p && p.child.exitCode === null) {
      p.child.kill('SIGTERM');
      const t = setTimeout(() => p.child.kill('SIGKILL'), 60_000);
      await p.exited;
      clearTimeout(t);
    }
  }
  await kafka?.stop();
  await influx?.close();
});

test('alerter and diagnoser in separate processes: the alert crosses Kafka, the remote diagnosis is served by the jobs process', { timeout: 300_000 }, async (t) => {
  // the diagnoser first, so it is subscribed before the job starts to lag
  p2 = serve(join(dir, 'p2.yaml'), 'diagnoser');
  const proc2 = p2;
  await until(() => logs(proc2).some((l) => l.msg === 'diagnoser started'), 90_000, "process 2's diagnoser subscribed");
  t.diagnostic('process 2 (diagnoser) started');

  p1 = serve(join(dir, 'p1.yaml'), 'jobs,server,alerter');
  const proc1 = p1;
  const url = await until(() => proc1.lines.map((l) => /^streamtune: dashboard\s+(\S+?)\/?$/.exec(l)?.[1]).find(Boolean), 90_000, 'process 1 listening');
  const job = await until(async () => {
    const r = (await (await fetch(`${url}/api/v1/jobs`)).json()) as { jobs: Array<{ job_id: string; name: string; state: string }> };
    return r.jobs.find((j) => j.name === 'flight-delays-demo' && j.state === 'RUNNING');
  }, 90_000, 'the demo job running in process 1');
  t.diagnostic(`process 1 runs job ${job.job_id}`);

  // process 2 learns the job from the bus, diagnoses the alert; process 1 serves the diagnosis
  const diagnosis = await until(async () => {
    const r = (await (await fetch(`${url}/api/v1/diagnoses?job=${job.job_id}`)).json()) as { diagnoses: Diagnosis[] };
    return r.diagnoses.find((d) => d.trigger.type === 'alert');
  }, 180_000, 'a diagnosis of the lag alert served by process 1');
  assert.equal(diagnosis.rootCause.kind, 'under-provisioned', diagnosis.rootCause.explanation);
  assert.equal(diagnosis.rootCause.vertex, 'enrich');
  assert.ok(diagnosis.recommendations.some((r) => r.actions.some((a) => a.type === 'set-parallelism' && a.vertex.name === 'enrich' && a.to > a.from)), JSON.stringify(diagnosis.recommendations));

  const l1 = logs(proc1);
  const l2 = logs(proc2);
  // the alert fired in process 1, the diagnosis was made in process 2
  assert.ok(l1.some((l) => nsIs(l, 'alerter') && l.msg === 'anomaly fired' && l.job_id === job.job_id), 'process 1 fired the alert');
  assert.ok(l2.some((l) => l.msg === 'diagnosis' && l.id === diagnosis.id), 'process 2 made the diagnosis');
  assert.ok(!l1.some((l) => l.msg === 'diagnosis' || l.msg === 'diagnoser started'), 'process 1 ran no diagnoser');
  assert.ok(!l2.some((l) => nsIs(l, 'alerter') || nsIs(l, 'collector') || l.msg === 'alerting started'), 'process 2 ran no alerter and no collector');
  assert.ok(l2.some((l) => l.msg === 'jobs announced'), 'process 2 knows the jobs from the bus');
});
