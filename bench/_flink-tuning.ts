/**
 * streamtune's auto mode against the Flink Kubernetes operator's autoscaler, on the same lagging
 * real Flink job (suite 'flink-tuning', issue 16). Each run starts its own stack
 * (test/helpers/real-flink-stack.ts with `jobmanager.scheduler: adaptive`, so both rescale in place
 * through `PUT /jobs/:jid/resource-requirements`), produces flights at {@link RATE} records/s,
 * submits the flight-delays job at parallelism 1 with `enrich` spending L ms per record, and lets
 * one tuner work on it:
 *
 * - `streamtune`: the control plane in auto mode (Flink's reporter → InfluxDB, the lag alert after
 *   15 s above 5,000 records, verification 45 s after, cooldown 10 min), rescaling in place;
 * - `autoscaler-defaults`: the operator's autoscaler library (`org.apache.flink:flink-autoscaler`
 *   1.10.0, the release for Flink 1.20, from Maven Central) in streamtune's own small loop
 *   (bench/autoscaler/StandaloneAutoscaler.java: Maven Central has no `flink-autoscaler-standalone`)
 *   with its defaults, only `job.autoscaler.enabled: true` (stabilization 5 min, metrics window 15 min,
 *   target utilisation 0.7, catch-up 30 min, restart time 5 min);
 * - `autoscaler-matched`: the same with streamtune's settings: utilisation target 0.85, catch-up
 *   30 min, restart time 10 s, stabilization 1 min and metrics window 2 min (what streamtune's Flink
 *   diagnosis looks at: 60 s of meter warm-up, a 2-minute window).
 *
 * Measured by polling the cluster and the broker every 2 s (following the job by name, so a savepoint
 * restart under a new JobID is followed): lag onset (the submission returned with every subtask
 * RUNNING: it lags from then on; the backlog produced during the submission is there already), detection (streamtune: its first diagnosis recommending more parallelism for
 * enrich; autoscaler: its first scaling report event), the first rescale (enrich's parallelism
 * changes), lag back under one minute of input (log-end − committed ≤ 60 × RATE, after it was above),
 * the number of rescales, the final parallelism against the smallest that keeps up
 * (⌈RATE × L / 1000⌉, nominal: on a loaded machine a subtask does less than 1000 / L records/s), and
 * the total downtime (per rescale, as FlinkExecutor.downtimeMs: RESTARTING, or the rescale request
 * when the new execution graph carries RESTARTING 0, → every subtask RUNNING again, from Flink's own
 * records; streamtune: its operations' own figures, savepoint restarts included). A run ends once
 * caught up (below) and 3 minutes after the last rescale, or after {@link MAX_RUN_MS}.
 *
 * Because the committed offsets only move at a checkpoint (every 10 s here), and a tuner that acts
 * quickly may keep the lag under one minute of input all along, each run also reports the peak lag
 * and the time to "caught up": lag ≤ {@link CAUGHT_UP_S} s of input after the first rescale. The
 * 1-minute time is reported only where the lag was above one minute of input (else n/a, "never
 * above"). Each run records the machine's 1-minute load average (mean and max over its polls): the
 * machine is shared, and a loaded machine makes every subtask slower.
 *
 * Run: `npm run bench -- flink` runs this and bench/_flink-rest.ts (bench/flink.ts);
 * `STREAMTUNE_BENCH_FLINK=tuning npm run bench -- flink` or `node --import tsx bench/_flink-tuning.ts`
 * runs this alone. 3 sizes × 3 tuners × `STREAMTUNE_BENCH_FLINK_RUNS` runs (default 3): hours, the
 * defaults alone need 20 min to act. A part: `STREAMTUNE_BENCH_FLINK_SIZES=2,4`,
 * `STREAMTUNE_BENCH_FLINK_CONFIGS=streamtune,matched` (of streamtune, matched, defaults),
 * `STREAMTUNE_BENCH_FLINK_MAX_RUN_MS` (default 30 min). The autoscaler's JSON event lines go to a
 * log file whose path is printed on stderr.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { cacheDir, ensureFlinkDistribution, resolveMavenJars } from '../platform/index.ts';
import type { Diagnosis } from '../diagnoser/index.ts';
import type { Operation } from '../tuner/index.ts';
import { startRealFlinkStack, writeRules, type RealFlinkStack } from '../test/helpers/real-flink-stack.ts';
import { tempDir } from '../test/helpers/wait.ts';
import type { BenchRow } from './types.ts';

/** records/s produced. */
export const RATE = 400;
/** smallest parallelism that keeps up → enrich ms per record (⌈RATE × L / 1000⌉ = size). */
export const SIZES: Record<number, number> = { 2: 4, 4: 9, 7: 16 };
export const VARIANTS = ['streamtune', 'autoscaler-defaults', 'autoscaler-matched'] as const;
type Variant = (typeof VARIANTS)[number];
/** the names `STREAMTUNE_BENCH_FLINK_CONFIGS` takes → the variant */
export const CONFIGS: Record<string, Variant> = { streamtune: 'streamtune', defaults: 'autoscaler-defaults', matched: 'autoscaler-matched' };
/** ms a run may last (`STREAMTUNE_BENCH_FLINK_MAX_RUN_MS`, default 30 min). */
export const MAX_RUN_MS = Number(process.env.STREAMTUNE_BENCH_FLINK_MAX_RUN_MS ?? 30 * 60_000);
/** s of input under which the lag counts as caught up (above one checkpoint interval's worth, 10 s). */
export const CAUGHT_UP_S = 15;
const QUIET_MS = 180_000;
const POLL_MS = 2000;
const AUTOSCALER_VERSION = '1.10.0';

/** What one run measured; times in ms from the job's start (lag onset). */
export interface TuningRun {
  variant: Variant;
  size: number;
  detectionMs?: number;
  firstRescaleMs?: number;
  lagUnderMinuteMs?: number;
  rescales: number;
  finalParallelism: number;
  /** lag onset → lag ≤ {@link CAUGHT_UP_S} s of input after the first rescale */
  caughtUpMs?: number;
  /** largest lag seen (log-end − committed, summed over partitions), records */
  peakLag: number;
  downtimeMs: number;
  timedOut: boolean;
  /** 1-minute load average over the run's polls */
  loadMean: number;
  loadMax: number;
}

/** Compiles the autoscaler loop once (javac against Flink's lib/ and the autoscaler library); returns its classpath. */
async function autoscalerClasspath(): Promise<string> {
  const dist = ensureFlinkDistribution();
  const lib = await resolveMavenJars({ name: 'flink-autoscaler', version: AUTOSCALER_VERSION, artifacts: [`org.apache.flink:flink-autoscaler:${AUTOSCALER_VERSION}`] });
  const flinkJars = readdirSync(dist.lib).filter((f) => f.endsWith('.jar')).map((f) => join(dist.lib, f));
  const cp = [...flinkJars, ...lib.jars].join(':');
  const src = fileURLToPath(new URL('./autoscaler/StandaloneAutoscaler.java', import.meta.url));
  // compiled once per version of the source
  const out = cacheDir(`bench/autoscaler-${AUTOSCALER_VERSION}-${createHash('sha256').update(readFileSync(src)).digest('hex').slice(0, 12)}`);
  if (!existsSync(join(out, 'streamtune', 'bench', 'StandaloneAutoscaler.class'))) {
    mkdirSync(out, { recursive: true });
    const r = spawnSync('javac', ['-cp', cp, '-d', out, src], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`javac StandaloneAutoscaler.java failed: ${r.stderr}`);
  }
  return `${out}:${cp}`;
}

async function json<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status}`);
  return (await res.json()) as T;
}

/**
 * Downtime of the latest in-place rescale, ms, as streamtune's FlinkExecutor.downtimeMs defines it
 * (docs/servers-flink.md): from the adaptive scheduler's `timestamps.RESTARTING` of `GET /jobs/:jid`
 * when it is at or after the rescale request (else the request time: the adaptive scheduler's new
 * execution graph carries RESTARTING 0) to the latest `RUNNING` over every subtask of the new
 * execution. Undefined while not every subtask runs.
 */
async function rescaleDowntime(rest: string, jid: string, requestedAt: number): Promise<number | undefined> {
  const d = await json<{ state: string; timestamps?: Record<string, number>; vertices: Array<{ id: string; status: string }> }>(`${rest}/jobs/${jid}`);
  if (d.state !== 'RUNNING' || !d.vertices.every((v) => v.status === 'RUNNING')) return undefined;
  const restarting = d.timestamps?.RESTARTING ?? 0;
  const down = restarting >= requestedAt - 1000 ? restarting : requestedAt;
  let up = -Infinity;
  for (const v of d.vertices) {
    const t = await json<{ subtasks: Array<{ timestamps: Record<string, number> }> }>(`${rest}/jobs/${jid}/vertices/${v.id}/subtasktimes`);
    for (const s of t.subtasks) up = Math.max(up, s.timestamps.RUNNING ?? -Infinity);
  }
  return Number.isFinite(up) && up >= down ? up - down : undefined;
}

async function oneRun(variant: Variant, size: number, autoscalerCp: string | undefined): Promise<TuningRun> {
  const latency = SIZES[size]!;
  const stack: RealFlinkStack = await startRealFlinkStack({ scheduler: 'adaptive' });
  let child: ChildProcess | undefined;
  const admin = new Kafka({ clientId: 'bench-flink-tuning', brokers: stack.kafka.bootstrap, logLevel: logLevel.NOTHING }).admin();
  try {
    await admin.connect();
    const name = `bench-${variant}-${size}`;
    const producer = stack.produce({ rate: RATE });
    const firstJid = await stack.submit({ name, lookupLatencyMs: latency, parallelism: 1 });
    // a savepoint restart (streamtune's set-checkpointing on this cluster) runs the job on under a new
    // JobID: every poll follows the job by name (the RUNNING one, else the newest)
    let jid = firstJid;
    const jids = [firstJid];
    const t0 = Date.now();
    let detectedAt: number | undefined;
    let diagnoses: (() => Diagnosis[]) | undefined;
    /** streamtune: its operations' own downtime figures (FlinkExecutor.downtimeMs, the same definition) */
    let operations: (() => Operation[]) | undefined;
    /** streamtune: one progress line (diagnoses so far, the latest's root cause, why the tuner skipped the latest) */
    let progress: (() => string) | undefined;
    /** autoscaler: the times of its rescale requests (PUT resource-requirements answered 200) */
    const requests: number[] = [];
    if (variant === 'streamtune') {
      const rules = writeRules(tempDir('bench-rules-'), 'alerts:\n  - id: lag.consumer-group\n    metric: streamtune_kafka_partition_lag\n    field: value\n    groupBy: [group]\n    aggregate: sum\n    window: 1m\n    condition: "> 5000"\n    for: 15s\n    severity: severe\n    help: lag above 5,000 records for 15 s\n');
      const cp = await stack.controlPlane({
        influxReporter: true, scheduler: 'adaptive', rulesDir: rules,
        jobs: { [name]: { consumerGroup: `${name}-group`, topics: ['flights'] } },
        config: { tuner: { policies: { '*': { mode: 'auto', cooldownMs: 600_000, verifyAfterMs: 45_000, maxOperationsPerHour: 6 } } } },
      });
      diagnoses = () => jids.flatMap((id) => cp.diagnoses.list({ job_id: id, limit: 50 }));
      operations = () => [...new Map(jids.flatMap((id) => cp.tuner.operations({ job_id: id })).map((o) => [o.id, o])).values()];
      progress = () => {
        const ds = cp.diagnoses.list({ job_id: jid, limit: 50 });
        const ops = operations!();
        const last = ds[0];
        const skipped = cp.tuner.lastSkipped(jid);
        return `${ds.length} diagnoses; latest ${last ? `${last.rootCause.kind} ${last.rootCause.vertex ?? ''} recs ${JSON.stringify(last.recommendations.map((r) => r.actions.map((a) => (a.type === 'set-parallelism' ? `${a.vertex.name} ${a.from}→${a.to}` : a.type))))}` : 'none'}; ops ${ops.map((o) => `${o.state} ${o.actions.map((a) => (a.type === 'set-parallelism' ? `${a.vertex.name} ${a.from}→${a.to}` : a.type)).join('+')}`).join(', ')}${jids.length > 1 ? ` (JobIDs ${jids.length})` : ''}; skipped: ${skipped?.reason ?? '-'}`;
      };
    } else {
      const conf = variant === 'autoscaler-defaults'
        ? ['job.autoscaler.enabled=true']
        : ['job.autoscaler.enabled=true', 'job.autoscaler.target.utilization=0.85', 'job.autoscaler.catch-up.duration=30m', 'job.autoscaler.restart.time=10s', 'job.autoscaler.stabilization.interval=1m', 'job.autoscaler.metrics.window=2m'];
      const logFile = join(tempDir('bench-autoscaler-'), 'autoscaler.log');
      process.stderr.write(`bench flink-tuning: autoscaler events → ${logFile}\n`);
      const log = createWriteStream(logFile);
      child = spawn('java', ['-cp', autoscalerCp!, 'streamtune.bench.StandaloneAutoscaler', '--host', '127.0.0.1', '--port', new URL(stack.flink.restUrl).port, '--interval-ms', '10000', ...conf.flatMap((c) => ['--conf', c])], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stderr!.pipe(log);
      let buf = '';
      let lastOverrides: string | undefined;
      child.stdout!.on('data', (d: Buffer) => {
        log.write(d);
        buf += d.toString();
        for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          try {
            const e = JSON.parse(line) as { t: number; event: string; reason?: string; status?: number; overrides?: string; message?: string };
            if (e.event === 'autoscaler' && e.reason === 'ScalingReport' && detectedAt === undefined) detectedAt = e.t;
            // a request that repeats the previous one's overrides changes nothing (older builds of the loop sent them every call)
            if (e.event === 'rescale' && e.status === 200 && e.overrides !== lastOverrides) requests.push(e.t);
            if (e.event === 'rescale') lastOverrides = e.overrides;
            if (e.event !== 'autoscaler' || e.reason === 'ScalingReport') process.stderr.write(`bench flink-tuning: autoscaler ${e.event} ${e.reason ?? ''} ${e.overrides ?? ''} ${e.status ?? ''} ${(e.message ?? '').slice(0, 200)}\n`);
          } catch {
            // not a JSON line
          }
        }
      });
    }
    let parallelism = 1;
    let rescales = 0;
    let firstRescaleAt: number | undefined;
    let lastRescaleAt = t0;
    let wasAbove = false;
    let underAt: number | undefined;
    let caughtUpAt: number | undefined;
    let peakLag = 0;
    const loads: number[] = [];
    let downtime = 0;
    let pendingDowntime = false;
    for (;;) {
      await new Promise((r) => setTimeout(r, POLL_MS));
      const now = Date.now();
      loads.push(loadavg()[0]!);
      if (diagnoses && detectedAt === undefined) {
        const d = diagnoses().filter((x) => x.recommendations.some((r) => r.actions.some((a) => a.type === 'set-parallelism' && a.vertex.name === 'enrich' && a.to > a.from)));
        if (d.length > 0) detectedAt = Math.min(...d.map((x) => x.createdAt ?? now));
      }
      const overview = await json<{ jobs: Array<{ jid: string; name: string; state: string; 'start-time': number }> }>(`${stack.flink.restUrl}/jobs/overview`).catch(() => undefined);
      const mine = (overview?.jobs ?? []).filter((x) => x.name === name).sort((a, b) => (a.state === 'RUNNING' ? 0 : 1) - (b.state === 'RUNNING' ? 0 : 1) || b['start-time'] - a['start-time']);
      if (mine[0] && mine[0].jid !== jid) {
        jid = mine[0].jid;
        if (!jids.includes(jid)) jids.push(jid);
        process.stderr.write(`bench flink-tuning: ${Math.round((now - t0) / 1000)} s: the job runs on as ${jid} (${mine[0].state})\n`);
      }
      const j = await json<{ vertices: Array<{ name: string; parallelism: number }> }>(`${stack.flink.restUrl}/jobs/${jid}`).catch(() => undefined);
      const p = j?.vertices.find((v) => v.name === 'enrich')?.parallelism;
      if (p !== undefined && p !== parallelism) {
        parallelism = p;
        rescales++;
        firstRescaleAt ??= now;
        lastRescaleAt = now;
        caughtUpAt = undefined;
        process.stderr.write(`bench flink-tuning: ${Math.round((now - t0) / 1000)} s: enrich parallelism → ${p}\n`);
        pendingDowntime = true;
      }
      if (pendingDowntime && !operations && requests.length > 0) {
        const dt = await rescaleDowntime(stack.flink.restUrl, jid, requests[requests.length - 1]!).catch(() => undefined);
        if (dt !== undefined) {
          downtime += dt;
          pendingDowntime = false;
        }
      }
      // the group coordinator may not be ready yet (NOT_COORDINATOR right after the group appears): skip this poll
      const offsets = await Promise.all([admin.fetchTopicOffsets('flights'), admin.fetchOffsets({ groupId: `${name}-group`, topics: ['flights'] })]).catch(() => undefined);
      if (!offsets) continue;
      const [ends, [committed]] = offsets;
      const lag = ends.reduce((s, e) => s + Number(e.offset) - Math.max(0, Number(committed?.partitions.find((x) => x.partition === e.partition)?.offset ?? -1)), 0);
      peakLag = Math.max(peakLag, lag);
      if (lag > 60 * RATE) {
        wasAbove = true;
        underAt = undefined;
      } else if (wasAbove && underAt === undefined) underAt = now;
      if (lag > CAUGHT_UP_S * RATE) caughtUpAt = undefined;
      else if (firstRescaleAt !== undefined && caughtUpAt === undefined) caughtUpAt = now;
      if (loads.length % 15 === 1) process.stderr.write(`bench flink-tuning: ${Math.round((now - t0) / 1000)} s: lag ${lag}, enrich ${parallelism}, load ${loads[loads.length - 1]!.toFixed(1)}${progress ? `; ${progress()}` : ''}\n`);
      const quiet = now - lastRescaleAt >= QUIET_MS;
      if ((caughtUpAt !== undefined && (underAt !== undefined || !wasAbove) && quiet) || now - t0 >= MAX_RUN_MS) {
        await producer.stop();
        if (operations) {
          const ops = operations();
          process.stderr.write(`bench flink-tuning: streamtune operations ${JSON.stringify(ops.map((o) => ({ state: o.state, actions: o.actions, downtimeMs: o.downtimeMs, createdAt: o.createdAt - t0 })))}\n`);
          downtime = ops.reduce((a, o) => a + (o.downtimeMs ?? 0), 0);
        }
        return {
          variant, size, rescales, finalParallelism: parallelism, downtimeMs: downtime, timedOut: caughtUpAt === undefined,
          peakLag, loadMean: loads.reduce((a, b) => a + b, 0) / loads.length, loadMax: Math.max(...loads),
          ...(caughtUpAt !== undefined ? { caughtUpMs: caughtUpAt - t0 } : {}),
          ...(detectedAt !== undefined ? { detectionMs: detectedAt - t0 } : {}),
          ...(firstRescaleAt !== undefined ? { firstRescaleMs: firstRescaleAt - t0 } : {}),
          ...(underAt !== undefined ? { lagUnderMinuteMs: underAt - t0 } : {}),
        };
      }
    }
  } finally {
    child?.kill('SIGKILL');
    await admin.disconnect().catch(() => undefined);
    await stack.close();
  }
}

/** Runs the benchmark; see the module comment. */
export async function run(): Promise<BenchRow[]> {
  const suite = 'flink-tuning';
  const sizes = (process.env.STREAMTUNE_BENCH_FLINK_SIZES ?? '2,4,7').split(',').map(Number).filter((n) => SIZES[n] !== undefined);
  const variants = (process.env.STREAMTUNE_BENCH_FLINK_CONFIGS ?? 'streamtune,defaults,matched').split(',').map((c) => CONFIGS[c.trim()]).filter((v): v is Variant => v !== undefined);
  const runs = Number(process.env.STREAMTUNE_BENCH_FLINK_RUNS ?? 3);
  const cp = variants.some((v) => v !== 'streamtune') ? await autoscalerClasspath() : undefined;
  const rows: BenchRow[] = [];
  const s = (ms: number | undefined): number => (ms === undefined ? Number.NaN : ms / 1000);
  for (const size of sizes) {
    for (const variant of variants) {
      for (let i = 1; i <= runs; i++) {
        process.stderr.write(`bench flink-tuning: ${variant}, smallest ${size}, run ${i}/${runs}\n`);
        const r = await oneRun(variant, size, cp);
        process.stderr.write(`bench flink-tuning: RESULT ${JSON.stringify(r)}\n`);
        const label = `smallest ${size} (enrich ${SIZES[size]} ms/record, ${RATE} records/s), ${variant}, run ${i}`;
        rows.push({ suite, name: `${label}: lag onset → detection`, value: s(r.detectionMs), unit: 's' });
        rows.push({ suite, name: `${label}: lag onset → first rescale`, value: s(r.firstRescaleMs), unit: 's' });
        const minuteNote = r.lagUnderMinuteMs !== undefined ? '' : r.peakLag <= 60 * RATE ? ' (never above 1 min of input)' : ' (not within the run)';
        rows.push({ suite, name: `${label}: lag onset → lag back under 1 min of input${minuteNote}`, value: s(r.lagUnderMinuteMs), unit: 's', target: variant === 'streamtune' ? 'sooner than the autoscaler' : '' });
        rows.push({ suite, name: `${label}: lag onset → caught up (lag ≤ ${CAUGHT_UP_S} s of input after the first rescale)${r.timedOut ? ' (not within the run)' : ''}`, value: s(r.caughtUpMs), unit: 's' });
        rows.push({ suite, name: `${label}: peak lag`, value: r.peakLag, unit: 'records' });
        rows.push({ suite, name: `${label}: rescales`, value: r.rescales, unit: 'rescales', target: variant === 'streamtune' ? '1 (≤ 2)' : '' });
        rows.push({ suite, name: `${label}: final parallelism of enrich`, value: r.finalParallelism, unit: 'subtasks', target: `[${size}, ${size + 1}]` });
        rows.push({ suite, name: `${label}: total downtime`, value: r.downtimeMs, unit: 'ms' });
        rows.push({ suite, name: `${label}: 1-minute load average, mean (max ${r.loadMax.toFixed(1)}) over the run`, value: r.loadMean, unit: '' });
      }
    }
  }
  return rows;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { formatTable } = await import('./runtime.ts');
  process.stdout.write(`${formatTable(await run())}\n`);
}
