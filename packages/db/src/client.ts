import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { DB } from './types.ts';

/**
 * Number types, decided once (STYLE.md): int8 → number (every int8 we store — positions, steps,
 * millisecond times — stays below 2^53), numeric → number, float8 → number including NaN and
 * ±Infinity (pg parses those), xid8 → decimal string (compared as BigInt).
 */
type TypeId = Parameters<typeof pg.types.getTypeParser>[0];

function typeParsers(): pg.CustomTypesConfig {
  const types = pg.types;
  return {
    getTypeParser: ((oid: TypeId, format?: 'text' | 'binary'): unknown => {
      if (oid === types.builtins.INT8) return (v: string) => Number(v);
      if (oid === types.builtins.NUMERIC) return (v: string) => Number(v);
      return types.getTypeParser(oid, format);
    }) as pg.CustomTypesConfig['getTypeParser'],
  };
}

export interface DbHandle {
  db: Kysely<DB>;
  pool: pg.Pool;
  /** A plain function (not a method): safe to destructure, `const { db, destroy } = createDb(…)`. */
  destroy: () => Promise<void>;
}

export interface CreateDbOptions {
  maxConnections?: number;
  applicationName?: string;
  /** Called with the SQL of every query kysely runs (tests count round trips with it). */
  onQuery?: (sql: string) => void;
}

export function createPool(connectionString: string, opts: CreateDbOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max: opts.maxConnections ?? 10,
    application_name: opts.applicationName ?? 'cairn',
    types: typeParsers(),
  });
  // An idle client losing its connection (server restart) must not crash the process.
  pool.on('error', () => undefined);
  return pool;
}

export function createDb(connectionString: string, opts: CreateDbOptions = {}): DbHandle {
  const pool = createPool(connectionString, opts);
  const { onQuery } = opts;
  const db = new Kysely<DB>({
    dialect: new PostgresDialect({ pool }),
    log: onQuery
      ? (event) => {
          if (event.level === 'query') onQuery(event.query.sql);
        }
      : undefined,
  });
  return { db, pool, destroy: () => db.destroy() };
}
