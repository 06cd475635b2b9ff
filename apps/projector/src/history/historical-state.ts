import { sql, type Kysely, type Transaction } from 'kysely';
import { revealPersonalData, toEnvelope, type DB } from '@cairn/db';
import { decodeEvent, type CairnEvent } from '@cairn/events';
import type { Projection } from '../projection.ts';
import { findProjection } from '../projections/index.ts';

/** Which streams a historical read replays: named ones, or every stream with an id prefix. */
export type HistoricalStreams = { ids: readonly string[] } | { prefix: string };

export interface HistoricalStateRequest {
  workspaceId: string;
  /** Names of the projections whose tables are rebuilt (e.g. `registry`). */
  projections: readonly string[];
  streams: HistoricalStreams;
  /** Events recorded at or before this time are replayed. */
  asOf: Date;
  /** More events than this: the replay is refused (`too-many`), nothing is applied. */
  maxEvents: number;
}

/** The replayed state: `db` reads the temporary tables (and the live ones it does not shadow). */
export interface HistoricalState {
  db: Kysely<DB>;
  /** Events replayed. */
  events: number;
  /** Global position of the last replayed event (null: none). */
  position: number | null;
}

export type HistoricalOutcome<T> =
  { kind: 'ok'; value: T } | { kind: 'too-many'; events: number; limit: number };

interface CachedTables {
  /** Per table, its rows as one JSON array (to_jsonb: every column type round-trips). */
  tables: Map<string, string>;
  events: number;
  position: number | null;
}

/** A small LRU over Map's insertion order. */
class Lru<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly capacity: number) {}
  get(key: string): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }
  set(key: string, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.capacity) {
      const oldest = this.map.keys().next().value as string;
      this.map.delete(oldest);
    }
  }
  get size(): number {
    return this.map.size;
  }
}

export interface HistoricalStateReaderOptions {
  /** Replayed table contents kept (default 200). */
  cacheEntries?: number;
  /** Rows of one cached replay above which it is not cached (default 50,000). */
  maxCachedRows?: number;
  /** A lower bound than the request's on the events one answer replays. */
  maxEvents?: number;
}

function streamCondition(streams: HistoricalStreams) {
  return 'ids' in streams
    ? sql`stream_id = ANY(${[...streams.ids]}::text[])`
    : sql`starts_with(stream_id, ${streams.prefix})`;
}

/**
 * Answers "what did the read models say at time t" by replaying: in one transaction, every
 * table the named projections own is shadowed by an empty temporary table of the same shape
 * (`pg_temp` comes first on the search path, so the projections' and the API's unqualified
 * queries hit it), the relevant streams' events recorded at or before t are decoded and
 * applied by the projections' own `apply`, and the caller reads with its usual query code. The
 * transaction is rolled back: nothing persists. Bounded by `maxEvents`; the rebuilt tables are
 * cached by (workspace, projections, streams, last replayed position), so a repeated question
 * re-inserts rows instead of replaying.
 */
export class HistoricalStateReader {
  private readonly cache: Lru<CachedTables>;
  private readonly maxCachedRows: number;
  private readonly maxEvents: number;
  /** Replays and cache hits so far (tests, docs). */
  readonly stats = { replays: 0, cacheHits: 0 };

  constructor(
    private readonly db: Kysely<DB>,
    opts: HistoricalStateReaderOptions = {},
  ) {
    this.cache = new Lru(opts.cacheEntries ?? 200);
    this.maxCachedRows = opts.maxCachedRows ?? 50_000;
    this.maxEvents = opts.maxEvents ?? Number.POSITIVE_INFINITY;
  }

  async withStateAsOf<T>(
    req: HistoricalStateRequest,
    fn: (state: HistoricalState) => Promise<T>,
  ): Promise<HistoricalOutcome<T>> {
    const projections = req.projections.map((name) => {
      const p = findProjection(name);
      if (!p) throw new Error(`historical state: no projection "${name}"`);
      return p;
    });
    const types = [...new Set(projections.flatMap((p) => p.handles))];
    const where = sql`workspace_id = ${req.workspaceId} AND ${streamCondition(req.streams)}
      AND recorded_at <= ${req.asOf} AND type = ANY(${types}::text[])`;
    return this.db.connection().execute(async (conn) => {
      // A stable view of the log for the count, the replay and the reads; always rolled back.
      await sql`BEGIN ISOLATION LEVEL REPEATABLE READ`.execute(conn);
      try {
        return await this.inTransaction(conn as Transaction<DB>, req, where, projections, fn);
      } finally {
        await sql`ROLLBACK`.execute(conn);
      }
    });
  }

  private async inTransaction<T>(
    trx: Transaction<DB>,
    req: HistoricalStateRequest,
    where: ReturnType<typeof sql>,
    projections: readonly Projection[],
    fn: (state: HistoricalState) => Promise<T>,
  ): Promise<HistoricalOutcome<T>> {
    const tables = [...new Set(projections.flatMap((p) => p.tables as readonly string[]))];
    // The key names exactly the events replayed: positions alone could collide (a late commit
    // with a lower position than an already visible one).
    const head = await sql<{ n: string; last: string | null; digest: string | null }>`
      SELECT count(*) AS n, max(global_position) AS last,
             md5(string_agg(event_id::text, ',' ORDER BY transaction_id, global_position)) AS digest
      FROM events WHERE ${where}`.execute(trx);
    const count = Number(head.rows[0]?.n ?? 0);
    const last = head.rows[0]?.last == null ? null : Number(head.rows[0].last);
    const limit = Math.min(req.maxEvents, this.maxEvents);
    if (count > limit) return { kind: 'too-many', events: count, limit };
    await this.shadow(trx, tables);
    const digest = head.rows[0]?.digest ?? '';
    const key = JSON.stringify([req.workspaceId, [...req.projections].sort(), req.streams, digest]);
    const cached = this.cache.get(key);
    if (cached) {
      this.stats.cacheHits += 1;
      for (const [table, json] of cached.tables) await restore(trx, table, json);
    } else {
      this.stats.replays += 1;
      await this.replay(trx, where, projections);
      const snapshot = new Map<string, string>();
      let total = 0;
      for (const table of tables) {
        const { rows } = await sql<{ n: string; json: string }>`
          SELECT count(*) AS n, coalesce(jsonb_agg(to_jsonb(t)), '[]'::jsonb)::text AS json
          FROM pg_temp.${sql.id(table)} t`.execute(trx);
        snapshot.set(table, rows[0]?.json ?? '[]');
        total += Number(rows[0]?.n ?? 0);
      }
      if (total <= this.maxCachedRows)
        this.cache.set(key, { tables: snapshot, events: count, position: last });
    }
    const value = await fn({ db: trx, events: count, position: last });
    return { kind: 'ok', value };
  }

  private async shadow(trx: Transaction<DB>, tables: readonly string[]): Promise<void> {
    for (const table of tables) {
      // INCLUDING ALL: defaults, identities, indexes (the projections' ON CONFLICT targets).
      await sql`CREATE TEMP TABLE ${sql.id(table)} (LIKE public.${sql.id(table)} INCLUDING ALL)
        ON COMMIT DROP`.execute(trx);
    }
  }

  private async replay(
    trx: Transaction<DB>,
    where: ReturnType<typeof sql>,
    projections: readonly Projection[],
  ): Promise<void> {
    const { rows } = await sql<Parameters<typeof toEnvelope>[0]>`
      SELECT global_position, transaction_id::text AS transaction_id, event_id, workspace_id,
             stream_id, stream_position, type, schema_version, data, actor, correlation_id,
             causation_id, occurred_at, recorded_at
      FROM events WHERE ${where}
      -- The xid8 column itself: the selected alias is its text form ('1000' < '999').
      ORDER BY events.transaction_id, events.global_position`.execute(trx);
    const envelopes = await revealPersonalData(trx, rows.map(toEnvelope));
    const decoded: CairnEvent[] = envelopes.map((e) => decodeEvent(e));
    for (const projection of projections) {
      const mine = decoded.filter((e) => projection.handles.includes(e.type));
      if (mine.length > 0) await projection.apply(trx, mine);
    }
  }
}

/** Re-inserts a cached table's rows (generated columns are computed again, not inserted). */
async function restore(trx: Transaction<DB>, table: string, json: string): Promise<void> {
  const { rows } = await sql<{ attname: string }>`
    SELECT attname FROM pg_attribute
    WHERE attrelid = ${`pg_temp.${table}`}::regclass AND attnum > 0 AND NOT attisdropped
      AND attgenerated = ''
    ORDER BY attnum`.execute(trx);
  const columns = sql.join(rows.map((r) => sql.id(r.attname)));
  await sql`INSERT INTO pg_temp.${sql.id(table)} (${columns}) OVERRIDING SYSTEM VALUE
    SELECT ${columns} FROM jsonb_populate_recordset(NULL::pg_temp.${sql.id(table)}, ${json}::jsonb)`.execute(
    trx,
  );
}
