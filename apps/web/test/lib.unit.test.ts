import { describe, expect, it } from 'vitest';
import { normaliseApiUrl, resolveApi } from '../lib/api-config.ts';
import { compareRows, niceTicks, scatterData } from '../lib/compare.ts';
import { formatDuration } from '../lib/format.ts';
import { describeError } from '../lib/graphql/errors.ts';
import { formatMetric, toNumber } from '../lib/metric-values.ts';
import {
  nextSort,
  orderByArgument,
  parseColumnId,
  parseRunsView,
  quoteKey,
  writeRunsView,
} from '../lib/run-columns.ts';
import { buildRunRows } from '../lib/run-rows.ts';
import { alignSeries, appendPoints, fromWire, seriesStats } from '../lib/series.ts';
import { smooth } from '../lib/smoothing.ts';
import {
  asOfFromSlider,
  formatAsOf,
  fromLocalInput,
  parseAsOf,
  snap,
  snapPoints,
  stepTo,
  toLocalInput,
} from '../lib/time-travel.ts';

describe('resolveApi', () => {
  const origin = 'http://127.0.0.1:4680';
  it('defaults to this origin', () => {
    const { endpoints, remember } = resolveApi({
      queryParam: null,
      stored: null,
      buildTime: undefined,
      origin,
    });
    expect(endpoints).toEqual({
      http: 'http://127.0.0.1:4680/graphql',
      ws: 'ws://127.0.0.1:4680/graphql',
      custom: false,
    });
    expect(remember).toBeUndefined();
  });
  it('takes ?api= first and remembers it; https becomes wss', () => {
    const { endpoints, remember } = resolveApi({
      queryParam: 'https://cairn.example.com',
      stored: 'http://old:1/graphql',
      buildTime: 'http://built/graphql',
      origin,
    });
    expect(endpoints.http).toBe('https://cairn.example.com/graphql');
    expect(endpoints.ws).toBe('wss://cairn.example.com/graphql');
    expect(endpoints.custom).toBe(true);
    expect(remember).toBe('https://cairn.example.com/graphql');
  });
  it('?api=default forgets the stored URL and falls back to the build-time one', () => {
    const { endpoints, remember } = resolveApi({
      queryParam: 'default',
      stored: 'http://old:1/graphql',
      buildTime: 'http://built:2/graphql',
      origin,
    });
    expect(remember).toBeNull();
    expect(endpoints.http).toBe('http://built:2/graphql');
  });
  it('uses the stored URL when there is no query parameter', () => {
    const { endpoints } = resolveApi({
      queryParam: null,
      stored: 'http://old:1/graphql',
      buildTime: undefined,
      origin,
    });
    expect(endpoints.http).toBe('http://old:1/graphql');
  });
  it.each([
    'javascript:alert(1)',
    'file:///etc/passwd',
    'http://user:pw@host/graphql',
    'ftp://x/graphql',
  ])('refuses %s', (raw) => expect(normaliseApiUrl(raw, origin)).toBeNull());
  it('takes a path relative to this origin (an API behind a proxy prefix)', () => {
    expect(normaliseApiUrl('/cairn/graphql', origin)).toBe('http://127.0.0.1:4680/cairn/graphql');
  });
});

describe('metric values', () => {
  it('reads the wire forms of non-finite values', () => {
    expect(toNumber('NaN')).toBeNaN();
    expect(toNumber('Infinity')).toBe(Infinity);
    expect(toNumber('-Infinity')).toBe(-Infinity);
    expect(toNumber(0.5)).toBe(0.5);
  });
  it.each([
    [0.123456789, '0.123457'],
    [42, '42'],
    [1234567.5, '1.2346e+6'],
    [0.00001234, '1.2340e-5'],
    [Number.NaN, 'NaN'],
    [-Infinity, '−∞'],
  ])('formats %d as %s', (v, text) => expect(formatMetric(v)).toBe(text));
});

describe('formatDuration', () => {
  it.each([
    [450, '450 ms'],
    [4500, '4.5 s'],
    [45_000, '45 s'],
    [125_000, '2m 5s'],
    [3_725_000, '1h 2m'],
    [90_000_000, '1d 1h'],
    [-1, '—'],
  ])('%d ms → %s', (ms, text) => expect(formatDuration(ms)).toBe(text));
});

describe('run columns and sort', () => {
  it('splits a column id at the first dot only', () => {
    expect(parseColumnId('metrics.val.loss')).toEqual({ kind: 'metrics', key: 'val.loss' });
    expect(parseColumnId('attributes.x')).toBeNull();
    expect(parseColumnId('params.')).toBeNull();
  });
  it('quotes keys the grammar cannot take bare', () => {
    expect(quoteKey('val/loss-1.x')).toBe('val/loss-1.x');
    expect(quoteKey('my key')).toBe('`my key`');
    expect(quoteKey('a`b c')).toBe('`a``b c`');
  });
  it('builds orderBy with newest first as the tie-breaker', () => {
    expect(orderByArgument({ column: 'metrics.my loss', direction: 'DESC' })).toEqual([
      'metrics.`my loss` DESC',
      'attributes.start_time DESC',
    ]);
    expect(orderByArgument({ column: 'attributes.start_time', direction: 'ASC' })).toEqual([
      'attributes.start_time ASC',
    ]);
    expect(orderByArgument(null)).toBeNull();
  });
  it('cycles a header through ascending, descending, default', () => {
    const a = nextSort(null, 'params.lr');
    expect(a).toEqual({ column: 'params.lr', direction: 'ASC' });
    const b = nextSort(a, 'params.lr');
    expect(b).toEqual({ column: 'params.lr', direction: 'DESC' });
    expect(nextSort(b, 'params.lr')).toBeNull();
    expect(nextSort(b, 'metrics.loss')).toEqual({ column: 'metrics.loss', direction: 'ASC' });
  });
  it('round-trips the view through the query string', () => {
    const view = {
      filter: "metrics.loss < 0.5 AND params.lr = '0.01'",
      order: { column: 'metrics.loss', direction: 'DESC' as const },
      columns: ['params.lr', 'metrics.loss', 'tags.team'],
      selected: ['r1', 'r2'],
    };
    const params = writeRunsView(new URLSearchParams('id=e1'), view);
    expect(params.get('id')).toBe('e1');
    expect(parseRunsView(new URLSearchParams(params.toString()))).toEqual(view);
  });
  it('tells "no columns chosen" from "columns not set"', () => {
    expect(parseRunsView(new URLSearchParams('cols=')).columns).toEqual([]);
    expect(parseRunsView(new URLSearchParams('')).columns).toBeNull();
    expect(parseRunsView(new URLSearchParams('cols=bogus,params.a')).columns).toEqual(['params.a']);
  });
});

describe('buildRunRows', () => {
  const run = (id: string, parentId: string | null = null) => ({ id, parentId });
  it('puts loaded children under their parent, in server order', () => {
    const rows = buildRunRows(
      [run('c1', 'p'), run('a'), run('p'), run('c2', 'p'), run('g', 'c1')],
      new Set(),
    );
    expect(rows.map((r) => [r.run.id, r.depth])).toEqual([
      ['a', 0],
      ['p', 0],
      ['c1', 1],
      ['g', 2],
      ['c2', 1],
    ]);
    expect(rows.find((r) => r.run.id === 'p')?.childCount).toBe(2);
  });
  it('hides the descendants of a collapsed parent', () => {
    const rows = buildRunRows([run('p'), run('c', 'p'), run('g', 'c')], new Set(['p']));
    expect(rows.map((r) => r.run.id)).toEqual(['p']);
  });
  it('lists a child whose parent is not loaded at the top level, marked', () => {
    const rows = buildRunRows([run('c', 'elsewhere')], new Set());
    expect(rows).toEqual([{ run: run('c', 'elsewhere'), depth: 0, childCount: 0, orphan: true }]);
  });
  it('does not lose runs in a parent cycle', () => {
    const rows = buildRunRows([run('a', 'b'), run('b', 'a')], new Set());
    expect(rows.map((r) => r.run.id).sort()).toEqual(['a', 'b']);
  });
});

describe('smooth', () => {
  it('is the identity at weight 0, with gaps for non-finite values', () => {
    expect(smooth([1, NaN, 3], 0)).toEqual([1, null, 3]);
  });
  it('debiases the start (a constant stays constant)', () => {
    const out = smooth([5, 5, 5, 5], 0.9);
    for (const v of out) expect(v).toBeCloseTo(5, 10);
  });
  it('lags behind a step change', () => {
    const out = smooth([0, 0, 10, 10], 0.5);
    expect(out[2]).toBeGreaterThan(0);
    expect(out[2]).toBeLessThan(10);
  });
});

describe('series', () => {
  it('sorts by step and appends live points in order', () => {
    const s = fromWire([
      { step: 2, timestamp: 20, value: 0.2 },
      { step: 1, timestamp: 10, value: 'NaN' },
    ]);
    expect(s.steps).toEqual([1, 2]);
    const t = appendPoints(s, [{ step: 3, timestamp: 30, value: 'Infinity' }]);
    expect(t.steps).toEqual([1, 2, 3]);
    expect(seriesStats(t)).toEqual({ count: 3, last: Infinity, min: 0.2, max: 0.2, nonFinite: 2 });
  });
  it('aligns series on the union of x values', () => {
    expect(
      alignSeries([
        { xs: [1, 2], ys: [10, 20] },
        { xs: [2, 3], ys: [200, 300] },
      ]),
    ).toEqual([
      [1, 2, 3],
      [10, 20, null],
      [null, 200, 300],
    ]);
  });
});

describe('compare', () => {
  it('marks keys whose values differ, or that some runs lack', () => {
    const rows = compareRows([
      {
        id: 'a',
        entries: [
          { key: 'lr', value: '0.1' },
          { key: 'opt', value: 'adam' },
        ],
      },
      {
        id: 'b',
        entries: [
          { key: 'lr', value: '0.1' },
          { key: 'opt', value: 'sgd' },
          { key: 'x', value: '1' },
        ],
      },
    ]);
    expect(rows).toEqual([
      { key: 'lr', values: ['0.1', '0.1'], differs: false },
      { key: 'opt', values: ['adam', 'sgd'], differs: true },
      { key: 'x', values: [null, '1'], differs: true },
    ]);
  });
  it('plots numeric params as numbers and others as categories', () => {
    const numeric = scatterData([
      { id: 'a', label: 'a', param: '0.1', metric: 1 },
      { id: 'b', label: 'b', param: '0.01', metric: 2 },
      { id: 'c', label: 'c', param: null, metric: 3 },
    ]);
    expect(numeric.categories).toBeNull();
    expect(numeric.points.map((p) => p.x)).toEqual([0.1, 0.01]);
    expect(numeric.missing).toBe(1);
    const categorical = scatterData([
      { id: 'a', label: 'a', param: 'sgd', metric: 1 },
      { id: 'b', label: 'b', param: 'adam', metric: NaN },
      { id: 'c', label: 'c', param: 'adam', metric: 2 },
    ]);
    expect(categorical.categories).toEqual(['adam', 'sgd']);
    expect(categorical.points.map((p) => [p.runId, p.x])).toEqual([
      ['a', 1],
      ['c', 0],
    ]);
  });
  it('picks round tick values', () => {
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(3, 3)).toEqual([3]);
  });
});

describe('describeError', () => {
  it('reads code, position and argument from extensions', () => {
    const info = describeError({
      message: '[GraphQL] Invalid filter',
      graphQLErrors: [
        {
          message: 'Invalid filter at position 12: expected a value',
          extensions: { code: 'INVALID_ARGUMENT', argument: 'filter', position: 12 },
        },
      ],
    });
    expect(info).toMatchObject({
      code: 'INVALID_ARGUMENT',
      position: 12,
      argument: 'filter',
      network: false,
    });
  });
  it('falls back to the position named in the message', () => {
    const info = describeError({
      message: 'x',
      graphQLErrors: [{ message: 'Bad token at position 3' }],
    });
    expect(info.position).toBe(3);
  });
  it('reports transport failures', () => {
    const info = describeError({ message: 'x', networkError: new Error('Failed to fetch') });
    expect(info.network).toBe(true);
    expect(info.message).toContain('Failed to fetch');
  });
});

describe('time travel (asOf, slider)', () => {
  it('reads and writes ?asOf= as ISO or epoch ms', () => {
    const t = Date.UTC(2026, 2, 3, 12, 0, 0, 250);
    expect(formatAsOf(t)).toBe('2026-03-03T12:00:00.250Z');
    expect(parseAsOf(formatAsOf(t))).toBe(t);
    expect(parseAsOf(String(t))).toBe(t);
    expect(parseAsOf(null)).toBeNull();
    expect(parseAsOf('')).toBeNull();
    expect(parseAsOf('not a date')).toBeNull();
    expect(parseAsOf(formatAsOf(t), t + 1)).toBe(t);
    expect(parseAsOf(formatAsOf(t), t)).toBeNull();
  });

  it('snaps to history entries 1 ms after them (the log keeps microseconds)', () => {
    const points = snapPoints([300, 100, 100, 200, 5_000], 100, 1_000);
    expect(points).toEqual([101, 201, 301]);
    expect(snap(190, points, 0, 1_000)).toBe(201);
    expect(snap(250, points, 0, 1_000)).toBe(250);
    expect(snap(250, points, 0, 1_000, 0.06)).toBe(201);
  });

  it('steps from change to change, and the end of the range is now', () => {
    const points = [101, 201, 301];
    expect(stepTo(1_000, points, -1)).toBe(301);
    expect(stepTo(301, points, -1)).toBe(201);
    expect(stepTo(101, points, -1)).toBeNull();
    expect(stepTo(201, points, 1)).toBe(301);
    expect(stepTo(301, points, 1)).toBeNull();
    expect(asOfFromSlider(1_000, points, 0, 1_000)).toBeNull();
    expect(asOfFromSlider(998, points, 0, 1_000)).toBeNull();
    expect(asOfFromSlider(900, points, 0, 1_000)).toBe(900);
    expect(asOfFromSlider(301, points, 0, 302)).toBe(301);
  });

  it('round-trips the datetime-local value in local time', () => {
    const t = new Date(2026, 2, 3, 9, 5, 7).getTime();
    expect(toLocalInput(t)).toBe('2026-03-03T09:05:07');
    expect(fromLocalInput('2026-03-03T09:05:07')).toBe(t);
    expect(fromLocalInput('2026-03-03T09:05')).toBe(new Date(2026, 2, 3, 9, 5).getTime());
    expect(fromLocalInput('')).toBeNull();
    expect(fromLocalInput('03/03/2026')).toBeNull();
  });
});
