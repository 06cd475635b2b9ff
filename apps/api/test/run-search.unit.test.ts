import { describe, expect, it } from 'vitest';
import { CairnError } from '../src/errors.ts';
import type { FilterExpr, Predicate } from '../src/runs/search/run-search.ast.ts';
import { decodeRunCursor, encodeRunCursor } from '../src/runs/search/run-search.cursor.ts';
import {
  parseRunFilter,
  parseRunOrderBy,
  SEARCH_LIMITS,
} from '../src/runs/search/run-search.parser.ts';
import { compileOrder } from '../src/runs/search/run-search.sql.ts';

const parse = (text: string) => parseRunFilter(text);

/** The single predicate a filter parses to. */
function predicate(text: string): Predicate {
  const expr = parse(text);
  if (expr === null || expr.type === 'and' || expr.type === 'or' || expr.type === 'not') {
    throw new Error(`not a single predicate: ${text}`);
  }
  return expr;
}

/** A compact rendering of the tree: precedence becomes visible as brackets. */
function show(expr: FilterExpr | null): string {
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
      return t.kind === 'attribute' || t.kind === 'field' ? t.name : t.key;
    }
  }
}

function filterError(text: string): { position: number; message: string } {
  try {
    parse(text);
  } catch (err) {
    expect(err).toBeInstanceOf(CairnError);
    const e = err as CairnError;
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.details.argument).toBe('filter');
    const position = e.details.position as number;
    expect(e.message).toContain(`Invalid filter at position ${position}: `);
    return { position, message: e.message };
  }
  throw new Error(`expected "${text}" to be rejected`);
}

describe('parseRunFilter: shape', () => {
  it('returns null for absent and blank filters', () => {
    expect(parseRunFilter(null)).toBeNull();
    expect(parseRunFilter(undefined)).toBeNull();
    expect(parseRunFilter('')).toBeNull();
    expect(parseRunFilter('  \n\t ')).toBeNull();
  });

  it('parses a metric comparison with its position', () => {
    expect(parse('  metrics.loss < 0.5')).toEqual({
      type: 'compare',
      target: { kind: 'metric', key: 'loss' },
      op: '<',
      value: 0.5,
      position: 2,
    });
  });

  it('AND binds tighter than OR', () => {
    expect(show(parse('metrics.a < 1 OR metrics.b < 1 AND metrics.c < 1'))).toBe('[a | [b & c]]');
    expect(show(parse('metrics.a < 1 AND metrics.b < 1 OR metrics.c < 1'))).toBe('[[a & b] | c]');
    expect(show(parse('metrics.a<1 and metrics.b<1 or metrics.c<1 and metrics.d<1'))).toBe(
      '[[a & b] | [c & d]]',
    );
  });

  it('parentheses override precedence and may nest', () => {
    expect(show(parse('(metrics.a < 1 OR metrics.b < 1) AND metrics.c < 1'))).toBe('[[a | b] & c]');
    expect(
      show(parse('metrics.a < 1 AND (metrics.b < 1 OR (metrics.c < 1 AND metrics.d < 1))')),
    ).toBe('[a & [b | [c & d]]]');
    expect(show(parse('((metrics.a < 1))'))).toBe('a');
  });

  it('NOT binds tighter than AND and OR', () => {
    expect(show(parse('NOT metrics.a < 1 AND metrics.b < 1'))).toBe('[!a & b]');
    expect(show(parse('NOT metrics.a < 1 OR metrics.b < 1'))).toBe('[!a | b]');
    expect(show(parse('NOT (metrics.a < 1 OR metrics.b < 1)'))).toBe('![a | b]');
    expect(show(parse('not not metrics.a < 1'))).toBe('!!a');
  });

  it('keywords are case-insensitive and need no spaces around symbols', () => {
    expect(show(parse("metrics.a<1 aNd metrics.b>=2 Or params.c='x'"))).toBe('[[a & b] | c]');
  });

  it('does not mistake words that start with a keyword for the keyword', () => {
    // "ORacle" and "ANDroid" are prefixes, not OR/AND.
    expect(() => parse("tags.x = 'a' ORacle")).toThrow(CairnError);
    expect(show(parse("tags.ORacle = 'a' AND tags.ANDroid = 'b'"))).toBe('[ORacle & ANDroid]');
  });
});

describe('parseRunFilter: identifiers', () => {
  it('accepts singular, plural and MLflow alias prefixes', () => {
    for (const [text, kind] of [
      ['metric.x < 1', 'metric'],
      ['metrics.x < 1', 'metric'],
      ["param.x = '1'", 'param'],
      ["params.x = '1'", 'param'],
      ["parameter.x = '1'", 'param'],
      ["parameters.x = '1'", 'param'],
      ["tag.x = '1'", 'tag'],
      ["tags.x = '1'", 'tag'],
      ['METRICS.x < 1', 'metric'],
    ] as const) {
      expect(predicate(text).target.kind).toBe(kind);
    }
  });

  it('maps attributes and their aliases onto the closed set', () => {
    const name = (text: string) => {
      const t = predicate(text).target;
      return t.kind === 'attribute' ? t.name : null;
    };
    expect(name("attributes.run_id = 'r1'")).toBe('run_id');
    expect(name("attribute.run_name = 'a'")).toBe('run_name');
    expect(name("attr.status = 'FINISHED'")).toBe('status');
    expect(name("run.experiment_id = '1'")).toBe('experiment_id');
    expect(name('attributes.start_time > 5')).toBe('start_time');
    expect(name('attributes.created > 5')).toBe('start_time');
    expect(name('attributes.Created > 5')).toBe('start_time');
    expect(name('attributes.end_time IS NULL')).toBe('end_time');
    expect(name("attributes.`run name` = 'a'")).toBe('run_name');
    expect(name('attributes."Run Name" = \'a\'')).toBe('run_name');
  });

  it('keeps dots, dashes, slashes and colons in bare keys', () => {
    expect(predicate('metrics.val.loss/epoch-1:x < 1').target).toEqual({
      kind: 'metric',
      key: 'val.loss/epoch-1:x',
    });
    expect(predicate("tags.mlflow.runName = 'a'").target).toEqual({
      kind: 'tag',
      key: 'mlflow.runName',
    });
    expect(predicate('metrics.x<-1')).toMatchObject({ target: { key: 'x' }, op: '<', value: -1 });
  });

  it('takes backquoted, double-quoted and single-quoted keys, with the quote doubled inside', () => {
    expect(predicate('metrics.`my metric` < 1').target).toEqual({
      kind: 'metric',
      key: 'my metric',
    });
    expect(predicate('metrics."error rate" < 1').target).toEqual({
      kind: 'metric',
      key: 'error rate',
    });
    expect(predicate("metrics.'prediction accuracy' >= 0.9").target).toEqual({
      kind: 'metric',
      key: 'prediction accuracy',
    });
    expect(predicate("params.`a``b` = 'x'").target).toEqual({ kind: 'param', key: 'a`b' });
    expect(predicate('params."2019-04-02 lr" = \'x\'').target).toEqual({
      kind: 'param',
      key: '2019-04-02 lr',
    });
    // A key that looks like a keyword or an operator is just a key when quoted.
    expect(predicate("tags.`a AND b = 'c'` = 'd'")).toMatchObject({
      target: { key: "a AND b = 'c'" },
      value: 'd',
    });
  });
});

describe('parseRunFilter: comparators per kind', () => {
  it('metrics take the numeric comparators and IS [NOT] NULL', () => {
    for (const op of ['=', '!=', '<', '<=', '>', '>='] as const) {
      expect(predicate(`metrics.m ${op} 3`)).toMatchObject({ type: 'compare', op, value: 3 });
    }
    expect(predicate('metrics.m IS NULL')).toMatchObject({ type: 'null', negated: false });
    expect(predicate('metrics.m is not null')).toMatchObject({ type: 'null', negated: true });
  });

  it('params and tags take string comparators, LIKE, ILIKE, IN, NOT IN and IS [NOT] NULL', () => {
    for (const kind of ['params', 'tags']) {
      expect(predicate(`${kind}.k = 'v'`)).toMatchObject({ type: 'compare', op: '=', value: 'v' });
      expect(predicate(`${kind}.k != "v"`)).toMatchObject({
        type: 'compare',
        op: '!=',
        value: 'v',
      });
      expect(predicate(`${kind}.k LIKE 'a%'`)).toMatchObject({
        type: 'like',
        op: 'LIKE',
        pattern: 'a%',
      });
      expect(predicate(`${kind}.k ilike '%A_'`)).toMatchObject({
        type: 'like',
        op: 'ILIKE',
        pattern: '%A_',
      });
      expect(predicate(`${kind}.k IN ('a', "b",'c')`)).toMatchObject({
        type: 'in',
        negated: false,
        values: ['a', 'b', 'c'],
      });
      expect(predicate(`${kind}.k NOT  IN ('a')`)).toMatchObject({
        type: 'in',
        negated: true,
        values: ['a'],
      });
      expect(predicate(`${kind}.k IS NULL`)).toMatchObject({ type: 'null', negated: false });
      expect(predicate(`${kind}.k IS NOT NULL`)).toMatchObject({ type: 'null', negated: true });
    }
  });

  it('string attributes take =, !=, LIKE, ILIKE, IN, NOT IN; numeric ones the numeric comparators', () => {
    expect(predicate("attributes.status IN ('FAILED', 'KILLED')")).toMatchObject({
      type: 'in',
      values: ['FAILED', 'KILLED'],
    });
    expect(predicate("attributes.run_id NOT IN ('a')")).toMatchObject({
      type: 'in',
      negated: true,
    });
    expect(predicate("attributes.run_name LIKE 'sweep-%'")).toMatchObject({
      type: 'like',
      op: 'LIKE',
    });
    expect(predicate("attributes.run_name ILIKE 'SWEEP-%'")).toMatchObject({
      type: 'like',
      op: 'ILIKE',
    });
    expect(predicate("attributes.status != 'RUNNING'")).toMatchObject({
      type: 'compare',
      op: '!=',
    });
    for (const op of ['=', '!=', '<', '<=', '>', '>='] as const) {
      expect(predicate(`attributes.start_time ${op} 1700000000000`)).toMatchObject({
        op,
        value: 1_700_000_000_000,
      });
    }
    expect(predicate('attributes.end_time IS NOT NULL')).toMatchObject({
      type: 'null',
      negated: true,
    });
  });

  it('unescapes doubled quotes inside string values', () => {
    expect(predicate("params.x = 'it''s'")).toMatchObject({ value: "it's" });
    expect(predicate('params.x = "say ""hi"""')).toMatchObject({ value: 'say "hi"' });
    expect(predicate("params.x = 'a\"b'")).toMatchObject({ value: 'a"b' });
    expect(predicate("params.x = ''")).toMatchObject({ value: '' });
    // The classic injection is one string value, nothing more.
    expect(parse("params.x = 'a'' OR 1=1 --'")).toMatchObject({
      type: 'compare',
      value: "a' OR 1=1 --",
    });
  });

  it('reads numbers: integers, decimals, negatives, exponents', () => {
    const value = (text: string) => (predicate(`metrics.m > ${text}`) as { value: unknown }).value;
    expect(value('42')).toBe(42);
    expect(value('-3')).toBe(-3);
    expect(value('0.25')).toBe(0.25);
    expect(value('.5')).toBe(0.5);
    expect(value('5.')).toBe(5);
    expect(value('-1.5e-3')).toBe(-0.0015);
    expect(value('2E+2')).toBe(200);
    expect(value('1e999')).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('parseRunFilter: errors name the position', () => {
  const cases: [string, number, string][] = [
    // text, position, part of the message
    ['metrics.loss', 12, 'expected a comparator after "metrics.loss"'],
    ['metrics.loss 1', 13, 'expected a comparator after "metrics.loss", found "1"'],
    ['metrics.loss < 1 AND metrics.acc', 32, 'expected a comparator after "metrics.acc"'],
    ['metrics.loss <', 14, 'expected a value'],
    ['loss < 1', 0, 'expected an identifier like metrics.<key>'],
    ['foo.loss < 1', 0, 'unknown identifier type "foo"'],
    ['metrics. < 1', 8, 'expected a name after "metrics."'],
    ["attributes.colour = 'red'", 11, 'unknown attribute "colour"'],
    ["attributes.artifact_uri = 'x'", 11, 'unknown attribute "artifact_uri"'],
    ['metrics.`unterminated < 1', 8, 'unterminated quoted name'],
    ["params.x = 'abc", 11, 'unterminated string'],
    ['metrics.a < 1 AND', 17, 'expected an identifier'],
    [
      'metrics.a < 1 metrics.b < 2',
      14,
      'expected AND, OR or the end of the filter, found "metrics.b"',
    ],
    ['(metrics.a < 1', 14, 'to close the "(" at position 0'],
    ['metrics.a < 1)', 13, 'unbalanced ")"'],
    ['()', 1, 'expected an identifier'],
    ['metrics.a < 1abc', 12, 'invalid number'],
    ['metrics.a < 1.2.3', 12, 'invalid number'],
    ['metrics.a IS 1', 13, 'expected NULL or NOT NULL after "IS"'],
    ['metrics.a IS NOT 1', 17, 'expected NULL after "IS NOT"'],
    ['metrics.a NOT 1', 10, 'expected a comparator'],
    // Type errors: the comparator or the value is named.
    ["metrics.a LIKE '%x'", 10, 'LIKE does not apply to metrics.a (a number)'],
    ["metrics.a IN ('1')", 10, 'IN does not apply to metrics.a'],
    ["metrics.a = '1'", 12, 'metrics.a is numeric: expected a number, found a string'],
    ['params.lr = 0.01', 12, "params.lr is a string: quote the value, e.g. '0.01'"],
    ["params.lr < '0.1'", 10, '< does not apply to params.lr (a string)'],
    ["tags.t >= 'a'", 7, '>= does not apply to tags.t'],
    ['params.lr LIKE 1', 15, 'LIKE takes a quoted pattern'],
    ["params.lr IN 'a'", 13, 'IN takes a parenthesised list'],
    ['params.lr IN ()', 14, 'expected a quoted string in the list, found ")"'],
    ["params.lr IN ('a' 'b')", 18, 'expected "," or ")" in the list'],
    ["params.lr IN ('a', 1)", 19, 'expected a quoted string in the list'],
    ["params.lr = ('a')", 12, 'a list needs IN or NOT IN'],
    ["attributes.status < 'A'", 18, '< does not apply to attributes.status'],
    [
      'attributes.status IS NULL',
      18,
      'IS NULL does not apply to attributes.status (a string, never null)',
    ],
    ["attributes.start_time = 'yesterday'", 24, 'attributes.start_time is numeric'],
    ['attributes.start_time > 1.5', 24, 'expected an integer'],
    [
      "attributes.run_name LIKE '%' OR attributes.end_time LIKE '1%'",
      52,
      'LIKE does not apply to attributes.end_time',
    ],
  ];
  it.each(cases)('%s → position %i', (text, position, message) => {
    const err = filterError(text);
    expect(err.message).toContain(message);
    expect(err.position).toBe(position);
  });

  it('reports the exact message of the brief example', () => {
    expect(filterError("params.lr = '0.1' metrics.loss").message).toBe(
      'Invalid filter at position 18: expected AND, OR or the end of the filter, found "metrics.loss"',
    );
    expect(filterError('metrics.loss = 1 AND metrics.loss').message).toBe(
      'Invalid filter at position 33: expected a comparator after "metrics.loss", found the end',
    );
  });

  it('rejects NUL characters (Postgres text cannot hold them)', () => {
    expect(filterError("params.x = 'a\u0000b'")).toMatchObject({ position: 13 });
  });

  it('bounds size, nesting and the number of comparisons', () => {
    expect(filterError('x'.repeat(SEARCH_LIMITS.filterLength + 1)).message).toContain(
      'longer than',
    );
    const deep = `${'('.repeat(SEARCH_LIMITS.depth + 1)}metrics.a < 1${')'.repeat(SEARCH_LIMITS.depth + 1)}`;
    expect(filterError(deep)).toMatchObject({ position: SEARCH_LIMITS.depth });
    const many = Array.from(
      { length: SEARCH_LIMITS.predicates + 1 },
      (_, i) => `metrics.m${i} < 1`,
    ).join(' OR ');
    expect(filterError(many).message).toContain(
      `more than ${SEARCH_LIMITS.predicates} comparisons`,
    );
    const list = `params.p IN (${Array.from({ length: SEARCH_LIMITS.inValues + 1 }, (_, i) => `'${i}'`).join(',')})`;
    expect(filterError(list).message).toContain('values in one list');
  });
});

describe('parseRunOrderBy', () => {
  it('parses identifiers with an optional direction, ascending by default', () => {
    expect(
      parseRunOrderBy([
        'metrics.loss',
        'metrics.acc DESC',
        'params.lr asc',
        'tags.`my tag` desc',
        'attributes.created',
      ]),
    ).toEqual([
      { target: { kind: 'metric', key: 'loss' }, direction: 'asc' },
      { target: { kind: 'metric', key: 'acc' }, direction: 'desc' },
      { target: { kind: 'param', key: 'lr' }, direction: 'asc' },
      { target: { kind: 'tag', key: 'my tag' }, direction: 'desc' },
      { target: { kind: 'attribute', name: 'start_time' }, direction: 'asc' },
    ]);
    expect(parseRunOrderBy(null)).toEqual([]);
    expect(parseRunOrderBy([])).toEqual([]);
  });

  function orderError(list: string[]) {
    try {
      parseRunOrderBy(list);
    } catch (err) {
      const e = err as CairnError;
      expect(e.code).toBe('INVALID_ARGUMENT');
      return { message: e.message, ...e.details };
    }
    throw new Error('expected an error');
  }

  it('names the entry and the position of an error', () => {
    expect(orderError(['metrics.a', 'metrics.loss sideways'])).toEqual({
      message: 'Invalid orderBy[1] at position 13: expected ASC, DESC or the end, found "sideways"',
      argument: 'orderBy',
      index: 1,
      position: 13,
    });
    expect(orderError(['loss DESC'])).toMatchObject({ index: 0, position: 0 });
    expect(orderError(['attributes.colour'])).toMatchObject({ position: 11 });
    const twice = orderError(['metrics.a', 'metric.a DESC']);
    expect(twice).toMatchObject({ index: 1, position: 0 });
    expect(twice.message).toContain('metrics.a is already sorted on');
    expect(
      orderError(Array.from({ length: SEARCH_LIMITS.orderBy + 1 }, (_, i) => `metrics.m${i}`))
        .message,
    ).toContain('at most');
  });
});

describe('run search cursors', () => {
  const terms = parseRunOrderBy(['metrics.loss DESC', 'params.lr']);
  const { columns } = compileOrder(terms, 'ws');

  it('round-trip sort values, nulls and infinities included', () => {
    const values = [0, '-Infinity', 'adam', 1_700_000_000_000, 'run-1'];
    expect(decodeRunCursor(encodeRunCursor(terms, values), terms, columns)).toEqual(values);
    const nulls = [2, null, null, 5, 'run-2'];
    expect(decodeRunCursor(encodeRunCursor(terms, nulls), terms, columns)).toEqual(nulls);
  });

  it('reject cursors of another ordering and tampered values', () => {
    const cursor = encodeRunCursor(terms, [0, '1.5', 'adam', 5, 'r']);
    const other = parseRunOrderBy(['metrics.loss ASC', 'params.lr']);
    expect(() => decodeRunCursor(cursor, other, compileOrder(other, 'ws').columns)).toThrow(
      /different orderBy/u,
    );
    const forged = (k: unknown[]) =>
      Buffer.from(JSON.stringify({ o: 'metrics.loss desc, params.lr asc', k })).toString(
        'base64url',
      );
    expect(() => decodeRunCursor(forged([0, 'x', 'adam', 5, 'r']), terms, columns)).toThrow(
      CairnError,
    );
    expect(() => decodeRunCursor(forged([0, '1', 'adam', null, 'r']), terms, columns)).toThrow(
      CairnError,
    );
    expect(() => decodeRunCursor(forged([0, '1', 'adam', 5]), terms, columns)).toThrow(CairnError);
    expect(() =>
      decodeRunCursor(forged(['0; DROP TABLE runs', '1', 'adam', 5, 'r']), terms, columns),
    ).toThrow(CairnError);
    expect(() => decodeRunCursor('not-base64-json!', terms, columns)).toThrow(CairnError);
  });
});
