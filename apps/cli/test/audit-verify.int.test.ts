/**
 * The hash chain over the log (issue 17): the sealer follows the log while many writers append
 * concurrently and seals every event exactly once; `cairn audit verify` passes on the clean log
 * (through the real binary), and names the first broken position, with its stream and type,
 * after one event's body or actor is changed in SQL, or an event is deleted; restoring the bytes
 * makes it pass again; `--from` starts after a break.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type DbHandle } from '@cairn/db';
import { newEntityId } from '@cairn/events';
import {
  AUDIT_CHAIN_READER,
  AuditSealer,
  auditChainLag,
  sealNextBatch,
  silentLogger,
  verifyAuditChain,
} from '@cairn/projector';
import {
  aMetadata,
  anExperimentCreated,
  anExperimentRenamed,
  appendEvents,
  createTestDatabase,
  randomWorkspaceId,
} from '@cairn/testing';
import { auditCommand } from '../src/audit.ts';

const repoRoot = path.resolve(import.meta.dirname, '../../..');
const cairnBin = path.join(repoRoot, 'apps/cli/bin/cairn.js');

let handle: DbHandle;
let url: string;
let dropDb: () => Promise<void>;

beforeAll(async () => {
  const database = await createTestDatabase();
  dropDb = database.drop;
  url = database.url;
  handle = createDb(url, { maxConnections: 12 });
});

afterAll(async () => {
  await handle?.destroy();
  await dropDb?.();
});

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await auditCommand(['audit', ...args, '--database-url', url], {
    log: (l) => (stdout += `${l}\n`),
    err: (l) => (stderr += `${l}\n`),
  });
  return { code, stdout, stderr };
}

async function sealAll(): Promise<void> {
  while ((await sealNextBatch(handle.db, 7)).events > 0);
}

const W1 = randomWorkspaceId();
const W2 = randomWorkspaceId();

describe('audit chain', () => {
  it('seals every event exactly once while many writers append concurrently', async () => {
    const sealer = new AuditSealer(handle.db, { logger: silentLogger, idleMs: 5, batchSize: 13 });
    sealer.start();
    await Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        for (let i = 0; i < 20; i++) {
          const experimentId = newEntityId();
          await appendEvents(
            handle.db,
            w % 2 ? W1 : W2,
            `experiment-${experimentId}`,
            'experiment',
            [
              anExperimentCreated({ experimentId }),
              anExperimentRenamed({ experimentId, name: `renamed-${w}-${i}` }),
            ],
            'no_stream',
            aMetadata({ actor: `user:writer-${w}` }),
          );
        }
      }),
    );
    for (let i = 0; i < 200 && (await auditChainLag(handle.db)) > 0; i++)
      await new Promise((r) => setTimeout(r, 20));
    await sealer.stop();
    expect(await auditChainLag(handle.db)).toBe(0);
    const counts = await sql<{ events: number; links: number; distinct_links: number }>`
      SELECT (SELECT count(*)::int8 FROM events) AS events,
             (SELECT count(*)::int8 FROM audit_chain) AS links,
             (SELECT count(DISTINCT global_position)::int8 FROM audit_chain) AS distinct_links`.execute(
      handle.db,
    );
    expect(counts.rows[0]).toEqual({ events: 320, links: 320, distinct_links: 320 });
    const heads = await handle.db
      .selectFrom('audit_chain_heads')
      .select(['workspace_id', 'seq'])
      .orderBy('workspace_id')
      .execute();
    expect(heads.map((h) => Number(h.seq))).toEqual([160, 160]);
  });

  it('`cairn audit verify` passes on the clean log, through the binary', async () => {
    const max = await sql<{
      max: number;
    }>`SELECT max(global_position)::int8 AS max FROM events`.execute(handle.db);
    const proc = spawn(process.execPath, [cairnBin, 'audit', 'verify', '--database-url', url], {
      cwd: repoRoot,
      env: { ...process.env, CAIRN_DATABASE_URL: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stdout += d.toString()));
    const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve));
    expect(stdout).toContain(`verified 320 events up to position ${max.rows[0]!.max}`);
    expect(code).toBe(0);
  }, 60_000);

  it('names the first changed event (body, then actor), passes once the bytes are back', async () => {
    // A later, unsealed append changes nothing: the chain is complete up to the sealed position.
    const experimentId = newEntityId();
    await appendEvents(handle.db, W1, `experiment-${experimentId}`, 'experiment', [
      anExperimentCreated({ experimentId }),
    ]);
    const target = await handle.db
      .selectFrom('events')
      .select(['global_position', 'stream_id', 'type', sql<string>`data::text`.as('data')])
      .where('workspace_id', '=', W1)
      .where('type', '=', 'ExperimentRenamed')
      .orderBy('global_position')
      .offset(10)
      .limit(1)
      .executeTakeFirstOrThrow();
    expect((await cli(['verify'])).code).toBe(0);

    await sql`UPDATE events SET data = jsonb_set(data, '{name}', '"renamed-by-someone-else"')
              WHERE global_position = ${target.global_position}`.execute(handle.db);
    const changed = await cli(['verify']);
    expect(changed.code).toBe(1);
    expect(changed.stdout).toContain(
      `BROKEN at position ${target.global_position} (workspace ${W1}, stream ${target.stream_id}, type ExperimentRenamed)`,
    );

    await sql`UPDATE events SET data = ${target.data}::jsonb WHERE global_position = ${target.global_position}`.execute(
      handle.db,
    );
    expect((await cli(['verify'])).code).toBe(0);

    // One character of the actor of an earlier event of the other workspace.
    const earlier = await handle.db
      .selectFrom('events')
      .select(['global_position', 'stream_id', 'type'])
      .where('workspace_id', '=', W2)
      .where('global_position', '<', target.global_position)
      .orderBy('global_position', 'desc')
      .limit(1)
      .executeTakeFirstOrThrow();
    await sql`UPDATE events SET actor = actor || ' ' WHERE global_position = ${earlier.global_position}`.execute(
      handle.db,
    );
    const actor = await cli(['verify']);
    expect(actor.code).toBe(1);
    expect(actor.stdout).toContain(
      `BROKEN at position ${earlier.global_position} (workspace ${W2}, stream ${earlier.stream_id}, type ${earlier.type})`,
    );
    await sql`UPDATE events SET actor = rtrim(actor) WHERE global_position = ${earlier.global_position}`.execute(
      handle.db,
    );
    expect((await cli(['verify'])).code).toBe(0);
  });

  it('names a deleted event; --from after it verifies the rest; progress is reported', async () => {
    await sealAll();
    const victim = await handle.db
      .selectFrom('events')
      .select(['global_position', 'stream_id', 'type'])
      .where('workspace_id', '=', W2)
      .orderBy('global_position')
      .offset(40)
      .limit(1)
      .executeTakeFirstOrThrow();
    await sql`DELETE FROM events WHERE global_position = ${victim.global_position}`.execute(
      handle.db,
    );
    const deleted = await cli(['verify']);
    expect(deleted.code).toBe(1);
    expect(deleted.stdout).toContain(
      `BROKEN at position ${victim.global_position} (workspace ${W2}, stream ${victim.stream_id}, type ${victim.type}): the sealed event is gone`,
    );
    const after = await cli(['verify', '--from', String(victim.global_position + 1)]);
    expect(after.code).toBe(0);
    expect(after.stdout).toMatch(/verified \d+ events up to position \d+/);

    const progress: number[] = [];
    const result = await verifyAuditChain(handle.db, {
      workspaceId: W1,
      progressEvery: 50,
      onProgress: (n) => progress.push(n),
    });
    expect(result.broken).toBeNull();
    expect(result.verified).toBe(161);
    expect(progress).toEqual([50, 100, 150]);
    const checkpoint = await handle.db
      .selectFrom('log_checkpoints')
      .select('global_position')
      .where('reader', '=', AUDIT_CHAIN_READER)
      .executeTakeFirstOrThrow();
    expect(result.sealedThrough.globalPosition).toBe(checkpoint.global_position);
    expect((await cli(['verify', '--from', 'x'])).code).toBe(2);
  });
});
