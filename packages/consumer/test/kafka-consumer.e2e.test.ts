/**
 * @cairn/consumer on a real Kafka broker (packages/testing: KRaft from the jars, or
 * Testcontainers). Records are published as the relay publishes them (topic of the stream's
 * domain, key = stream id, value = the stored envelope as JSON); the consumer group's committed
 * offsets are the checkpoint.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  newEntityId,
  registeredModelStreamId,
  uuidv7,
  type StoredEventEnvelope,
} from '@cairn/events';
import { createKafkaTransport, topicForDomain, type KafkaTransport } from '@cairn/kafka';
import { aNewEvent, randomWorkspaceId } from '@cairn/testing';
import { startKafkaBroker, type KafkaBroker } from '@cairn/testing/kafka-broker';
import { kafkaGroupId, subscribe, topicsFor, type ConsumedEvent } from '../src/index.ts';

let broker: KafkaBroker;
let producer: KafkaTransport;
let position = 0;

beforeAll(async () => {
  broker = await startKafkaBroker();
  producer = createKafkaTransport({ brokers: broker.brokers, clientId: 'consumer-e2e' });
  await producer.ensureTopics([topicForDomain('registry')]);
}, 240_000);

afterAll(async () => {
  await producer?.close();
  await broker?.stop();
}, 120_000);

function envelope(
  workspaceId: string,
  modelId: string,
  streamPosition: number,
  data: ReturnType<typeof aNewEvent>,
): StoredEventEnvelope {
  position += 1;
  const now = new Date().toISOString();
  return {
    id: data.id,
    type: data.type,
    schemaVersion: data.schemaVersion,
    workspaceId,
    streamId: registeredModelStreamId(modelId),
    streamPosition,
    globalPosition: position,
    transactionId: String(1000 + position),
    occurredAt: data.occurredAt,
    recordedAt: now,
    actor: 'user:test',
    correlationId: uuidv7(),
    causationId: null,
    data: data.data,
  };
}

const aliasSet = (modelId: string, version: number) =>
  aNewEvent('ModelAliasSet', {
    modelId,
    name: 'm',
    alias: 'production',
    version,
    previousVersion: null,
  });

/** The checkpoint on Kafka is the group's committed offsets: wait until they cover the topic. */
async function untilCommitted(name: string) {
  const deadline = Date.now() + 20_000;
  while (
    (await producer.lag(kafkaGroupId(name), [topicForDomain('registry')], { attempts: 3 })) > 0
  ) {
    if (Date.now() > deadline) throw new Error(`${name} did not commit its offsets`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function publish(events: StoredEventEnvelope[]) {
  await producer.publish(
    events.map((event) => ({
      topic: topicForDomain('registry'),
      key: event.streamId,
      value: JSON.stringify(event),
    })),
  );
}

describe('@cairn/consumer on Kafka', () => {
  it('delivers the filtered events in stream order and resumes from committed offsets', async () => {
    expect(topicsFor(['ModelAliasSet', 'RunStarted'])).toEqual([
      'registry.events.v1',
      'runs.events.v1',
    ]);
    const ws = randomWorkspaceId();
    const model = newEntityId();
    const first = [
      envelope(ws, model, 1, aliasSet(model, 1)),
      envelope(randomWorkspaceId(), model, 1, aliasSet(model, 9)),
      envelope(
        ws,
        model,
        2,
        aNewEvent('RegisteredModelTagSet', { modelId: model, name: 'm', key: 'k', value: 'v' }),
      ),
      envelope(ws, model, 3, aliasSet(model, 2)),
    ];
    await publish(first);
    const name = `kafka-${newEntityId().slice(0, 8)}`;
    const opts = { name, workspaceId: ws, types: ['ModelAliasSet'] as const };

    const run1: ConsumedEvent<'ModelAliasSet'>[] = [];
    let failOnce = true;
    const errors: unknown[] = [];
    const sub1 = subscribe(
      { kafka: { brokers: broker.brokers } },
      { ...opts, onError: (e) => errors.push(e) },
    );
    const done1 = new Promise<void>((resolve) => {
      void sub1.start(async (event) => {
        run1.push(event);
        if (event.data.version === 2 && failOnce) {
          failOnce = false;
          throw new Error('fail once');
        }
        if (event.data.version === 2) resolve();
        return Promise.resolve();
      });
    });
    await done1;
    await untilCommitted(name);
    await sub1.stop();
    // The failed batch came again; the other workspace's event and the other type never came.
    expect(run1.map((e) => e.data.version)).toEqual([1, 2, 1, 2]);
    expect(run1.every((e) => e.workspaceId === ws)).toBe(true);
    expect(errors).toHaveLength(1);

    const later = envelope(ws, model, 4, aliasSet(model, 3));
    await publish([later]);
    const run2: string[] = [];
    const sub2 = subscribe({ kafka: { brokers: broker.brokers } }, opts);
    await new Promise<void>((resolve) => {
      void sub2.start(async (event) => {
        run2.push(event.id);
        resolve();
        return Promise.resolve();
      });
    });
    await untilCommitted(name);
    await sub2.stop();
    expect(run2).toEqual([later.id]);
  });
});
