/** Every kind of bad input, by name: loaded on demand (in the worker thread that runs it). */
import type { BadInputKind } from './types.ts';

/** Loaders of the kinds the reliability suite runs in a worker thread (pure functions and files, no server). */
export const KINDS = {
  'job-spec-yaml': async () => (await import('./spec.ts')).specYamlKind,
  'job-spec-json': async () => (await import('./spec.ts')).specJsonKind,
  'rule-file': async () => (await import('./rules.ts')).rulesKind,
  'server-config': async () => (await import('./config.ts')).configKind,
  'line-protocol': async () => (await import('./line-protocol.ts')).lineProtocolKind,
  'savepoint-file': async () => (await import('./checkpoint.ts')).checkpointKind,
} satisfies Record<string, () => Promise<BadInputKind<any, any>>>;

/** Name of a kind in {@link KINDS}. */
export type KindName = keyof typeof KINDS;
