/**
 * `streamtune run <spec.yaml>`: runs a job on the bundled runtime, printing progress; SIGINT or
 * SIGTERM (or, started through npm/npx, the parent process' exit: cli/parent-watch.ts) stops it with
 * a savepoint and prints `savepoint: <path>`.
 */
import { Command, InvalidArgumentError } from 'commander';
import { resolve } from 'node:path';
import { createLogger, errorMessage } from '../core/index.ts';
import { loadJobSpec, LocalJob, startPrometheusReporter, type PrometheusReporter } from '../runtime/index.ts';
import '../runtime/index.ts'; // registers the kafka-source and kafka-sink vertex types
import { progressLine } from './progress.ts';
import { exitWithParentWanted, ignoreBrokenStdio, watchParent } from './parent-watch.ts';

/** Parses repeated `VERTEX=N` values into a map. */
export function parseParallelismArg(value: string, prev: Record<string, number> = {}): Record<string, number> {
  const m = /^([^=]+)=(\d+)$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError(`expected VERTEX=N, got '${value}'`);
  return { ...prev, [m[1]!]: Number(m[2]) };
}

/** Options of the run command. */
interface RunOptions {
  parallelism?: Record<string, number>;
  fromSavepoint?: string;
  savepointDir?: string;
  output?: string;
  untilEnd?: boolean;
  progress: string;
  quiet?: boolean;
  prometheusPort?: number;
  prometheusHost?: string;
}

function portArg(v: string): number {
  if (!/^[0-9]+$/.test(v) || Number(v) > 65535) throw new InvalidArgumentError('must be an integer port 0..65535');
  return Number(v);
}

/** Builds the `run` command; `exit` receives the exit code. */
export function runCommand(exit: (code: number) => void): Command {
  return new Command('run')
    .description('run a job spec on the bundled runtime')
    .argument('<spec>', 'job spec (YAML)')
    .option('-p, --parallelism <VERTEX=N>', 'parallelism of a vertex (repeatable)', parseParallelismArg)
    .option('--from-savepoint <path>', 'restore from a savepoint or retained checkpoint directory')
    .option('--savepoint-dir <dir>', 'where savepoints go (default <checkpoint dir>/savepoints)')
    .option('--output <dir>', 'output directory of the JSONL sink(s)')
    .option('--until-end', 'run bounded sources to their end and flush all windows, then exit')
    .option('--progress <ms>', 'progress line interval in ms (0 = none)', '2000')
    .option('-q, --quiet', 'no progress lines')
    .option('--prometheus-port <n>', "serve the job's metrics at http://HOST:N/metrics in the format of Flink's Prometheus reporter (0: a free port)", portArg)
    .option('--prometheus-host <host>', 'interface of the Prometheus endpoint (default 127.0.0.1)')
    .action(async (specPath: string, o: RunOptions) => {
      exit(await runJob(specPath, o));
    });
}

async function runJob(specPath: string, o: RunOptions): Promise<number> {
  const logger = createLogger({ level: (process.env.STREAMTUNE_LOG_LEVEL as 'info') ?? 'warn' });
  let job: LocalJob;
  try {
    const spec = loadJobSpec(specPath);
    const outputDirs: Record<string, string> = {};
    if (o.output) for (const v of spec.vertices) if (v.type === 'jsonl-sink') outputDirs[v.name] = resolve(o.output);
    job = new LocalJob(spec, {
      parallelism: o.parallelism,
      fromSavepoint: o.fromSavepoint,
      savepointDir: o.savepointDir ? resolve(o.savepointDir) : undefined,
      outputDirs,
      logger,
    });
    await job.start();
  } catch (err) {
    process.stderr.write(`error: ${errorMessage(err)}\n`);
    return 2;
  }
  let reporter: PrometheusReporter | undefined;
  if (o.prometheusPort !== undefined) {
    try {
      reporter = await startPrometheusReporter({ port: o.prometheusPort, host: o.prometheusHost ?? '127.0.0.1', points: () => job.metricPoints(), logger });
      process.stdout.write(`prometheus: ${reporter.url}\n`);
    } catch (err) {
      process.stderr.write(`error: ${errorMessage(err)}\n`);
      await job.cancel();
      return 2;
    }
  }
  job.onLog((e) => {
    if (e.level === 'error') process.stderr.write(`job error in ${e.vertex ?? 'job'}: ${e.exception_class ?? ''} ${e.message}\n`);
  });
  const interval = o.quiet ? 0 : Number(o.progress);
  const timer = interval > 0 ? setInterval(() => process.stdout.write(`${progressLine(job)}\n`), interval) : undefined;
  let stopping: Promise<number> | undefined;
  const onSignal = (sig: string) => {
    if (stopping) return;
    process.stdout.write(`${sig}: stopping job ${job.name} with a savepoint...\n`);
    stopping = job
      .stopWithSavepoint(o.savepointDir ? resolve(o.savepointDir) : undefined)
      .then((sp) => {
        process.stdout.write(`savepoint: ${sp.path}\n`);
        return 0;
      })
      .catch((err: unknown) => {
        process.stderr.write(`error: stop with savepoint failed: ${errorMessage(err)}\n`);
        return 1;
      });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const unwatch = exitWithParentWanted()
    ? watchParent(() => {
      ignoreBrokenStdio();
      onSignal('parent process exited (npm/npx do not pass SIGTERM on)');
    })
    : undefined;
  const result = await job.done();
  unwatch?.();
  if (timer) clearInterval(timer);
  await reporter?.close();
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  if (stopping) return stopping;
  if (result.state === 'FAILED') {
    process.stderr.write(`error: job ${job.name} failed: ${result.error?.message ?? 'unknown'}\n`);
    return 1;
  }
  if (!o.untilEnd && result.state === 'FINISHED') {
    process.stdout.write(`job ${job.name} finished (its sources are bounded)\n`);
  }
  process.stdout.write(`${job.name} ${result.state.toLowerCase()}; records in: ${job.currentSubtasks().filter((s) => s.kind === 'source').reduce((a, s) => a + s.metrics.numRecordsIn, 0)}; checkpoints completed: ${job.stats.numberOfCompletedCheckpoints}\n`);
  return 0;
}

