/**
 * Malformed server configuration: the config file (made from a valid file with every section) read
 * by `loadConfig({file})`, and `STREAMTUNE_*` environment variables with malformed values read by
 * `loadConfig({env})`. A file error names the file and a line within it; an environment error names
 * the variable and the field. An accepted config must hold only finite numbers and durations a timer
 * can wait.
 */
import fc from 'fast-check';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYamlText } from 'yaml';
import { loadConfig, MAX_DURATION_MS, type ServerConfig } from '../../../../control-plane/config.ts';
import { nonFinitePath, outcomeOf, type Outcome } from '../clear.ts';
import { garbageText, lineCount, preview, textMutation, treeMutation, weirdValue, writeTree, yamlAttack, type Json } from '../mutate.ts';
import { tempDir } from '../../wait.ts';
import type { BadInputKind } from './types.ts';

/** A valid config file with every section and most keys. */
export const FULL_CONFIG = `server: { port: 8080, host: 127.0.0.1, baseUrl: "http://127.0.0.1:8080", apiToken: 0123456789abcdef0123, publicReads: false }
dataDir: ./data
store: { influxUrl: "http://127.0.0.1:8086", influxToken: secret-token, influxOrg: o, influxBucket: streamtune, influxWriteApi: v1, retentionDays: 7 }
kafka: { brokers: ["127.0.0.1:9092"], clientId: streamtune, topicPrefix: st }
bus: kafka
roles: [jobs, server, notify]
collector: { intervalMs: 5s, maxBufferedPoints: 100000 }
rules: { dir: ./my-rules, watch: false }
diagnoser: { windowMs: 10m, stepMs: 5s, sweepCron: "*/5 * * * *", rediagnoseMs: 1m, alertIntervalMs: 5000 }
tuner:
  policies:
    "*": { mode: recommend }
    orders: { mode: auto, maxParallelism: 16, cooldownMs: 10m, maxOperationsPerHour: 2, allowedWindows: ["01:00-05:00"], verifyAfterMs: 5m, onIneffective: rollback, blockIneffectiveMs: 1h }
notify:
  baseUrl: "https://streamtune.example.com"
  email: { smtpUrl: "smtp://user:pass@127.0.0.1:25", from: st@example.com, recipients: { default: [oncall@example.com] }, timeoutMs: 10s }
  webhooks: [{ url: "https://hooks.example.com/x", headers: { x-key: k }, name: chat, timeoutMs: 5s }]
  incidents: { minSeverity: moderate, reminderIntervalMs: 1h, sendOnce: false, sendClose: true }
  digest: { cron: "0 9 * * *", timezone: UTC, sendEmpty: false }
  reminderCheckMs: 60s
flink:
  url: "http://flink:8081"
  authorization: Bearer x
  jarId: abc_job.jar
  entryClass: com.example.Job
  programArgs: [--a, b]
  scheduler: adaptive
  pollIntervalMs: 5s
  influxReporter: true
  restartTimeMs: 5m
  jobs: { orders: { consumerGroup: g, topics: [orders] } }
jobs: [jobs/orders.yaml, { path: jobs/x.yaml, parallelism: { enrich: 2 } }]
`;

/** The `STREAMTUNE_*` variables loadConfig reads. */
export const CONFIG_VARIABLES = [
  'STREAMTUNE_PORT', 'STREAMTUNE_HOST', 'STREAMTUNE_BASE_URL', 'STREAMTUNE_API_TOKEN', 'STREAMTUNE_DATA_DIR', 'STREAMTUNE_PUBLIC_READS',
  'STREAMTUNE_INFLUXDB_URL', 'STREAMTUNE_INFLUXDB_TOKEN', 'STREAMTUNE_INFLUXDB_ORG', 'STREAMTUNE_INFLUXDB_BUCKET', 'STREAMTUNE_INFLUXDB_WRITE_API',
  'STREAMTUNE_KAFKA_BROKERS', 'STREAMTUNE_BUS', 'STREAMTUNE_ROLES', 'STREAMTUNE_FLINK_URL', 'STREAMTUNE_FLINK_AUTHORIZATION', 'STREAMTUNE_FLINK_JAR_ID',
  'STREAMTUNE_FLINK_ENTRY_CLASS', 'STREAMTUNE_FLINK_SCHEDULER', 'STREAMTUNE_FLINK_POLL_INTERVAL', 'STREAMTUNE_FLINK_INFLUX_REPORTER', 'STREAMTUNE_SMTP_URL',
] as const;

/** What an accepted config must be. */
function configProblem(c: ServerConfig): string | undefined {
  const nf = nonFinitePath(c);
  if (nf) return `a non-finite number at ${nf}`;
  const long = (v: unknown, path: string): string | undefined => {
    if (v === null || typeof v !== 'object') return undefined;
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (k.endsWith('Ms') && typeof x === 'number' && x > MAX_DURATION_MS) return `${path}${k} = ${x} ms, longer than a timer can wait`;
      const p = long(x, `${path}${k}.`);
      if (p) return p;
    }
    return undefined;
  };
  return long(c, '');
}

/** A config file's text, or an environment of one malformed variable. */
export type ConfigInput = { file: string } | { env: Record<string, string> };

/** Malformed config files and variables. */
export function configArbitrary(): fc.Arbitrary<ConfigInput> {
  const tree = parseYamlText(FULL_CONFIG) as Json;
  const envValue = fc.oneof(
    weirdValue.map((v) => (typeof v === 'string' ? v : JSON.stringify(v) ?? '')),
    fc.constantFrom('-1', '65536', '0x50', '8080 ', 'true', 'yes', 'kafka,memory', 'jobs,,server', 'jobs,unknown', 'ftp://x', 'http://', 'http:// host', 'host:port', 'a:1,b', 'v3', 'short'),
  );
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom('yaml', 'yaml-flow').chain((f) => treeMutation(tree).map((t) => ({ file: writeTree(t, f as 'yaml') }))) },
    { weight: 2, arbitrary: textMutation(FULL_CONFIG).map((file) => ({ file })) },
    { weight: 1, arbitrary: yamlAttack(FULL_CONFIG).map((file) => ({ file })) },
    { weight: 1, arbitrary: garbageText.map((file) => ({ file })) },
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...CONFIG_VARIABLES), envValue).map(([k, v]) => ({ env: { [k]: v } })) },
  );
}

interface Ctx {
  dir: string;
  n: number;
}

/** The server config: file and environment. */
export const configKind: BadInputKind<ConfigInput, Ctx> = {
  title: 'server config',
  fedTo: '`loadConfig({file})` and `loadConfig({env})` (control-plane/config.ts), one malformed variable at a time',
  arbitrary: configArbitrary(),
  setup: () => ({ dir: tempDir('bad-config-'), n: 0 }),
  check(input, ctx): Outcome {
    if ('file' in input) {
      const file = join(ctx.dir, `streamtune-${ctx.n++}.yaml`);
      writeFileSync(file, input.file);
      return outcomeOf(() => loadConfig({ file, env: {} }), { codes: ['INVALID_CONFIG'], file, lines: lineCount(input.file) }, configProblem);
    }
    const variable = Object.keys(input.env)[0]!;
    // the SMTP variable only applies with an email section: give it one
    const file = variable === 'STREAMTUNE_SMTP_URL' ? join(ctx.dir, 'email.yaml') : undefined;
    if (file) writeFileSync(file, 'notify: { email: { recipients: { default: [a@example.com] } } }\n');
    return outcomeOf(() => loadConfig({ ...(file ? { file } : {}), env: input.env }), { codes: ['INVALID_CONFIG'], variable, needField: true }, configProblem);
  },
  preview: (i) => ('file' in i ? preview(i.file) : preview(JSON.stringify(i.env))),
};
