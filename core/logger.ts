/**
 * Injected structured logging (kafkajs `logger.namespace(...)` style) on top of pino. Library code
 * never calls `console.log`; it receives a {@link Logger} and derives a namespaced child.
 * Lines are JSON objects with `level`, `time` (ms epoch), `ns` (namespace), `msg` and the meta fields.
 */
import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';

/** Structured fields attached to a log line (job_id, vertex, subtask, ...). Never secrets. */
export type LogMeta = Record<string, unknown>;

/** A namespaced structured logger. */
export interface Logger {
  debug(msg: string, meta?: LogMeta): void;
  info(msg: string, meta?: LogMeta): void;
  warn(msg: string, meta?: LogMeta): void;
  error(msg: string, meta?: LogMeta): void;
  /** A child whose lines carry `ns` = parent namespace + '.' + `name`. */
  namespace(name: string): Logger;
  /** A child whose lines all carry `meta`. */
  child(meta: LogMeta): Logger;
}

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Minimum level written. Default `STREAMTUNE_LOG_LEVEL` or 'info'. */
  level?: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** Where lines go. Default stderr (stdout stays free for command output). */
  destination?: DestinationStream;
  /** Root namespace. Default 'streamtune'. */
  name?: string;
}

class PinoAdapter implements Logger {
  constructor(private readonly p: PinoLogger, private readonly ns: string) {}
  debug(msg: string, meta?: LogMeta): void { this.p.debug(meta ?? {}, msg); }
  info(msg: string, meta?: LogMeta): void { this.p.info(meta ?? {}, msg); }
  warn(msg: string, meta?: LogMeta): void { this.p.warn(meta ?? {}, msg); }
  error(msg: string, meta?: LogMeta): void { this.p.error(meta ?? {}, msg); }
  namespace(name: string): Logger {
    const ns = this.ns ? `${this.ns}.${name}` : name;
    return new PinoAdapter(this.p.child({ ns }), ns);
  }
  child(meta: LogMeta): Logger { return new PinoAdapter(this.p.child(meta), this.ns); }
}

/** Creates the root logger. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? ((process.env.STREAMTUNE_LOG_LEVEL as LoggerOptions['level']) || 'info');
  const name = options.name ?? 'streamtune';
  const p = pino(
    { level, base: { ns: name }, formatters: { level: (label) => ({ level: label }) } },
    options.destination ?? pino.destination(2),
  );
  return new PinoAdapter(p, name);
}

/** A logger that drops everything; the default in library code and tests. */
export const silentLogger: Logger = {
  debug() {}, info() {}, warn() {}, error() {},
  namespace() { return silentLogger; },
  child() { return silentLogger; },
};

/** A logger that keeps every line in memory, for tests that assert on logs. */
export class MemoryLogger implements Logger {
  readonly lines: Array<{ level: string; ns: string; msg: string; meta: LogMeta }>;
  constructor(private readonly ns = 'streamtune', private readonly base: LogMeta = {}, lines?: MemoryLogger['lines']) {
    this.lines = lines ?? [];
  }
  private push(level: string, msg: string, meta?: LogMeta): void {
    this.lines.push({ level, ns: this.ns, msg, meta: { ...this.base, ...meta } });
  }
  debug(msg: string, meta?: LogMeta): void { this.push('debug', msg, meta); }
  info(msg: string, meta?: LogMeta): void { this.push('info', msg, meta); }
  warn(msg: string, meta?: LogMeta): void { this.push('warn', msg, meta); }
  error(msg: string, meta?: LogMeta): void { this.push('error', msg, meta); }
  namespace(name: string): Logger { return new MemoryLogger(`${this.ns}.${name}`, this.base, this.lines); }
  child(meta: LogMeta): Logger { return new MemoryLogger(this.ns, { ...this.base, ...meta }, this.lines); }
}
