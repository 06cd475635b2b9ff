import kafkajs, {
  type Admin,
  type Consumer,
  type IHeaders,
  type KafkaMessage,
  type Message,
  type Producer,
} from 'kafkajs';
import {
  KafkaTopicConfigError,
  KafkaTransportError,
  KafkaUnavailableError,
} from './kafka.errors.ts';
import { quietLogCreator, stderrKafkaLogger, type KafkaErrorLogger } from './kafka-logger.ts';

// kafkajs is CommonJS: Node's ESM loader cannot see all of its named exports.
const { ConfigResourceTypes, Kafka, Partitioners, logLevel } = kafkajs;

export interface KafkaConfig {
  brokers: string[];
  clientId?: string;
  /** kafkajs errors go here (nothing below error level). Default: one line on stderr. */
  logger?: KafkaErrorLogger;
  /** Bounds for publish/admin retries before KafkaUnavailableError. Defaults: 5, 300 ms, 5 s. */
  retry?: { retries?: number; initialRetryTimeMs?: number; maxRetryTimeMs?: number };
}

export interface OutgoingRecord {
  topic: string;
  key: string;
  value: string;
  headers?: Record<string, string>;
}

export interface IncomingMessage {
  topic: string;
  partition: number;
  offset: string;
  key: string;
  value: string;
  headers: Record<string, string>;
}

/** Largest record the event topics accept (topic `max.message.bytes`). */
export const MAX_RECORD_BYTES = 8 * 1024 * 1024;

export interface ConsumeOptions {
  groupId: string;
  topics: string[];
  /** Where a group without committed offsets starts. Default false (kafkajs: latest). */
  fromBeginning?: boolean;
  /** Messages of one partition, in offset order. Offsets are committed only after it resolves. */
  handleBatch: (messages: IncomingMessage[]) => Promise<void>;
  /**
   * Group session timeout, default 30 s. Heartbeats are sent between batches and between
   * handleBatch retries, so one handleBatch call must finish well within it. Lower values make a
   * crashed member's partitions move sooner (a restarted consumer waits for its old self).
   */
  sessionTimeoutMs?: number;
}

export interface ConsumerHandle {
  stop(): Promise<void>;
}

export interface KafkaTransport {
  /** Creates missing topics with infinite retention (retention.ms=-1). Idempotent. */
  ensureTopics(topics: string[], opts?: { partitions?: number }): Promise<void>;
  /**
   * Resolves only after the broker acknowledged every record with acks=all. Idempotent producer,
   * one request in flight per broker, so records with equal keys keep their order. Throws
   * KafkaUnavailableError after bounded retries.
   */
  publish(records: OutgoingRecord[]): Promise<void>;
  /**
   * At-least-once: a batch's offsets are committed only after handleBatch resolved; if it throws,
   * the same batch is retried after a backoff (never skipped). Redelivery after a crash or a
   * rebalance is possible, so handlers must be idempotent.
   */
  consume(opts: ConsumeOptions): Promise<ConsumerHandle>;
  /**
   * Messages in the topics not yet committed by the group (all of them if it never committed).
   * `attempts` (default 1) asks again on failure, e.g. while a just-started broker's group
   * coordinator is still loading; health checks keep the default so that they answer quickly.
   */
  lag(groupId: string, topics: string[], opts?: { attempts?: number }): Promise<number>;
  /** Stops every consumer and disconnects the producer and admin client. */
  close(): Promise<void>;
}

const defaultPartitions = 3;
const handlerBackoff = { initialMs: 200, maxMs: 5_000 };

export function createKafkaTransport(config: KafkaConfig): KafkaTransport {
  const brokers = [...config.brokers];
  const logger = config.logger ?? stderrKafkaLogger;
  // Every retry option is explicit: kafkajs swaps in much faster defaults when NODE_ENV=test.
  const retry = {
    retries: config.retry?.retries ?? 5,
    initialRetryTime: config.retry?.initialRetryTimeMs ?? 300,
    maxRetryTime: config.retry?.maxRetryTimeMs ?? 5_000,
    factor: 0.2,
    multiplier: 2,
  };
  const kafka = new Kafka({
    clientId: config.clientId ?? 'cairn',
    brokers,
    logLevel: logLevel.ERROR,
    logCreator: quietLogCreator(logger),
    connectionTimeout: 3_000,
    // Bounds reconnects to a down broker; kafkajs then fails the operation without an outer retry.
    retry,
  });

  const producer = lazyClient(() =>
    kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
      retry,
    }),
  );
  const admin = lazyClient(() => kafka.admin({ retry }));
  const consumers = new Set<ConsumerHandle>();
  let closed = false;

  /** Runs a producer/admin operation; connection-type failures become KafkaUnavailableError. */
  const withClient = async <C extends Producer | Admin, T>(
    operation: string,
    client: LazyClient<C>,
    fn: (c: C) => Promise<T>,
  ): Promise<T> => {
    if (closed) throw new KafkaTransportError('the Kafka transport is closed');
    const connecting = client.get();
    try {
      return await fn(await connecting);
    } catch (error) {
      if (!isUnavailable(error)) throw error;
      // Start over with a fresh client next time (a new producer id for the idempotent producer).
      client.discard(connecting);
      throw new KafkaUnavailableError(operation, brokers, error);
    }
  };

  return {
    async ensureTopics(topics, opts = {}) {
      const wanted = [...new Set(topics)];
      if (wanted.length === 0) return;
      await withClient('ensureTopics', admin, async (a) => {
        const existing = new Set(await a.listTopics());
        const missing = wanted.filter((t) => !existing.has(t));
        if (missing.length > 0) {
          await a.createTopics({
            waitForLeaders: true,
            topics: missing.map((topic) => ({
              topic,
              numPartitions: opts.partitions ?? defaultPartitions,
              configEntries: [
                { name: 'retention.ms', value: '-1' },
                { name: 'retention.bytes', value: '-1' },
                // One record is one event; the API bounds events well below this.
                { name: 'max.message.bytes', value: String(MAX_RECORD_BYTES) },
              ],
            })),
          });
        }
        // An event log must never expire: refuse topics someone created with finite retention.
        const described = await a.describeConfigs({
          includeSynonyms: false,
          resources: wanted.map((name) => ({
            type: ConfigResourceTypes.TOPIC,
            name,
            configNames: ['retention.ms'],
          })),
        });
        for (const resource of described.resources) {
          const retention = resource.configEntries.find(
            (e) => e.configName === 'retention.ms',
          )?.configValue;
          if (retention !== '-1') {
            throw new KafkaTopicConfigError(
              `topic ${resource.resourceName} exists with retention.ms=${String(retention)}; event topics need retention.ms=-1`,
            );
          }
        }
      });
    },

    async publish(records) {
      if (records.length === 0) return;
      const byTopic = new Map<string, Message[]>();
      for (const r of records) {
        const messages = byTopic.get(r.topic) ?? [];
        messages.push({ key: r.key, value: r.value, ...(r.headers ? { headers: r.headers } : {}) });
        byTopic.set(r.topic, messages);
      }
      await withClient('publish', producer, (p) =>
        p.sendBatch({
          acks: -1,
          topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
        }),
      );
    },

    async consume({
      groupId,
      topics,
      fromBeginning = false,
      handleBatch,
      sessionTimeoutMs = 30_000,
    }) {
      if (closed) throw new KafkaTransportError('the Kafka transport is closed');
      const consumer = kafka.consumer({
        groupId,
        allowAutoTopicCreation: false,
        sessionTimeout: sessionTimeoutMs,
        heartbeatInterval: Math.min(3_000, Math.floor(sessionTimeoutMs / 3)),
        // Fetch long-poll; stop() waits for the one in flight (kafkajs default 5 s).
        maxWaitTimeInMs: 1_000,
        // Survive broker outages: keep retrying, and restart the consumer after a crash.
        retry: {
          retries: 10,
          initialRetryTime: 300,
          maxRetryTime: 10_000,
          factor: 0.2,
          multiplier: 2,
          restartOnFailure: () => Promise.resolve(true),
        },
      });
      await consumer.connect();
      try {
        await consumer.subscribe({ topics, fromBeginning });
        await consumer.run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          // kafkajs passes plain closures here; its types merely declare them as methods.
          // eslint-disable-next-line @typescript-eslint/unbound-method
          eachBatch: async ({ batch, heartbeat, isRunning, isStale, resolveOffset }) => {
            const messages = batch.messages.map((m) => toIncoming(batch.topic, batch.partition, m));
            const last = messages.at(-1);
            if (last === undefined) return;
            for (let attempt = 0; ; attempt++) {
              if (!isRunning() || isStale()) return; // not committed: redelivered later
              try {
                await handleBatch(messages);
                break;
              } catch (error) {
                logger({
                  namespace: 'cairn.consumer',
                  message: `handleBatch failed (attempt ${attempt + 1}); retrying the batch`,
                  extra: {
                    groupId,
                    topic: batch.topic,
                    partition: batch.partition,
                    error: errorMessage(error),
                  },
                });
                await sleep(
                  Math.min(handlerBackoff.initialMs * 2 ** attempt, handlerBackoff.maxMs),
                );
                await heartbeat();
              }
            }
            if (isStale()) return;
            const next = (BigInt(last.offset) + 1n).toString();
            await consumer.commitOffsets([
              { topic: batch.topic, partition: batch.partition, offset: next },
            ]);
            resolveOffset(last.offset);
            await heartbeat();
          },
        });
      } catch (error) {
        await consumer.disconnect().catch(() => undefined);
        throw error;
      }
      const handle: ConsumerHandle = {
        async stop() {
          if (!consumers.delete(handle)) return;
          await stopConsumer(consumer);
        },
      };
      consumers.add(handle);
      return handle;
    },

    async lag(groupId, topics, opts = {}) {
      const lagOnce = () =>
        withClient('lag', admin, async (a) => {
          const committed = await a.fetchOffsets({ groupId, topics });
          let total = 0n;
          for (const topic of topics) {
            const ends = await a.fetchTopicOffsets(topic);
            const done = committed.find((c) => c.topic === topic)?.partitions ?? [];
            for (const end of ends) {
              const c = done.find((p) => p.partition === end.partition)?.offset ?? '-1';
              const from = BigInt(c) >= 0n ? BigInt(c) : BigInt(end.low);
              const diff = BigInt(end.high) - from;
              if (diff > 0n) total += diff;
            }
          }
          return Number(total);
        });
      const attempts = opts.attempts ?? 1;
      for (let attempt = 1; ; attempt++) {
        try {
          return await lagOnce();
        } catch (error) {
          if (attempt >= attempts) throw error;
          await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
        }
      }
    },

    async close() {
      if (closed) return;
      closed = true;
      await Promise.allSettled([...consumers].map((c) => c.stop()));
      await Promise.allSettled([producer.close(), admin.close()]);
    },
  };
}

interface LazyClient<C> {
  get(): Promise<C>;
  /** Forgets `connecting` (if still current) and disconnects it in the background. */
  discard(connecting: Promise<C>): void;
  close(): Promise<void>;
}

/** Connects on first use; a failed connect is forgotten so the next call tries again. */
function lazyClient<C extends Producer | Admin>(create: () => C): LazyClient<C> {
  let current: Promise<C> | undefined;
  return {
    get() {
      if (current) return current;
      const client = create();
      const connecting = client.connect().then(() => client);
      current = connecting;
      connecting.catch(() => {
        if (current === connecting) current = undefined;
      });
      return connecting;
    },
    discard(connecting) {
      if (current === connecting) current = undefined;
      connecting.then((c) => c.disconnect()).catch(() => undefined);
    },
    async close() {
      const connecting = current;
      current = undefined;
      if (connecting) await connecting.then((c) => c.disconnect()).catch(() => undefined);
    },
  };
}

async function stopConsumer(consumer: Consumer): Promise<void> {
  await consumer.disconnect();
}

function toIncoming(topic: string, partition: number, m: KafkaMessage): IncomingMessage {
  return {
    topic,
    partition,
    offset: m.offset,
    key: m.key?.toString('utf8') ?? '',
    value: m.value?.toString('utf8') ?? '',
    headers: headersToStrings(m.headers),
  };
}

function headersToStrings(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    const first = Array.isArray(v) ? v[0] : v;
    if (first !== undefined) out[k] = first.toString();
  }
  return out;
}

const unavailableErrors = new Set([
  'KafkaJSNumberOfRetriesExceeded',
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSBrokerNotFound',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSTopicMetadataNotLoaded',
  'KafkaJSTimeout',
  'KafkaJSLockTimeout',
]);

/**
 * Kafka can't be reached or kept failing transiently after kafkajs retried. kafkajs wraps the
 * root cause (e.g. a KafkaJSNonRetriableError around a KafkaJSConnectionError once reconnects
 * are exhausted), so the whole cause chain is inspected.
 */
function isUnavailable(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current instanceof Error; depth++) {
    const retriable = (current as { retriable?: unknown }).retriable;
    if (unavailableErrors.has(current.name) || retriable === true) return true;
    current = current.cause ?? (current as { originalError?: unknown }).originalError;
  }
  return false;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
