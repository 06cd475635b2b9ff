/**
 * A key revoked while no projector runs (the projector of a `cairn keys revoke` that timed out,
 * or a server killed between the append and its projection) is refused by the next server from
 * its first request: startCairnApp lets the access projections apply the whole log before it
 * listens. Real Postgres; the revocation is committed to the log but deliberately not projected.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb } from '@cairn/db';
import { uuidv7 } from '@cairn/events';
import { createTestDatabase, randomWorkspaceId } from '@cairn/testing';
import { ChangeListener, type ServiceDeps } from '../../src/index.ts';
import { createApiKey, revokeApiKey } from '../../src/auth/access.commands.ts';
import { startApiHarness, type ApiHarness } from '../helpers/api-harness.ts';

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let server: ApiHarness | null = null;
const ws = randomWorkspaceId();
const caller = {
  workspaceId: ws,
  metadata: { actor: 'test', correlationId: 'c', causationId: null },
};

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await server?.stop();
  await database?.drop();
});

describe('access projections at start-up', () => {
  it('a revocation committed but not projected is in force from the first request', async () => {
    // Writes with nobody projecting them: the append commits, the read model stays behind.
    const handle = createDb(database.url, { maxConnections: 4, applicationName: 'no-projector' });
    const changes = new ChangeListener(database.url, handle.db);
    await changes.start();
    const deps: ServiceDeps = {
      db: handle.db,
      changes,
      decideContext: { now: () => new Date(), newId: uuidv7 },
      onAppended: () => undefined,
      readYourWritesTimeoutMs: 0,
    };
    let revoked: string;
    try {
      const keys = [];
      // Enough keys that catching up takes the projector longer than one request.
      for (let i = 0; i < 200; i++)
        keys.push(await createApiKey(deps, caller, { name: `k${i}`, role: 'viewer' }, null));
      const kept = keys[0]!;
      const gone = keys.at(-1)!;
      await revokeApiKey(deps, caller, gone.keyId);
      revoked = gone.secret;
      const rows = await handle.db.selectFrom('api_keys').select('key_id').execute();
      expect(rows).toHaveLength(0);

      server = await startApiHarness({ databaseUrl: database.url, auth: { mode: 'required' } });
      const first = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${revoked}` },
        body: JSON.stringify({ query: '{ me { kind } }' }),
      });
      expect(first.status).toBe(401);
      const ok = await server.gql<{ me: { kind: string } }>(
        '{ me { kind } }',
        {},
        {
          authorization: `Bearer ${kept.secret}`,
        },
      );
      expect(ok.data?.me.kind).toBe('API_KEY');
    } finally {
      await changes.stop();
      await handle.destroy();
    }
  }, 60_000);
});
