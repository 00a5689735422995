/**
 * The API under `/api/v1` as data: one {@link ApiRoute} entry per method and path, from which
 * {@link openApiDocument} builds the OpenAPI 3.0 document served at `GET /api/v1/openapi.json`, and
 * from which `validate.ts` checks every request (parameters and bodies; a 400 names the field) and
 * guards the reads that need the API token. Adding a route is one entry in {@link API_ROUTES}; a test
 * (test/openapi.test.ts) walks express's route table so a route without an entry fails, and checks
 * every route's real responses against the document.
 *
 * Schemas are OpenAPI 3.0 Schema Objects (JSON Schema draft-04/07 with `nullable`), compiled by ajv.
 * Response schemas list the fields that are always there as `required`, and stay open
 * (`additionalProperties` unset) so that a new field is not a breaking change; request bodies are
 * closed (`additionalProperties: false`, except the `_csrf` form field), so a misspelled field is a 400
 * instead of being ignored.
 */
import { JOB_STATES } from '../../platform/index.ts';
import { DETECTOR_IDS, SEVERITIES } from '../../rules/index.ts';
import { OPERATION_STATES } from '../../tuner/index.ts';
import { JOB_METRICS } from '../../control-plane/index.ts';

/** A schema (OpenAPI 3.0 Schema Object) as plain data. */
export type Schema = Record<string, unknown>;

/**
 * Who may call a route:
 * - `open`: anyone who can reach the server;
 * - `sensitive`: a read that exposes stack traces, savepoint or checkpoint paths or configuration:
 *   the API token or a logged-in session, unless the config says `server.publicReads: true`;
 * - `token`: the API token or a logged-in session, always (the audit log);
 * - `mutation`: the API token, or a logged-in session with its CSRF token (every non-GET route).
 */
export type Access = 'open' | 'sensitive' | 'token' | 'mutation';

/** One query parameter. Values arrive as strings; `schema` types them (integers are coerced). */
export interface QueryParam {
  schema: Schema;
  description: string;
  required?: boolean;
}

/** One route of the API: everything the document, the validator and the guard need. */
export interface ApiRoute {
  method: 'get' | 'post';
  /** OpenAPI path under /api/v1, parameters in braces: '/jobs/{id}/lag' */
  path: string;
  operationId: string;
  summary: string;
  access: Access;
  /** path parameter name → description (every path parameter is a non-empty string) */
  params?: Record<string, string>;
  query?: Record<string, QueryParam>;
  /** request body: a JSON object schema, and whether YAML text is accepted too (job specs) */
  body?: { json: Schema; yaml?: boolean; description: string };
  /** success status → description and schema of the JSON body */
  ok: { status: number; description: string; schema: Schema };
  /** error statuses beyond the ones every route of its kind gets (409, 403 for guardrails...) */
  errors?: Record<number, string>;
  tags: string[];
  /** the audit log's action for a mutation, e.g. 'recommendation.apply' (default 'METHOD path') */
  audit?: string;
}

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const str: Schema = { type: 'string' };
const int: Schema = { type: 'integer' };
const num: Schema = { type: 'number' };
const bool: Schema = { type: 'boolean' };
const msEpoch: Schema = { type: 'integer', description: 'ms since epoch' };
const nullable = (s: Schema): Schema => ({ ...s, nullable: true });
const obj = (properties: Record<string, Schema>, required: string[] = [], extra: Schema = {}): Schema => ({ type: 'object', properties, ...(required.length ? { required } : {}), ...extra });
const arr = (items: Schema): Schema => ({ type: 'array', items });
const map = (values: Schema): Schema => ({ type: 'object', additionalProperties: values });

/** A time query parameter: ms since epoch, an ISO 8601 date, or `now` / `now-15m`. */
const timeParam = (description: string): QueryParam => ({ schema: { type: 'string', minLength: 1, maxLength: 64 }, description: `${description}: ms since epoch, an ISO 8601 date, or now / now-<n><ms|s|m|h|d>` });
const limitParam: QueryParam = { schema: { type: 'integer', minimum: 1, maximum: 1000 }, description: 'at most this many, 1..1000 (default 100)' };
const stepParam: QueryParam = { schema: { type: 'string', pattern: '^[0-9]{1,12}(ms|s|m|h)?$' }, description: 'ms between points, or like 10s, 1m (at least 1 s; at most 5,000 points)' };

/** The edited actions of `POST /recommendations/{id}/apply`; a set-parallelism vertex is a JobVertexID or name, or `{id, name}`. */
export const TUNING_ACTIONS_INPUT: Schema = {
  type: 'array',
  minItems: 1,
  maxItems: 100,
  items: {
    type: 'object',
    required: ['type'],
    properties: { type: { type: 'string', enum: ['set-parallelism', 'set-checkpointing', 'set-memory'] } },
    oneOf: [
      {
        type: 'object',
        properties: {
          type: { type: 'string', enum: ['set-parallelism'] },
          vertex: { oneOf: [{ type: 'string', minLength: 1 }, { type: 'object', properties: { id: { type: 'string', minLength: 1 }, name: str }, required: ['id'], additionalProperties: false }] },
          from: { type: 'integer', minimum: 1 },
          to: { type: 'integer', minimum: 1 },
        },
        required: ['vertex', 'from', 'to'],
        additionalProperties: false,
      },
      {
        type: 'object',
        properties: { type: { type: 'string', enum: ['set-checkpointing'] }, interval: { type: 'integer', minimum: 1 }, timeout: { type: 'integer', minimum: 1 }, minPause: { type: 'integer', minimum: 0 }, unaligned: bool },
        additionalProperties: false,
      },
      {
        type: 'object',
        properties: { type: { type: 'string', enum: ['set-memory'] }, heapBytes: { type: 'integer', minimum: 1 } },
        required: ['heapBytes'],
        additionalProperties: false,
      },
    ],
  },
};

/** Every schema the routes refer to (`#/components/schemas/<name>`). */
export const SCHEMAS: Record<string, Schema> = {
  Error: obj(
    {
      error: obj(
        {
          code: { type: 'string', description: 'stable code: INVALID_ARGUMENT, INVALID_SPEC, INVALID_RULES, UNAUTHORIZED, FORBIDDEN, NOT_FOUND, CONFLICT, RATE_LIMITED, INTERNAL, ...' },
          message: { type: 'string', description: 'one or more lines for people; never a stack trace or a secret' },
          field: { type: 'string', description: 'the bad parameter or body field (400), e.g. from, actions[0].to, spec' },
          file: str,
          line: { type: 'integer', minimum: 0 },
          column: int,
          errors: arr({ type: 'object' }),
          job_id: str,
          id: str,
          reason: str,
          retryAfterMs: { type: 'integer', minimum: 0 },
          variable: str,
          vertex: str,
          operationId: str,
        },
        ['code', 'message'],
      ),
    },
    ['error'],
    { additionalProperties: false },
  ),
  Point: obj({ t: msEpoch, v: num }, ['t', 'v']),
  VertexRef: obj({ id: str, name: str }, ['id', 'name']),
  TopologyVertex: obj({ id: str, name: str, parallelism: int, maxParallelism: int, inputs: arr(str), partitions: int, keyedInput: bool }, ['id', 'name', 'parallelism', 'maxParallelism', 'inputs']),
  Checkpointing: obj({ interval: int, timeout: int, minPause: int, unaligned: bool }),
  LagNow: obj(
    {
      status: { type: 'string', enum: ['OK', 'WARN', 'ERR', 'UNKNOWN'] },
      records: nullable(num),
      seconds: nullable(num),
      secondsLowerBound: bool,
      at: nullable(msEpoch),
      partitions: arr(obj({ topic: str, partition: int, lag: nullable(num), seconds: nullable(num), secondsLowerBound: bool, status: { type: 'string', enum: ['OK', 'WARN', 'STOP', 'STALL', 'REWIND', 'UNKNOWN'] } }, ['topic', 'partition', 'lag', 'seconds', 'status'])),
    },
    ['status', 'records', 'seconds', 'secondsLowerBound', 'at', 'partitions'],
  ),
  JobSummary: obj(
    {
      job_id: str, name: str, executor: { type: 'string', enum: ['bundled', 'flink'] }, state: { type: 'string', enum: [...JOB_STATES] }, consumerGroup: str,
      parallelism: map(int), startedAt: msEpoch, lag: ref('LagNow'), throughput: nullable({ type: 'number', description: 'records/s' }), openDiagnoses: int,
      latestDiagnosis: obj({ id: str, severity: str, rootCause: str, vertex: str, createdAt: msEpoch, lagStatus: str }, ['id', 'severity', 'rootCause', 'createdAt']),
      lastOperation: obj({ id: str, state: { type: 'string', enum: [...OPERATION_STATES] }, createdAt: msEpoch, finishedAt: msEpoch, origin: { type: 'string', enum: ['user', 'auto'] } }, ['id', 'state', 'createdAt', 'origin']),
    },
    ['job_id', 'name', 'executor', 'state', 'parallelism', 'lag', 'throughput', 'openDiagnoses'],
  ),
  Job: obj(
    {
      job_id: str, name: str, executor: { type: 'string', enum: ['bundled', 'flink'] }, state: { type: 'string', enum: [...JOB_STATES] }, consumerGroup: str, topics: arr(str),
      topology: arr(ref('TopologyVertex')), checkpointing: ref('Checkpointing'), startedAt: msEpoch, restartTimeMs: int, summary: ref('JobSummary'), policy: ref('TuningPolicy'),
    },
    ['job_id', 'name', 'executor', 'state', 'topology', 'summary', 'policy'],
  ),
  TuningPolicy: obj(
    { mode: { type: 'string', enum: ['recommend', 'auto'] }, cooldownMs: int, maxParallelism: int, maxOperationsPerHour: int, allowedWindows: arr(str), verifyAfterMs: int, onIneffective: { type: 'string', enum: ['mark', 'rollback'] }, blockIneffectiveMs: int },
    ['mode'],
  ),
  LagSeries: obj(
    {
      job_id: str, group: nullable(str), from: msEpoch, to: msEpoch, step: int,
      total: obj({ records: arr(ref('Point')), seconds: arr(ref('Point')) }, ['records', 'seconds']),
      partitions: arr(obj({ topic: str, partition: int, records: arr(ref('Point')), seconds: arr(ref('Point')) }, ['topic', 'partition', 'records', 'seconds'])),
    },
    ['job_id', 'group', 'from', 'to', 'step', 'total', 'partitions'],
  ),
  MetricSeries: obj(
    {
      job_id: str, metric: { type: 'string', enum: Object.keys(JOB_METRICS) }, unit: str, from: msEpoch, to: msEpoch, step: int, groupBy: { type: 'string', enum: ['vertex', 'subtask', 'job'] },
      series: arr(obj({ vertex: str, subtask: int, points: arr(ref('Point')) }, ['points'])),
    },
    ['job_id', 'metric', 'unit', 'from', 'to', 'step', 'groupBy', 'series'],
  ),
  Snapshot: obj({ job_id: str, kind: { type: 'string', enum: ['checkpoint', 'savepoint'] }, path: str, completedAt: msEpoch, sizeBytes: int, operationId: str }, ['job_id', 'kind', 'path', 'completedAt']),
  Checkpoints: obj(
    {
      job_id: str, from: msEpoch, to: msEpoch, checkpointing: nullable(obj({ interval: int, timeout: int, minPause: int, unaligned: bool })), completed: nullable(num), failed: nullable(num),
      history: arr(obj({ t: msEpoch, durationMs: num, sizeBytes: num }, ['t', 'durationMs'])), snapshots: arr(ref('Snapshot')),
    },
    ['job_id', 'from', 'to', 'checkpointing', 'completed', 'failed', 'history', 'snapshots'],
  ),
  LogEvent: obj(
    { timestamp: msEpoch, level: { type: 'string', enum: ['debug', 'info', 'warn', 'error'] }, job_id: str, job_name: str, vertex: str, subtask_index: int, attempt: int, message: str, exception_class: str, stack: { type: 'string', description: 'the stack trace of the exception (a reason this read needs the token)' } },
    ['timestamp', 'level', 'job_id', 'message'],
  ),
  Exceptions: obj({ job_id: str, from: msEpoch, to: msEpoch, exceptions: arr(ref('LogEvent')) }, ['job_id', 'from', 'to', 'exceptions']),
  TuningAction: {
    type: 'object',
    required: ['type'],
    properties: { type: { type: 'string', enum: ['set-parallelism', 'set-checkpointing', 'set-memory'] }, vertex: ref('VertexRef'), from: int, to: int, interval: int, timeout: int, minPause: int, unaligned: bool, heapBytes: int },
  },
  Recommendation: obj(
    { id: str, ruleId: str, title: str, rationale: str, expected: map(num), actions: arr(ref('TuningAction')), lagUnderOneMinuteMs: nullable(num) },
    ['id', 'ruleId', 'title', 'rationale', 'expected', 'actions'],
  ),
  Finding: obj(
    { ruleId: str, severity: { type: 'string', enum: [...SEVERITIES] }, summary: str, help: str, vertex: str, evidence: { type: 'object' }, category: { type: 'string', enum: ['cost'] }, consequenceOf: str },
    ['ruleId', 'severity', 'summary', 'help', 'evidence'],
  ),
  Diagnosis: obj(
    {
      id: str, job_id: str, job_name: str, windowStart: msEpoch, windowEnd: msEpoch, createdAt: msEpoch,
      trigger: obj({ type: { type: 'string', enum: ['alert', 'sweep', 'manual'] }, alertId: str, ruleId: str }, ['type']),
      lagStatus: { type: 'string', enum: ['OK', 'WARN', 'ERR', 'UNKNOWN'] },
      findings: arr(ref('Finding')),
      rootCause: obj({ kind: str, vertex: str, confidence: num, explanation: str }, ['kind', 'confidence', 'explanation']),
      recommendations: arr(ref('Recommendation')),
      severity: { type: 'string', enum: [...SEVERITIES] },
      open: bool,
    },
    ['id', 'job_id', 'windowStart', 'windowEnd', 'createdAt', 'trigger', 'lagStatus', 'findings', 'rootCause', 'recommendations', 'severity'],
  ),
  RecommendationState: obj({ status: { type: 'string', enum: ['open', 'applied', 'dismissed'] }, at: msEpoch, operationId: str }, ['status', 'at']),
  BlockedAction: obj({ job_id: str, actionKey: str, until: msEpoch, operationId: str, reason: str }, ['job_id', 'actionKey', 'until', 'operationId', 'reason']),
  StoredRecommendation: obj(
    { recommendation: ref('Recommendation'), diagnosisId: str, job_id: str, state: ref('RecommendationState'), blocked: ref('BlockedAction') },
    ['recommendation', 'diagnosisId', 'job_id', 'state'],
  ),
  OperationStep: obj({ name: str, status: { type: 'string', enum: ['started', 'succeeded', 'failed', 'skipped'] }, startedAt: msEpoch, finishedAt: msEpoch, message: str }, ['name', 'status', 'startedAt']),
  Operation: obj(
    {
      id: str, job_id: str, job_name: str, diagnosisId: str, recommendationId: str, origin: { type: 'string', enum: ['user', 'auto'] },
      actions: arr(ref('TuningAction')), previous: obj({ parallelism: map(int), checkpointing: { type: 'object' } }, ['parallelism']),
      state: { type: 'string', enum: [...OPERATION_STATES] }, steps: arr(ref('OperationStep')), savepointPath: { type: 'string', description: 'a path on the server (a reason this read needs the token)' },
      downtimeMs: num, expected: map(num), verification: { type: 'object' }, error: str, createdAt: msEpoch, updatedAt: msEpoch, finishedAt: msEpoch,
    },
    ['id', 'job_id', 'origin', 'actions', 'previous', 'state', 'steps', 'createdAt', 'updatedAt'],
  ),
  Incident: obj(
    {
      id: str, job_id: str, job_name: str, kind: { type: 'string', description: 'the root-cause kind of the diagnoses it gathers' }, vertex: str,
      state: { type: 'string', enum: ['open', 'resolved'] }, startedAt: msEpoch, resolvedAt: msEpoch, resolution: str, resolvedBy: str,
      severity: { type: 'string', enum: [...SEVERITIES] }, maxSeverity: { type: 'string', enum: [...SEVERITIES] }, diagnosisIds: arr(str), lastNotifiedAt: msEpoch, notifications: int,
    },
    ['id', 'job_id', 'kind', 'state', 'startedAt', 'severity', 'maxSeverity', 'diagnosisIds', 'notifications'],
  ),
  IncidentEvent: obj({ type: { type: 'string', enum: ['opened', 'diagnosis', 'notification', 'operation', 'resolved'] }, at: msEpoch }, ['type', 'at']),
  RuleError: obj({ file: str, line: int, column: int, reason: str }, ['file', 'line', 'reason']),
  Rules: obj(
    {
      generation: int, dir: nullable(str), files: arr(str), alerts: arr(obj({ id: str, metric: str, windowMs: num, forMs: num, severity: str, condition: { type: 'object' } }, ['id', 'metric', 'windowMs', 'severity'])),
      detectors: { type: 'object', additionalProperties: { type: 'object' }, description: `by id: ${DETECTOR_IDS.join(', ')}` }, planner: { type: 'object' }, lastErrors: arr(ref('RuleError')),
    },
    ['generation', 'files', 'alerts', 'detectors', 'planner', 'lastErrors'],
  ),
  Health: obj({ status: { type: 'string', enum: ['ok', 'degraded', 'down'] }, components: map(obj({ status: { type: 'string', enum: ['ok', 'degraded', 'down'] } }, ['status'])) }, ['status', 'components']),
  Session: obj({ loggedIn: bool, csrfToken: nullable(str) }, ['loggedIn', 'csrfToken']),
  AuditEntry: obj(
    {
      seq: { type: 'integer', minimum: 1 }, at: msEpoch, action: { type: 'string', description: 'login, login.failed, logout, recommendation.apply, recommendation.dismiss, job.submit, job.stop, job.savepoint, diagnosis.create, rules.reload, config.change, ...' },
      outcome: { type: 'string', enum: ['ok', 'refused', 'failed'] }, status: int,
      actor: obj({ via: { type: 'string', enum: ['token', 'session', 'login-link', 'anonymous', 'system'] }, session: str, address: str }, ['via']),
      target: { type: 'object', additionalProperties: { type: 'string' } }, details: { type: 'object' }, prev: str, hash: str,
    },
    ['seq', 'at', 'action', 'outcome', 'actor', 'prev', 'hash'],
  ),
};

/** The routes of `/api/v1`. One entry per method and path: see the module comment. */
export const API_ROUTES: ApiRoute[] = [
  { method: 'get', path: '/openapi.json', operationId: 'getOpenApi', summary: 'This document', access: 'open', tags: ['meta'], ok: { status: 200, description: 'the OpenAPI 3.0 document', schema: { type: 'object', required: ['openapi', 'paths'] } } },
  { method: 'get', path: '/health', operationId: 'getHealth', summary: "Each component's health; 503 when one is down", access: 'open', tags: ['meta'], ok: { status: 200, description: 'health', schema: ref('Health') }, errors: { 503: 'a component is down (the body is the health report)' } },
  { method: 'get', path: '/session', operationId: 'getSession', summary: "The session's login state and CSRF token", access: 'open', tags: ['meta'], ok: { status: 200, description: 'session', schema: ref('Session') } },
  { method: 'get', path: '/jobs', operationId: 'listJobs', summary: 'Overview of every job: state, parallelism, lag, throughput, open diagnoses, last operation', access: 'open', tags: ['jobs'], ok: { status: 200, description: 'jobs', schema: obj({ jobs: arr(ref('JobSummary')) }, ['jobs']) } },
  {
    method: 'post', path: '/jobs', operationId: 'submitJob', audit: 'job.submit', summary: 'Submit a job spec (bundled runtime)', access: 'mutation', tags: ['jobs'],
    body: {
      description: 'a YAML job spec as the body (Content-Type: application/yaml), or JSON {"spec": "<yaml>" | {...}, "parallelism": {vertex: n}}',
      yaml: true,
      json: obj({ spec: { oneOf: [{ type: 'string', minLength: 1 }, { type: 'object' }] }, parallelism: map({ type: 'integer', minimum: 1 }), _csrf: str }, ['spec'], { additionalProperties: false }),
    },
    ok: { status: 201, description: 'the job, started', schema: obj({ job_id: str, name: str, state: str }, ['job_id', 'name', 'state']) }, errors: { 409: 'a job of that name runs already' },
  },
  { method: 'get', path: '/jobs/{id}', operationId: 'getJob', summary: 'One job with its summary and tuning policy', access: 'open', params: { id: 'JobID' }, tags: ['jobs'], ok: { status: 200, description: 'the job', schema: ref('Job') } },
  { method: 'post', path: '/jobs/{id}/savepoint', operationId: 'triggerSavepoint', audit: 'job.savepoint', summary: 'Take a savepoint; the job keeps running', access: 'mutation', params: { id: 'JobID' }, tags: ['jobs'], ok: { status: 201, description: 'the savepoint', schema: { type: 'object' } }, errors: { 409: 'the job is not running' } },
  { method: 'post', path: '/jobs/{id}/stop', operationId: 'stopJob', audit: 'job.stop', summary: 'Stop the job with a savepoint', access: 'mutation', params: { id: 'JobID' }, tags: ['jobs'], ok: { status: 200, description: 'the final savepoint', schema: { type: 'object' } }, errors: { 409: 'the job is not running' } },
  {
    method: 'get', path: '/jobs/{id}/lag', operationId: 'getJobLag', summary: 'Total and per-partition lag series, records and seconds', access: 'open', params: { id: 'JobID' }, tags: ['jobs'],
    query: { from: timeParam('start (default to - 15 min)'), to: timeParam('end (default now)'), step: stepParam },
    ok: { status: 200, description: 'lag series', schema: ref('LagSeries') },
  },
  {
    method: 'get', path: '/jobs/{id}/metrics', operationId: 'getJobMetrics', summary: 'A task metric per vertex, subtask or job', access: 'open', params: { id: 'JobID' }, tags: ['jobs'],
    query: {
      metric: { schema: { type: 'string', enum: Object.keys(JOB_METRICS) }, description: 'default busy (ms/s)' },
      groupBy: { schema: { type: 'string', enum: ['vertex', 'subtask', 'job'] }, description: 'default vertex' },
      from: timeParam('start (default to - 15 min)'), to: timeParam('end (default now)'), step: stepParam,
    },
    ok: { status: 200, description: 'metric series', schema: ref('MetricSeries') },
  },
  {
    method: 'get', path: '/jobs/{id}/checkpoints', operationId: 'getJobCheckpoints', summary: 'Checkpoint history and the checkpoints and savepoints recorded (with their paths)', access: 'sensitive', params: { id: 'JobID' }, tags: ['jobs'],
    query: { from: timeParam('start (default to - 1 h)'), to: timeParam('end (default now)') },
    ok: { status: 200, description: 'checkpoints', schema: ref('Checkpoints') },
  },
  {
    method: 'get', path: '/jobs/{id}/exceptions', operationId: 'getJobExceptions', summary: 'Warnings and exceptions with their stack traces', access: 'sensitive', params: { id: 'JobID' }, tags: ['jobs'],
    query: { from: timeParam('start (default to - 24 h)'), to: timeParam('end (default now)'), limit: limitParam, keyword: { schema: { type: 'string', maxLength: 200 }, description: 'only events whose message contains it' } },
    ok: { status: 200, description: 'exceptions', schema: ref('Exceptions') },
  },
  {
    method: 'get', path: '/diagnoses', operationId: 'listDiagnoses', summary: 'Diagnoses, newest first', access: 'open', tags: ['diagnoses'],
    query: { job: { schema: { type: 'string', minLength: 1, maxLength: 200 }, description: 'JobID' }, from: timeParam('made at or after'), to: timeParam('made at or before'), limit: limitParam },
    ok: { status: 200, description: 'diagnoses', schema: obj({ diagnoses: arr(ref('Diagnosis')) }, ['diagnoses']) },
  },
  {
    method: 'post', path: '/diagnoses', operationId: 'diagnoseNow', audit: 'diagnosis.create', summary: 'Diagnose a job now', access: 'mutation', tags: ['diagnoses'], errors: { 404: 'unknown job' },
    body: { description: '{"job_id": "<JobID>"} (or "job")', json: obj({ job_id: { type: 'string', minLength: 1 }, job: { type: 'string', minLength: 1 }, _csrf: str }, [], { additionalProperties: false }) },
    ok: { status: 201, description: 'the diagnosis', schema: ref('Diagnosis') },
  },
  {
    method: 'get', path: '/diagnoses/{id}', operationId: 'getDiagnosis', summary: "One diagnosis with its recommendations' states and blocks", access: 'open', params: { id: 'diagnosis id' }, tags: ['diagnoses'],
    ok: { status: 200, description: 'the diagnosis', schema: { allOf: [ref('Diagnosis'), obj({ recommendationStates: map(ref('RecommendationState')), blockedRecommendations: map(ref('BlockedAction')) }, ['recommendationStates', 'blockedRecommendations'])] } },
  },
  { method: 'get', path: '/recommendations/{id}', operationId: 'getRecommendation', summary: 'One recommendation with its state', access: 'open', params: { id: 'recommendation id' }, tags: ['diagnoses'], ok: { status: 200, description: 'the recommendation', schema: ref('StoredRecommendation') } },
  {
    method: 'post', path: '/recommendations/{id}/apply', operationId: 'applyRecommendation', audit: 'recommendation.apply', summary: 'Apply a recommendation (or edited actions) through the tuner', access: 'mutation', params: { id: 'recommendation id' }, tags: ['diagnoses'],
    body: { description: 'optional {"actions": [...]}: edited actions instead of the recommendation\'s', json: obj({ actions: TUNING_ACTIONS_INPUT, _csrf: str }, [], { additionalProperties: false }) },
    ok: { status: 202, description: 'the tuner operation, started', schema: ref('Operation') },
    errors: { 403: 'the action is blocked as ineffective on this job, or outside the guardrails', 409: 'already applied, or another operation owns the job' },
  },
  { method: 'post', path: '/recommendations/{id}/dismiss', operationId: 'dismissRecommendation', audit: 'recommendation.dismiss', summary: 'Dismiss a recommendation', access: 'mutation', params: { id: 'recommendation id' }, tags: ['diagnoses'], ok: { status: 200, description: 'the recommendation', schema: ref('StoredRecommendation') }, errors: { 409: 'already applied' } },
  {
    method: 'get', path: '/incidents', operationId: 'listIncidents', summary: 'Incidents (one per job problem), newest first, without timelines', access: 'open', tags: ['incidents'],
    query: {
      job: { schema: { type: 'string', minLength: 1, maxLength: 200 }, description: 'JobID' },
      state: { schema: { type: 'string', enum: ['open', 'resolved'] }, description: 'open or resolved' },
      from: timeParam('active at or after'), to: timeParam('opened at or before'), limit: limitParam,
    },
    ok: { status: 200, description: 'incidents', schema: obj({ incidents: arr(ref('Incident')) }, ['incidents']) },
  },
  { method: 'get', path: '/incidents/{id}', operationId: 'getIncident', summary: 'One incident with its timeline (opened, diagnoses, notifications, operations, resolved)', access: 'open', params: { id: 'incident id' }, tags: ['incidents'], ok: { status: 200, description: 'the incident', schema: { allOf: [ref('Incident'), obj({ timeline: arr(ref('IncidentEvent')) }, ['timeline'])] } } },
  {
    method: 'get', path: '/operations', operationId: 'listOperations', summary: 'Tuner operations with their steps (savepoint paths)', access: 'sensitive', tags: ['operations'],
    query: { job: { schema: { type: 'string', minLength: 1, maxLength: 200 }, description: 'JobID' }, limit: limitParam },
    ok: { status: 200, description: 'operations', schema: obj({ operations: arr(ref('Operation')) }, ['operations']) },
  },
  { method: 'get', path: '/operations/{id}', operationId: 'getOperation', summary: 'One tuner operation (savepoint path)', access: 'sensitive', params: { id: 'operation id' }, tags: ['operations'], ok: { status: 200, description: 'the operation', schema: ref('Operation') } },
  { method: 'get', path: '/rules', operationId: 'getRules', summary: 'The rule set in force, its files and the last reload errors (configuration)', access: 'sensitive', tags: ['rules'], ok: { status: 200, description: 'rules', schema: ref('Rules') } },
  {
    method: 'post', path: '/rules/reload', operationId: 'reloadRules', audit: 'rules.reload', summary: 'Reload the rule files; on errors the previous set stays in force (400 with file and line)', access: 'mutation', tags: ['rules'], errors: { 400: 'a rule file is invalid (INVALID_RULES with file, line and every error); the previous set stays in force' },
    ok: { status: 200, description: 'reloaded', schema: obj({ ok: bool, generation: int, files: arr(str), alerts: int }, ['ok', 'generation', 'files', 'alerts']) },
  },
  {
    method: 'get', path: '/audit', operationId: 'listAudit', summary: 'The audit log: logins, applies, dismissals, submits, stops, rule reloads, config changes (oldest first)', access: 'token', tags: ['meta'],
    query: { from: timeParam('at or after'), to: timeParam('at or before'), action: { schema: { type: 'string', minLength: 1, maxLength: 100 }, description: 'only this action, or those starting with it followed by a dot (login → login, login.failed)' }, limit: { schema: { type: 'integer', minimum: 1, maximum: 10000 }, description: 'the newest this many (default 1,000)' } },
    ok: { status: 200, description: 'entries', schema: obj({ entries: arr(ref('AuditEntry')), verified: { type: 'boolean', description: 'the hash chain of the whole file holds' } }, ['entries', 'verified']) },
  },
];

/** Statuses every route of a kind may answer besides its own: what the validator, the guards and the error handler send. */
function commonErrors(r: ApiRoute): Record<number, string> {
  const e: Record<number, string> = {};
  if (r.query || r.body || r.params) e[400] = 'a parameter or body field is invalid: error.field names it';
  if (r.access !== 'open') e[401] = 'no API token (Authorization: Bearer) and no logged-in session';
  if (r.access === 'mutation') e[403] = 'a logged-in session without its CSRF token (x-csrf-token header or _csrf field)';
  if (r.params) e[404] = 'unknown id';
  if (r.body || r.method === 'post') {
    e[400] = 'a parameter or body field is invalid: error.field names it (body: not JSON, or not an object)';
    e[413] = 'body larger than the limit (1 MiB)';
    e[415] = 'unsupported body encoding';
  }
  e[500] = 'internal error (logged on the server; the body says only "internal error")';
  return { ...e, ...(r.errors ?? {}) };
}

/** The security requirement of an access level (OpenAPI: a list of alternatives, each all required). */
function security(a: Access): Array<Record<string, string[]>> {
  if (a === 'open') return [];
  if (a === 'mutation') return [{ apiToken: [] }, { session: [], csrf: [] }];
  return [{ apiToken: [] }, { session: [] }];
}

/** `/jobs/{id}` → `/jobs/:id` (express). */
export function expressPath(p: string): string {
  return p.replace(/\{([^}]+)\}/g, ':$1');
}

/**
 * The OpenAPI 3.0.3 document of `/api/v1` built from {@link API_ROUTES} and {@link SCHEMAS}.
 * `serverUrl` is the API's root, e.g. 'http://127.0.0.1:8080/api/v1' (default '/api/v1').
 */
export function openApiDocument(serverUrl = '/api/v1'): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of API_ROUTES) {
    const parameters: unknown[] = [];
    for (const [name, description] of Object.entries(r.params ?? {})) parameters.push({ name, in: 'path', required: true, description, schema: { type: 'string', minLength: 1 } });
    for (const [name, q] of Object.entries(r.query ?? {})) parameters.push({ name, in: 'query', required: q.required ?? false, description: q.description, schema: q.schema });
    const responses: Record<string, unknown> = { [r.ok.status]: { description: r.ok.description, content: { 'application/json': { schema: r.ok.schema } } } };
    for (const [status, description] of Object.entries(commonErrors(r))) {
      responses[status] = { description, content: { 'application/json': { schema: Number(status) === 503 && r.operationId === 'getHealth' ? ref('Health') : ref('Error') } } };
    }
    const op: Record<string, unknown> = { operationId: r.operationId, summary: r.summary, tags: r.tags, security: security(r.access), ...(parameters.length ? { parameters } : {}), responses };
    if (r.access === 'sensitive') op['x-streamtune-public-reads'] = true;
    if (r.body) {
      const content: Record<string, unknown> = {
        'application/json': { schema: r.body.json },
        'application/x-www-form-urlencoded': { schema: r.body.json },
      };
      if (r.body.yaml) for (const t of ['application/yaml', 'text/yaml', 'text/plain']) content[t] = { schema: { type: 'string', minLength: 1 } };
      op.requestBody = { description: r.body.description, required: false, content };
    }
    (paths[r.path] ??= {})[r.method] = op;
  }
  // a copy: tools such as openapi-backend dereference the document in place
  return structuredClone({
    openapi: '3.0.3',
    info: {
      title: 'streamtune control plane',
      version: 'v1',
      description:
        'Diagnostics and auto-tuning of streaming jobs. Times are ms since epoch (queries also take ISO 8601 dates and now-15m); lag in records and seconds; throughput in records/s; busy and backpressured time in ms/s. ' +
        'Errors are {"error": {"code", "message", "field"?, "file"?, "line"?}}. Reads marked x-streamtune-public-reads expose stack traces, paths or configuration and need the token unless the server runs with server.publicReads: true.',
    },
    servers: [{ url: serverUrl }],
    tags: [{ name: 'jobs' }, { name: 'diagnoses' }, { name: 'operations' }, { name: 'rules' }, { name: 'meta' }],
    paths,
    components: {
      schemas: SCHEMAS,
      securitySchemes: {
        apiToken: { type: 'http', scheme: 'bearer', description: 'STREAMTUNE_API_TOKEN, or the token kept in <dataDir>/api-token' },
        session: { type: 'apiKey', in: 'cookie', name: 'streamtune_sid', description: 'a session logged in at /login' },
        csrf: { type: 'apiKey', in: 'header', name: 'x-csrf-token', description: "the session's CSRF token (GET /api/v1/session); or the form field _csrf" },
      },
    },
  });
}
