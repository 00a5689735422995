/**
 * Flink's REST contract for the fake Flink server: loads `test/fixtures/flink/rest_v1_dispatcher.yml`
 * (OpenAPI 3.0.1, apache/flink 0a1b3ca9, 2.1-SNAPSHOT; source and licence in its header), patches its known gaps, closes every object schema, and
 * validates requests and responses with openapi-backend (which compiles the schemas with ajv).
 *
 * Patches, each a documented difference between the generated spec and what Flink really does
 * (see docs/FLINK-CONTRACT.md, the REST API section):
 * 1. `MetricCollectionResponseBody` is declared `{metrics: Metric[]}` but Flink sends a bare JSON
 *    array of `Metric` (`[{"id":…,"value":"<string>"}]`).
 * 2. `AggregatedMetricsResponseBody` is declared as an empty object and `AggregatedMetric`
 *    (`id,min,max,avg,sum,skew`) is missing; Flink sends a bare array of them.
 * 3. `agg` of the subtask metrics endpoint is declared as one `AggregationMode` enum value
 *    (MIN…SKEW) but is a comma-separated, case-insensitive list (`agg=min,max,skew`).
 *    Enum-valued query parameters in general are parsed by Flink with
 *    `valueOf(value.toUpperCase())` (e.g. `mode=cancel`), so enum query values are upper-cased
 *    before validation.
 * 4. `AsynchronousOperationResult.operation` is a `oneOf` of three schemas whose properties overlap
 *    (`failure-cause` in two of them), so a real savepoint failure matches two branches and can never
 *    satisfy `oneOf`; Jackson serialises the concrete class, so it is validated as `anyOf`.
 * 5. `SerializedThrowable` is declared with only `serialized-throwable`, but Flink's
 *    `SerializedThrowableSerializer` also writes `class`, `stack-trace` (and, in 2.x, `message`,
 *    `cause`, `suppressed`); those are added.
 *
 * Strictness beyond the spec (on purpose): every object schema that lists `properties` and says
 * nothing about `additionalProperties` is closed (`additionalProperties: false`), in requests and
 * responses. Flink's REST handlers deserialise request bodies with Jackson configured to fail on
 * unknown properties, so a misspelled field (`target-directory` in the stop body) is a 400 there;
 * closing the response schemas makes the fake's own typos fail too. `allOf` compositions are
 * flattened first (so closing does not reject the other branch's properties), and a Jackson `discriminator`
 * base type (`CheckpointStatistics`) becomes a oneOf of its mapped subtypes, each with the
 * discriminator (`className`) pinned and required.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { OpenAPIBackend, type Document, type Operation, type Request } from 'openapi-backend';

/** Location of the spec: a fixture of this repository. */
export const FLINK_SPEC_PATH = fileURLToPath(new URL('../../fixtures/flink/rest_v1_dispatcher.yml', import.meta.url));

type Schema = Record<string, unknown>;

/** One contract violation found by {@link FlinkContract}. */
export interface SpecViolation {
  kind: 'request' | 'response' | 'unknown-operation';
  method: string;
  /** path with query string */
  url: string;
  /** operationId from the spec, when the route matched */
  operationId?: string;
  status?: number;
  /** human-readable ajv/router messages */
  errors: string[];
}

function isObj(v: unknown): v is Schema {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Merges `allOf` parts (resolving `#/components/schemas/...` refs) into one object schema. */
function flattenAllOf(schema: Schema, components: Record<string, Schema>): Schema {
  const parts = schema.allOf as Schema[];
  const merged: Schema = { type: 'object', properties: {} as Record<string, unknown> };
  const required = new Set<string>();
  for (let part of parts) {
    if (typeof part.$ref === 'string') part = components[part.$ref.replace('#/components/schemas/', '')]!;
    if (part.allOf) part = flattenAllOf(part, components);
    Object.assign(merged.properties as Schema, part.properties ?? {});
    for (const r of (part.required as string[] | undefined) ?? []) required.add(r);
  }
  if (required.size > 0) merged.required = [...required];
  return merged;
}

/** Walks a schema tree and closes objects that declare properties. */
function closeObjects(node: unknown): void {
  if (Array.isArray(node)) {
    for (const n of node) closeObjects(n);
    return;
  }
  if (!isObj(node)) return;
  delete node.discriminator;
  if (isObj(node.properties) && node.additionalProperties === undefined) node.additionalProperties = false;
  for (const v of Object.values(node)) closeObjects(v);
}

/** The spec with the patches described in the module comment applied. */
export function loadPatchedFlinkSpec(path = FLINK_SPEC_PATH): Document {
  const doc = parse(readFileSync(path, 'utf8')) as Schema;
  const components = (doc.components as Schema).schemas as Record<string, Schema>;

  // Gap 1 and 2 (docs/FLINK-CONTRACT.md): bare arrays; AggregatedMetric is not in the spec.
  components.MetricCollectionResponseBody = { type: 'array', items: { $ref: '#/components/schemas/Metric' } };
  components.AggregatedMetric = {
    type: 'object',
    required: ['id'],
    properties: {
      id: { type: 'string' },
      min: { type: 'number' },
      max: { type: 'number' },
      avg: { type: 'number' },
      sum: { type: 'number' },
      skew: { type: 'number' },
    },
  };
  components.AggregatedMetricsResponseBody = { type: 'array', items: { $ref: '#/components/schemas/AggregatedMetric' } };

  // Gap 4: oneOf over overlapping open schemas cannot be satisfied; Jackson writes the concrete class.
  const aor = components.AsynchronousOperationResult!;
  const op = (aor.properties as Schema).operation as Schema;
  op.anyOf = op.oneOf;
  delete op.oneOf;

  // Gap 5: SerializedThrowableSerializer's real fields.
  components.SerializedThrowable = {
    type: 'object',
    properties: {
      class: { type: 'string' },
      message: { type: 'string' },
      'stack-trace': { type: 'string' },
      'serialized-throwable': { type: 'string' },
      cause: { type: 'object' },
      suppressed: { type: 'array' },
    },
  };

  for (const [name, s] of Object.entries(components)) {
    if (Array.isArray(s.allOf)) components[name] = flattenAllOf(s, components);
  }
  // Jackson polymorphism (`discriminator` + `mapping`, e.g. CheckpointStatistics → completed /
  // failed / in_progress): a reference to the base type really holds one of the mapped subtypes,
  // told apart by the discriminator property. The base becomes a oneOf of the (flattened) subtypes,
  // each pinning the discriminator to its mapping key.
  for (const [name, s] of Object.entries(components)) {
    const disc = s.discriminator as { propertyName: string; mapping?: Record<string, string> } | undefined;
    if (!disc?.mapping) continue;
    const branches: Schema[] = [];
    for (const [key, ref] of Object.entries(disc.mapping)) {
      const sub = components[ref.replace('#/components/schemas/', '')]!;
      const props = { ...(sub.properties as Schema), [disc.propertyName]: { type: 'string', enum: [key] } };
      const required = [...new Set([...((sub.required as string[] | undefined) ?? []), disc.propertyName])];
      const pinned: Schema = { ...sub, properties: props, required };
      components[ref.replace('#/components/schemas/', '')] = pinned;
      branches.push({ $ref: ref });
    }
    components[name] = { oneOf: branches };
  }

  // Gap 3: `agg` is a comma-separated list of aggregation modes (validated per item in FlinkContract).
  const paths = doc.paths as Record<string, Record<string, Schema>>;
  for (const item of Object.values(paths)) {
    for (const operation of Object.values(item)) {
      for (const p of (operation.parameters as Schema[] | undefined) ?? []) {
        if (p.name === 'agg' && p.in === 'query') {
          p.schema = { type: 'string', pattern: '^(?:(?:MIN|MAX|SUM|AVG|SKEW)(?:,|$))+$' };
        }
      }
    }
  }
  closeObjects(components);
  closeObjects(paths);
  return doc as unknown as Document;
}

/** Query parameter names whose schema is an enum, per operationId (values are upper-cased, gap 3). */
function enumQueryParams(doc: Document): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const components = (doc.components as Schema).schemas as Record<string, Schema>;
  for (const item of Object.values(doc.paths as Record<string, Record<string, Schema>>)) {
    for (const operation of Object.values(item)) {
      const names = new Set<string>();
      for (const p of (operation.parameters as Schema[] | undefined) ?? []) {
        if (p.in !== 'query') continue;
        let s = p.schema as Schema;
        if (typeof s.$ref === 'string') s = components[s.$ref.replace('#/components/schemas/', '')]!;
        if (Array.isArray(s.enum) || p.name === 'agg') names.add(p.name as string);
      }
      out.set(operation.operationId as string, names);
    }
  }
  return out;
}

/** Result of matching and validating one request. */
export type RequestCheck =
  | { ok: true; operationId: string; params: Record<string, string>; query: Record<string, string> }
  | { ok: false; violation: SpecViolation; status: 400 | 404 };

/**
 * Flink's REST contract: routes a request to its operation and validates request and response.
 * Create with {@link FlinkContract.load}.
 */
export class FlinkContract {
  private constructor(
    private readonly api: OpenAPIBackend,
    private readonly enumParams: Map<string, Set<string>>,
  ) {}

  /** Loads and compiles the patched spec (about a second: ajv compiles every operation). */
  static async load(path = FLINK_SPEC_PATH): Promise<FlinkContract> {
    const doc = loadPatchedFlinkSpec(path);
    const api = new OpenAPIBackend({
      definition: doc,
      strict: false,
      quick: false,
      validate: true,
      coerceTypes: true,
      ajvOpts: { strict: false, allErrors: true },
      customizeAjv: (ajv) => {
        for (const f of ['int32', 'int64', 'double', 'binary', 'byte']) ajv.addFormat(f, true);
        return ajv;
      },
    });
    await api.init();
    return new FlinkContract(api, enumQueryParams(doc));
  }

  /** Matches `method url` to an operation and validates path, query and JSON body. */
  checkRequest(method: string, url: string, headers: Record<string, string>, body: unknown): RequestCheck {
    const u = new URL(url, 'http://fake');
    const query: Record<string, string> = {};
    for (const [k, v] of u.searchParams) query[k] = v;
    const req: Request = { method: method.toLowerCase(), path: u.pathname, query, headers, body };
    let operation: Operation | undefined;
    try {
      operation = this.api.router.matchOperation(req);
    } catch {
      operation = undefined;
    }
    if (!operation) {
      return {
        ok: false,
        status: 404,
        violation: { kind: 'unknown-operation', method, url, errors: [`no operation ${method} ${u.pathname} in the spec`] },
      };
    }
    const operationId = operation.operationId!;
    const enums = this.enumParams.get(operationId) ?? new Set<string>();
    const normQuery: Record<string, string> = {};
    for (const [k, v] of Object.entries(query)) normQuery[k] = enums.has(k) ? v.toUpperCase() : v;
    const result = this.api.validateRequest({ ...req, query: normQuery }, operation);
    if (!result.valid) {
      return {
        ok: false,
        status: 400,
        violation: {
          kind: 'request',
          method,
          url,
          operationId,
          errors: (result.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`),
        },
      };
    }
    const parsed = this.api.router.parseRequest(req, operation);
    return { ok: true, operationId, params: parsed.params as Record<string, string>, query: normQuery };
  }

  /** Validates a response body for `operationId` and `status`; returns the errors (empty = valid). */
  checkResponse(operationId: string, status: number, body: unknown): string[] {
    const result = this.api.validateResponse(body, operationId, status);
    if (result.valid) return [];
    return (result.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
  }
}
