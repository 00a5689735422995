/**
 * Reading tuning actions written by earlier versions: before vertex references carried both id and
 * name, a set-parallelism action named its vertex by one string (the vertex name on the bundled
 * runtime, the JobVertexID on Flink). Journals and diagnosis files keep such actions; they are read
 * as a reference whose id and name are that string, which the tuner's `findVertex` still matches.
 */
import type { TuningAction } from './types.ts';

/**
 * The action with its vertex as a {@link VertexRef}: a string vertex becomes `{id: s, name: s}`.
 * Mutates and returns `a` (it is freshly parsed JSON).
 */
export function upgradeTuningAction(a: TuningAction): TuningAction {
  if (a.type === 'set-parallelism' && typeof (a as { vertex: unknown }).vertex === 'string') {
    const s = (a as unknown as { vertex: string }).vertex;
    a.vertex = { id: s, name: s };
  }
  return a;
}
