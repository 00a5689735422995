/**
 * `streamtune diagnose --metrics FILE --job JOB_ID [--at TIME] [--window 10m] [--rules DIR]`:
 * diagnoses one job offline from a file of InfluxDB line protocol (what Flink's reporter writes, or an
 * export from InfluxDB) and prints the diagnosis as JSON. The points are loaded into an in-memory
 * embedded store and read through the same interface the server uses.
 */
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { errorMessage, parseLineProtocol } from '../core/index.ts';
import { createEmbeddedStore } from '../collector/index.ts';
import { loadJobWindow, diagnose } from '../diagnoser/index.ts';
import { loadRules } from '../rules/index.ts';
import { parseDuration } from '../runtime/index.ts';

interface DiagnoseOptions {
  metrics: string;
  job: string;
  at?: string;
  window: string;
  rules?: string;
  group?: string;
}

/** Builds the `diagnose` command; `exit` receives the exit code. */
export function diagnoseCommand(exit: (code: number) => void): Command {
  return new Command('diagnose')
    .description('diagnose one job offline from a file of InfluxDB line protocol; prints the diagnosis as JSON')
    .requiredOption('--metrics <file>', 'line protocol file (Flink InfluxDB reporter format)')
    .requiredOption('--job <jobId>', 'job_id tag of the job')
    .option('--at <time>', 'end of the window (ISO-8601 or epoch ms); default: the newest point of the job')
    .option('--window <duration>', 'window length, e.g. 10m', '10m')
    .option('--rules <dir>', 'rules directory (extends the built-in rules)')
    .option('--group <groupId>', 'consumer group of the job, for lag from streamtune_kafka_* measurements')
    .action(async (o: DiagnoseOptions) => {
      exit(await run(o));
    });
}

async function run(o: DiagnoseOptions): Promise<number> {
  try {
    const { points, errors } = parseLineProtocol(readFileSync(o.metrics, 'utf8'), { source: o.metrics });
    // e.message is already 'FILE: line N: reason'
    for (const e of errors.slice(0, 20)) process.stderr.write(`warning: ${e.message} (line skipped)\n`);
    if (errors.length > 20) process.stderr.write(`warning: ${o.metrics}: ${errors.length - 20} more bad lines skipped\n`);
    const mine = points.filter((p) => p.tags.job_id === o.job);
    if (mine.length === 0) {
      process.stderr.write(`error: ${o.metrics} has no points with job_id=${o.job}\n`);
      return 2;
    }
    const windowMs = parseDuration(o.window, '--window', 600_000);
    const end = o.at ? (/^\d+$/.test(o.at) ? Number(o.at) : Date.parse(o.at)) : Math.max(...mine.map((p) => p.timestamp));
    if (!Number.isFinite(end)) {
      process.stderr.write(`error: --at: '${o.at}' is not a time\n`);
      return 2;
    }
    const store = await createEmbeddedStore({ path: ':memory:', retentionDays: 36500 });
    try {
      await store.write(points);
      const rules = loadRules(o.rules);
      const window = await loadJobWindow(store, o.job, end - windowMs, end, end, { consumerGroup: o.group, historyMs: rules.planner.scaleDownIntervalMs });
      const d = diagnose(rules, window, { type: 'manual' });
      process.stdout.write(`${JSON.stringify(d, null, 2)}\n`);
    } finally {
      await store.close();
    }
    return 0;
  } catch (err) {
    process.stderr.write(`error: ${errorMessage(err)}\n`);
    return 2;
  }
}
