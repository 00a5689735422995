/**
 * Configuration of `streamtune serve`: a YAML file (`--config FILE`) plus `STREAMTUNE_*` environment
 * variables (the environment wins), validated at start with ajv. Every error names where the bad
 * value came from: `FILE:LINE: field: reason` for the file (line from yaml's node ranges), or the
 * variable for the environment. Options pipeline in the style of Temporal's `compileWorkerOptions`:
 * {@link ServerConfigFile} is the public, all-optional shape; {@link loadConfig} fills defaults,
 * validates and converts durations to ms; the rest of the server only sees {@link ServerConfig}.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import cron from 'node-cron';
import { LineCounter, isMap, isSeq, isPair, isScalar, type Document, type Node as YamlNode } from 'yaml';
import { resolveStoreSettings, type StoreConfig } from '../collector/index.ts';
import { StreamtuneError, errorMessage, parseYaml } from '../core/index.ts';
import type { NotifyConfig } from '../notify/index.ts';
import type { TuningPolicy } from '../tuner/index.ts';

/** A job spec submitted at start. */
export interface StartupJob {
  /** path of the YAML job spec (relative paths: to the config file, or the working directory) */
  path: string;
  /** parallelism overrides, vertex name → parallelism */
  parallelism?: Record<string, number>;
}

/**
 * The Flink cluster whose jobs streamtune watches and tunes over its REST API (section `flink`,
 * `STREAMTUNE_FLINK_*`). Durations in ms.
 */
export interface FlinkConfig {
  /** JobManager REST URL, e.g. 'http://flink-jobmanager:8081'. `STREAMTUNE_FLINK_URL`. */
  url: string;
  /** Sent as the `Authorization` header (e.g. 'Bearer …' behind a proxy). A secret: never logged or
   * rendered. `STREAMTUNE_FLINK_AUTHORIZATION`. */
  authorization?: string;
  /** Id of the uploaded jar (`POST /jars/upload`) that restarts a job from its savepoint with new
   * parallelism. Without it only in-place rescales (`scheduler: adaptive`) work. `STREAMTUNE_FLINK_JAR_ID`. */
  jarId?: string;
  /** Entry class of the jar; default its manifest's. `STREAMTUNE_FLINK_ENTRY_CLASS`. */
  entryClass?: string;
  /** Program arguments of the jar. */
  programArgs?: string[];
  /** 'adaptive' (`jobmanager.scheduler: adaptive`, Flink ≥ 1.18): parallelism changes in place,
   * no savepoint restart. Default 'default'. `STREAMTUNE_FLINK_SCHEDULER`. */
  scheduler: 'default' | 'adaptive';
  /** ms between polls of the job list and of savepoint status. Default 5,000. `STREAMTUNE_FLINK_POLL_INTERVAL`. */
  pollIntervalMs: number;
  /** The cluster writes its metrics to the store itself (Flink's InfluxDB reporter): the REST
   * collector stays off. Default false. `STREAMTUNE_FLINK_INFLUX_REPORTER` (true/false). */
  influxReporter: boolean;
  /** ms a restart is planned with until one was measured. Default 5 min (Flink autoscaler's `job.autoscaler.restart.time`). */
  restartTimeMs?: number;
  /** Consumer group and topics by job name or JobID (the REST API does not expose them); and the
   * job's own `jarId`, `entryClass` and `programArgs` when they differ from the cluster-wide ones
   * above (a savepoint restart runs the job's jar again with them: the REST API does not keep a
   * job's program arguments). */
  jobs: Record<string, { consumerGroup?: string; topics?: string[]; jarId?: string; entryClass?: string; programArgs?: string[] }>;
}

/**
 * The server configuration after defaults and validation. Durations in ms.
 */
export interface ServerConfig {
  server: {
    /** TCP port. Default 8080. `STREAMTUNE_PORT`. */
    port: number;
    /** Interface to listen on. Default '127.0.0.1' (loopback: reads are open). `STREAMTUNE_HOST`. */
    host: string;
    /** Public root URL for links (mails, printed URLs). Default `http://<host>:<port>`. `STREAMTUNE_BASE_URL`. */
    baseUrl: string;
    /** API token for mutating requests. `STREAMTUNE_API_TOKEN`; unset → generated at start and kept in
     * `<dataDir>/api-token` (mode 0600). Never logged. */
    apiToken?: string;
    /**
     * Reads that expose stack traces, savepoint and checkpoint paths or configuration (a job's
     * exceptions and checkpoints, operations, the rule set) are open to anyone who can reach the
     * server, as the other reads are. Default false: they need the API token or a logged-in session
     * (the pages show such paths as hidden). The audit log always needs it. `STREAMTUNE_PUBLIC_READS`
     * (true/false).
     */
    publicReads: boolean;
  };
  /** Folder of everything persistent (embedded store, diagnoses, journal, checkpoints). Default './data'.
   * `STREAMTUNE_DATA_DIR`. */
  dataDir: string;
  /** Metric store settings; `STREAMTUNE_INFLUXDB_*` and `STREAMTUNE_PROMETHEUS_*` win. Without an InfluxDB
   * URL: embedded DuckDB in dataDir. With `prometheusUrl`, Flink's metrics are read from Prometheus. */
  store: StoreConfig;
  /**
   * The bundled runtime's Prometheus endpoint (`GET /metrics` in the format of Flink's
   * PrometheusReporter) for a Prometheus to scrape the bundled jobs like Flink's TaskManagers.
   * `--prometheus-port`, `STREAMTUNE_PROMETHEUS_PORT`. Absent: no endpoint.
   */
  prometheusReporter?: {
    /** TCP port (Flink's reporter default is 9249); 0 picks a free one. */
    port: number;
    /** Interface to listen on. Default server.host. */
    host: string;
  };
  /** Kafka brokers for consumer-group lag (and the event bus when `bus: 'kafka'`). `STREAMTUNE_KAFKA_BROKERS` (comma-separated). */
  kafka?: { brokers: string[]; clientId?: string; topicPrefix?: string };
  /** Event bus: 'memory' (default, in process) or 'kafka' (needs `kafka.brokers`). */
  bus: 'memory' | 'kafka';
  /**
   * What this process runs ({@link ROLES}); default all of them. `--roles`, `STREAMTUNE_ROLES`
   * (comma-separated). Checked by {@link checkRoles}.
   */
  roles: Role[];
  collector: {
    /** ms between collection rounds. Default 5,000. */
    intervalMs: number;
    /** points buffered at most while the store is down. Default the collector's. */
    maxBufferedPoints?: number;
  };
  rules: {
    /** A user folder of rule files laid over the built-in rules (same id replaces). Default none. */
    dir?: string;
    /** Reload when a file in the folder changes. Default true. */
    watch: boolean;
  };
  diagnoser: {
    /** ms of history a diagnosis looks at. Default the service's. */
    windowMs?: number;
    /** ms between points of the window. Default the service's. */
    stepMs?: number;
    /** node-cron expression of the periodic sweep. Default the service's. */
    sweepCron?: string;
    /** ms before a still-firing alert is diagnosed again. Default the service's. */
    rediagnoseMs?: number;
    /** ms between alert evaluations. Default the alerter's. */
    alertIntervalMs?: number;
  };
  tuner: {
    /** Policy per job name or job id, '*' for every job. Default recommend-only. */
    policies: Record<string, Partial<TuningPolicy>>;
    /** ms the tuner waits for each executor call: `savepointMs` (stop with savepoint; default
     * 120,000), `runningMs` (start → every task RUNNING; default 60,000), `firstRecordMs` (the
     * downtime measurement; default 30,000). Unset fields take the defaults. */
    timeouts?: { savepointMs?: number; runningMs?: number; firstRecordMs?: number };
  };
  /** Reports and notifications; `baseUrl` defaults to server.baseUrl, `email.smtpUrl` to `STREAMTUNE_SMTP_URL`.
   * Absent → notifications tracked (incidents) but nothing sent. */
  notify?: NotifyConfig & {
    /** ms between reminder checks. Default 60,000. */
    reminderCheckMs?: number;
  };
  /** Job specs submitted at start, unless a job of the same name is already running (restored). */
  jobs: StartupJob[];
  /** A Flink cluster to watch and tune as well. Absent: bundled jobs only. */
  flink?: FlinkConfig;
  /** The file the config came from, when one did. */
  source?: string;
}

/**
 * The parts of the control plane a process can run (`serve --roles`):
 * - `jobs`: the job catalog (bundled jobs, the Flink cluster's), the collector writing their metrics
 *   and consumer-group lag, the tuner applying recommendations to them, and the startup jobs;
 *   announces the catalog on the bus topic 'jobs' when other processes need it;
 * - `server`: the dashboard and REST API (needs `jobs`: it submits jobs and applies recommendations);
 * - `notify`: diagnosis reports, reminders and the digest (needs `jobs`: the digest lists operations);
 * - `alerter`: evaluates the alert rules, publishes 'anomalies';
 * - `diagnoser`: diagnoses anomalies and runs the sweeps, publishes 'diagnoses'.
 */
export const ROLES = ['jobs', 'server', 'notify', 'alerter', 'diagnoser'] as const;
/** One of {@link ROLES}. */
export type Role = (typeof ROLES)[number];

/**
 * The rules a set of roles split over processes must follow, or undefined when `roles` is all of
 * them (one process, any bus and store). Returned as `{ field, message }` for the config error.
 * A split needs the Kafka bus (the in-process bus does not cross processes) and InfluxDB (the
 * embedded DuckDB file is opened by one process only); `server` and `notify` run beside `jobs`.
 */
export function checkRoles(roles: readonly Role[], bus: 'memory' | 'kafka', influxUrl: string | undefined): { field: string; message: string } | undefined {
  if (ROLES.every((r) => roles.includes(r))) return undefined;
  const need = (r: Role, dep: Role): string | undefined => (roles.includes(r) && !roles.includes(dep) ? `'${r}' runs in the process with '${dep}' (add '${dep}' or drop '${r}')` : undefined);
  const dep = need('server', 'jobs') ?? need('notify', 'jobs');
  if (dep) return { field: 'roles', message: dep };
  if (bus !== 'kafka') return { field: 'bus', message: `must be 'kafka' (with kafka.brokers) when roles are split over processes (roles: ${roles.join(', ')}): the in-process bus does not reach the other processes` };
  if (!influxUrl) return { field: 'store.influxUrl', message: `is needed when roles are split over processes (roles: ${roles.join(', ')}): the embedded store is a DuckDB file only one process can open; set store.influxUrl or STREAMTUNE_INFLUXDB_URL` };
  return undefined;
}

/** The file's shape (every field optional; durations as ms numbers or strings like '15s', '10m'). */
export type ServerConfigFile = Record<string, unknown>;

const duration = { anyOf: [{ type: 'integer', minimum: 0 }, { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?(ms|s|m|h|d)$' }] };
const policySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    mode: { enum: ['recommend', 'auto'] },
    cooldownMs: duration,
    maxParallelism: { type: 'integer', minimum: 1 },
    maxOperationsPerHour: { type: 'integer', minimum: 0 },
    allowedWindows: { type: 'array', items: { type: 'string', pattern: '^[0-2][0-9]:[0-5][0-9]-[0-2][0-9]:[0-5][0-9]$' } },
    verifyAfterMs: duration,
    onIneffective: { enum: ['mark', 'rollback'] },
    onWorse: { enum: ['rollback', 'mark'] },
    blockIneffectiveMs: duration,
  },
};

/** JSON schema of the config file (after the environment is laid over it). */
export const configSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    server: {
      type: 'object',
      additionalProperties: false,
      properties: {
        port: { type: 'integer', minimum: 0, maximum: 65535 },
        host: { type: 'string', minLength: 1 },
        baseUrl: { type: 'string', pattern: '^https?://' },
        apiToken: { type: 'string', minLength: 16 },
        publicReads: { type: 'boolean' },
      },
    },
    dataDir: { type: 'string', minLength: 1 },
    store: {
      type: 'object',
      additionalProperties: false,
      properties: {
        influxUrl: { type: 'string' },
        influxToken: { type: 'string' },
        influxOrg: { type: 'string' },
        influxBucket: { type: 'string' },
        influxWriteApi: { enum: ['v1', 'v2'] },
        retentionDays: { type: 'number', minimum: 0 },
        headMinutes: { type: 'number', minimum: 0 },
        headMaxPoints: { type: 'number', minimum: 1 },
        prometheusUrl: { type: 'string' },
        prometheusRemoteWrite: { enum: ['none', 'own', 'job-metrics', 'all'] },
      },
    },
    prometheusReporter: {
      type: 'object',
      additionalProperties: false,
      required: ['port'],
      properties: {
        port: { type: 'integer', minimum: 0, maximum: 65535 },
        host: { type: 'string', minLength: 1 },
      },
    },
    kafka: {
      type: 'object',
      additionalProperties: false,
      required: ['brokers'],
      properties: {
        brokers: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^[^\\s:]+:[0-9]+$' } },
        clientId: { type: 'string' },
        topicPrefix: { type: 'string' },
      },
    },
    bus: { enum: ['memory', 'kafka'] },
    roles: { type: 'array', minItems: 1, uniqueItems: true, items: { enum: [...ROLES] } },
    collector: {
      type: 'object',
      additionalProperties: false,
      properties: { intervalMs: duration, maxBufferedPoints: { type: 'integer', minimum: 1 } },
    },
    rules: {
      type: 'object',
      additionalProperties: false,
      properties: { dir: { type: 'string', minLength: 1 }, watch: { type: 'boolean' } },
    },
    diagnoser: {
      type: 'object',
      additionalProperties: false,
      properties: { windowMs: duration, stepMs: duration, sweepCron: { type: 'string', minLength: 1 }, rediagnoseMs: duration, alertIntervalMs: duration },
    },
    tuner: {
      type: 'object',
      additionalProperties: false,
      properties: {
        policies: { type: 'object', additionalProperties: policySchema },
        timeouts: { type: 'object', additionalProperties: false, properties: { savepointMs: duration, runningMs: duration, firstRecordMs: duration } },
      },
    },
    notify: {
      type: 'object',
      additionalProperties: false,
      properties: {
        baseUrl: { type: 'string', pattern: '^https?://' },
        email: {
          type: 'object',
          additionalProperties: false,
          required: ['recipients'],
          properties: {
            smtpUrl: { type: 'string', pattern: '^smtps?://' },
            from: { type: 'string' },
            recipients: { type: 'object' },
            timeoutMs: duration,
          },
        },
        webhooks: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['url'],
            properties: { url: { type: 'string', pattern: '^https?://' }, headers: { type: 'object', additionalProperties: { type: 'string' } }, name: { type: 'string' }, timeoutMs: duration },
          },
        },
        incidents: {
          type: 'object',
          additionalProperties: false,
          properties: {
            minSeverity: { enum: ['none', 'low', 'moderate', 'severe', 'critical'] },
            reminderIntervalMs: duration,
            sendOnce: { type: 'boolean' },
            sendClose: { type: 'boolean' },
          },
        },
        digest: {
          type: 'object',
          additionalProperties: false,
          required: ['cron'],
          properties: { cron: { type: 'string', minLength: 1 }, timezone: { type: 'string' }, sendEmpty: { type: 'boolean' } },
        },
        retry: { type: 'object' },
        reminderCheckMs: duration,
      },
    },
    flink: {
      type: 'object',
      additionalProperties: false,
      required: ['url'],
      properties: {
        url: { type: 'string', pattern: '^https?://[^\\s]+$' },
        authorization: { type: 'string', minLength: 1 },
        jarId: { type: 'string', minLength: 1 },
        entryClass: { type: 'string', minLength: 1 },
        programArgs: { type: 'array', items: { type: 'string' } },
        scheduler: { enum: ['default', 'adaptive'] },
        pollIntervalMs: duration,
        influxReporter: { type: 'boolean' },
        restartTimeMs: duration,
        jobs: {
          type: 'object',
          additionalProperties: {
            type: 'object',
            additionalProperties: false,
            properties: {
              consumerGroup: { type: 'string', minLength: 1 },
              topics: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
              jarId: { type: 'string', minLength: 1 },
              entryClass: { type: 'string', minLength: 1 },
              programArgs: { type: 'array', items: { type: 'string' } },
            },
          },
        },
      },
    },
    jobs: {
      type: 'array',
      items: {
        anyOf: [
          { type: 'string', minLength: 1 },
          {
            type: 'object',
            additionalProperties: false,
            required: ['path'],
            properties: { path: { type: 'string', minLength: 1 }, parallelism: { type: 'object', additionalProperties: { type: 'integer', minimum: 1 } } },
          },
        ],
      },
    },
  },
} as const;

const ajv = new Ajv({ allErrors: true, strict: false });
const validate = ajv.compile(configSchema);

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions {
  /** YAML config file; absent = defaults + environment only. */
  file?: string;
  /** Environment. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Laid over file and environment last (CLI flags such as `--port`), same shape as the file. */
  overrides?: ServerConfigFile;
  /** Laid under the file (lowest priority; `streamtune demo`), same shape; paths should be absolute. */
  defaults?: ServerConfigFile;
}

/** Where a value came from: a YAML node path in the file, an environment variable or a CLI flag. */
type Origin = { kind: 'env'; variable: string } | { kind: 'flag' };

/**
 * Loads, merges (file < environment < overrides), validates and compiles the configuration.
 * @throws StreamtuneError INVALID_CONFIG with `details.{file,line,field}` (file errors) or
 *   `details.{variable,field}` (environment errors); the message lists every problem, one per line,
 *   as `FILE:LINE: FIELD: reason` or `VARIABLE: FIELD: reason`.
 */
export function loadConfig(opts: LoadConfigOptions = {}): ServerConfig {
  const env = opts.env ?? process.env;
  let raw: Record<string, unknown> = {};
  let doc: Document.Parsed | undefined;
  let lc = new LineCounter();
  const file = opts.file ? resolve(opts.file) : undefined;
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new StreamtuneError('INVALID_CONFIG', `${file}: cannot read config file: ${errorMessage(err)}`, { details: { file }, cause: err });
    }
    const parsed = parseYaml(text);
    if (!parsed.ok) {
      const e = parsed.problems[0]!;
      throw new StreamtuneError('INVALID_CONFIG', `${file}:${e.line}: YAML syntax error: ${e.message}`, { details: { file, line: e.line, field: '' } });
    }
    doc = parsed.doc;
    lc = parsed.lineCounter;
    const js = parsed.value;
    if (js !== null && js !== undefined) {
      if (typeof js !== 'object' || Array.isArray(js)) {
        throw new StreamtuneError('INVALID_CONFIG', `${file}:1: (root): must be a mapping of sections (server, dataDir, store, ...)`, { details: { file, line: 1, field: '' } });
      }
      raw = js as Record<string, unknown>;
    }
  }

  for (const [k, v] of Object.entries(opts.defaults ?? {})) {
    const cur = raw[k];
    if (cur === undefined) raw[k] = structuredClone(v);
    else if (v && typeof v === 'object' && !Array.isArray(v) && cur && typeof cur === 'object' && !Array.isArray(cur)) {
      raw[k] = { ...structuredClone(v as Record<string, unknown>), ...(cur as Record<string, unknown>) };
    }
  }

  const origins = new Map<string, Origin>();
  const set = (path: string[], value: unknown, origin: Origin): void => {
    let o = raw as Record<string, unknown>;
    for (const seg of path.slice(0, -1)) {
      if (typeof o[seg] !== 'object' || o[seg] === null || Array.isArray(o[seg])) o[seg] = {};
      o = o[seg] as Record<string, unknown>;
    }
    o[path[path.length - 1]!] = value;
    origins.set(path.join('.'), origin);
  };
  const pick = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const fromEnv = (name: string, path: string[], conv: (v: string) => unknown = (v) => v): void => {
    const v = pick(name);
    if (v !== undefined) set(path, conv(v), { kind: 'env', variable: name });
  };
  const num = (v: string): unknown => (/^-?[0-9]+(\.[0-9]+)?$/.test(v) ? Number(v) : v);
  fromEnv('STREAMTUNE_PORT', ['server', 'port'], num);
  fromEnv('STREAMTUNE_HOST', ['server', 'host']);
  fromEnv('STREAMTUNE_BASE_URL', ['server', 'baseUrl']);
  fromEnv('STREAMTUNE_API_TOKEN', ['server', 'apiToken']);
  fromEnv('STREAMTUNE_PUBLIC_READS', ['server', 'publicReads'], (v) => (v === 'true' ? true : v === 'false' ? false : v));
  fromEnv('STREAMTUNE_DATA_DIR', ['dataDir']);
  fromEnv('STREAMTUNE_INFLUXDB_URL', ['store', 'influxUrl']);
  fromEnv('STREAMTUNE_INFLUXDB_TOKEN', ['store', 'influxToken']);
  fromEnv('STREAMTUNE_INFLUXDB_ORG', ['store', 'influxOrg']);
  fromEnv('STREAMTUNE_INFLUXDB_BUCKET', ['store', 'influxBucket']);
  fromEnv('STREAMTUNE_INFLUXDB_WRITE_API', ['store', 'influxWriteApi']);
  fromEnv('STREAMTUNE_STORE_HEAD_MINUTES', ['store', 'headMinutes'], num);
  fromEnv('STREAMTUNE_PROMETHEUS_URL', ['store', 'prometheusUrl']);
  fromEnv('STREAMTUNE_PROMETHEUS_REMOTE_WRITE', ['store', 'prometheusRemoteWrite']);
  fromEnv('STREAMTUNE_PROMETHEUS_PORT', ['prometheusReporter', 'port'], num);
  fromEnv('STREAMTUNE_KAFKA_BROKERS', ['kafka', 'brokers'], (v) => v.split(',').map((s) => s.trim()).filter(Boolean));
  fromEnv('STREAMTUNE_BUS', ['bus']);
  fromEnv('STREAMTUNE_ROLES', ['roles'], (v) => v.split(',').map((x) => x.trim()).filter(Boolean));
  fromEnv('STREAMTUNE_FLINK_URL', ['flink', 'url']);
  fromEnv('STREAMTUNE_FLINK_AUTHORIZATION', ['flink', 'authorization']);
  fromEnv('STREAMTUNE_FLINK_JAR_ID', ['flink', 'jarId']);
  fromEnv('STREAMTUNE_FLINK_ENTRY_CLASS', ['flink', 'entryClass']);
  fromEnv('STREAMTUNE_FLINK_SCHEDULER', ['flink', 'scheduler']);
  fromEnv('STREAMTUNE_FLINK_POLL_INTERVAL', ['flink', 'pollIntervalMs'], num);
  fromEnv('STREAMTUNE_FLINK_INFLUX_REPORTER', ['flink', 'influxReporter'], (v) => (v === 'true' ? true : v === 'false' ? false : v));
  if (pick('STREAMTUNE_SMTP_URL') !== undefined && raw.notify && typeof raw.notify === 'object' && (raw.notify as Record<string, unknown>).email) {
    fromEnv('STREAMTUNE_SMTP_URL', ['notify', 'email', 'smtpUrl']);
  }
  for (const [k, v] of Object.entries(opts.overrides ?? {})) {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      for (const [k2, v2] of Object.entries(v as Record<string, unknown>)) if (v2 !== undefined) set([k, k2], v2, { kind: 'flag' });
    } else if (v !== undefined) set([k], v, { kind: 'flag' });
  }

  /** The variable or flag a value at `path` came from: set at the path or above it, else the one that created a field below it (a section made only by variables). */
  const originOf = (path: string[]): Origin | undefined => {
    for (let i = path.length; i > 0; i--) {
      const o = origins.get(path.slice(0, i).join('.'));
      if (o) return o;
    }
    const prefix = `${path.join('.')}.`;
    for (const [k, o] of origins) if (path.length > 0 && k.startsWith(prefix)) return o;
    return undefined;
  };
  const where = (path: string[], key = false, via?: string[]): string => {
    const field = path.join('.') || '(root)';
    const o = originOf(via ?? path);
    if (o?.kind === 'env') return `${o.variable}: ${field}`;
    if (o?.kind === 'flag') return `command line: ${field}`;
    if (file && doc) return `${file}:${locateLine(doc, lc, path, key)}: ${field}`;
    return field;
  };
  /** `via`: the field whose variable or flag caused the problem at `path` (roles split by STREAMTUNE_ROLES). */
  const fail = (problems: Array<{ path: string[]; message: string; key?: boolean; via?: string[] }>): never => {
    // at most MAX_LISTED_PROBLEMS are placed and listed (placing each of 10,000 unknown keys takes seconds)
    const lines = problems.slice(0, MAX_LISTED_PROBLEMS).map((p) => `${where(p.path, p.key, p.via)}: ${p.message}`);
    if (problems.length > MAX_LISTED_PROBLEMS) lines.push(`… and ${problems.length - MAX_LISTED_PROBLEMS} more problems`);
    const first = problems[0]!;
    const details: Record<string, unknown> = { field: first.path.join('.'), problems: lines };
    const origin = originOf(first.via ?? first.path);
    if (origin?.kind === 'env') details.variable = origin.variable;
    else if (origin?.kind !== 'flag' && file && doc) {
      details.file = file;
      details.line = locateLine(doc, lc, first.path, first.key);
    }
    throw new StreamtuneError('INVALID_CONFIG', `invalid configuration:\n${lines.join('\n')}`, { details });
  };

  if (!validate(raw)) fail(ajvProblems(validate.errors ?? []));
  const tooLong = longDurations(raw);
  if (tooLong.length > 0) fail(tooLong);
  const semantic = cronProblems(raw);
  if (semantic.length > 0) fail(semantic);

  const baseDir = file ? dirname(file) : process.cwd();
  const r = raw as Record<string, Record<string, unknown> | undefined>;
  const ms = (v: unknown): number | undefined => (v === undefined ? undefined : parseMs(v as number | string));
  const server = r.server ?? {};
  const host = (server.host as string | undefined) ?? '127.0.0.1';
  const port = (server.port as number | undefined) ?? 8080;
  const dataDir = resolve(baseDir, (raw.dataDir as string | undefined) ?? './data');
  const store: StoreConfig = { ...(r.store ?? {}), dataDir };
  try {
    resolveStoreSettings({}, store);
  } catch (err) {
    const v = err instanceof StreamtuneError ? String(err.details.variable ?? '') : '';
    const field = ({
      'config.influxUrl': 'influxUrl', 'config.influxWriteApi': 'influxWriteApi', 'config.influxBucket': 'influxBucket',
      'config.prometheusUrl': 'prometheusUrl', 'config.prometheusRemoteWrite': 'prometheusRemoteWrite',
      'config.headMinutes': 'headMinutes', 'config.headMaxPoints': 'headMaxPoints',
    } as Record<string, string>)[v] ?? 'retentionDays';
    fail([{ path: ['store', field], message: errorMessage(err).replace(/^config\.\w+ /, '') }]);
  }
  const kafka = r.kafka as unknown as ServerConfig['kafka'] | undefined;
  const bus = (raw.bus as ServerConfig['bus'] | undefined) ?? 'memory';
  if (bus === 'kafka' && !kafka) fail([{ path: ['bus'], message: "'kafka' needs kafka.brokers (or STREAMTUNE_KAFKA_BROKERS)" }]);
  const roles = (raw.roles as Role[] | undefined) ?? [...ROLES];
  const split = checkRoles(roles, bus, store.influxUrl);
  if (split) {
    // the roles came from a variable or flag and the other field from nowhere: the roles are what to name
    const path = split.field.split('.');
    fail([{ path, message: split.message, ...(split.field !== 'roles' && origins.has('roles') && !originOf(path) ? { via: ['roles'] } : {}) }]);
  }

  const out: ServerConfig = {
    server: { port, host, baseUrl: ((server.baseUrl as string | undefined) ?? `http://${host.includes(':') ? `[${host}]` : host}:${port}`).replace(/\/$/, ''), publicReads: (server.publicReads as boolean | undefined) ?? false },
    dataDir,
    store,
    bus,
    roles,
    collector: { intervalMs: ms(r.collector?.intervalMs) ?? 5000 },
    rules: { watch: (r.rules?.watch as boolean | undefined) ?? true },
    diagnoser: {},
    tuner: { policies: {} },
    jobs: ((raw.jobs as Array<string | StartupJob> | undefined) ?? []).map((j) =>
      typeof j === 'string' ? { path: resolve(baseDir, j) } : { ...j, path: resolve(baseDir, j.path) },
    ),
  };
  if (server.apiToken !== undefined) out.server.apiToken = server.apiToken as string;
  if (r.prometheusReporter) out.prometheusReporter = { port: r.prometheusReporter.port as number, host: (r.prometheusReporter.host as string | undefined) ?? host };
  if (kafka) out.kafka = kafka;
  if (r.collector?.maxBufferedPoints !== undefined) out.collector.maxBufferedPoints = r.collector.maxBufferedPoints as number;
  if (r.rules?.dir !== undefined) out.rules.dir = resolve(baseDir, r.rules.dir as string);
  const d = r.diagnoser ?? {};
  for (const k of ['windowMs', 'stepMs', 'rediagnoseMs', 'alertIntervalMs'] as const) {
    const v = ms(d[k]);
    if (v !== undefined) out.diagnoser[k] = v;
  }
  if (d.sweepCron !== undefined) out.diagnoser.sweepCron = d.sweepCron as string;
  const policies = (r.tuner?.policies ?? {}) as Record<string, Record<string, unknown>>;
  for (const [job, p] of Object.entries(policies)) {
    const pol: Record<string, unknown> = { ...p };
    for (const k of ['cooldownMs', 'verifyAfterMs', 'blockIneffectiveMs']) if (pol[k] !== undefined) pol[k] = ms(pol[k]);
    out.tuner.policies[job] = pol as Partial<TuningPolicy>;
  }
  const to = (r.tuner?.timeouts ?? undefined) as Record<string, unknown> | undefined;
  if (to) {
    const t: NonNullable<ServerConfig['tuner']['timeouts']> = {};
    for (const k of ['savepointMs', 'runningMs', 'firstRecordMs'] as const) {
      const v = ms(to[k]);
      if (v === undefined) continue;
      if (v <= 0) fail([{ path: ['tuner', 'timeouts', k], message: 'must be more than 0 ms' }]);
      t[k] = v;
    }
    out.tuner.timeouts = t;
  }
  if (r.notify) {
    const n = { ...(r.notify as Record<string, unknown>) } as Record<string, unknown>;
    const nc: NonNullable<ServerConfig['notify']> = { baseUrl: (n.baseUrl as string | undefined) ?? out.server.baseUrl, dataDir };
    if (n.email) {
      const e = { ...(n.email as Record<string, unknown>) };
      if (e.timeoutMs !== undefined) e.timeoutMs = ms(e.timeoutMs);
      nc.email = e as unknown as NonNullable<NotifyConfig['email']>;
    }
    if (n.webhooks) nc.webhooks = (n.webhooks as Array<Record<string, unknown>>).map((w) => ({ ...w, ...(w.timeoutMs !== undefined ? { timeoutMs: ms(w.timeoutMs) } : {}) })) as unknown as NotifyConfig['webhooks'] & object;
    if (n.incidents) {
      const i = { ...(n.incidents as Record<string, unknown>) };
      if (i.reminderIntervalMs !== undefined) i.reminderIntervalMs = ms(i.reminderIntervalMs);
      nc.incidents = i as NotifyConfig['incidents'] & object;
    }
    if (n.digest) nc.digest = n.digest as NonNullable<NotifyConfig['digest']>;
    if (n.retry) nc.retry = n.retry as NonNullable<NotifyConfig['retry']>;
    const rc = ms(n.reminderCheckMs);
    if (rc !== undefined) nc.reminderCheckMs = rc;
    out.notify = nc;
  }
  if (r.flink) {
    const f = r.flink;
    const fc: FlinkConfig = {
      url: (f.url as string).replace(/\/+$/, ''),
      scheduler: (f.scheduler as FlinkConfig['scheduler'] | undefined) ?? 'default',
      pollIntervalMs: ms(f.pollIntervalMs) ?? 5000,
      influxReporter: (f.influxReporter as boolean | undefined) ?? false,
      jobs: (f.jobs as FlinkConfig['jobs'] | undefined) ?? {},
    };
    for (const k of ['authorization', 'jarId', 'entryClass'] as const) if (f[k] !== undefined) fc[k] = f[k] as string;
    if (f.programArgs !== undefined) fc.programArgs = f.programArgs as string[];
    const rt = ms(f.restartTimeMs);
    if (rt !== undefined) fc.restartTimeMs = rt;
    if (fc.pollIntervalMs <= 0) fail([{ path: ['flink', 'pollIntervalMs'], message: 'must be more than 0 ms' }]);
    if (fc.influxReporter && !store.influxUrl) fail([{ path: ['flink', 'influxReporter'], message: "true needs the InfluxDB the reporter writes to (store.influxUrl or STREAMTUNE_INFLUXDB_URL)" }]);
    out.flink = fc;
  }
  if (file) out.source = file;
  return out;
}

/** Converts a validated duration (ms number or '15s'-style string) to ms. */
export function parseMs(v: number | string): number {
  if (typeof v === 'number') return v;
  const m = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)$/.exec(v);
  if (!m) throw new StreamtuneError('INVALID_CONFIG', `'${v}' is not a duration (examples: 500ms, 15s, 10m, 1h)`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
}

/** Problems listed in an error message at most; the rest are counted. */
export const MAX_LISTED_PROBLEMS = 20;

/** ms a duration of the config may last: what a Node.js timer can wait (2^31 - 1 ms, about 24.8 days). */
export const MAX_DURATION_MS = 2_147_483_647;

/** Every duration field (a key ending in `Ms`, validated already) longer than {@link MAX_DURATION_MS}, as problems. */
function longDurations(raw: unknown, path: string[] = []): Array<{ path: string[]; message: string }> {
  if (raw === null || typeof raw !== 'object') return [];
  const out: Array<{ path: string[]; message: string }> = [];
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    const p = [...path, k];
    if (k.endsWith('Ms') && (typeof v === 'number' || typeof v === 'string')) {
      const ms = parseMs(v);
      if (!(ms <= MAX_DURATION_MS)) out.push({ path: p, message: `must be at most ${MAX_DURATION_MS} ms (about 24.8 days), got ${String(v)}` });
    } else out.push(...longDurations(v, p));
  }
  return out;
}

/** Cron expressions (node-cron's syntax) and time zones (IANA, as Intl knows them) that would be refused at start. */
function cronProblems(raw: Record<string, unknown>): Array<{ path: string[]; message: string }> {
  const out: Array<{ path: string[]; message: string }> = [];
  const d = raw.diagnoser as Record<string, unknown> | undefined;
  if (typeof d?.sweepCron === 'string' && d.sweepCron !== 'off' && !cron.validate(d.sweepCron)) out.push({ path: ['diagnoser', 'sweepCron'], message: "is not a valid cron expression (or 'off')" });
  const g = (raw.notify as Record<string, unknown> | undefined)?.digest as Record<string, unknown> | undefined;
  if (typeof g?.cron === 'string' && !cron.validate(g.cron)) out.push({ path: ['notify', 'digest', 'cron'], message: 'is not a valid cron expression' });
  if (typeof g?.timezone === 'string') {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: g.timezone });
    } catch {
      out.push({ path: ['notify', 'digest', 'timezone'], message: 'is not a time zone (IANA name, e.g. Europe/Paris or UTC)' });
    }
  }
  return out;
}

/** Turns ajv errors into one problem per field, with the path as segments. */
function ajvProblems(errors: ErrorObject[]): Array<{ path: string[]; message: string; key?: boolean }> {
  const out: Array<{ path: string[]; message: string; key?: boolean }> = [];
  const seen = new Set<string>();
  // anyOf branches report each alternative at the same path: the anyOf error speaks for them
  const anyOfPaths = new Set(errors.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath));
  for (const e of errors) {
    if (e.keyword !== 'anyOf' && anyOfPaths.has(e.instancePath)) continue;
    const path = e.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    let message: string;
    let key = false;
    if (e.keyword === 'additionalProperties') {
      const prop = String((e.params as { additionalProperty: string }).additionalProperty);
      path.push(prop);
      message = 'unknown field';
      key = true;
    } else if (e.keyword === 'required') {
      message = `missing required field '${String((e.params as { missingProperty: string }).missingProperty)}'`;
    } else if (e.keyword === 'enum') {
      message = `must be one of ${((e.params as { allowedValues: unknown[] }).allowedValues).map((v) => JSON.stringify(v)).join(', ')}`;
    } else if (e.keyword === 'pattern' && path[path.length - 1]?.endsWith('Ms')) {
      message = 'must be a duration in ms or like 500ms, 15s, 10m, 1h';
    } else if (e.keyword === 'anyOf') {
      message = path[path.length - 1]?.match(/Ms$/) ? 'must be a duration in ms or like 500ms, 15s, 10m, 1h' : 'has the wrong type';
    } else {
      message = e.message ?? 'is invalid';
    }
    const k = path.join('.');
    if (seen.has(k)) continue;
    seen.add(k);
    out.push({ path, message, key });
  }
  return out;
}

/** 1-based line of the node at `path` in the YAML document (the key when `key`), else the closest ancestor's. */
function locateLine(doc: Document.Parsed, lc: LineCounter, path: string[], key = false): number {
  let node: unknown = doc.contents;
  let pos: [number, number, number] | undefined = (doc.contents as YamlNode | null)?.range ?? undefined;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === seg);
      if (!pair) break;
      if (i === path.length - 1 && key && isScalar(pair.key) && pair.key.range) {
        pos = pair.key.range;
        break;
      }
      const r = (pair.value as YamlNode | null)?.range ?? (isScalar(pair.key) ? pair.key.range : undefined);
      if (r) pos = r;
      node = pair.value;
    } else if (isSeq(node)) {
      node = node.items[Number(seg)];
      const r = (node as YamlNode | null)?.range;
      if (r) pos = r;
    } else break;
  }
  return lc.linePos(pos ? pos[0] : 0).line;
}
