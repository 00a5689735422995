/**
 * JSON schema of a rules YAML file (validated with ajv) and the duration/condition syntax.
 * A file may hold any of the top-level keys `planner`, `detectors`, `alerts`.
 */

/** Detector ids the diagnoser implements; a `detectors:` key outside this list is an error (typo guard). */
export const DETECTOR_IDS = [
  'lag.burrow',
  'backpressure.bottleneck',
  'skew.keyed',
  'checkpoint.duration',
  'checkpoint.failures',
  'checkpoint.alignment',
  'checkpoint.size-growth',
  'restarts.crash-loop',
  'memory.gc',
  'memory.heap',
  'capacity.under-provisioned',
  'capacity.over-provisioned',
  'source.bound',
  'lag.transient-spike',
  'consumer.stalled',
  'data.insufficient',
] as const;

/** One of {@link DETECTOR_IDS}. */
export type DetectorId = (typeof DETECTOR_IDS)[number];

/**
 * The `params` each detector reads (units in rules/detectors.yaml and the detector's doc comment).
 * Any other key under a detector's `params` is an error naming file, line and key (a typo such as
 * `windowSise` would otherwise pass silently and leave the default in force).
 */
export const DETECTOR_PARAMS: Record<DetectorId, readonly string[]> = {
  'lag.burrow': ['allowedLag', 'windowSize', 'minStopSilenceMs'],
  'backpressure.bottleneck': ['symptomMsPerSecond', 'busyRatio', 'ownBackpressureMax'],
  'skew.keyed': ['maxMinRatio', 'minRecordsPerSecond', 'hotKeyGroupFactor'],
  'checkpoint.duration': ['intervalShare'],
  'checkpoint.failures': [],
  'checkpoint.alignment': [],
  'checkpoint.size-growth': ['minPoints', 'minBytes'],
  'restarts.crash-loop': ['crashLoopRestarts'],
  'memory.gc': ['heapGrowthFactor'],
  'memory.heap': ['buckets', 'minPoints', 'minRise', 'minRecentShare', 'minSpanMinutes', 'resetDrop', 'horizonMinutes'],
  'capacity.under-provisioned': [],
  'capacity.over-provisioned': ['minIdleRatio'],
  'source.bound': ['busyRatio', 'minGrowthRatio'],
  'lag.transient-spike': ['minDrainRate', 'minDropRatio', 'minPeakSeconds'],
  'consumer.stalled': ['minLag', 'processingEpsilon'],
  'data.insufficient': ['minPoints', 'minCoverage'],
};

/** A duration: a number of ms, or a string like '500ms', '30s', '5m', '1h', '1d'. */
export const DURATION_PATTERN = '^[0-9]+(\\.[0-9]+)?(ms|s|m|h|d)$';
/** An alert condition: comparison then number, e.g. '> 10000'. */
export const CONDITION_PATTERN = '^(>=|<=|==|!=|>|<)\\s*-?[0-9]+(\\.[0-9]+)?$';

const duration = {
  anyOf: [
    { type: 'number', minimum: 0 },
    { type: 'string', pattern: DURATION_PATTERN },
  ],
};

/** Schema of one detector entry; `params` takes exactly `params` (numbers). */
function detectorSchema(params: readonly string[]) {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['help'],
    properties: {
      enabled: { type: 'boolean' },
      help: { type: 'string', minLength: 1 },
      severity: {
        type: 'object',
        additionalProperties: false,
        required: ['thresholds'],
        properties: {
          thresholds: { type: 'array', items: { type: 'number' }, minItems: 4, maxItems: 4 },
          direction: { enum: ['higher', 'lower'] },
        },
      },
      params: { type: 'object', additionalProperties: false, properties: Object.fromEntries(params.map((k) => [k, { type: 'number' }])) },
    },
  } as const;
}

/** The JSON schema (draft-07, ajv) of one rules file. */
export const rulesFileSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    planner: {
      type: 'object',
      additionalProperties: false,
      properties: {
        targetUtilization: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
        utilizationLow: { type: 'number', minimum: 0, maximum: 1 },
        utilizationHigh: { type: 'number', exclusiveMinimum: 0, maximum: 2 },
        catchUpDuration: duration,
        restartTime: duration,
        alignmentOvershoot: { type: 'number', minimum: 0, maximum: 4 },
        maxScaleUpFactor: { type: 'number', minimum: 0 },
        scaleDownInterval: duration,
        maxScaleDownFactor: { type: 'number', minimum: 0, maximum: 1 },
      },
    },
    detectors: {
      type: 'object',
      propertyNames: { enum: [...DETECTOR_IDS] },
      // one schema per detector, so that `params` lists exactly the keys that detector reads
      properties: Object.fromEntries(DETECTOR_IDS.map((id) => [id, detectorSchema(DETECTOR_PARAMS[id])])),
    },
    alerts: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'metric', 'window', 'condition', 'severity', 'help'],
        properties: {
          id: { type: 'string', pattern: '^[a-z0-9][a-z0-9._-]*$' },
          metric: { type: 'string', minLength: 1 },
          field: { type: 'string', minLength: 1 },
          where: { type: 'object', additionalProperties: { type: 'string' } },
          groupBy: { type: 'array', items: { type: 'string' } },
          aggregate: { enum: ['sum', 'max', 'min', 'mean'] },
          window: duration,
          condition: { type: 'string', pattern: CONDITION_PATTERN },
          for: duration,
          severity: { enum: ['low', 'moderate', 'severe', 'critical'] },
          help: { type: 'string', minLength: 1 },
        },
      },
    },
  },
} as const;

/** Parses a duration (see {@link DURATION_PATTERN}) to ms. Assumes it passed the schema. */
export function parseDuration(d: number | string): number {
  if (typeof d === 'number') return d;
  const m = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)$/.exec(d);
  if (!m) return NaN;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}
