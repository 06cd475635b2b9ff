/**
 * Vitest global setup for the `int` and `e2e` projects (see the root vitest.config.ts):
 * one real PostgreSQL per test run in a fresh temp dir, a template database migrated once,
 * connection info handed to workers via `provide` (read it with `createTestDatabase()`).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { createDb, migrateToLatest } from '@cairn/db';
import { startEmbeddedPostgres } from '@cairn/embedded-pg';
import { TEMPLATE_DATABASE } from './postgres-context.ts';

interface SharedPostgres {
  refs: number;
  ready: Promise<{ adminUrl: string; stop: () => Promise<void> }>;
}

/**
 * Each vitest project runs its global setup separately, in its own module instance but in the
 * same process: share one server between `int` and `e2e` through a process-wide slot, counted.
 */
const SLOT = Symbol.for('cairn.testing.postgres');
type Slot = { [SLOT]?: SharedPostgres };

async function startTestPostgres(): Promise<{ adminUrl: string; stop: () => Promise<void> }> {
  // mkdtemp makes a 0700 root-owned dir; startEmbeddedPostgres hands it to the `postgres` OS user
  // when we are root (it is the dataDir itself; /tmp above it is world-searchable).
  const dir = await mkdtemp(join(tmpdir(), 'cairn-test-pg-'));
  const verbose = process.env.CAIRN_TEST_PG_LOG === '1';
  try {
    const server = await startEmbeddedPostgres({
      dataDir: dir,
      ...(verbose ? { log: (line: string) => console.error(line) } : {}),
      // A throwaway cluster: skip flushing to disk (safe against process crashes, not OS crashes).
      // synchronous_commit stays on, so a test that kills processes sees production semantics.
      settings: { fsync: 'off', full_page_writes: 'off' },
    });
    try {
      await server.ensureDatabase(TEMPLATE_DATABASE);
      const { db, destroy } = createDb(server.connectionString(TEMPLATE_DATABASE), {
        applicationName: 'cairn-test-setup',
      });
      try {
        await migrateToLatest(db);
      } finally {
        await destroy();
      }
      const admin = new pg.Client({ connectionString: server.connectionString() });
      await admin.connect();
      try {
        // No session may stay in the template: CREATE DATABASE … TEMPLATE would fail with 55006.
        await admin.query(
          `ALTER DATABASE ${TEMPLATE_DATABASE} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`,
        );
      } finally {
        await admin.end();
      }
    } catch (err) {
      await server.stop();
      throw err;
    }
    return {
      adminUrl: server.connectionString(),
      stop: async () => {
        await server.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const slot = globalThis as Slot;
  let shared = slot[SLOT];
  if (!shared) {
    shared = { refs: 0, ready: startTestPostgres() };
    slot[SLOT] = shared;
    // A failed start must not be reused by the next project's setup.
    shared.ready.catch(() => {
      if (slot[SLOT] === shared) delete slot[SLOT];
    });
  }
  shared.refs += 1;
  const { adminUrl } = await shared.ready;
  project.provide('pgAdminUrl', adminUrl);
  project.provide('pgTemplateDatabase', TEMPLATE_DATABASE);
  const mine = shared;
  return async () => {
    mine.refs -= 1;
    if (mine.refs > 0) return;
    if (slot[SLOT] === mine) delete slot[SLOT];
    const { stop } = await mine.ready;
    await stop();
  };
}
