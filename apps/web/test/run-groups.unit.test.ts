import { describe, expect, it } from 'vitest';
import { aggregateBand, groupRuns, parseGroupBy } from '../lib/run-groups.ts';

const aRun = (
  id: string,
  overrides: {
    params?: Record<string, string>;
    tags?: Record<string, string>;
    metrics?: Record<string, number>;
  } = {},
) => ({
  id,
  params: new Map(Object.entries(overrides.params ?? {})),
  tags: new Map(Object.entries(overrides.tags ?? {})),
  metrics: new Map(Object.entries(overrides.metrics ?? {})),
});

describe('parseGroupBy', () => {
  it('reads params and tags, keys with dots', () => {
    expect(parseGroupBy('params.optimizer')).toEqual({ kind: 'params', key: 'optimizer' });
    expect(parseGroupBy('tags.a.b')).toEqual({ kind: 'tags', key: 'a.b' });
  });
  it('refuses anything else', () => {
    for (const text of [null, '', 'metrics.loss', 'params.', '.x', 'optimizer'])
      expect(parseGroupBy(text)).toBeNull();
  });
});

describe('groupRuns', () => {
  it('one group per value, count and metric means, runs without a value last', () => {
    const runs = [
      aRun('a', { params: { opt: 'sgd' }, metrics: { loss: 1, acc: 0.5 } }),
      aRun('b', { params: { opt: 'adam' }, metrics: { loss: 0.4 } }),
      aRun('c', { metrics: { loss: 9 } }),
      aRun('d', { params: { opt: 'sgd' }, metrics: { loss: 0.5, acc: Number.NaN } }),
    ];
    const groups = groupRuns(runs, { kind: 'params', key: 'opt' });
    expect(groups.map((g) => [g.value, g.runs.map((r) => r.id)])).toEqual([
      ['adam', ['b']],
      ['sgd', ['a', 'd']],
      [null, ['c']],
    ]);
    expect(groups[1]!.means.get('loss')).toBeCloseTo(0.75);
    // NaN left out of the mean.
    expect(groups[1]!.means.get('acc')).toBe(0.5);
    expect(groups[0]!.means.has('acc')).toBe(false);
  });
  it('groups by tag, numeric values in numeric order', () => {
    const runs = [
      aRun('a', { tags: { bs: '128' } }),
      aRun('b', { tags: { bs: '16' } }),
      aRun('c', { params: { bs: '1' } }),
    ];
    expect(groupRuns(runs, { kind: 'tags', key: 'bs' }).map((g) => g.value)).toEqual([
      '16',
      '128',
      null,
    ]);
  });
});

describe('aggregateBand', () => {
  it('mean, min and max per step, interpolating inside a run, not past its ends', () => {
    const band = aggregateBand([
      { steps: [0, 2, 4], values: [1, 3, 5] },
      { steps: [0, 1, 2], values: [3, 3, Number.NaN] },
    ]);
    expect(band.steps).toEqual([0, 1, 2, 4]);
    expect(band.mean).toEqual([2, 2.5, 3, 5]);
    expect(band.min).toEqual([1, 2, 3, 5]);
    expect(band.max).toEqual([3, 3, 3, 5]);
    expect(band.counts).toEqual([2, 2, 1, 1]);
  });
  it('is empty without finite values', () => {
    expect(aggregateBand([{ steps: [0], values: [Number.NaN] }]).steps).toEqual([]);
    expect(aggregateBand([]).steps).toEqual([]);
  });
});
