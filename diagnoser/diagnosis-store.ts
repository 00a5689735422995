/**
 * The durable {@link DiagnosisStore}: an append-only JSON Lines journal, `<dir>/diagnoses.jsonl`,
 * fsync'ed on every write and read back whole at start. One line per change:
 * `{"type":"diagnosis","diagnosis":{...}}` or
 * `{"type":"recommendation","id":"...","state":{"status":"applied","at":...,"operationId":"..."}}`.
 * The last line of a kind wins, so a diagnosis put again (same id) replaces the earlier one.
 * A torn trailing line (a crash mid-write) is skipped, logged and cut off so the next append
 * starts on a clean line; a malformed line elsewhere is skipped and logged too.
 */
import { mkdir, open, readFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage, type Logger, silentLogger, StreamtuneError } from '../core/index.ts';
import type { DiagnosisStore, RecommendationState, StoredRecommendation } from './store-types.ts';
import type { Diagnosis } from './types.ts';
import { upgradeTuningAction } from './actions.ts';

/** Options of {@link createDiagnosisStore}. */
export interface DiagnosisStoreOptions {
  /** folder of the journal, e.g. `<dataDir>/diagnoses`; created when missing */
  dir: string;
  /** default silent */
  logger?: Logger;
}

/** The journal's file name inside `dir`. */
export const DIAGNOSIS_JOURNAL = 'diagnoses.jsonl';

type Line =
  | { type: 'diagnosis'; diagnosis: Diagnosis }
  | { type: 'recommendation'; id: string; state: RecommendationState };

/**
 * Opens (or creates) the journal under `dir` and loads it.
 * @throws StreamtuneError INVALID_CONFIG when the folder or file cannot be created, read or opened.
 */
export async function createDiagnosisStore(options: DiagnosisStoreOptions): Promise<DiagnosisStore> {
  const log = (options.logger ?? silentLogger).namespace('diagnoses');
  const file = join(options.dir, DIAGNOSIS_JOURNAL);
  const diagnoses = new Map<string, Diagnosis>();
  const recs = new Map<string, { diagnosisId: string; job_id: string; index: number }>();
  const states = new Map<string, RecommendationState>();
  /** job id → its newest diagnosis */
  const newest = new Map<string, Diagnosis>();

  const apply = (l: Line) => {
    if (l.type === 'diagnosis') {
      const d = l.diagnosis;
      for (const r of d.recommendations) r.actions.forEach(upgradeTuningAction);
      diagnoses.set(d.id, d);
      const n = newest.get(d.job_id);
      if (!n || d.createdAt >= n.createdAt) newest.set(d.job_id, d);
      d.recommendations.forEach((r, index) => {
        recs.set(r.id, { diagnosisId: d.id, job_id: d.job_id, index });
        if (!states.has(r.id)) states.set(r.id, { status: 'open', at: d.createdAt });
      });
    } else {
      states.set(l.id, l.state);
    }
  };

  let fh: FileHandle;
  try {
    await mkdir(options.dir, { recursive: true });
    let text = '';
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    let goodEnd = 0; // byte length of the intact prefix
    let pos = 0;
    let lineNo = 0;
    while (pos < text.length) {
      const nl = text.indexOf('\n', pos);
      const raw = nl < 0 ? text.slice(pos) : text.slice(pos, nl);
      lineNo++;
      const next = nl < 0 ? text.length : nl + 1;
      let parsed: Line | undefined;
      try {
        const v = JSON.parse(raw) as Line;
        if (v && (v.type === 'diagnosis' || v.type === 'recommendation')) parsed = v;
      } catch { /* reported below */ }
      if (nl < 0) {
        // no newline: a torn write, even when it happens to parse
        log.warn('skipping a torn last line of the diagnosis journal', { file, line: lineNo, bytes: Buffer.byteLength(raw) });
        break;
      }
      if (parsed) apply(parsed);
      else if (raw.trim()) log.warn('skipping a malformed line of the diagnosis journal', { file, line: lineNo });
      goodEnd += Buffer.byteLength(text.slice(pos, next));
      pos = next;
    }
    fh = await open(file, 'a+');
    if (goodEnd < Buffer.byteLength(text)) {
      await fh.truncate(goodEnd);
      await fh.sync();
    }
    log.info('diagnosis journal loaded', { file, diagnoses: diagnoses.size, recommendations: recs.size });
  } catch (err) {
    throw new StreamtuneError('INVALID_CONFIG', `cannot open the diagnosis journal ${file}: ${errorMessage(err)}`, { cause: err, details: { file } });
  }

  let chain: Promise<void> = Promise.resolve();
  let closed = false;
  /** Appends one line and fsyncs; writes are serialised. */
  const append = (l: Line): Promise<void> => {
    if (closed) return Promise.reject(new StreamtuneError('INVALID_ARGUMENT', 'diagnosis store is closed'));
    const data = JSON.stringify(l) + '\n';
    const p = chain.then(async () => {
      await fh.appendFile(data, 'utf8');
      await fh.sync();
    });
    chain = p.catch(() => undefined);
    return p;
  };

  return {
    async put(d: Diagnosis): Promise<void> {
      await append({ type: 'diagnosis', diagnosis: d });
      apply({ type: 'diagnosis', diagnosis: d });
    },
    get(id: string): Diagnosis | undefined {
      return diagnoses.get(id);
    },
    list(filter = {}): Diagnosis[] {
      const out: Diagnosis[] = [];
      for (const d of diagnoses.values()) {
        if (filter.job_id !== undefined && d.job_id !== filter.job_id) continue;
        if (filter.from !== undefined && d.createdAt < filter.from) continue;
        if (filter.to !== undefined && d.createdAt > filter.to) continue;
        out.push(d);
      }
      out.sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      return filter.limit !== undefined ? out.slice(0, Math.max(0, filter.limit)) : out;
    },
    latest(jobId: string): Diagnosis | undefined {
      return newest.get(jobId);
    },
    recommendation(id: string): StoredRecommendation | undefined {
      const r = recs.get(id);
      if (!r) return undefined;
      const d = diagnoses.get(r.diagnosisId)!;
      const recommendation = d.recommendations.find((x) => x.id === id) ?? d.recommendations[r.index]!;
      return { recommendation, diagnosisId: r.diagnosisId, job_id: r.job_id, state: states.get(id) ?? { status: 'open', at: d.createdAt } };
    },
    async setRecommendationState(id: string, state: RecommendationState): Promise<void> {
      if (!recs.has(id)) throw new StreamtuneError('NOT_FOUND', `unknown recommendation ${id}`, { details: { recommendationId: id } });
      await append({ type: 'recommendation', id, state });
      states.set(id, state);
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await chain;
      await fh.close();
    },
  };
}
