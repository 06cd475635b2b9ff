import {
  ALL_EVENT_TYPES,
  decodeEvent,
  isEventType,
  isSealedValue,
  personalFieldsOf,
  type EventOf,
  type EventType,
  type StoredEventEnvelope,
} from '@cairn/events';
import { ConsumerConfigError, ConsumerStoppedError } from './consumer.errors.ts';
import { startKafkaSource } from './kafka-source.ts';
import { startPostgresSource } from './postgres-source.ts';

/**
 * Personal fields are stored sealed per data subject (docs/governance.md, "Erasure"); a consumer
 * never holds the subjects' keys, so each sealed field reaches it as `[sealed:<subject id>]`: the
 * subject id keeps one person's events comparable, no name or email leaves the server, and an
 * erasure needs nothing from consumers.
 */
export const SEALED_PREFIX = '[sealed';

function withPersonalDataWithheld(raw: StoredEventEnvelope): StoredEventEnvelope {
  const fields = personalFieldsOf(raw.type);
  if (!fields || typeof raw.data !== 'object' || raw.data === null) return raw;
  let data: Record<string, unknown> | null = null;
  for (const field of fields) {
    const value = (raw.data as Record<string, unknown>)[field];
    if (!isSealedValue(value)) continue;
    data ??= { ...(raw.data as Record<string, unknown>) };
    data[field] = `${SEALED_PREFIX}:${value.$pii}]`;
  }
  return data ? { ...raw, data } : raw;
}

/** Where the events come from: the Postgres log (local mode) or the Kafka topics (scale mode). */
export type ConsumerSource =
  { postgres: string } | { kafka: { brokers: string[]; clientId?: string } };

export interface SubscribeOptions<T extends EventType> {
  /**
   * The consumer's durable name: the checkpoint row (Postgres) or the consumer group
   * `consumer.<name>` (Kafka). A restart with the same name resumes where it stopped.
   */
  name: string;
  /** Only these event types (default: every type). */
  types?: readonly T[];
  /** Only this workspace (default: every workspace the connection can read). */
  workspaceId?: string;
  /** Where a consumer without a checkpoint starts: the oldest event (default) or the newest. */
  startAt?: 'beginning' | 'end';
  /** Events per batch read from Postgres (default 200). A checkpoint is written per batch. */
  batchSize?: number;
  /** Poll interval when the Postgres log has nothing new (default 200 ms). */
  idleMs?: number;
  /**
   * An event this build cannot decode (unknown type or version, invalid data). Without this
   * option the batch fails and is retried (the consumer never moves past it); with it, the event
   * is passed here and skipped.
   */
  onUndecodable?: (raw: StoredEventEnvelope, error: Error) => void | Promise<void>;
  /** A failed batch (it is retried with backoff); default: one line on stderr. */
  onError?: (error: unknown) => void;
}

/** A decoded event at its current schema version (upcast if it was stored at an older one). */
export type ConsumedEvent<T extends EventType = EventType> = EventOf<T>;

export type EventHandler<T extends EventType> = (event: ConsumedEvent<T>) => Promise<void>;

export interface Subscription<T extends EventType> extends AsyncIterable<ConsumedEvent<T>> {
  /**
   * Calls `handler` for every event, in order per stream (and in log order from Postgres). A
   * batch is checkpointed after its last handler call resolved; a throwing handler makes the whole
   * batch come again after a backoff, so delivery is at least once: dedupe on `event.id`.
   * Resolves once the consumer is running.
   */
  start(handler: EventHandler<T>): Promise<void>;
  /** Stops reading; an unfinished batch is not checkpointed (it comes again after a restart). */
  stop(): Promise<void>;
}

/** What a transport calls: one batch of raw envelopes, checkpointed after it resolves. */
export type BatchHandler = (events: StoredEventEnvelope[]) => Promise<void>;

export interface RunningSource {
  stop(): Promise<void>;
}

export interface SourceFilter {
  types: readonly string[] | null;
  workspaceId: string | null;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/**
 * Subscribes to Cairn's events. Use `start(handler)`, or iterate:
 *
 * ```ts
 * const sub = subscribe({ postgres: url }, { name: 'policy', types: ['ModelAliasSet'] });
 * for await (const event of sub) { … }   // an event is acknowledged when the loop asks for the next
 * ```
 */
export function subscribe<T extends EventType = EventType>(
  from: ConsumerSource,
  opts: SubscribeOptions<T>,
): Subscription<T> {
  if (!NAME.test(opts.name)) {
    throw new ConsumerConfigError(
      `consumer name "${opts.name}" must be 1-200 letters, digits, '.', '_' or '-'`,
    );
  }
  for (const type of opts.types ?? []) {
    if (!isEventType(type)) throw new ConsumerConfigError(`unknown event type "${String(type)}"`);
  }
  if (opts.types?.length === 0) throw new ConsumerConfigError('types, when given, is not empty');
  const filter: SourceFilter = {
    types: opts.types ? [...new Set(opts.types)].sort() : null,
    workspaceId: opts.workspaceId ?? null,
  };
  const onError =
    opts.onError ??
    ((error: unknown) =>
      process.stderr.write(
        `consumer ${opts.name}: batch failed, retrying: ${error instanceof Error ? error.message : String(error)}\n`,
      ));
  let running: RunningSource | null = null;
  let starting: Promise<void> | null = null;
  const stoppers: (() => void)[] = [];

  const decodeBatch = async (raws: StoredEventEnvelope[]): Promise<ConsumedEvent<T>[]> => {
    const out: ConsumedEvent<T>[] = [];
    for (const raw of raws) {
      // Kafka topics carry every type of a domain and every workspace: filter here too.
      if (filter.workspaceId !== null && raw.workspaceId !== filter.workspaceId) continue;
      if (filter.types !== null && !filter.types.includes(raw.type)) continue;
      try {
        out.push(decodeEvent(withPersonalDataWithheld(raw)) as ConsumedEvent<T>);
      } catch (error) {
        if (!opts.onUndecodable) throw error;
        await opts.onUndecodable(raw, error instanceof Error ? error : new Error(String(error)));
      }
    }
    return out;
  };

  const subscription: Subscription<T> = {
    start(handler) {
      if (starting) throw new ConsumerConfigError('this subscription has been started already');
      const onBatch: BatchHandler = async (raws) => {
        for (const event of await decodeBatch(raws)) await handler(event);
      };
      const sourceOpts = {
        name: opts.name,
        filter,
        startAt: opts.startAt ?? 'beginning',
        batchSize: opts.batchSize ?? 200,
        idleMs: opts.idleMs ?? 200,
        onError,
      } as const;
      starting = (async () => {
        running =
          'postgres' in from
            ? await startPostgresSource(from.postgres, sourceOpts, onBatch)
            : await startKafkaSource(from.kafka, sourceOpts, onBatch);
      })();
      return starting;
    },

    async stop() {
      for (const stopper of stoppers.splice(0)) stopper();
      await starting?.catch(() => undefined);
      const source = running;
      running = null;
      await source?.stop();
    },

    [Symbol.asyncIterator](): AsyncIterator<ConsumedEvent<T>> {
      // The handler hands each event to the loop and waits until the loop asks for the next
      // one: that is the acknowledgement. Back-pressure: one event in flight.
      type Pending = { resolve: () => void; reject: (error: Error) => void };
      let offered: ({ event: ConsumedEvent<T> } & Pending) | null = null;
      /** The event the loop holds: acknowledged when the loop asks for the next one. */
      let current: Pending | null = null;
      let wantNext: ((value: IteratorResult<ConsumedEvent<T>>) => void) | null = null;
      let done = false;
      const finish = () => {
        done = true;
        offered?.reject(new ConsumerStoppedError());
        offered = null;
        current?.reject(new ConsumerStoppedError());
        current = null;
        wantNext?.({ value: undefined, done: true });
        wantNext = null;
      };
      stoppers.push(finish);
      const handler: EventHandler<T> = (event) =>
        new Promise<void>((resolve, reject) => {
          if (done) {
            reject(new ConsumerStoppedError());
          } else if (wantNext) {
            const take = wantNext;
            wantNext = null;
            current = { resolve, reject };
            take({ value: event, done: false });
          } else {
            offered = { event, resolve, reject };
          }
        });
      let started: Promise<void> | null = null;
      return {
        async next() {
          const held = current;
          current = null;
          held?.resolve();
          if (done) return { value: undefined, done: true };
          started ??= subscription.start(handler);
          await started;
          if (offered) {
            const { event, resolve, reject } = offered;
            offered = null;
            current = { resolve, reject };
            return { value: event, done: false };
          }
          return new Promise((resolve) => {
            wantNext = resolve;
          });
        },
        async return() {
          // The event the loop broke out on is not acknowledged: it comes again (at least once).
          finish();
          await subscription.stop();
          return { value: undefined, done: true };
        },
      };
    },
  };
  return subscription;
}

/** Every event type: what a subscription without `types` receives. */
export const EVERY_EVENT_TYPE: readonly EventType[] = ALL_EVENT_TYPES;
