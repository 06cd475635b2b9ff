/**
 * The hash chain over the event log (issue 17, docs/governance.md "The hash chain").
 *
 * Each workspace's events form one chain in log order (the order log readers use: transaction
 * id, then global position): `hash = SHA-256(previous hash || canonical bytes of the event)`,
 * 32 zero bytes before the first event. The chain is computed after the fact by the sealer
 * (`AuditSealer`), which follows the log like a projection, below the visibility boundary, and
 * writes `(workspace, seq, global position, hash)` rows with its checkpoint in one transaction:
 * the append path (the product's hot path) is not serialised or slowed by it.
 *
 * `verifyAuditChain` recomputes every sealed link from the events as stored and names the first
 * position whose event no longer matches (changed in any column, or deleted), and any event
 * behind the sealed boundary that is not in the chain (inserted afterwards).
 */
import { createHash } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import { loadLogCheckpoint, saveLogCheckpoint, type DB, type LogPosition } from '@cairn/db';
import type { Logger } from '../logger.ts';
import { PollingLoop } from '../polling-loop.ts';

/** The sealer's checkpoint in log_checkpoints (and its advisory lock). */
export const AUDIT_CHAIN_READER = 'audit:chain.v1';
/** The hash before a workspace's first event. */
export const GENESIS_HASH = Buffer.alloc(32);
const CANONICAL_TAG = 'cairn.audit-chain.v1';

/**
 * What the chain covers of one event: every column of the events row. The body (`data`) and
 * `origin` enter through their canonical jsonb text (jsonb normalises key order and spacing),
 * digested by PostgreSQL so that large bodies do not travel to the sealer; the times as integer
 * microseconds (what timestamptz stores, exactly).
 */
export interface SealInput {
  global_position: number;
  transaction_id: string;
  event_id: string;
  workspace_id: string;
  stream_id: string;
  stream_position: number;
  type: string;
  schema_version: number;
  actor: string;
  correlation_id: string;
  causation_id: string | null;
  occurred_us: string;
  recorded_us: string;
  origin: string | null;
  data_digest: Buffer;
}

/** The SQL columns of a SealInput, over the events row `e`. */
const SEAL_COLUMNS = sql`
  e.global_position, e.transaction_id::text AS transaction_id, e.event_id::text AS event_id,
  e.workspace_id, e.stream_id, e.stream_position, e.type, e.schema_version, e.actor,
  e.correlation_id, e.causation_id,
  (extract(epoch FROM e.occurred_at) * 1000000)::int8::text AS occurred_us,
  (extract(epoch FROM e.recorded_at) * 1000000)::int8::text AS recorded_us,
  e.origin::text AS origin,
  sha256(convert_to(e.data::text, 'UTF8')) AS data_digest`;

/** The canonical bytes of one event (without its body, which enters as its digest). */
export function canonicalEventBytes(e: SealInput): Buffer {
  return Buffer.from(
    JSON.stringify([
      CANONICAL_TAG,
      e.global_position,
      e.transaction_id,
      e.event_id,
      e.workspace_id,
      e.stream_id,
      e.stream_position,
      e.type,
      e.schema_version,
      e.actor,
      e.correlation_id,
      e.causation_id,
      e.occurred_us,
      e.recorded_us,
      e.origin,
    ]),
    'utf8',
  );
}

/** One link: SHA-256(previous hash || canonical bytes || SHA-256(body)). */
export function chainHash(previous: Buffer, e: SealInput): Buffer {
  return createHash('sha256')
    .update(previous)
    .update(canonicalEventBytes(e))
    .update(e.data_digest)
    .digest();
}

export interface SealResult {
  events: number;
  /** The checkpoint after the batch (unchanged when nothing was sealed). */
  position: LogPosition;
}

/**
 * Seals the next batch of the log (at most `limit` events, below the visibility boundary) in one
 * transaction: chain rows, heads and checkpoint together. Concurrent sealers serialise on an
 * advisory lock and re-read the checkpoint under it, so a link is never computed twice.
 */
export async function sealNextBatch(db: Kysely<DB>, limit = 1000): Promise<SealResult> {
  return db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(hashtext(${AUDIT_CHAIN_READER}))`.execute(trx);
    const checkpoint = await loadLogCheckpoint(trx, AUDIT_CHAIN_READER);
    const { rows } = await sql<SealInput>`
      SELECT ${SEAL_COLUMNS} FROM events e
      WHERE (e.transaction_id, e.global_position) > (${checkpoint.transactionId}::xid8, ${checkpoint.globalPosition}::int8)
        AND e.transaction_id < pg_snapshot_xmin(pg_current_snapshot())
      ORDER BY e.transaction_id, e.global_position
      LIMIT ${limit}`.execute(trx);
    const last = rows.at(-1);
    if (!last) return { events: 0, position: checkpoint };
    await sealRows(trx, rows);
    const position = { transactionId: last.transaction_id, globalPosition: last.global_position };
    await saveLogCheckpoint(trx, AUDIT_CHAIN_READER, position);
    return { events: rows.length, position };
  });
}

async function sealRows(trx: Transaction<DB>, rows: readonly SealInput[]): Promise<void> {
  const workspaces = [...new Set(rows.map((r) => r.workspace_id))];
  const heads = new Map(
    (
      await trx
        .selectFrom('audit_chain_heads')
        .select(['workspace_id', 'seq', 'hash'])
        .where('workspace_id', 'in', workspaces)
        .execute()
    ).map((h) => [h.workspace_id, { seq: Number(h.seq), hash: h.hash }]),
  );
  const links: {
    ws: string;
    seq: number;
    pos: number;
    stream: string;
    type: string;
    hash: Buffer;
  }[] = [];
  for (const row of rows) {
    const head = heads.get(row.workspace_id) ?? { seq: 0, hash: GENESIS_HASH };
    const next = { seq: head.seq + 1, hash: chainHash(head.hash, row) };
    heads.set(row.workspace_id, next);
    links.push({
      ws: row.workspace_id,
      seq: next.seq,
      pos: row.global_position,
      stream: row.stream_id,
      type: row.type,
      hash: next.hash,
    });
  }
  await sql`
    INSERT INTO audit_chain (workspace_id, seq, global_position, stream_id, type, hash)
    SELECT * FROM unnest(${links.map((l) => l.ws)}::text[], ${links.map((l) => l.seq)}::int8[],
                         ${links.map((l) => l.pos)}::int8[], ${links.map((l) => l.stream)}::text[],
                         ${links.map((l) => l.type)}::text[],
                         ${links.map((l) => `\\x${l.hash.toString('hex')}`)}::bytea[])`.execute(
    trx,
  );
  const last = new Map(links.map((l) => [l.ws, l]));
  const ends = [...last.values()];
  await sql`
    INSERT INTO audit_chain_heads (workspace_id, seq, global_position, hash)
    SELECT * FROM unnest(${ends.map((l) => l.ws)}::text[], ${ends.map((l) => l.seq)}::int8[],
                         ${ends.map((l) => l.pos)}::int8[],
                         ${ends.map((l) => `\\x${l.hash.toString('hex')}`)}::bytea[])
    ON CONFLICT (workspace_id) DO UPDATE
      SET seq = excluded.seq, global_position = excluded.global_position, hash = excluded.hash,
          sealed_at = now()`.execute(trx);
}

export interface AuditSealerOptions {
  logger: Logger;
  batchSize?: number;
  /** Sleep when the log has nothing new and nobody wakes the sealer (default 250 ms). */
  idleMs?: number;
}

/** Follows the log and seals it (started by `startProjector`; replicas serialise). */
export class AuditSealer {
  private readonly loop: PollingLoop;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly opts: AuditSealerOptions,
  ) {
    this.loop = new PollingLoop(
      async () => {
        const { events } = await sealNextBatch(this.db, this.opts.batchSize ?? 1000);
        return events > 0 ? 0 : (this.opts.idleMs ?? 250);
      },
      opts.logger,
      (_error, retryInMs) => `audit chain: sealing failed, retrying in ${retryInMs} ms`,
    );
  }

  start(): void {
    this.loop.start();
  }

  wake(): void {
    this.loop.wake();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }
}

/** How far the sealer is behind: events appended but not yet in the chain (capped). */
export async function auditChainLag(db: Kysely<DB>, cap = 1_000_000): Promise<number> {
  const checkpoint = await loadLogCheckpoint(db, AUDIT_CHAIN_READER);
  const { rows } = await sql<{ n: number }>`
    SELECT count(*)::int8 AS n FROM (
      SELECT 1 FROM events
      WHERE (transaction_id, global_position) > (${checkpoint.transactionId}::xid8, ${checkpoint.globalPosition}::int8)
      LIMIT ${cap}) pending`.execute(db);
  return Number(rows[0]?.n ?? 0);
}

export interface ChainBreak {
  workspaceId: string;
  globalPosition: number;
  streamId: string;
  type: string;
  reason: 'changed' | 'missing' | 'unsealed' | 'out-of-sequence';
}

export interface VerifyResult {
  /** Events whose link was recomputed and matched. */
  verified: number;
  /** The highest global position verified (0 when none). */
  lastPosition: number;
  /** The sealer's checkpoint: everything at or before it is in the chain. */
  sealedThrough: LogPosition;
  /** The first break (lowest global position), or null on a clean chain. */
  broken: ChainBreak | null;
  /** Every workspace's last link, hex: publish these to notice a rewritten chain. */
  heads: { workspaceId: string; seq: number; hash: string }[];
}

export interface VerifyOptions {
  /** Verify links at or after this global position (earlier links are trusted as stored). */
  from?: number;
  /** Only this workspace (default: all). */
  workspaceId?: string;
  /** Called every `progressEvery` verified events. */
  onProgress?: (verified: number, position: number) => void;
  progressEvery?: number;
  pageSize?: number;
}

interface LinkRow extends Omit<SealInput, 'global_position'> {
  seq: number;
  chain_position: number;
  chain_stream: string;
  chain_type: string;
  hash: Buffer;
  global_position: number | null;
}

/**
 * Recomputes the chain from the events as they are stored now and compares it with the sealed
 * links, workspace by workspace, in pages; reports the first break. Read-only.
 */
export async function verifyAuditChain(
  db: Kysely<DB>,
  opts: VerifyOptions = {},
): Promise<VerifyResult> {
  const from = opts.from ?? 0;
  const pageSize = opts.pageSize ?? 2000;
  const progressEvery = opts.progressEvery ?? 50_000;
  const sealedThrough = await loadLogCheckpoint(db, AUDIT_CHAIN_READER);
  let heads = await db
    .selectFrom('audit_chain_heads')
    .select(['workspace_id', 'seq', 'hash', 'global_position'])
    .orderBy('workspace_id')
    .execute();
  if (opts.workspaceId) heads = heads.filter((h) => h.workspace_id === opts.workspaceId);
  let verified = 0;
  let lastPosition = 0;
  const breaks: ChainBreak[] = [];
  for (const head of heads) {
    const ws = head.workspace_id;
    // The link before the first one checked: trusted as stored.
    const before = await db
      .selectFrom('audit_chain')
      .select(['seq', 'hash'])
      .where('workspace_id', '=', ws)
      .where('global_position', '<', from)
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    let previous = before?.hash ?? GENESIS_HASH;
    let expectedSeq = Number(before?.seq ?? 0) + 1;
    let broken: ChainBreak | null = null;
    while (!broken) {
      const { rows } = await sql<LinkRow>`
        SELECT c.seq, c.global_position AS chain_position, c.stream_id AS chain_stream,
               c.type AS chain_type, c.hash, ${SEAL_COLUMNS}
        FROM audit_chain c
        LEFT JOIN events e ON e.global_position = c.global_position
        WHERE c.workspace_id = ${ws} AND c.seq >= ${expectedSeq}
        ORDER BY c.seq
        LIMIT ${pageSize}`.execute(db);
      if (rows.length === 0) break;
      for (const row of rows) {
        const at = {
          workspaceId: ws,
          globalPosition: Number(row.chain_position),
          streamId: row.chain_stream,
          type: row.chain_type,
        };
        if (Number(row.seq) !== expectedSeq) {
          broken = { ...at, reason: 'out-of-sequence' };
          break;
        }
        if (row.global_position === null) {
          broken = { ...at, reason: 'missing' };
          break;
        }
        const input = row as SealInput;
        const hash = chainHash(previous, input);
        if (!hash.equals(row.hash) || input.workspace_id !== ws) {
          broken = { ...at, streamId: input.stream_id, type: input.type, reason: 'changed' };
          break;
        }
        previous = hash;
        expectedSeq += 1;
        verified += 1;
        lastPosition = Math.max(lastPosition, at.globalPosition);
        if (opts.onProgress && verified % progressEvery === 0)
          opts.onProgress(verified, lastPosition);
      }
      if (rows.length < pageSize) break;
    }
    if (!broken && expectedSeq - 1 !== Number(head.seq))
      broken = {
        workspaceId: ws,
        globalPosition: Number(head.global_position),
        streamId: '(chain head)',
        type: '(chain head)',
        reason: 'out-of-sequence',
      };
    if (broken) breaks.push(broken);
  }
  // An event behind the sealed boundary that is not in the chain was inserted afterwards.
  const unsealed = await sql<{
    global_position: number;
    workspace_id: string;
    stream_id: string;
    type: string;
  }>`
    SELECT e.global_position, e.workspace_id, e.stream_id, e.type FROM events e
    WHERE (e.transaction_id, e.global_position) <= (${sealedThrough.transactionId}::xid8, ${sealedThrough.globalPosition}::int8)
      AND e.global_position >= ${from}
      ${opts.workspaceId ? sql`AND e.workspace_id = ${opts.workspaceId}` : sql``}
      AND NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.global_position = e.global_position)
    ORDER BY e.global_position LIMIT 1`.execute(db);
  const u = unsealed.rows[0];
  if (u)
    breaks.push({
      workspaceId: u.workspace_id,
      globalPosition: Number(u.global_position),
      streamId: u.stream_id,
      type: u.type,
      reason: 'unsealed',
    });
  breaks.sort((a, b) => a.globalPosition - b.globalPosition);
  return {
    verified,
    lastPosition,
    sealedThrough,
    broken: breaks[0] ?? null,
    heads: heads.map((h) => ({
      workspaceId: h.workspace_id,
      seq: Number(h.seq),
      hash: h.hash.toString('hex'),
    })),
  };
}
