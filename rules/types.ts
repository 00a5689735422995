/**
 * Shapes of the rule set: detector thresholds (Dr. Elephant style: four thresholds give five
 * severities), alert rules (metric, window, condition, for-duration, severity) and the capacity
 * planner's settings. Loaded from YAML by `loadRules` (rules/loader.ts).
 */

/** Severities in the spirit of Dr. Elephant, lowest first: none < low < moderate < severe < critical. */
export const SEVERITIES = ['none', 'low', 'moderate', 'severe', 'critical'] as const;

/** One of {@link SEVERITIES}. */
export type Severity = (typeof SEVERITIES)[number];

/** Four ascending (or, for `direction: lower`, descending) thresholds: low, moderate, severe, critical. */
export type Thresholds = [number, number, number, number];

/** Where a rule came from, for error messages and the dashboards. */
export interface RuleOrigin {
  /** absolute path of the YAML file */
  file: string;
  /** 1-based line of the rule's key */
  line: number;
}

/** Thresholds and parameters of one detector. */
export interface DetectorRule {
  /** stable rule id, put on every finding (e.g. 'backpressure.bottleneck') */
  id: string;
  enabled: boolean;
  /** what to do when it fires; copied into the finding */
  help: string;
  /**
   * Severity grading: `higher` means a value ≥ thresholds[i] reaches level i+1 (low..critical);
   * `lower` means a value ≤ thresholds[i] does. Absent for rules that carry no severity.
   */
  severity?: { thresholds: Thresholds; direction: 'higher' | 'lower' };
  /** numeric parameters of the detector (units in the YAML comments and the detector docs) */
  params: Record<string, number>;
  origin: RuleOrigin;
}

/** Comparison of an alert condition. */
export type AlertOp = '>' | '>=' | '<' | '<=' | '==' | '!=';

/** An alert rule: fires when `aggregate(metric)` satisfies `condition` for `forMs`. */
export interface AlertRule {
  id: string;
  /** measurement, e.g. 'streamtune_kafka_partition_lag' */
  metric: string;
  /** field, default 'value' */
  field: string;
  /** tag filters applied when reading */
  where: Record<string, string>;
  /** tags one alert instance is kept per (e.g. ['group']) */
  groupBy: string[];
  /** how the series of one group are combined at each time: default 'sum' */
  aggregate: 'sum' | 'max' | 'min' | 'mean';
  /** look-back window, ms */
  windowMs: number;
  condition: { op: AlertOp; threshold: number };
  /** the condition must hold continuously this long before the alert fires, ms (0 = at once) */
  forMs: number;
  severity: Exclude<Severity, 'none'>;
  help: string;
  origin: RuleOrigin;
}

/**
 * Settings of the capacity planner (diagnoser/plan.ts), after the Flink autoscaler (FLIP-271):
 * defaults target utilisation 0.7, band [0.4, 1.0], catch-up 30 min, restart 5 min.
 */
export interface PlannerSettings {
  /** capacity = target / targetUtilization + ...; (0, 1] */
  targetUtilization: number;
  /** no change while utilisation ∈ [utilizationLow, utilizationHigh] unless lagging */
  utilizationLow: number;
  utilizationHigh: number;
  /** the backlog must drain within this, ms */
  catchUpMs: number;
  /** expected restart time of a rescale, ms (records that pile up meanwhile must be caught up too) */
  restartMs: number;
  /** how far (ratio) parallelism may be rounded up to divide the key groups evenly, e.g. 0.25 */
  alignmentOvershoot: number;
  /** cap on one step's scale-up factor (Dhalion caps at 4×); 0 = none */
  maxScaleUpFactor: number;
  /**
   * ms the load must stay low before a scale-down is recommended, planned for the highest load
   * within it (Flink autoscaler `AutoScalerOptions.SCALE_DOWN_INTERVAL`,
   * `job.autoscaler.scale-down.interval`, default 1 h). 0 = at once.
   */
  scaleDownIntervalMs: number;
  /**
   * largest share of the parallelism one scale-down step may remove, 0..1 (Flink autoscaler
   * `AutoScalerOptions.MAX_SCALE_DOWN_FACTOR`, `job.autoscaler.scale-down.max-factor`, default 0.6:
   * 10 subtasks → at least 4). 1 = no bound.
   */
  maxScaleDownFactor: number;
}

/** A whole rule set: what `loadRules` returns and `diagnose` reads. */
export interface RuleSet {
  /** detector rules by id */
  detectors: Record<string, DetectorRule>;
  alerts: AlertRule[];
  planner: PlannerSettings;
  /** files it was loaded from */
  files: string[];
}

/** One problem in a rules file. */
export interface RuleError {
  file: string;
  /** 1-based; 0 when the file could not be read */
  line: number;
  column: number;
  reason: string;
}
