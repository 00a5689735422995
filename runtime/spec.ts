/**
 * Job specs: the plain-data description of a job graph, written as YAML (validated against a JSON
 * schema, errors naming file, line and field) or built in TypeScript as a {@link JobSpec} object.
 * Durations are milliseconds (numbers) or strings like '10s', '1h', '250ms'.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { isMap, isSeq, type Document, type LineCounter, type Node as YamlNode } from 'yaml';
import { parseYaml, StreamtuneError } from '../core/index.ts';
import { DEFAULT_MAX_PARALLELISM, checkParallelism } from './keygroups.ts';
import { compile } from './operators/expression.ts';

/** How records travel along an edge. */
export type Partitioning = 'forward' | 'rebalance' | 'hash';

/** Fault-injection knobs, valid on any vertex. */
export interface FaultSpec {
  /** Added wall-clock latency per record, ms (a blocking remote call; counts as busy time). */
  latencyMs?: number;
  /** CPU time burnt per record, ms (busy-spin). */
  cpuMs?: number;
  /** Bytes allocated (and dropped) per record, to drive GC. */
  allocBytes?: number;
  /** Bytes allocated and kept per record (a leak: heap after GC grows). */
  retainBytes?: number;
  /** A poison record: a filter expression; the first record matching it throws, on every attempt. */
  failOnRecord?: string;
  /** Throw after this many records in this subtask, on the first attempt only (a transient failure). */
  failAfterRecords?: number;
}

/** Common vertex fields. */
interface VertexBase {
  /** unique within the job; also the Flink task name */
  name: string;
  /** default 1 */
  parallelism?: number;
  faults?: FaultSpec;
}

/** Replay of a dataset file in event-time order. */
export interface DatasetSourceSpec extends VertexBase {
  type: 'dataset-source';
  /** file path; relative paths are relative to the spec file. `pkg:NAME/PATH` resolves inside node_modules. */
  path: string;
  /** default: from the file extension (.parquet, .jsonl/.ndjson, .csv) */
  format?: 'parquet' | 'jsonl' | 'csv';
  /** column holding event time (TIMESTAMP, ISO string or epoch ms) */
  eventTime: string;
  /** records/s over all splits; 0 or absent = as fast as possible */
  rate?: number;
  /** the dataset is cut into this many splits (like Kafka partitions); parallelism ≤ splits. Default 4. */
  splits?: number;
  /** bounded out-of-orderness of the watermark, ms. Default 0. */
  outOfOrderness?: number | string;
  /**
   * A subtask that reads no record for this long (ms or '5s') is marked idle (Flink's
   * `WatermarkStrategy.withIdleness` → `WatermarkStatus.IDLE`): downstream watermarks advance
   * without it until it reads again. Default: never idle.
   */
  idleTimeout?: number | string;
  /** only the first N rows (in event-time order) */
  limit?: number;
  /** columns to read; default all */
  columns?: string[];
}

/** A Kafka topic read through kafkajs, offsets kept in checkpoints and committed on completion. */
export interface KafkaSourceSpec extends VertexBase {
  type: 'kafka-source';
  topic: string;
  /** consumer group the checkpointed offsets are committed to */
  groupId: string;
  /** default STREAMTUNE_KAFKA_BROKERS */
  brokers?: string[];
  /** where to start without checkpointed offsets. Default 'committed' (falls back to earliest). */
  startFrom?: 'earliest' | 'latest' | 'committed';
  /** field holding event time in the JSON value; default the Kafka message timestamp */
  eventTime?: string;
  outOfOrderness?: number | string;
  /**
   * Idleness (Flink's `withIdleness`), ms or '5s': a caught-up partition with no record for this
   * long no longer holds the reader's watermark, and a subtask whose partitions all are idle is
   * marked idle downstream (`WatermarkStatus.IDLE`). Default: partitions idle after 1 s
   * (`IDLE_TIMEOUT_MS`), subtasks never.
   */
  idleTimeout?: number | string;
}

/** Generated records for tests, benchmarks and demos. */
export interface GeneratorSourceSpec extends VertexBase {
  type: 'generator-source';
  /** records/s over all subtasks; 0 = as fast as possible */
  rate?: number;
  /** number of distinct keys in field `key`. Default 1000. */
  keys?: number;
  /** share of records (0..1) that carry the hot key 'key-0'. Default 0. */
  hotKeyShare?: number;
  /** stop after this many records in total; default unbounded */
  count?: number;
  /** splits (like partitions). Default 4. */
  splits?: number;
  /**
   * A subtask that reads no record for this long (ms or '5s') is marked idle (Flink's
   * `WatermarkStrategy.withIdleness` → `WatermarkStatus.IDLE`): downstream watermarks advance
   * without it until it reads again. Default: never idle.
   */
  idleTimeout?: number | string;
}

/** Map with expressions: each field of `set` is computed from the record; `fields` keeps only those. */
export interface MapSpec extends VertexBase {
  type: 'map';
  set?: Record<string, string>;
  fields?: string[];
  /** a TypeScript function (builder only): record → record */
  fn?: (record: Record<string, unknown>) => Record<string, unknown>;
}

/** Keeps records for which `condition` is true. */
export interface FilterSpec extends VertexBase {
  type: 'filter';
  condition?: string;
  fn?: (record: Record<string, unknown>) => boolean;
}

/** Lookup join against a CSV dimension table. */
export interface LookupSpec extends VertexBase {
  type: 'lookup';
  /** CSV file with a header row */
  table: string;
  /** record field holding the lookup key */
  key: string;
  /** table column matching the key */
  tableKey: string;
  /** table columns to copy: { recordField: tableColumn } */
  columns: Record<string, string>;
  /** latency per record of the lookup, ms (a remote call). Default 0. */
  latencyMs?: number;
  /** records without a match: kept with nulls (default) or dropped */
  onMissing?: 'keep' | 'drop';
}

/** Keyed tumbling event-time window aggregation. */
export interface WindowAggregateSpec extends VertexBase {
  type: 'window-aggregate';
  key: string;
  /** window size, ms or '1h' */
  size: number | string;
  /** output field → aggregation: 'count' | 'sum(field)' | 'avg(field)' | 'min(field)' | 'max(field)' */
  aggregations: Record<string, string>;
  /** output field names of the key, window start and end. Defaults: the key field, 'windowStart', 'windowEnd'. */
  windowStartField?: string;
  windowEndField?: string;
  /** window times as ISO-8601 UTC strings (default) or epoch ms */
  timeFormat?: 'iso' | 'epoch-ms';
}

/** Exactly-once JSON-lines files, committed when a checkpoint covering them completes. */
export interface JsonlSinkSpec extends VertexBase {
  type: 'jsonl-sink';
  /** output directory */
  path: string;
}

/** Writes records as JSON to a Kafka topic (flushed on every checkpoint: at-least-once). */
export interface KafkaSinkSpec extends VertexBase {
  type: 'kafka-sink';
  topic: string;
  brokers?: string[];
  /** record field used as the message key */
  key?: string;
}

/** Keeps records in memory (tests). Records are handed to the job's `collected` list. */
export interface CollectSinkSpec extends VertexBase {
  type: 'collect-sink';
}

/** Drops records (benchmarks). */
export interface DiscardSinkSpec extends VertexBase {
  type: 'discard-sink';
}

/** Any vertex. */
export type VertexSpec =
  | DatasetSourceSpec
  | KafkaSourceSpec
  | GeneratorSourceSpec
  | MapSpec
  | FilterSpec
  | LookupSpec
  | WindowAggregateSpec
  | JsonlSinkSpec
  | KafkaSinkSpec
  | CollectSinkSpec
  | DiscardSinkSpec;

/** An edge between two vertices. */
export interface EdgeSpec {
  from: string;
  to: string;
  /** default: 'forward' when parallelisms match, else 'rebalance'; 'hash' needs `key` */
  partitioning?: Partitioning;
  /** record field to key by (hash partitioning) */
  key?: string;
}

/** Checkpointing. */
export interface CheckpointSpec {
  /** ms; 0 disables periodic checkpoints. Default 10 s. */
  interval?: number | string;
  /** ms. Default 60 s. */
  timeout?: number | string;
  /** minimum pause between the end of one checkpoint and the start of the next, ms. Default 0. */
  minPause?: number | string;
  /** completed checkpoints kept on disk. Default 3. */
  retained?: number;
  /** checkpoint directory. Default `${STREAMTUNE_DATA_DIR ?? './data'}/checkpoints/<job name>`. */
  dir?: string;
  /**
   * Unaligned checkpoints (Flink's FLIP-76): barriers overtake queued records and those records are
   * stored in the checkpoint as in-flight data, so backpressure does not delay checkpoints.
   * Savepoints stay aligned. Default false.
   */
  unaligned?: boolean;
}

/** Restart strategy: Flink's fixed-delay. */
export interface RestartStrategySpec {
  type: 'fixed-delay' | 'none';
  /** default 3 */
  attempts?: number;
  /** ms. Default 1 s. */
  delay?: number | string;
}

/** A whole job. */
export interface JobSpec {
  name: string;
  /** number of key groups. Default 128. */
  maxParallelism?: number;
  /**
   * TaskManagers the job's subtasks are spread over (`runtime/taskmanager/`): TaskManager 0 is this
   * process's main thread, the others are worker threads, each with its own event loop and heap,
   * so subtasks on different TaskManagers run on different cores. Slots are shared as in Flink: slot
   * i holds subtask i of every vertex, the job needs as many slots as its highest parallelism, and
   * slot i runs on TaskManager i mod N. Default: the number of cores (`os.availableParallelism()`).
   */
  taskManagers?: number;
  checkpoints?: CheckpointSpec;
  restartStrategy?: RestartStrategySpec;
  vertices: VertexSpec[];
  edges: EdgeSpec[];
  /** directory the spec came from; relative paths resolve against it (set by the loader) */
  baseDir?: string;
}

const SOURCE_TYPES = new Set(['dataset-source', 'kafka-source', 'generator-source']);
const SINK_TYPES = new Set(['jsonl-sink', 'kafka-sink', 'collect-sink', 'discard-sink']);

/** True for source vertex types. */
export function isSourceSpec(v: VertexSpec): boolean {
  return SOURCE_TYPES.has(v.type);
}
/** True for sink vertex types. */
export function isSinkSpec(v: VertexSpec): boolean {
  return SINK_TYPES.has(v.type);
}

/** `v` for an error message: at most 80 characters, the rest cut with '…'. */
export function shown(v: unknown): string {
  const s = String(v);
  return s.length > 80 ? `${s.slice(0, 80)}…` : s;
}

/** Parses '10s', '250ms', '1h', '2m', '1d' or a number (ms). Throws INVALID_SPEC naming `field` (also for a duration too long to be a finite number). */
export function parseDuration(value: number | string | undefined, field: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new StreamtuneError('INVALID_SPEC', `${field}: must be a non-negative duration, got ${value}`);
    return value;
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d)?\s*$/.exec(value);
  if (!m) throw new StreamtuneError('INVALID_SPEC', `${field}: '${shown(value)}' is not a duration (examples: 500ms, 10s, 5m, 1h)`);
  const n = Number(m[1]);
  const unit = m[2] ?? 'ms';
  const mult = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' || unit === 'min' ? 60_000 : unit === 'h' ? 3_600_000 : 86_400_000;
  const ms = n * mult;
  if (!Number.isFinite(ms)) throw new StreamtuneError('INVALID_SPEC', `${field}: '${shown(value)}' is too long a duration`);
  return ms;
}

const duration = { anyOf: [{ type: 'number', minimum: 0 }, { type: 'string', pattern: '^\\s*\\d+(\\.\\d+)?\\s*(ms|s|m|min|h|d)?\\s*$' }] };
const faults = {
  type: 'object',
  additionalProperties: false,
  properties: {
    latencyMs: { type: 'number', minimum: 0 },
    cpuMs: { type: 'number', minimum: 0 },
    allocBytes: { type: 'integer', minimum: 0 },
    retainBytes: { type: 'integer', minimum: 0 },
    failOnRecord: { type: 'string', minLength: 1 },
    failAfterRecords: { type: 'integer', minimum: 0 },
  },
};
const base = { name: { type: 'string', pattern: '^[A-Za-z0-9_.:-][A-Za-z0-9_.: -]*$' }, parallelism: { type: 'integer', minimum: 1 }, faults };
function vertexSchema(type: string, props: Record<string, unknown>, required: string[]) {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['name', 'type', ...required],
    properties: { ...base, type: { const: type }, ...props },
  };
}
const stringMap = { type: 'object', additionalProperties: { type: 'string' } };
const brokers = { type: 'array', items: { type: 'string' }, minItems: 1 };

/** The JSON schema of a job spec (draft-07, as ajv checks it). */
export const JOB_SPEC_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'vertices', 'edges'],
  properties: {
    name: { type: 'string', minLength: 1, pattern: '^[A-Za-z0-9_.-]+$' },
    maxParallelism: { type: 'integer', minimum: 1, maximum: 32768 },
    taskManagers: { type: 'integer', minimum: 1, maximum: 256 },
    checkpoints: {
      type: 'object',
      additionalProperties: false,
      properties: { interval: duration, timeout: duration, minPause: duration, retained: { type: 'integer', minimum: 1 }, dir: { type: 'string' }, unaligned: { type: 'boolean' } },
    },
    restartStrategy: {
      type: 'object',
      additionalProperties: false,
      required: ['type'],
      properties: { type: { enum: ['fixed-delay', 'none'] }, attempts: { type: 'integer', minimum: 0 }, delay: duration },
    },
    vertices: {
      type: 'array',
      minItems: 2,
      items: {
        type: 'object',
        required: ['type'],
        properties: { type: { enum: [...SOURCE_TYPES, 'map', 'filter', 'lookup', 'window-aggregate', ...SINK_TYPES] } },
        allOf: [
          { if: { properties: { type: { const: 'dataset-source' } } }, then: vertexSchema('dataset-source', { path: { type: 'string', minLength: 1 }, format: { enum: ['parquet', 'jsonl', 'csv'] }, eventTime: { type: 'string' }, rate: { type: 'number', minimum: 0 }, splits: { type: 'integer', minimum: 1 }, outOfOrderness: duration, idleTimeout: duration, limit: { type: 'integer', minimum: 0 }, columns: { type: 'array', items: { type: 'string' } } }, ['path', 'eventTime']) },
          { if: { properties: { type: { const: 'kafka-source' } } }, then: vertexSchema('kafka-source', { topic: { type: 'string', minLength: 1 }, groupId: { type: 'string', minLength: 1 }, brokers, startFrom: { enum: ['earliest', 'latest', 'committed'] }, eventTime: { type: 'string' }, outOfOrderness: duration, idleTimeout: duration }, ['topic', 'groupId']) },
          { if: { properties: { type: { const: 'generator-source' } } }, then: vertexSchema('generator-source', { rate: { type: 'number', minimum: 0 }, keys: { type: 'integer', minimum: 1 }, hotKeyShare: { type: 'number', minimum: 0, maximum: 1 }, count: { type: 'integer', minimum: 0 }, splits: { type: 'integer', minimum: 1 }, idleTimeout: duration }, []) },
          { if: { properties: { type: { const: 'map' } } }, then: vertexSchema('map', { set: stringMap, fields: { type: 'array', items: { type: 'string' } } }, []) },
          { if: { properties: { type: { const: 'filter' } } }, then: vertexSchema('filter', { condition: { type: 'string', minLength: 1 } }, ['condition']) },
          { if: { properties: { type: { const: 'lookup' } } }, then: vertexSchema('lookup', { table: { type: 'string', minLength: 1 }, key: { type: 'string' }, tableKey: { type: 'string' }, columns: stringMap, latencyMs: { type: 'number', minimum: 0 }, onMissing: { enum: ['keep', 'drop'] } }, ['table', 'key', 'tableKey', 'columns']) },
          { if: { properties: { type: { const: 'window-aggregate' } } }, then: vertexSchema('window-aggregate', { key: { type: 'string' }, size: duration, aggregations: { type: 'object', minProperties: 1, additionalProperties: { type: 'string', pattern: '^(count|(sum|avg|min|max)\\([A-Za-z0-9_]+\\))$' } }, windowStartField: { type: 'string' }, windowEndField: { type: 'string' }, timeFormat: { enum: ['iso', 'epoch-ms'] } }, ['key', 'size', 'aggregations']) },
          { if: { properties: { type: { const: 'jsonl-sink' } } }, then: vertexSchema('jsonl-sink', { path: { type: 'string', minLength: 1 } }, ['path']) },
          { if: { properties: { type: { const: 'kafka-sink' } } }, then: vertexSchema('kafka-sink', { topic: { type: 'string', minLength: 1 }, brokers, key: { type: 'string' } }, ['topic']) },
          { if: { properties: { type: { const: 'collect-sink' } } }, then: vertexSchema('collect-sink', {}, []) },
          { if: { properties: { type: { const: 'discard-sink' } } }, then: vertexSchema('discard-sink', {}, []) },
        ],
      },
    },
    edges: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['from', 'to'],
        properties: { from: { type: 'string' }, to: { type: 'string' }, partitioning: { enum: ['forward', 'rebalance', 'hash'] }, key: { type: 'string' } },
      },
    },
  },
} as const;

const ajv = new Ajv({ allErrors: true, strict: false });
const validateSchema = ajv.compile(JOB_SPEC_SCHEMA);

/** Where a problem is: the file, the 1-based line, and the field path like `vertices[1].parallelism`. */
interface Located {
  field: string;
  line?: number;
}

function pathToField(instancePath: string): string {
  return instancePath
    .split('/')
    .filter(Boolean)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((seg, i) => (/^\d+$/.test(seg) ? `[${seg}]` : i === 0 ? seg : `.${seg}`))
    .join('') || '(root)';
}

function lineOf(doc: Document.Parsed, lc: LineCounter, instancePath: string): number | undefined {
  const segs = instancePath.split('/').filter(Boolean).map((s) => (/^\d+$/.test(s) ? Number(s) : s.replace(/~1/g, '/').replace(/~0/g, '~')));
  // walk down as far as the path exists; report the deepest node found
  let node: YamlNode | null | undefined = doc.contents as YamlNode | null;
  let best = node;
  for (const seg of segs) {
    if (isMap(node)) {
      const items = node.items as Array<{ key: unknown; value: unknown }>;
      const pair = items.find((it) => (it.key as { value?: unknown } | null)?.value === seg);
      if (!pair) break;
      node = (pair.value as YamlNode | null) ?? (pair.key as YamlNode);
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg] as YamlNode | undefined;
      if (!node) break;
    } else break;
    best = node ?? best;
  }
  const range = best?.range;
  return range ? lc.linePos(range[0]).line : undefined;
}

function describeAjvError(e: ErrorObject): { path: string; message: string } {
  if (e.keyword === 'additionalProperties') {
    const extra = (e.params as { additionalProperty: string }).additionalProperty;
    return { path: `${e.instancePath}/${extra}`, message: `unknown field '${extra}'` };
  }
  if (e.keyword === 'required') {
    return { path: e.instancePath, message: `missing required field '${(e.params as { missingProperty: string }).missingProperty}'` };
  }
  if (e.keyword === 'enum') {
    return { path: e.instancePath, message: `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}` };
  }
  return { path: e.instancePath, message: e.message ?? 'is invalid' };
}

/** ms a timer can wait: Node.js runs a longer `setTimeout` after 1 ms (TimeoutOverflowWarning). */
export const MAX_TIMER_MS = 2_147_483_647;

/** One problem of a job spec: the field path (`vertices[1].parallelism`), its line when known, and what is wrong. */
interface SpecProblem extends Located {
  message: string;
}

/** Problems listed in an error message at most; the rest are counted. */
export const MAX_LISTED_PROBLEMS = 20;

/** The INVALID_SPEC error for `problems` (at least one): message one problem per line (the first {@link MAX_LISTED_PROBLEMS}), details of the first. */
function specError(source: string, problems: SpecProblem[], title = 'invalid job spec'): StreamtuneError {
  const lines = problems.slice(0, MAX_LISTED_PROBLEMS).map((p) => `${source}${p.line ? `:${p.line}` : ''}: ${p.field ? `${p.field}: ` : ''}${p.message}`);
  if (problems.length > MAX_LISTED_PROBLEMS) lines.push(`… and ${problems.length - MAX_LISTED_PROBLEMS} more problems`);
  const first = problems[0]!;
  return new StreamtuneError('INVALID_SPEC', `${title}:\n  ${lines.join('\n  ')}`, {
    details: { source, file: source, field: first.field, ...(first.line ? { line: first.line } : {}), problems: lines },
  });
}

/**
 * Validates a job spec object and the graph rules the schema cannot express (unique names, edges
 * between known vertices, sources without inputs, sinks without outputs, no cycles, hash edges with
 * a key, parallelism ≤ max parallelism and a source's ≤ its splits, durations finite and timers at most {@link MAX_TIMER_MS},
 * window sizes above 0, map, filter and failOnRecord expressions that compile). Throws INVALID_SPEC listing every problem with its field, and its line when
 * `locate` can place it; `details` holds `source`/`file` (= `source`), `field` and `line` of the first
 * problem and `problems` (one formatted line each).
 */
export function validateJobSpec(spec: unknown, source = 'job spec', locate?: (instancePath: string) => number | undefined): JobSpec {
  const problems: SpecProblem[] = [];
  const add = (instancePath: string, message: string, field = pathToField(instancePath)): void => {
    // only the listed problems get a line: placing each of 10,000 unknown keys would take seconds
    const line = problems.length < MAX_LISTED_PROBLEMS ? locate?.(instancePath) : undefined;
    problems.push({ field, ...(line ? { line } : {}), message });
  };
  if (!validateSchema(spec)) {
    const seen = new Set<string>();
    for (const e of validateSchema.errors ?? []) {
      if (e.keyword === 'if') continue;
      const d = describeAjvError(e);
      const key = `${d.path}|${d.message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      add(d.path, d.message);
    }
    throw specError(source, problems);
  }
  const job = spec as JobSpec;
  const names = new Map<string, number>();
  job.vertices.forEach((v, i) => {
    if (names.has(v.name)) add(`/vertices/${i}/name`, `duplicate vertex name '${v.name}'`);
    names.set(v.name, i);
  });
  const maxP = job.maxParallelism ?? DEFAULT_MAX_PARALLELISM;
  job.vertices.forEach((v, i) => {
    try {
      checkParallelism(v.name, v.parallelism ?? 1, maxP);
    } catch (err) {
      add(`/vertices/${i}/parallelism`, (err as Error).message);
    }
    if ((v.type === 'dataset-source' || v.type === 'generator-source') && (v.parallelism ?? 1) > (v.splits ?? 4)) {
      add(`/vertices/${i}/parallelism`, `source '${v.name}' has ${v.splits ?? 4} splits; its parallelism ${v.parallelism ?? 1} cannot exceed them`);
    }
  });
  // durations: finite, timers within what setTimeout can wait, window sizes above 0
  const checkDuration = (instancePath: string, value: number | string | undefined, timer: boolean, positive = false): void => {
    if (value === undefined) return;
    let ms: number;
    try {
      ms = parseDuration(value, pathToField(instancePath), 0);
    } catch (err) {
      add(instancePath, (err as Error).message.replace(/^[^:]*: /, ''));
      return;
    }
    if (!Number.isFinite(ms)) add(instancePath, `'${shown(value)}' is too long a duration`);
    else if (timer && ms > MAX_TIMER_MS) add(instancePath, `must be at most ${MAX_TIMER_MS} ms (about 24.8 days), got ${ms}`);
    else if (positive && ms <= 0) add(instancePath, 'must be more than 0 ms');
  };
  for (const k of ['interval', 'timeout', 'minPause'] as const) checkDuration(`/checkpoints/${k}`, job.checkpoints?.[k], true);
  checkDuration('/restartStrategy/delay', job.restartStrategy?.delay, true);
  job.vertices.forEach((v, i) => {
    const o = v as { outOfOrderness?: number | string; idleTimeout?: number | string; size?: number | string };
    checkDuration(`/vertices/${i}/outOfOrderness`, o.outOfOrderness, false);
    checkDuration(`/vertices/${i}/idleTimeout`, o.idleTimeout, true);
    if (v.type === 'window-aggregate') checkDuration(`/vertices/${i}/size`, o.size, false, true);
  });
  // expressions (filtrex) compile now, not when the job starts
  const checkExpression = (instancePath: string, expr: string | undefined): void => {
    if (typeof expr !== 'string') return;
    try {
      compile(expr, pathToField(instancePath));
    } catch (err) {
      add(instancePath, (err as Error).message.replace(/^[^:]*: /, ''));
    }
  };
  job.vertices.forEach((v, i) => {
    if (v.type === 'map') for (const [k, e] of Object.entries(v.set ?? {})) checkExpression(`/vertices/${i}/set/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`, e);
    if (v.type === 'filter') checkExpression(`/vertices/${i}/condition`, v.condition);
    checkExpression(`/vertices/${i}/faults/failOnRecord`, v.faults?.failOnRecord);
  });
  const inDeg = new Map<string, number>();
  const outDeg = new Map<string, number>();
  job.edges.forEach((e, i) => {
    for (const end of ['from', 'to'] as const) {
      if (!names.has(e[end])) add(`/edges/${i}/${end}`, `unknown vertex '${e[end]}'`);
    }
    if (e.partitioning === 'hash' && !e.key) add(`/edges/${i}`, 'a hash edge needs a key', `edges[${i}].key`);
    if (e.key && e.partitioning && e.partitioning !== 'hash') add(`/edges/${i}/key`, "a key is only used with partitioning 'hash'");
    inDeg.set(e.to, (inDeg.get(e.to) ?? 0) + 1);
    outDeg.set(e.from, (outDeg.get(e.from) ?? 0) + 1);
    const from = job.vertices[names.get(e.from) ?? -1];
    const to = job.vertices[names.get(e.to) ?? -1];
    if (e.partitioning === 'forward' && from && to && (from.parallelism ?? 1) !== (to.parallelism ?? 1)) {
      add(`/edges/${i}/partitioning`, `a forward edge needs equal parallelism on both ends ('${e.from}' ${from.parallelism ?? 1}, '${e.to}' ${to.parallelism ?? 1}); use rebalance`);
    }
  });
  job.vertices.forEach((v, i) => {
    const ins = inDeg.get(v.name) ?? 0;
    const outs = outDeg.get(v.name) ?? 0;
    const at = `/vertices/${i}`;
    if (isSourceSpec(v) && ins > 0) add(at, `source '${v.name}' cannot have inputs`);
    if (!isSourceSpec(v) && ins === 0) add(at, `'${v.name}' has no input edge`);
    if (isSinkSpec(v) && outs > 0) add(at, `sink '${v.name}' cannot have outputs`);
    if (!isSinkSpec(v) && outs === 0) add(at, `'${v.name}' has no output edge`);
  });
  if (problems.length === 0 && hasCycle(job)) add('/edges', 'the job graph has a cycle');
  if (problems.length > 0) throw specError(source, problems);
  return job;
}

function hasCycle(job: JobSpec): boolean {
  const adj = new Map<string, string[]>();
  for (const e of job.edges) adj.set(e.from, [...(adj.get(e.from) ?? []), e.to]);
  const state = new Map<string, 1 | 2>();
  const visit = (n: string): boolean => {
    if (state.get(n) === 1) return true;
    if (state.get(n) === 2) return false;
    state.set(n, 1);
    for (const m of adj.get(n) ?? []) if (visit(m)) return true;
    state.set(n, 2);
    return false;
  };
  return job.vertices.some((v) => visit(v.name));
}

/**
 * Parses and validates a YAML job spec (JSON is YAML too). Throws INVALID_SPEC with
 * `file:line: field: reason` for YAML syntax errors (also unresolved or too many aliases, nesting too
 * deep) and schema or graph violations; `details.file` is `file`, `details.line` the first problem's
 * line, `details.field` its field ('' for a syntax error).
 */
export function parseJobSpecYaml(text: string, file = 'job spec'): JobSpec {
  const parsed = parseYaml(text);
  if (!parsed.ok) throw specError(file, parsed.problems.map((p) => ({ field: '', line: p.line, message: p.message })), 'invalid YAML');
  const { doc, lineCounter } = parsed;
  // an empty document has no node to point at: its problems are on line 1
  return validateJobSpec(parsed.value, file, (p) => lineOf(doc, lineCounter, p) ?? 1);
}

/** Reads, parses and validates a YAML job spec file; relative paths inside resolve against its folder. */
export function loadJobSpec(file: string): JobSpec {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new StreamtuneError('INVALID_SPEC', `cannot read job spec ${file}: ${(err as Error).message}`, { cause: err, details: { source: file, file } });
  }
  const spec = parseJobSpecYaml(text, file);
  spec.baseDir = dirname(resolve(file));
  return spec;
}
