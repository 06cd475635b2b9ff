import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, randomWorkspaceId, type TestDatabase } from '../src/index.ts';

async function query<R extends pg.QueryResultRow>(
  url: string,
  text: string,
  values: unknown[] = [],
): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

describe('test databases cloned from the migrated template', () => {
  let a: TestDatabase;
  let b: TestDatabase;

  beforeAll(async () => {
    [a, b] = await Promise.all([createTestDatabase(), createTestDatabase()]);
  });

  afterAll(async () => {
    await Promise.all([a.drop(), b.drop()]);
  });

  it('gives each caller its own database', () => {
    expect(a.name).toMatch(/^cairn_test_[0-9a-f]{16}$/);
    expect(a.name).not.toBe(b.name);
    expect(new URL(a.url).pathname).toBe(`/${a.name}`);
  });

  it('has the migrated schema (event store and migration bookkeeping)', async () => {
    const tables = await query<{ table_name: string }>(
      a.url,
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
    );
    const names = tables.map((t) => t.table_name);
    expect(names).toContain('events');
    expect(names).toContain('cairn_migrations');
    const applied = await query<{ name: string }>(
      a.url,
      'SELECT name FROM cairn_migrations ORDER BY name',
    );
    expect(applied.length).toBeGreaterThan(0);
    expect(applied.map((m) => m.name)).toEqual(
      (await query<{ name: string }>(b.url, 'SELECT name FROM cairn_migrations ORDER BY name')).map(
        (m) => m.name,
      ),
    );
  });

  it('keeps databases independent', async () => {
    await query(a.url, 'CREATE TABLE only_in_a (id int PRIMARY KEY)');
    await query(a.url, 'INSERT INTO only_in_a VALUES (1), (2)');
    expect(await query<{ n: string }>(a.url, 'SELECT count(*) AS n FROM only_in_a')).toEqual([
      { n: '2' },
    ]);
    await expect(query(b.url, 'SELECT count(*) FROM only_in_a')).rejects.toMatchObject({
      code: '42P01',
    });
  });

  it('never changes the template', async () => {
    const template = inject('pgTemplateDatabase');
    const c = await createTestDatabase();
    try {
      const tables = await query<{ table_name: string }>(
        c.url,
        `SELECT table_name FROM information_schema.tables WHERE table_name = 'only_in_a'`,
      );
      expect(tables).toEqual([]);
      const [row] = await query<{ datistemplate: boolean; datallowconn: boolean }>(
        inject('pgAdminUrl'),
        'SELECT datistemplate, datallowconn FROM pg_database WHERE datname = $1',
        [template],
      );
      expect(row).toEqual({ datistemplate: true, datallowconn: false });
    } finally {
      await c.drop();
    }
  });

  it('clones concurrently from the same template', async () => {
    const many = await Promise.all(Array.from({ length: 6 }, () => createTestDatabase()));
    try {
      expect(new Set(many.map((d) => d.name)).size).toBe(6);
      for (const d of many)
        expect(await query<{ one: number }>(d.url, 'SELECT 1 AS one FROM events LIMIT 0')).toEqual(
          [],
        );
    } finally {
      await Promise.all(many.map((d) => d.drop()));
    }
  });

  it('drops a database even with open connections', async () => {
    const d = await createTestDatabase();
    const client = new pg.Client({ connectionString: d.url });
    client.on('error', () => undefined); // the forced drop terminates this session
    await client.connect();
    await d.drop();
    const left = await query(inject('pgAdminUrl'), 'SELECT 1 FROM pg_database WHERE datname = $1', [
      d.name,
    ]);
    expect(left).toEqual([]);
    await client.end().catch(() => undefined);
  });

  it('runs the throwaway test cluster with fsync off but synchronous commit on', async () => {
    const [s] = await query<{ fsync: string; sc: string; mc: string }>(
      a.url,
      `SELECT current_setting('fsync') AS fsync, current_setting('synchronous_commit') AS sc, current_setting('max_connections') AS mc`,
    );
    expect(s).toEqual({ fsync: 'off', sc: 'on', mc: '200' });
  });
});

describe('randomWorkspaceId', () => {
  it('is a fresh ws_ id on every call', () => {
    const ids = Array.from({ length: 100 }, () => randomWorkspaceId());
    for (const id of ids) expect(id).toMatch(/^ws_[0-9a-f]{16}$/);
    expect(new Set(ids).size).toBe(100);
  });
});
