/**
 * Shared by the benchmarks that measure in a fresh process (bench/runtime.ts, collector.ts,
 * tuner.ts): spawn one child script under `node --import tsx`, and read the single JSON line
 * `{"result": ...}` it prints last on stdout.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Options of {@link runBenchChild}. */
export interface BenchChildOptions {
  /** extra node flags before `--import tsx`, e.g. `['--expose-gc']` */
  nodeArgs?: string[];
  /** copy the child's stderr (progress lines) to ours as it comes. Default false. */
  echoStderr?: boolean;
}

/**
 * Runs `script` (an absolute path) with `args` in its own process from the project root and
 * resolves with the `result` of its last stdout line. Rejects when the child exits non-zero or
 * prints no such line; the error carries the last 5 lines of its stderr.
 */
export function runBenchChild<T>(script: string, args: string[], opts: BenchChildOptions = {}): Promise<T> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [...(opts.nodeArgs ?? []), '--import', 'tsx', script, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (opts.echoStderr) process.stderr.write(d);
    });
    p.on('error', reject);
    p.on('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      try {
        if (code !== 0) throw new Error(`exit code ${code}`);
        resolve((JSON.parse(line) as { result: T }).result);
      } catch (e) {
        reject(new Error(`bench child '${args.join(' ')}' failed (${(e as Error).message}): ${err.trim().split('\n').slice(-5).join(' | ')}`));
      }
    });
  });
}

/** Median of a non-empty list of numbers (NaN for an empty one). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
