import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKafkaBroker, type KafkaBroker } from '@cairn/testing/kafka-broker';
import {
  createKafkaTransport,
  KafkaUnavailableError,
  topicForDomain,
  type ConsumerHandle,
  type IncomingMessage,
  type KafkaTransport,
  type OutgoingRecord,
} from '../src/index.ts';

// A real single-node KRaft broker (local jars or Testcontainers); see packages/testing.

let broker: KafkaBroker;
let transport: KafkaTransport;
const brokerStartMs: number[] = [];

beforeAll(async () => {
  const started = Date.now();
  broker = await startKafkaBroker();
  brokerStartMs.push(Date.now() - started);
  transport = createKafkaTransport({
    brokers: broker.brokers,
    clientId: 'kafka-e2e',
    // Fail fast while the broker is down in the outage test.
    retry: { retries: 3, initialRetryTimeMs: 200, maxRetryTimeMs: 1_000 },
  });
}, 240_000);

afterAll(async () => {
  await transport?.close();
  await broker?.stop();
  console.info(`kafka broker start times (ms): ${brokerStartMs.join(', ')}`);
}, 120_000);

const uniqueTopic = (label: string): string =>
  topicForDomain(`e2e-${label}-${randomUUID().slice(0, 8)}`);

/** `count` records spread over `keys` keys; value = `<key>:<seq within key>`. */
function keyedRecords(
  topic: string,
  count: number,
  keys: number,
  opts: { prefix?: string; seqStart?: number } = {},
): OutgoingRecord[] {
  return Array.from({ length: count }, (_, i) => {
    const key = `${opts.prefix ?? 'run'}-${i % keys}`;
    const seq = (opts.seqStart ?? 0) + Math.floor(i / keys);
    return { topic, key, value: `${key}:${seq}`, headers: { 'cairn-seq': String(seq) } };
  });
}

/** Collects every delivered message; waits on the group's committed offsets, not on sleeps. */
async function collect(
  groupId: string,
  topics: string[],
  onBatch?: (messages: IncomingMessage[]) => void,
): Promise<{
  handle: ConsumerHandle;
  received: IncomingMessage[];
}> {
  const received: IncomingMessage[] = [];
  const handle = await transport.consume({
    groupId,
    topics,
    fromBeginning: true,
    sessionTimeoutMs: 10_000,
    handleBatch: (messages) => {
      onBatch?.(messages);
      received.push(...messages);
      return Promise.resolve();
    },
  });
  return { handle, received };
}

async function waitFor(
  what: string,
  predicate: () => Promise<boolean> | boolean,
  timeoutMs = 90_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const safeLag = (groupId: string, topics: string[]) => (): Promise<boolean> =>
  transport.lag(groupId, topics, { attempts: 5 }).then(
    (lag) => lag === 0,
    () => false,
  );

/** Per key: the sequence numbers in delivery order, duplicates (at-least-once redelivery) dropped. */
function sequencesByKey(messages: IncomingMessage[]): Map<string, number[]> {
  const seen = new Set<string>();
  const byKey = new Map<string, number[]>();
  for (const m of messages) {
    if (seen.has(m.value)) continue;
    seen.add(m.value);
    const seqs = byKey.get(m.key) ?? [];
    seqs.push(Number(m.value.split(':')[1]));
    byKey.set(m.key, seqs);
  }
  return byKey;
}

describe('kafka transport against a real broker', () => {
  it('names topics <domain>.events.v<N>', () => {
    expect(topicForDomain('runs')).toBe('runs.events.v1');
    expect(topicForDomain('model-registry', 2)).toBe('model-registry.events.v2');
    expect(() => topicForDomain('Runs')).toThrow();
  });

  it('publishes 1,000 keyed records and a consumer group reads them in per-key order', async () => {
    const topic = uniqueTopic('order');
    await transport.ensureTopics([topic], { partitions: 4 });
    await transport.ensureTopics([topic], { partitions: 4 }); // idempotent

    const records = keyedRecords(topic, 1_000, 20);
    const lagBefore = await transport.lag('projector.e2e-order.v1', [topic], { attempts: 5 });
    for (let i = 0; i < records.length; i += 100)
      await transport.publish(records.slice(i, i + 100));
    expect(await transport.lag('projector.e2e-order.v1', [topic], { attempts: 5 })).toBe(
      lagBefore + 1_000,
    );

    const batchPartitions: number[][] = [];
    const { handle, received } = await collect('projector.e2e-order.v1', [topic], (batch) =>
      batchPartitions.push([...new Set(batch.map((m) => m.partition))]),
    );
    await waitFor(
      'the group to commit all 1,000 offsets',
      safeLag('projector.e2e-order.v1', [topic]),
    );
    await handle.stop();

    expect(lagBefore).toBe(0);
    expect(new Set(received.map((m) => m.value)).size).toBe(1_000);
    // One partition per batch, offsets ascending within it.
    expect(batchPartitions.every((ps) => ps.length === 1)).toBe(true);
    // Equal keys land on one partition, and every key's records arrive in publish order.
    const partitionsByKey = new Map<string, Set<number>>();
    for (const m of received)
      partitionsByKey.set(m.key, (partitionsByKey.get(m.key) ?? new Set()).add(m.partition));
    expect([...partitionsByKey.values()].every((ps) => ps.size === 1)).toBe(true);
    expect(new Set(received.map((m) => m.partition)).size).toBeGreaterThan(1);
    const byKey = sequencesByKey(received);
    expect(byKey.size).toBe(20);
    for (const seqs of byKey.values())
      expect(seqs).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(received[0]?.headers['cairn-seq']).toBe(received[0]?.value.split(':')[1]);
  }, 120_000);

  it('retries a batch whose handler threw, and commits only after it succeeded', async () => {
    const topic = uniqueTopic('retry');
    await transport.ensureTopics([topic], { partitions: 1 });
    await transport.publish(keyedRecords(topic, 10, 2));

    let calls = 0;
    const handled: string[] = [];
    const lagsSeenDuringFailure: number[] = [];
    const handle = await transport.consume({
      groupId: 'projector.e2e-retry.v1',
      topics: [topic],
      fromBeginning: true,
      handleBatch: async (messages) => {
        calls++;
        if (calls <= 2) {
          lagsSeenDuringFailure.push(
            await transport.lag('projector.e2e-retry.v1', [topic], { attempts: 5 }),
          );
          throw new Error(`projection failed (call ${calls})`);
        }
        handled.push(...messages.map((m) => m.value));
      },
    });
    await waitFor('the group to commit', safeLag('projector.e2e-retry.v1', [topic]));
    await handle.stop();

    expect(calls).toBeGreaterThanOrEqual(3);
    expect(lagsSeenDuringFailure).toEqual([10, 10]); // nothing committed while failing
    expect(new Set(handled).size).toBe(10);
    expect(handled.slice(0, 2)).toEqual(['run-0:0', 'run-1:0']); // the failed batch was not skipped
  }, 120_000);

  it('loses nothing acknowledged across a broker crash and restart mid-ingest', async () => {
    const topic = uniqueTopic('outage');
    const groupId = 'projector.e2e-outage.v1';
    await transport.ensureTopics([topic], { partitions: 3 });
    const { handle, received } = await collect(groupId, [topic]);

    const acknowledged: OutgoingRecord[] = [];
    const before = keyedRecords(topic, 300, 10, { seqStart: 0 });
    for (let i = 0; i < before.length; i += 50) {
      const chunk = before.slice(i, i + 50);
      await transport.publish(chunk);
      acknowledged.push(...chunk);
    }

    await broker.kill(); // SIGKILL: no controlled shutdown
    const failedAt = Date.now();
    const duringOutage = keyedRecords(topic, 50, 10, { prefix: 'lost' });
    const error = await transport.publish(duringOutage).then(
      () => undefined,
      (e: unknown) => e,
    );
    const failedAfterMs = Date.now() - failedAt;
    expect(error).toBeInstanceOf(KafkaUnavailableError);
    expect((error as KafkaUnavailableError).message).toMatch(
      /Kafka unavailable: publish failed after retries/,
    );
    expect(failedAfterMs).toBeLessThan(60_000);

    const restartedAt = Date.now();
    await broker.restart();
    brokerStartMs.push(Date.now() - restartedAt);

    const after = keyedRecords(topic, 300, 10, { seqStart: 30 });
    for (let i = 0; i < after.length; i += 50) {
      const chunk = after.slice(i, i + 50);
      await transport.publish(chunk);
      acknowledged.push(...chunk);
    }

    const ackedValues = new Set(acknowledged.map((r) => r.value));
    const catchUpStartedAt = Date.now();
    await waitFor('every acknowledged record to be consumed', () => {
      const got = new Set(received.map((m) => m.value));
      return [...ackedValues].every((v) => got.has(v));
    });
    await waitFor('the group to commit everything', safeLag(groupId, [topic]));
    const catchUpMs = Date.now() - catchUpStartedAt;
    await handle.stop();

    const byKey = sequencesByKey(received.filter((m) => ackedValues.has(m.value)));
    expect(byKey.size).toBe(10);
    for (const seqs of byKey.values())
      expect(seqs).toEqual(Array.from({ length: 60 }, (_, i) => i));
    console.info(
      `outage: publish failed after ${failedAfterMs} ms; consumer caught up ${catchUpMs} ms after the last publish; ` +
        `${received.length} deliveries for ${ackedValues.size} acknowledged records`,
    );
  }, 240_000);
});
