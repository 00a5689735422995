// test-runner: serial
/**
 * streamtune killed (SIGKILL) at each journaled step of an operation on a REAL Flink job, and
 * started again on the same data dir (issue 16): the operation is repaired from the journal and what
 * Flink reports, it ends, the job ends RUNNING on the settings the journal says (the new ones when the
 * operation went through, the previous ones when it was rolled back), and a 'repair' step says what
 * was found and done.
 *
 * The killed streamtune is test/helpers/flink-tuner-child.ts, a separate process with its own control
 * plane against the file's stack (test/helpers/real-flink-stack.ts), killed just after the journal
 * record of the step is durable. To be killed while rolling back, its change asks enrich for more
 * subtasks than the cluster has slots, with a 20 s start timeout: the new execution never runs, the
 * runner rolls back, and is killed then.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createControlPlane } from '../control-plane/assemble.ts';
import { loadConfig } from '../control-plane/config.ts';
import { flinkGet, type JobDetails } from './helpers/flink-cluster.ts';
import { FLIGHT_DELAYS_ENTRY_CLASS, startRealFlinkStack, type RealFlinkStack, type StackJob } from './helpers/real-flink-stack.ts';
import { journalOps } from './helpers/journal.ts';
import { tempDir, waitFor } from './helpers/wait.ts';

const CHILD = join(import.meta.dirname, 'helpers', 'flink-tuner-child.ts');
const SLOTS = 4;

let stack: RealFlinkStack;
let storeDb: string;
before(async () => {
  stack = await startRealFlinkStack({ slots: SLOTS });
  storeDb = await stack.influx.createDatabase();
});
after(async () => {
  await stack?.close();
});

/** The control-plane config overrides of the child and of the recovering control plane: one data dir, the REST collector. */
function overrides(dataDir: string, job: StackJob): Record<string, unknown> {
  return {
    dataDir,
    server: { port: 0, apiToken: 'flink-tuner-crash-token-0123456789abcdef' },
    store: { influxUrl: stack.influx.url, influxBucket: storeDb, influxWriteApi: 'v1' },
    kafka: { brokers: stack.kafka.bootstrap },
    collector: { intervalMs: 2000 },
    rules: { watch: false },
    diagnoser: { sweepCron: 'off' },
    flink: {
      url: stack.flink.restUrl, jarId: stack.jarId, entryClass: FLIGHT_DELAYS_ENTRY_CLASS, pollIntervalMs: 1000, restartTimeMs: 10_000,
      jobs: { [job.name]: { consumerGroup: `${job.name}-group`, topics: [job.topic ?? 'flights'], programArgs: stack.jobArgs(job) } },
    },
    tuner: { policies: { '*': { cooldownMs: 0, verifyAfterMs: 0 } }, timeouts: { savepointMs: 60_000, runningMs: 20_000, firstRecordMs: 10_000 } },
  };
}

function runChild(args: string[]): Promise<{ signal: NodeJS.Signals | null; code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    p.stdout.resume();
    p.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-20_000)));
    const timer = setTimeout(() => p.kill('SIGKILL'), 240_000);
    p.on('error', reject);
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr: err });
    });
  });
}


/** Where the child is killed, the change it applies (enrich 1 → `to`), and how the operation must end. */
const CASES = [
  { killAt: 'SAVEPOINTING', to: 2, state: 'SUCCEEDED', enrich: 2 },
  { killAt: 'STARTING', to: 2, state: 'SUCCEEDED', enrich: 2 },
  { killAt: 'VERIFYING', to: 2, state: 'SUCCEEDED', enrich: 2 },
  { killAt: 'ROLLING_BACK', to: SLOTS + 2, state: 'ROLLED_BACK', enrich: 1 },
] as const;

describe('streamtune SIGKILLed during an operation on a real Flink job', { timeout: 1_200_000 }, () => {
  for (const c of CASES) {
    test(`killed while ${c.killAt}: repaired at the next start (${c.state}), the job RUNNING with enrich at ${c.enrich}`, { timeout: 300_000 }, async () => {
      const job: StackJob = { name: `crash-${c.killAt.toLowerCase()}`, lookupLatencyMs: 0.2, parallelism: 1 };
      const producer = stack.produce({ rate: 300 });
      const jid = await stack.submit(job);
      try {
        const dataDir = tempDir('flink-crash-');
        const cfg = overrides(dataDir, job);
        writeFileSync(join(dataDir, 'config.json'), JSON.stringify(cfg));
        writeFileSync(join(dataDir, 'actions.json'), JSON.stringify([{ type: 'set-parallelism', vertex: 'enrich', from: 1, to: c.to }]));
        const first = await runChild([join(dataDir, 'config.json'), jid, join(dataDir, 'actions.json'), c.killAt]);
        assert.equal(first.signal, 'SIGKILL', `the child should have been killed: ${first.stderr}`);
        const before = [...journalOps(dataDir).values()];
        assert.equal(before.length, 1);
        assert.equal(before[0]!.state, c.killAt, 'the journal shows the step under way');

        // streamtune starts again on the same data dir: createControlPlane recovers the journal
        const cp = await createControlPlane(loadConfig({ env: {}, overrides: cfg }));
        try {
          const op = await cp.tuner.waitFor(before[0]!.id, 180_000);
          assert.equal(op.state, c.state, `${op.state}: ${op.error ?? ''} ${JSON.stringify(op.steps, null, 1)}`);
          const repair = op.steps.find((s) => s.name === 'repair');
          assert.ok(repair, 'a repair step is recorded');
          assert.match(repair.message ?? '', new RegExp(`interrupted while ${{ SAVEPOINTING: 'stopping with a savepoint', STARTING: 'starting', VERIFYING: 'verifying', ROLLING_BACK: 'rolling back' }[c.killAt]}`));
          assert.ok(op.savepointPath, 'the savepoint used is recorded');
          // a savepoint restart runs under the JobID the operation journaled
          const now = op.restartedAs ?? jid;
          await waitFor(
            async () => {
              const j = await flinkGet<JobDetails>(stack.flink, `/jobs/${now}`);
              return j.state === 'RUNNING' && j.vertices.every((v) => v.status === 'RUNNING') && j.vertices.find((v) => v.name === 'enrich')!.parallelism === c.enrich;
            },
            { timeoutMs: 60_000, intervalMs: 500, what: `job ${now} RUNNING with enrich at ${c.enrich}` },
          );
        } finally {
          await cp.close();
        }
      } finally {
        await producer.stop();
        // cancel whatever execution of the job still runs
        const jobs = (await flinkGet<{ jobs: Array<{ jid: string; name: string; state: string }> }>(stack.flink, '/jobs/overview').catch(() => ({ jobs: [] }))).jobs;
        for (const j of jobs.filter((x) => x.name === job.name && x.state === 'RUNNING')) await fetch(`${stack.flink.restUrl}/jobs/${j.jid}?mode=cancel`, { method: 'PATCH' }).catch(() => undefined);
      }
    });
  }
});
