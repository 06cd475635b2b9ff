import type { Kysely } from 'kysely';
import type pg from 'pg';
import { loadLogCheckpoint, readAllAfter, type DB } from '@cairn/db';
import { domainOfStream, type StoredEventEnvelope } from '@cairn/events';
import { topicForDomain, type KafkaTransport, type OutgoingRecord } from '@cairn/kafka';
import { advanceCheckpoint } from './apply-batch.ts';
import type { Logger } from './logger.ts';

export const RELAY_CHECKPOINT = 'relay:kafka';
const RELAY_LOCK = 'cairn:relay:kafka';
/** Topic for streams of an unknown kind: nothing consumes it by default, but nothing is lost. */
export const UNROUTED_TOPIC = 'unrouted.events.v1';
export const RELAY_TOPICS = [topicForDomain('experiments'), topicForDomain('runs'), UNROUTED_TOPIC];

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
  private stopped = false;
  private loop: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  private lockClient: pg.PoolClient | null = null;
  private lockLost = false;
  active = false;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly pool: pg.Pool,
    private readonly transport: KafkaTransport,
    private readonly opts: RelayOptions,
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  wake(): void {
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.loop;
    await this.releaseLock();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    });
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

  private async run(): Promise<void> {
    const batchSize = this.opts.batchSize ?? 1000;
    const idleMs = this.opts.idleMs ?? 50;
    let failures = 0;
    let ensured = false;
    while (!this.stopped) {
      try {
        if (this.lockLost) await this.releaseLock();
        if (!this.active) {
          if (!(await this.acquireLock())) {
            await this.sleep(2000);
            continue;
          }
          this.opts.logger.info('relay: active');
        }
        if (!ensured) {
          await this.transport.ensureTopics(RELAY_TOPICS);
          ensured = true;
        }
        const checkpoint = await loadLogCheckpoint(this.db, RELAY_CHECKPOINT);
        const events = await readAllAfter(this.db, checkpoint, batchSize);
        const last = events.at(-1);
        if (!last) {
          failures = 0;
          await this.sleep(idleMs);
          continue;
        }
        // Bounded requests: many small records, or one large one, per publish call.
        for (const chunk of chunkByBytes(events.map(toKafkaRecord), PUBLISH_CHUNK_BYTES)) {
          await this.transport.publish(chunk);
        }
        await advanceCheckpoint(this.db, RELAY_CHECKPOINT, {
          transactionId: last.transactionId,
          globalPosition: last.globalPosition,
        });
        failures = 0;
      } catch (error) {
        if (this.stopped) break;
        failures += 1;
        const delay = Math.min(5000, 100 * 2 ** Math.min(failures, 6));
        this.opts.logger.error(`relay: publishing failed, retrying in ${delay} ms`, error);
        await this.sleep(delay);
      }
    }
  }
}
