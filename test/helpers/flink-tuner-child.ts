/**
 * streamtune as a separate process against a real Flink cluster, for the crash test
 * (test/flink-tuner-crash.test.ts): run as a program,
 *
 *   node --import tsx test/helpers/flink-tuner-child.ts <config.json> <jobId> <actions.json> <killAt>
 *
 * builds the control plane (`createControlPlane`) from the config overrides in `config.json` (the
 * parent's stack: Flink URL, jar and the job's program, Kafka, InfluxDB, a data dir), waits until it
 * lists the Flink job RUNNING, applies `actions.json` (an array of tuning actions) as the user, and
 * SIGKILLs itself just after the operation's journal record for `killAt` (SAVEPOINTING, STARTING,
 * VERIFYING or ROLLING_BACK) is durable: the step is then under way. It prints JSON lines
 * (`{"event":"applied","operationId":…}`) on stdout; it never exits by itself.
 */
import { readFileSync } from 'node:fs';
import { createControlPlane } from '../../control-plane/assemble.ts';
import { loadConfig } from '../../control-plane/config.ts';
import type { TuningActionInput } from '../../tuner/types.ts';

async function main(argv: string[]): Promise<void> {
  const [configPath, jobId, actionsPath, killAt] = argv;
  if (!configPath || !jobId || !actionsPath || !killAt) throw new Error('usage: flink-tuner-child.ts <config.json> <jobId> <actions.json> <killAt>');
  const config = loadConfig({ env: {}, overrides: JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown> });
  const cp = await createControlPlane(config);
  const deadline = Date.now() + 60_000;
  while (cp.jobs.get(jobId)?.state !== 'RUNNING') {
    if (Date.now() > deadline) throw new Error(`job ${jobId} not listed RUNNING within 60 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
  await cp.bus.subscribe('operations', (op) => {
    if (op.state === killAt) setImmediate(() => process.kill(process.pid, 'SIGKILL'));
  });
  const actions = JSON.parse(readFileSync(actionsPath, 'utf8')) as TuningActionInput[];
  const op = await cp.tuner.apply({ job_id: jobId, actions, origin: 'user' });
  process.stdout.write(`${JSON.stringify({ event: 'applied', operationId: op.id })}\n`);
  await new Promise(() => {}); // killed from inside
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
