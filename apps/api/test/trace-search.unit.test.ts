import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
} from 'kysely';
import { describe, expect, it } from 'vitest';
import type { DB } from '@cairn/db';
import { CairnError } from '../src/errors.ts';
import {
  compileTraceFilter,
  decodeTraceCursor,
  encodeTraceCursor,
  parseTraceFilter,
  parseTraceOrderBy,
  type TraceFilter,
} from '../src/tracing/trace-search.ts';

const db = new Kysely<DB>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (k) => new PostgresIntrospector(k),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});

function compiled(filter: string): { sql: string; parameters: readonly unknown[] } {
  const expr = parseTraceFilter(filter);
  if (expr === null) throw new Error('empty filter');
  return compileTraceFilter(expr, 'ws1').compile(db);
}

function failure(filter: string): { message: string; position: unknown } {
  try {
    parseTraceFilter(filter);
  } catch (error) {
    if (!(error instanceof CairnError)) throw error;
    expect(error.code).toBe('INVALID_ARGUMENT');
    return { message: error.message, position: error.details.position };
  }
  throw new Error(`no error for ${filter}`);
}

function show(expr: TraceFilter | null): string {
  if (expr === null) return '∅';
  switch (expr.type) {
    case 'and':
      return `[${expr.operands.map(show).join(' & ')}]`;
    case 'or':
      return `[${expr.operands.map(show).join(' | ')}]`;
    case 'not':
      return `!${show(expr.operand)}`;
    default: {
      const t = expr.target;
      return t.kind === 'field' || t.kind === 'span' ? `${t.kind}:${t.name}` : `${t.kind}:${t.key}`;
    }
  }
}

describe('trace filter parser', () => {
  it('reads the trace vocabulary with AND before OR, NOT and parentheses', () => {
    expect(
      show(
        parseTraceFilter(
          "name = 'chat' AND tags.team = 'a' OR NOT (metadata.`my key` = 'x' AND span.model LIKE 'gpt%') OR attributes.gen_ai.request.model = 'gpt-4o'",
        ),
      ),
    ).toBe(
      '[[field:name & tag:team] | ![metadata:my key & span:model] | attribute:gen_ai.request.model]',
    );
    expect(parseTraceFilter('  ')).toBeNull();
  });

  it('normalises status and span type values and refuses unknown ones', () => {
    expect(parseTraceFilter("status = 'error'")).toMatchObject({ value: 'ERROR' });
    expect(parseTraceFilter("span.type IN ('llm', 'Tool')")).toMatchObject({
      values: ['LLM', 'TOOL'],
    });
    expect(failure("status = 'broken'").message).toMatch(/unknown status 'broken'/);
    expect(failure("span.type = 'NOPE'").position).toBe(12);
  });

  it('names the position and the identifier of mistakes', () => {
    const typo = failure("nmae = 'x'");
    expect(typo.message).toMatch(/^Invalid filter at position 0: unknown identifier "nmae"/);
    expect(typo.position).toBe(0);
    expect(failure("span.color = 'red'").position).toBe(5);
    const numeric = failure("name = 'x' AND duration_ms > 'slow'");
    expect(numeric.message).toMatch(/duration_ms is numeric: expected a number/);
    expect(numeric.position).toBe(29);
    expect(failure('name LIKE 3').message).toMatch(/LIKE takes a quoted pattern/);
    expect(failure("cost LIKE '1%'").message).toMatch(/LIKE does not apply to cost/);
    expect(failure("attributes.x > 'a'").message).toMatch(/> compares numbers/);
    expect(failure("(name = 'x'").message).toMatch(/to close the "\(" at position 0/);
    expect(failure("foo.bar = 'x'").message).toMatch(/unknown identifier "foo.bar"/);
  });

  it('range-checks numbers against their columns', () => {
    expect(failure('span_count > 3000000000').message).toMatch(/within ±2147483647/);
    expect(failure('timestamp_ms > 1.5').message).toMatch(/integer/);
    expect(failure('total_tokens > 1e300').message).toMatch(/integer within ±\(2\^53-1\)/);
    expect(failure('attributes.x = 1e400').message).toMatch(/out of range/);
    expect(failure('cost > 1e999').message).toMatch(/out of range/);
    expect(parseTraceFilter('cost > 0.25')).toMatchObject({ op: '>', value: 0.25 });
  });
});

describe('trace filter compiler', () => {
  it('binds every value and names only known columns', () => {
    const { sql, parameters } = compiled(
      "name = 'x''; DROP TABLE traces; --' AND user IN ('a', 'b') AND cost >= 0.5",
    );
    expect(sql).toBe(
      '(("t"."name" = $1) AND (("t"."user_id" IS NOT NULL AND "t"."user_id" IN ($2, $3))) AND (("t"."cost_usd" IS NOT NULL AND "t"."cost_usd" >= $4)))',
    );
    expect(parameters).toEqual(["x'; DROP TABLE traces; --", 'a', 'b', 0.5]);
  });

  it('compiles attributes.<key> = value as a jsonb containment (GIN-served), strings and numbers apart', () => {
    const eq = compiled("attributes.`gen_ai.system` = 'openai'");
    expect(eq.sql).toBe(
      '(t.trace_id = ANY (ARRAY(SELECT DISTINCT s.trace_id FROM trace_spans s WHERE s.workspace_id = $1 AND s.attributes @> CAST($2 AS jsonb))))',
    );
    expect(eq.parameters).toEqual(['ws1', '{"gen_ai.system":"openai"}']);
    expect(compiled('attributes.retries = 3').parameters).toEqual(['ws1', '{"retries":3}']);
    const gt = compiled('attributes.temperature > 0.5');
    expect(gt.sql).toContain(
      "(CASE WHEN jsonb_typeof(s.attributes -> $2) = 'number' THEN (s.attributes ->> $3)::numeric END) > CAST($4 AS numeric)",
    );
    expect(gt.parameters).toEqual(['ws1', 'temperature', 'temperature', '0.5']);
    const like = compiled("attributes.route LIKE '/api/%'");
    expect(like.sql).toContain("jsonb_typeof(s.attributes -> $2) = 'string'");
    expect(like.sql).toContain('LIKE $4');
    const inList = compiled("attributes.env IN ('a', 'b')");
    expect(inList.sql).toContain(
      '(s.attributes @> CAST($2 AS jsonb) OR s.attributes @> CAST($3 AS jsonb))',
    );
  });

  it('compiles tags and metadata against the effective views, and IS NULL as absence', () => {
    const tag = compiled("tags.team = 'nlp'");
    expect(tag.sql).toBe(
      '(EXISTS (SELECT 1 FROM "trace_tags_effective" e WHERE e.workspace_id = $1 AND e.trace_id = t.trace_id AND e.key = $2 AND "e"."value" = $3))',
    );
    expect(tag.parameters).toEqual(['ws1', 'team', 'nlp']);
    expect(compiled('metadata.k IS NULL').sql).toMatch(
      /^\(NOT EXISTS \(SELECT 1 FROM "trace_metadata_effective"/,
    );
    expect(compiled('attributes.k IS NOT NULL').sql).toContain('(s.attributes -> $2) IS NOT NULL');
  });

  it('compares times as index-friendly ranges of the millisecond', () => {
    const eq = compiled('timestamp_ms = 1700000000123');
    expect(eq.sql).toBe(
      `(("t"."start_time" >= (timestamptz 'epoch' + CAST($1 AS bigint) * interval '1 millisecond') AND "t"."start_time" < (timestamptz 'epoch' + CAST($2 AS bigint) * interval '1 millisecond')))`,
    );
    expect(eq.parameters).toEqual([1700000000123, 1700000000124]);
    expect(compiled('end_time_ms <= 5').parameters).toEqual([6]);
    expect(compiled("span.name != 'x'").sql).toContain('"s"."name" <> $2');
  });
});

describe('trace order and cursors', () => {
  it('orders newest first by default with trace id as the last tie-breaker', () => {
    const order = parseTraceOrderBy(null);
    expect(order.signature).toBe('');
    expect(order.columns.map((c) => c.direction)).toEqual(['desc', 'desc']);
    expect(parseTraceOrderBy(['duration_ms DESC', 'name']).signature).toBe(
      'duration_ms desc, name asc',
    );
  });

  it('refuses unknown sort keys, duplicates and foreign cursors', () => {
    expect(() => parseTraceOrderBy(['latency'])).toThrow(/orderBy\[0\].*sort by timestamp_ms/);
    expect(() => parseTraceOrderBy(['cost', 'cost desc'])).toThrow(/cost is already sorted on/);
    const byCost = parseTraceOrderBy(['cost']);
    const cursor = encodeTraceCursor(byCost, [null, 1700000000000000, 'ab']);
    expect(decodeTraceCursor(cursor, byCost)).toEqual([null, 1700000000000000, 'ab']);
    expect(() => decodeTraceCursor(cursor, parseTraceOrderBy([]))).toThrow(
      /issued for a different orderBy/,
    );
    expect(() => decodeTraceCursor('garbage!', byCost)).toThrow(/Invalid cursor/);
    expect(() => decodeTraceCursor(encodeTraceCursor(byCost, ['x', 1, 'ab']), byCost)).toThrow(
      /not a cursor of this query/,
    );
  });
});
