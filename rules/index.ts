/** Public surface of rules/: types, loading, reloading and alert evaluation. */
export { SEVERITIES, type Severity, type AlertOp, type AlertRule, type DetectorRule, type PlannerSettings, type RuleError, type RuleOrigin, type RuleSet, type Thresholds } from './types.ts';
export { BUILTIN_RULES_DIR, DEFAULT_PLANNER, checkRules, formatRuleErrors, loadRules, type LoadRulesOptions } from './loader.ts';
export { RuleSetManager, type ReloadResult, type ReloadTrigger, type RuleSetManagerOptions } from './manager.ts';
export { alertQuery, evaluateAlerts, type AlertEvaluation, type AlertInstance } from './alerts.ts';
export { DETECTOR_IDS, parseDuration, rulesFileSchema, type DetectorId } from './schema.ts';
