/** Reading a tuner journal as a test sees it after streamtune was killed. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Operation } from '../../tuner/types.ts';

/**
 * The latest record of every operation in `<dataDir>/operations/journal.jsonl`, by operation id. A
 * torn last line (the process killed mid-write) is skipped. Throws when the file does not exist.
 */
export function journalOps(dataDir: string): Map<string, Operation> {
  const ops = new Map<string, Operation>();
  for (const l of readFileSync(join(dataDir, 'operations', 'journal.jsonl'), 'utf8').split('\n')) {
    try {
      const r = JSON.parse(l) as { t: string; v: Operation };
      if (r.t === 'op') ops.set(r.v.id, r.v);
    } catch {
      // a torn last line
    }
  }
  return ops;
}
