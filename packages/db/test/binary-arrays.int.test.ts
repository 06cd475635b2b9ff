import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@cairn/testing';
import {
  createDb,
  float8Array,
  int2Array,
  int4Array,
  int8Array,
  type DbHandle,
} from '../src/index.ts';

let testDb: TestDatabase;
let handle: DbHandle;

beforeAll(async () => {
  testDb = await createTestDatabase();
  handle = createDb(testDb.url, { maxConnections: 2, applicationName: 'binary-arrays-test' });
});

afterAll(async () => {
  await handle?.destroy();
  await testDb?.drop();
});

describe('binary array parameters', () => {
  it('arrive in PostgreSQL as the same numbers, edge values included', async () => {
    const int8s = [
      0,
      1,
      -1,
      2 ** 32,
      -(2 ** 32),
      2 ** 32 - 1,
      Number.MAX_SAFE_INTEGER,
      Number.MIN_SAFE_INTEGER,
      1732612660000,
    ];
    const floats = [
      0,
      -0,
      0.1,
      -2.5,
      1e-300,
      1.7976931348623157e308,
      Number.NaN,
      Infinity,
      -Infinity,
    ];
    const int4s = [0, -1, 2 ** 31 - 1, -(2 ** 31)];
    const int2s = [0, -1, 32767, -32768];
    const { rows } = await sql<{
      a: string[];
      b: string[];
      c: number[];
      d: number[];
      e: string;
      n: number;
    }>`
      SELECT ${int8Array(int8s)}::int8[]::text[] AS a,
             ${float8Array(floats)}::float8[]::text[] AS b,
             ${int4Array(int4s)}::int4[] AS c,
             ${int2Array(int2s)}::int2[] AS d,
             array_length(${int8Array([])}::int8[], 1)::text AS e,
             cardinality(${float8Array([])}::float8[]) AS n`.execute(handle.db);
    const row = rows[0]!;
    expect(row.a.map(Number)).toEqual(int8s);
    expect(row.b).toEqual([
      '0',
      '-0',
      '0.1',
      '-2.5',
      '1e-300',
      '1.7976931348623157e+308',
      'NaN',
      'Infinity',
      '-Infinity',
    ]);
    expect(row.c).toEqual(int4s);
    expect(row.d).toEqual(int2s);
    expect(row.e).toBeNull();
    expect(row.n).toBe(0);
  });

  it('refuses values the element type cannot hold, before anything is sent', () => {
    expect(() => int8Array([1.5])).toThrow(RangeError);
    expect(() => int8Array([2 ** 53])).toThrow(RangeError);
    expect(() => int4Array([2 ** 31])).toThrow(RangeError);
    expect(() => int2Array([40000])).toThrow(RangeError);
  });
});
