import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import * as m0001 from './migrations/2026-11-26T0001-event-store.ts';
import * as m0002 from './migrations/2026-11-26T0002-tracking-read-models.ts';
import * as m0003 from './migrations/2026-11-26T0003-run-search-indexes.ts';
import * as m0004 from './migrations/2026-11-26T0004-stream-state-index.ts';
import * as m0005 from './migrations/2026-11-26T0005-run-artifacts.ts';
import * as m0006 from './migrations/2026-11-26T0006-model-registry.ts';
import * as m0007 from './migrations/2026-11-26T0007-webhooks.ts';
import * as m0008 from './migrations/2026-11-26T0008-metric-rollups.ts';
import * as m0009 from './migrations/2026-11-26T0009-run-search-experiment.ts';
import * as m0010 from './migrations/2026-11-26T0010-ingest-uncompressed.ts';
import * as m0011 from './migrations/2026-12-06T0011-tracing.ts';
import * as m0014 from './migrations/2026-12-06T0014-prompts.ts';
import * as m0015 from './migrations/2026-12-06T0015-trace-storage.ts';
import * as m0016 from './migrations/2026-12-07T0016-evaluation.ts';
import * as m0017 from './migrations/2026-12-07T0017-evaluation-rules.ts';
import * as m0019 from './migrations/2026-12-07T0019-users.ts';
import * as m0020 from './migrations/2026-12-07T0020-annotation-queues.ts';
import * as m0021 from './migrations/2026-12-07T0021-webhook-delivery-retention.ts';
import * as m0022 from './migrations/2026-12-07T0022-auth.ts';
import * as m0023 from './migrations/2026-12-07T0023-deployments.ts';
import * as m0024 from './migrations/2026-12-07T0024-audit-chain.ts';
import * as m0025 from './migrations/2026-12-07T0025-service-accounts.ts';
import * as m0029 from './migrations/2026-12-07T0029-consumer-checkpoints.ts';
import * as m0028 from './migrations/2026-12-07T0028-lineage.ts';
import * as m0026 from './migrations/2026-12-07T0026-subject-keys.ts';
import * as m0030 from './migrations/2026-12-07T0030-retention.ts';

/** Migrations are listed statically so that they work the same from source and from a bundle. */
const migrations: Record<string, Migration> = {
  '2026-11-26T0001-event-store': m0001,
  '2026-11-26T0002-tracking-read-models': m0002,
  '2026-11-26T0003-run-search-indexes': m0003,
  '2026-11-26T0004-stream-state-index': m0004,
  '2026-11-26T0005-run-artifacts': m0005,
  '2026-11-26T0006-model-registry': m0006,
  '2026-11-26T0007-webhooks': m0007,
  '2026-11-26T0008-metric-rollups': m0008,
  '2026-11-26T0009-run-search-experiment': m0009,
  '2026-11-26T0010-ingest-uncompressed': m0010,
  '2026-12-06T0011-tracing': m0011,
  '2026-12-06T0014-prompts': m0014,
  '2026-12-06T0015-trace-storage': m0015,
  '2026-12-07T0016-evaluation': m0016,
  '2026-12-07T0017-evaluation-rules': m0017,
  '2026-12-07T0019-users': m0019,
  '2026-12-07T0020-annotation-queues': m0020,
  '2026-12-07T0021-webhook-delivery-retention': m0021,
  '2026-12-07T0022-auth': m0022,
  '2026-12-07T0023-deployments': m0023,
  '2026-12-07T0024-audit-chain': m0024,
  '2026-12-07T0025-service-accounts': m0025,
  '2026-12-07T0029-consumer-checkpoints': m0029,
  '2026-12-07T0028-lineage': m0028,
  '2026-12-07T0026-subject-keys': m0026,
  '2026-12-07T0030-retention': m0030,
};

const provider: MigrationProvider = { getMigrations: () => Promise.resolve(migrations) };

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider,
    migrationTableName: 'cairn_migrations',
    migrationLockTableName: 'cairn_migrations_lock',
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`Migration ${failed} failed: ${describeError(error)}`, {
      cause: error,
    });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
