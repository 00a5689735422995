/**
 * The in-process {@link EventBus}: `publish` hands the event to every subscriber of the topic, in
 * subscription order, and resolves once every handler has returned (async handlers awaited).
 * A throwing handler is logged and never stops delivery to the others (kafkajs instrumentation
 * style: a failing listener never breaks the pipeline). Exactly-once delivery within the process.
 */
import type { AnyEvents, EventBus, EventMap, TopicOf } from './bus.ts';
import { StreamtuneError, errorMessage } from './errors.ts';
import { silentLogger, type Logger } from './logger.ts';

type AnyHandler = (event: unknown) => void | Promise<void>;

/**
 * Creates an in-process event bus.
 * @param logger where handler failures are logged (namespace `bus`); default silent
 * Errors: `publish`/`subscribe` after `close()` throw StreamtuneError BUS_UNAVAILABLE (not retriable).
 */
export function createMemoryBus<E extends EventMap = AnyEvents>(logger: Logger = silentLogger): EventBus<E> {
  const log = logger.namespace('bus');
  const handlers = new Map<string, Set<AnyHandler>>();
  let closed = false;
  const ensureOpen = (what: string) => {
    if (closed) throw new StreamtuneError('BUS_UNAVAILABLE', `event bus is closed (${what})`);
  };
  return {
    kind: 'memory',
    async publish<T extends TopicOf<E>>(topic: T, event: E[T]): Promise<void> {
      ensureOpen(`publish on ${topic}`);
      const set = handlers.get(topic);
      if (!set || set.size === 0) return;
      // copy: a handler may unsubscribe (itself or another) while we deliver
      await Promise.all([...set].map(async (h) => {
        try {
          await h(event);
        } catch (err) {
          log.error('event handler failed', { topic, error: errorMessage(err) });
        }
      }));
    },
    async subscribe<T extends TopicOf<E>>(topic: T, handler: (event: E[T]) => void | Promise<void>): Promise<() => Promise<void>> {
      ensureOpen(`subscribe to ${topic}`);
      const h = handler as AnyHandler;
      let set = handlers.get(topic);
      if (!set) handlers.set(topic, (set = new Set()));
      set.add(h);
      return async () => {
        handlers.get(topic)?.delete(h);
      };
    },
    async close(): Promise<void> {
      closed = true;
      handlers.clear();
    },
  };
}
