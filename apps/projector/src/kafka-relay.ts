import type { Kysely } from 'kysely';
import type pg from 'pg';
import { loadLogCheckpoint, readAllAfter, type DB } from '@cairn/db';
import { domainOfStream, type StoredEventEnvelope } from '@cairn/events';
import { topicForDomain, type KafkaTransport, type OutgoingRecord } from '@cairn/kafka';
import { advanceCheckpoint } from './apply-batch.ts';
import type { Logger } from './logger.ts';
import { PollingLoop } from './polling-loop.ts';

export const RELAY_CHECKPOINT = 'relay:kafka';
const RELAY_LOCK = 'cairn:relay:kafka';
/** Topic for streams of an unknown kind: nothing consumes it by default, but nothing is lost. */
export const UNROUTED_TOPIC = 'unrouted.events.v1';
export const RELAY_TOPICS = [
  topicForDomain('experiments'),
  topicForDomain('runs'),
  topicForDomain('registry'),
  topicForDomain('webhooks'),
  topicForDomain('tracing'),
  topicForDomain('prompts'),
  topicForDomain('evaluation'),
  topicForDomain('auth'),
  topicForDomain('deployments'),
  UNROUTED_TOPIC,
];

export function toKafkaRecord(event: StoredEventEnvelope): OutgoingRecord {
  const domain = domainOfStream(event.streamId);
  return {
    topic: domain ? topicForDomain(domain) : UNROUTED_TOPIC,
    key: event.streamId,
    value: JSON.stringify(event),
    headers: { 'cairn-type': event.type, 'cairn-workspace': event.workspaceId },
  };
}

/** Upper bound of one publish call's payload; records keep their log order across chunks. */
const PUBLISH_CHUNK_BYTES = 900 * 1024;

export function chunkByBytes(records: OutgoingRecord[], maxBytes: number): OutgoingRecord[][] {
  const chunks: OutgoingRecord[][] = [];
  let current: OutgoingRecord[] = [];
  let size = 0;
  for (const record of records) {
    const bytes = Buffer.byteLength(record.value) + record.key.length;
    if (current.length > 0 && size + bytes > maxBytes) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(record);
    size += bytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

export interface RelayOptions {
  logger: Logger;
  batchSize?: number;
  idleMs?: number;
}

/**
 * Publishes the Postgres event log to Kafka in log order (key = stream id), reading below the
 * visibility boundary like every log reader. The checkpoint moves only after the broker has
 * acknowledged (acks=all), so a crash repeats events (projections drop repeats) and never loses
 * one. Only one relay is active at a time: it holds a session advisory lock; others stand by.
 */
export class KafkaRelay {
  private readonly loop: PollingLoop;
  private lockClient: pg.PoolClient | null = null;
  private lockLost = false;
  private topicsEnsured = false;
  active = false;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly pool: pg.Pool,
    private readonly transport: KafkaTransport,
    private readonly opts: RelayOptions,
  ) {
    this.loop = new PollingLoop(
      () => this.step(),
      opts.logger,
      (_error, retryInMs) => `relay: publishing failed, retrying in ${retryInMs} ms`,
    );
  }

  start(): void {
    this.loop.start();
  }

  wake(): void {
    this.loop.wake();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
    await this.releaseLock();
  }

  private async releaseLock(): Promise<void> {
    const client = this.lockClient;
    this.lockClient = null;
    this.active = false;
    if (!client) return;
    try {
      await client.query('SELECT pg_advisory_unlock(hashtext($1))', [RELAY_LOCK]);
      client.release();
    } catch {
      client.release(true);
    }
  }

  private async acquireLock(): Promise<boolean> {
    const client = await this.pool.connect();
    try {
      const result = await client.query<{ locked: boolean }>(
        'SELECT pg_try_advisory_lock(hashtext($1)) AS locked',
        [RELAY_LOCK],
      );
      if (!result.rows[0]?.locked) {
        client.release();
        return false;
      }
    } catch (error) {
      client.release(true);
      throw error;
    }
    this.lockLost = false;
    client.on('error', () => {
      this.lockLost = true;
    });
    this.lockClient = client;
    this.active = true;
    return true;
  }

  /** One relay round; answers how long to sleep (standby: 2 s; nothing new: the idle time). */
  private async step(): Promise<number> {
    if (this.lockLost) await this.releaseLock();
    if (!this.active) {
      if (!(await this.acquireLock())) return 2000;
      this.opts.logger.info('relay: active');
    }
    if (!this.topicsEnsured) {
      await this.transport.ensureTopics(RELAY_TOPICS);
      this.topicsEnsured = true;
    }
    const checkpoint = await loadLogCheckpoint(this.db, RELAY_CHECKPOINT);
    const events = await readAllAfter(this.db, checkpoint, this.opts.batchSize ?? 1000);
    const last = events.at(-1);
    if (!last) return this.opts.idleMs ?? 50;
    // Bounded requests: many small records, or one large one, per publish call.
    for (const chunk of chunkByBytes(events.map(toKafkaRecord), PUBLISH_CHUNK_BYTES)) {
      await this.transport.publish(chunk);
    }
    await advanceCheckpoint(this.db, RELAY_CHECKPOINT, {
      transactionId: last.transactionId,
      globalPosition: last.globalPosition,
    });
    return 0;
  }
}
