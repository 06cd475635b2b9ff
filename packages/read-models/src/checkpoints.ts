import { sql, type Kysely, type Transaction } from 'kysely';
import type { DB, LogPosition } from '@cairn/db';

/** What names a projection's checkpoint: its name and version (a version bump is a rebuild). */
export interface ProjectionIdentity {
  readonly name: string;
  readonly version: number;
}

/** The `log_checkpoints` reader of a projection's log tailer: `projection:<name>.v<version>`. */
export function checkpointName(projection: ProjectionIdentity): string {
  return `projection:${projection.name}.v${projection.version}`;
}

/** Advances a log checkpoint; never moves it back (a rebuild may have moved it further). */
export async function advanceCheckpoint(
  trx: Transaction<DB> | Kysely<DB>,
  reader: string,
  position: LogPosition,
): Promise<void> {
  await sql`
    INSERT INTO log_checkpoints (reader, transaction_id, global_position)
    VALUES (${reader}, ${position.transactionId}::xid8, ${position.globalPosition})
    ON CONFLICT (reader) DO UPDATE
      SET transaction_id = excluded.transaction_id, global_position = excluded.global_position, updated_at = now()
      WHERE (log_checkpoints.transaction_id, log_checkpoints.global_position)
          < (excluded.transaction_id, excluded.global_position)`.execute(trx);
}
