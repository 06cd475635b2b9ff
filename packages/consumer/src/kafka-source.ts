import { ALL_EVENT_TYPES, domainOf, type EventType, type StoredEventEnvelope } from '@cairn/events';
import { createKafkaTransport, topicForDomain } from '@cairn/kafka';
import { ConsumerStoppedError } from './consumer.errors.ts';
import type { BatchHandler, RunningSource, SourceFilter } from './consumer.ts';

export interface KafkaSourceOptions {
  name: string;
  filter: SourceFilter;
  startAt: 'beginning' | 'end';
  onError: (error: unknown) => void;
}

/** The consumer group of a named consumer: its committed offsets are its checkpoint. */
export function kafkaGroupId(name: string): string {
  return `consumer.${name}`;
}

/** The topics holding these types (`<domain>.events.v1`, key = stream id); all when null. */
export function topicsFor(types: readonly string[] | null): string[] {
  const wanted = (types ?? ALL_EVENT_TYPES) as EventType[];
  return [...new Set(wanted.map((type) => topicForDomain(domainOf(type))))].sort();
}

/**
 * Reads the relay's topics in a consumer group. The transport commits a partition's offsets only
 * after the batch handler resolved, and retries a failed batch (never skips it): at least once,
 * in order per stream (one stream is one key is one partition).
 */
export async function startKafkaSource(
  config: { brokers: string[]; clientId?: string },
  opts: KafkaSourceOptions,
  onBatch: BatchHandler,
): Promise<RunningSource> {
  const transport = createKafkaTransport({
    brokers: config.brokers,
    clientId: config.clientId ?? `cairn-consumer-${opts.name}`,
  });
  let stopped = false;
  try {
    const topics = topicsFor(opts.filter.types);
    // The relay creates these with the event-log settings; a consumer may start before it.
    await transport.ensureTopics(topics);
    await transport.consume({
      groupId: kafkaGroupId(opts.name),
      topics,
      fromBeginning: opts.startAt === 'beginning',
      sessionTimeoutMs: 10_000,
      handleBatch: async (messages) => {
        const events: StoredEventEnvelope[] = [];
        for (const message of messages) {
          try {
            events.push(JSON.parse(message.value) as StoredEventEnvelope);
          } catch (error) {
            // Only the relay writes these topics: a record that is not JSON is reported, skipped.
            opts.onError(
              new Error(
                `record ${message.topic}/${message.partition}@${message.offset} is not an event envelope`,
                { cause: error },
              ),
            );
          }
        }
        if (events.length === 0) return;
        try {
          await onBatch(events);
        } catch (error) {
          if (!stopped && !(error instanceof ConsumerStoppedError)) opts.onError(error);
          throw error;
        }
      },
    });
  } catch (error) {
    await transport.close();
    throw error;
  }
  return {
    async stop() {
      stopped = true;
      await transport.close();
    },
  };
}
