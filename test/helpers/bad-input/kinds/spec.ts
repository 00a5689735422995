/**
 * Malformed job specs: YAML text (read from a file with `loadJobSpec`, or given as text to
 * `parseJobSpecYaml` as the API does) and JSON (as text, and as the object `validateJobSpec` checks
 * for `POST /api/v1/jobs {"spec": {...}}`). Made from the repository's job specs and one spec with
 * every vertex type. A spec that is accepted must build a `LocalJob` (not started) and hold only
 * finite numbers.
 */
import fc from 'fast-check';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYamlText } from 'yaml';
import { LocalJob } from '../../../../runtime/job.ts';
import { loadJobSpec, parseJobSpecYaml, validateJobSpec, type JobSpec } from '../../../../runtime/spec.ts';
import { nonFinitePath, outcomeOf, type Outcome } from '../clear.ts';
import { garbageText, lineCount, preview, textMutation, treeMutation, writeTree, yamlAttack, type Json } from '../mutate.ts';
import { tempDir } from '../../wait.ts';
import type { BadInputKind } from './types.ts';

/** A valid spec using every vertex type and every optional block. */
export const EVERY_VERTEX_SPEC = `name: every-vertex
maxParallelism: 64
taskManagers: 2
checkpoints: { interval: 2s, timeout: 30s, minPause: 100ms, retained: 2, unaligned: false }
restartStrategy: { type: fixed-delay, attempts: 2, delay: 500ms }
vertices:
  - { name: gen, type: generator-source, rate: 100, keys: 10, hotKeyShare: 0.1, count: 1000, splits: 2, parallelism: 2, idleTimeout: 5s }
  - { name: data, type: dataset-source, path: events.jsonl, format: jsonl, eventTime: ts, rate: 0, splits: 2, outOfOrderness: 1s, limit: 10, columns: [ts, key] }
  - { name: topic, type: kafka-source, topic: orders, groupId: g1, brokers: ["127.0.0.1:9092"], startFrom: earliest, eventTime: ts, idleTimeout: 2s }
  - { name: mapped, type: map, set: { doubled: "key + 1" }, fields: [key, doubled], faults: { latencyMs: 0, failAfterRecords: 0 } }
  - { name: kept, type: filter, condition: "doubled > 1" }
  - { name: joined, type: lookup, table: table.csv, key: key, tableKey: id, columns: { label: name }, latencyMs: 0.5, onMissing: keep }
  - { name: windows, type: window-aggregate, key: key, size: 1m, aggregations: { n: count, total: sum(doubled) }, timeFormat: epoch-ms }
  - { name: files, type: jsonl-sink, path: out }
  - { name: mirror, type: kafka-sink, topic: copy, key: key }
  - { name: mem, type: collect-sink }
  - { name: void, type: discard-sink }
edges:
  - { from: gen, to: mapped, partitioning: rebalance }
  - { from: data, to: mapped, partitioning: rebalance }
  - { from: mapped, to: kept }
  - { from: kept, to: joined }
  - { from: joined, to: windows, partitioning: hash, key: key }
  - { from: windows, to: files }
  - { from: topic, to: mirror }
  - { from: joined, to: mem }
  - { from: kept, to: void }
`;

/** The valid specs the mutations start from: the repository's job specs and {@link EVERY_VERTEX_SPEC}. */
export function baseSpecs(): string[] {
  const root = new URL('../../../../', import.meta.url);
  return [readFileSync(new URL('jobs/flight-delays.yaml', root), 'utf8'), readFileSync(new URL('jobs/flight-delays-demo.yaml', root), 'utf8'), EVERY_VERTEX_SPEC];
}

/** What an accepted spec must be: finite numbers, and a LocalJob can be built from it. */
function acceptedSpecProblem(spec: JobSpec): string | undefined {
  const nf = nonFinitePath(spec);
  if (nf) return `a non-finite number at ${nf}`;
  try {
    new LocalJob(spec, { taskManagers: 1 });
  } catch (err) {
    return `LocalJob refused it: ${(err as Error).message.slice(0, 300)}`;
  }
  return undefined;
}

/** Malformed YAML text of a job spec, made 4 ways. */
export function specTextArbitrary(bases: string[] = baseSpecs()): fc.Arbitrary<string> {
  const trees = bases.map((b) => parseYamlText(b) as Json);
  return fc.oneof(
    { weight: 4, arbitrary: fc.tuple(fc.constantFrom(...trees.map((_, i) => i)), fc.constantFrom('yaml', 'yaml-flow') as fc.Arbitrary<'yaml' | 'yaml-flow'>).chain(([i, f]) => treeMutation(trees[i]!).map((t) => writeTree(t, f))) },
    { weight: 3, arbitrary: fc.constantFrom(...bases).chain((b) => textMutation(b)) },
    { weight: 1, arbitrary: fc.constantFrom(...bases).chain((b) => yamlAttack(b)) },
    { weight: 1, arbitrary: garbageText },
  );
}

interface Ctx {
  dir: string;
  n: number;
}

/** Job specs as YAML text: every third one read from a file with `loadJobSpec`, the others parsed as text. */
export const specYamlKind: BadInputKind<string, Ctx> = {
  title: 'job spec (YAML)',
  fedTo: '`loadJobSpec(file)` / `parseJobSpecYaml(text, file)` (runtime/spec.ts); accepted ones build a `LocalJob`',
  arbitrary: specTextArbitrary(),
  setup: () => ({ dir: tempDir('bad-spec-'), n: 0 }),
  check(text, ctx): Outcome {
    const lines = lineCount(text);
    if (ctx.n++ % 3 === 0) {
      const file = join(ctx.dir, `spec-${ctx.n}.yaml`);
      writeFileSync(file, text);
      return outcomeOf(() => loadJobSpec(file), { codes: ['INVALID_SPEC'], file, lines }, acceptedSpecProblem);
    }
    return outcomeOf(() => parseJobSpecYaml(text, 'bad-spec.yaml'), { codes: ['INVALID_SPEC'], file: 'bad-spec.yaml', lines }, acceptedSpecProblem);
  },
  preview: (t) => preview(t),
};

/** Job specs as JSON: a mutated spec object, checked as an object (field named) and as JSON text (file and line named). */
export const specJsonKind: BadInputKind<{ tree: Json; compact: boolean }> = {
  title: 'job spec (JSON)',
  fedTo: '`validateJobSpec(object)` (the API\'s `{"spec": {...}}`) and `parseJobSpecYaml(json text)` (runtime/spec.ts)',
  arbitrary: fc.tuple(fc.constantFrom(...baseSpecs().map((b) => parseYamlText(b) as Json)), fc.boolean()).chain(([t, compact]) =>
    fc.oneof({ weight: 5, arbitrary: treeMutation(t) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }) as fc.Arbitrary<Json> }).map((tree) => ({ tree, compact })),
  ),
  check({ tree, compact }): Outcome {
    const asObject = outcomeOf(() => validateJobSpec(structuredClone(tree), 'request body'), { codes: ['INVALID_SPEC'], needField: true }, acceptedSpecProblem);
    if (asObject.kind === 'unclear') return { kind: 'unclear', why: `as an object: ${asObject.why}` };
    const text = writeTree(tree, compact ? 'json-compact' : 'json');
    const asText = outcomeOf(() => parseJobSpecYaml(text, 'bad-spec.json'), { codes: ['INVALID_SPEC'], file: 'bad-spec.json', lines: lineCount(text) }, acceptedSpecProblem);
    if (asText.kind === 'unclear') return { kind: 'unclear', why: `as JSON text: ${asText.why}` };
    if (asText.kind !== asObject.kind) return { kind: 'unclear', why: `the object was ${asObject.kind} but its JSON text ${asText.kind}` };
    return asObject;
  },
  preview: ({ tree }) => preview(JSON.stringify(tree) ?? 'undefined'),
};
