import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { inject } from 'vitest';
import './postgres-context.ts';

export interface TestDatabase {
  /** Connection string of the fresh database. */
  url: string;
  name: string;
  /** Drops the database, closing connections still open to it. A plain function: safe to pass around. */
  drop: () => Promise<void>;
}

function escapeIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function databaseUrl(adminUrl: string, database: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

async function withAdmin<T>(adminUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * A fresh database cloned from the migrated template (`CREATE DATABASE … TEMPLATE`), for one test
 * file: call it in `beforeAll`, `drop()` in `afterAll`. Needs the `int`/`e2e` vitest project
 * (the Postgres global setup).
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = inject('pgAdminUrl');
  const template = inject('pgTemplateDatabase');
  if (!adminUrl || !template) {
    throw new Error(
      'No test Postgres: run this file in the "int" or "e2e" vitest project (*.int.test.ts / *.e2e.test.ts).',
    );
  }
  const name = `cairn_test_${randomBytes(8).toString('hex')}`;
  await withAdmin(adminUrl, async (client) => {
    // The clone fails while another session is connected to the template (SQLSTATE 55006).
    // Nothing should connect to it (the setup sets ALLOW_CONNECTIONS false), but retry anyway.
    for (let attempt = 1; ; attempt++) {
      try {
        await client.query(
          `CREATE DATABASE ${escapeIdentifier(name)} TEMPLATE ${escapeIdentifier(template)}`,
        );
        return;
      } catch (err) {
        if ((err as { code?: string }).code !== '55006' || attempt >= 50) throw err;
        await sleep(Math.min(20 * attempt, 200));
      }
    }
  });
  return {
    url: databaseUrl(adminUrl, name),
    name,
    drop: () =>
      withAdmin(adminUrl, async (client) => {
        await client.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(name)} WITH (FORCE)`);
      }),
  };
}

/** A workspace id unique to the calling test (`ws_` + 16 hex): isolate by tenant, never reset globally. */
export function randomWorkspaceId(): string {
  return `ws_${randomBytes(8).toString('hex')}`;
}
