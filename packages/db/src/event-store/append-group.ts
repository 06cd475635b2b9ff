import { sql, type Kysely } from 'kysely';
import type { DB } from '../types.ts';
import type { AppendRequest, AppendResult } from './append.ts';
import { mayHoldPersonalData } from './personal-data.ts';

/**
 * Group commit: appends of many requests to existing streams (`expectedVersion: 'exists'` or a
 * version), in one statement, one transaction and one WAL flush instead of one each. Every
 * request keeps its own check: a stream that is missing, not at the expected version, or refused
 * by the group's `unlessLatest` check, gets `null` (nothing of it written) while the others are
 * appended. The stream rows are locked in
 * (workspace, stream) order first, so two groups (of this or another API process) never
 * deadlock each other. Preconditions, checked: distinct streams, no unique keys, no personal
 * data, one `unlessLatest` for all. An error (an idempotency key seen before, ...) fails the
 * whole statement and writes nothing; the caller then appends the requests one by one.
 */
export async function appendToExistingStreams(
  db: Kysely<DB>,
  requests: readonly AppendRequest[],
): Promise<(AppendResult | null)[]> {
  if (requests.length === 0) return [];
  const guard = requests[0]!.unlessLatest;
  const seen = new Set<string>();
  for (const r of requests) {
    if (r.expectedVersion !== 'exists' && typeof r.expectedVersion !== 'number')
      throw new Error("grouped appends need 'exists' or a version");
    if (r.events.length === 0) throw new Error('a grouped append needs at least one event');
    if ((r.claimKeys?.length ?? 0) > 0 || (r.releaseKeys?.length ?? 0) > 0)
      throw new Error('grouped appends claim no unique keys');
    if (mayHoldPersonalData(r.events)) throw new Error('grouped appends hold no personal data');
    if (JSON.stringify(r.unlessLatest) !== JSON.stringify(guard))
      throw new Error('grouped appends share one unlessLatest');
    const k = `${r.workspaceId}\0${r.streamId}`;
    if (seen.has(k)) throw new Error(`stream ${r.streamId} twice in one group`);
    seen.add(k);
  }
  const req = sql.join(
    requests.map(
      (r, ord) =>
        sql`(${ord}::int, ${r.workspaceId}::text, ${r.streamId}::text, ${r.events.length}::int, ${typeof r.expectedVersion === 'number' ? r.expectedVersion : null}::int, ${r.metadata.actor}::text, ${r.metadata.correlationId}::text, ${r.metadata.causationId}::text, ${r.metadata.origin ? JSON.stringify(r.metadata.origin) : null}::jsonb)`,
    ),
  );
  const values = sql.join(
    requests.flatMap((r, ord) =>
      r.events.map(
        (e, i) =>
          sql`(${ord}::int, ${i + 1}::int, ${e.id}::uuid, ${e.type}::text, ${e.schemaVersion}::int, ${JSON.stringify(e.data)}::jsonb, ${e.occurredAt}::timestamptz)`,
      ),
    ),
  );
  // As in append.ts: equalities on constants, so that the partial index serves the look-up.
  const check = guard
    ? sql`AND COALESCE((
        SELECT e.type = ${guard.refused} FROM events e
        WHERE e.workspace_id = r.workspace_id AND e.stream_id = r.stream_id
          AND (${sql.join(
            guard.among.map((t) => sql`e.type = ${t}`),
            sql` OR `,
          )})
        ORDER BY e.stream_position DESC LIMIT 1), false) = false`
    : sql``;
  const { rows } = await sql<{
    workspace_id: string;
    stream_id: string;
    global_position: number;
    transaction_id: string;
    recorded_at: Date;
    stream_position: number;
  }>`
    WITH req (ord, workspace_id, stream_id, cnt, expected, actor, correlation_id, causation_id, origin) AS (
      VALUES ${req}
    ),
    locked AS (
      SELECT s.workspace_id, s.stream_id FROM streams s
      JOIN req r ON r.workspace_id = s.workspace_id AND r.stream_id = s.stream_id
      ORDER BY s.workspace_id, s.stream_id
      FOR UPDATE OF s
    ),
    bumped AS (
      UPDATE streams s SET version = s.version + r.cnt
      FROM req r, locked l
      WHERE l.workspace_id = r.workspace_id AND l.stream_id = r.stream_id
        AND s.workspace_id = r.workspace_id AND s.stream_id = r.stream_id
        AND (r.expected IS NULL OR s.version = r.expected) ${check}
      RETURNING r.ord, s.version
    )
    INSERT INTO events (event_id, workspace_id, stream_id, stream_position, type, schema_version,
                        data, actor, correlation_id, causation_id, occurred_at, origin)
    SELECT v.event_id, r.workspace_id, r.stream_id, b.version - r.cnt + v.idx, v.type,
           v.schema_version, v.data, r.actor, r.correlation_id, r.causation_id, v.occurred_at,
           r.origin
    FROM bumped b
    JOIN req r ON r.ord = b.ord
    JOIN (VALUES ${values}) AS v(ord, idx, event_id, type, schema_version, data, occurred_at)
      ON v.ord = b.ord
    -- Global positions are drawn in this order: each stream's events stay in its order.
    ORDER BY v.ord, v.idx
    RETURNING workspace_id, stream_id, global_position, transaction_id::text AS transaction_id,
              recorded_at, stream_position`.execute(db);
  const byStream = new Map<string, typeof rows>();
  for (const row of rows) {
    const k = `${row.workspace_id}\0${row.stream_id}`;
    const list = byStream.get(k) ?? [];
    list.push(row);
    byStream.set(k, list);
  }
  return requests.map((request) => {
    const mine = byStream.get(`${request.workspaceId}\0${request.streamId}`);
    if (!mine) return null;
    mine.sort((a, b) => a.stream_position - b.stream_position);
    return {
      version: mine.at(-1)!.stream_position,
      events: mine.map((row, i) => {
        const event = request.events[i]!;
        return {
          id: event.id,
          type: event.type,
          schemaVersion: event.schemaVersion,
          workspaceId: request.workspaceId,
          streamId: request.streamId,
          streamPosition: row.stream_position,
          globalPosition: row.global_position,
          transactionId: row.transaction_id,
          occurredAt: event.occurredAt,
          recordedAt: row.recorded_at.toISOString(),
          data: event.data,
          actor: request.metadata.actor,
          correlationId: request.metadata.correlationId,
          causationId: request.metadata.causationId,
        };
      }),
    };
  });
}
