import type { Kysely } from 'kysely';
import type { DB } from '@cairn/db';
import { domainOf, type StoredEventEnvelope } from '@cairn/events';
import { topicForDomain, type ConsumerHandle, type KafkaTransport } from '@cairn/kafka';
import { applyBatch } from './apply-batch.ts';
import type { Logger } from './logger.ts';
import { consumerGroup, type Projection } from './projection.ts';

export function topicsOf(projection: Projection): string[] {
  return [...new Set(projection.handles.map((type) => topicForDomain(domainOf(type))))];
}

/**
 * Kafka transport: one consumer group per projection version. Offsets are committed only after
 * the read-model transaction committed; a redelivered event is dropped by the stream guards.
 */
export async function startKafkaProjection(
  db: Kysely<DB>,
  transport: KafkaTransport,
  projection: Projection,
  logger: Logger,
): Promise<ConsumerHandle> {
  const topics = topicsOf(projection);
  // Topics are created on demand with the event-log settings (infinite retention); a projector
  // may start before any relay has published.
  await transport.ensureTopics(topics);
  return transport.consume({
    groupId: consumerGroup(projection),
    topics,
    fromBeginning: true,
    // A restarted projector waits out its crashed predecessor's session: keep that short.
    sessionTimeoutMs: 10_000,
    handleBatch: async (messages) => {
      const events: StoredEventEnvelope[] = [];
      for (const message of messages) {
        try {
          events.push(JSON.parse(message.value) as StoredEventEnvelope);
        } catch (error) {
          // Only the relay writes these topics; a record that is not JSON was not written by
          // Cairn. It is reported, with its coordinates, and not applied.
          logger.error(
            `projection ${projection.name}: record ${message.topic}/${message.partition}@${message.offset} is not an event envelope`,
            error,
          );
        }
      }
      if (events.length > 0) await applyBatch(db, projection, events);
    },
  });
}
