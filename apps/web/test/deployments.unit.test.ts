import { describe, expect, it } from 'vitest';
import type {
  DeploymentEvent,
  DeploymentSummary,
  DeploymentVariantMetrics,
} from '../app/deployments/deployments.documents.ts';
import {
  applyListPush,
  byVariantOrder,
  chartColumns,
  deployInput,
  deploymentNameError,
  formatRate,
  mergeHistory,
  parseConfig,
  rollbackTarget,
  suggestDeploymentName,
  toMillis,
  weightsError,
} from '../app/deployments/deployments-logic.ts';

const anEvent = (over: Partial<DeploymentEvent>): DeploymentEvent => ({
  at: 1_000,
  kind: 'UPDATED',
  variant: null,
  fromVersion: null,
  toVersion: null,
  actor: 'user:test',
  summary: '',
  ...over,
});

const aDeployment = (name: string, over: Partial<DeploymentSummary> = {}): DeploymentSummary => ({
  id: `id-${name}`,
  name,
  target: 'kubernetes',
  modelUri: 'models:/m@champion',
  status: 'READY',
  endpoint: null,
  updatedAt: 0,
  variants: [],
  ...over,
});

describe('deployment names and weights', () => {
  it('accepts the contract names and refuses others with a reason', () => {
    expect(deploymentNameError('churn-prod.v2_a')).toBeNull();
    expect(deploymentNameError('')).toMatch(/required/u);
    expect(deploymentNameError('-lead')).toMatch(/letters/u);
    expect(deploymentNameError('a'.repeat(64))).toMatch(/63/u);
    expect(deploymentNameError('a'.repeat(63))).toBeNull();
    expect(suggestDeploymentName('my model/x', 'champion')).toBe('my-model-x-champion');
    expect(suggestDeploymentName('__m', 'v3')).toBe('m-v3');
  });

  it('wants whole weights 0..100 that add up to 100', () => {
    expect(weightsError([90, 10])).toBeNull();
    expect(weightsError([100])).toBeNull();
    expect(weightsError([90, 20])).toBe('The weights add up to 110, not 100.');
    expect(weightsError([50.5, 49.5])).toMatch(/whole number/u);
    expect(weightsError([NaN, 100])).toMatch(/whole number/u);
    expect(weightsError([])).toMatch(/one variant/u);
  });
});

describe('deploy form input', () => {
  const base = {
    name: ' churn-prod ',
    target: 'local',
    primaryUri: 'models:/churn@champion',
    configText: '',
    candidate: null,
  };

  it('is one primary variant by default (variants omitted), config only when given', () => {
    expect(deployInput(base)).toEqual({
      input: { name: 'churn-prod', target: 'local', modelUri: 'models:/churn@champion' },
    });
    expect(deployInput({ ...base, configText: '{"workers": 2}' })).toEqual({
      input: {
        name: 'churn-prod',
        target: 'local',
        modelUri: 'models:/churn@champion',
        config: { workers: 2 },
      },
    });
  });

  it('splits the traffic with a candidate', () => {
    const r = deployInput({
      ...base,
      candidate: { name: 'canary', uri: 'models:/churn/4', weight: 10 },
    });
    expect(r).toEqual({
      input: {
        name: 'churn-prod',
        target: 'local',
        modelUri: 'models:/churn@champion',
        variants: [
          { name: 'primary', modelUri: 'models:/churn@champion', weight: 90 },
          { name: 'canary', modelUri: 'models:/churn/4', weight: 10 },
        ],
      },
    });
  });

  it('says the first problem', () => {
    expect(deployInput({ ...base, name: 'a b' })).toEqual({
      error: expect.stringMatching(/letters/u) as string,
    });
    expect(deployInput({ ...base, configText: '[1]' })).toEqual({
      error: 'The config is a JSON object, e.g. {"workers": 2}.',
    });
    expect(deployInput({ ...base, configText: '{' })).toEqual({
      error: expect.stringMatching(/^The config is not valid JSON/u) as string,
    });
    const c = { name: 'candidate', uri: 'models:/churn/4', weight: 10 };
    expect(deployInput({ ...base, candidate: { ...c, weight: 101 } })).toEqual({
      error: expect.stringMatching(/weight/u) as string,
    });
    expect(deployInput({ ...base, candidate: { ...c, name: 'Big' } })).toEqual({
      error: expect.stringMatching(/variant name/u) as string,
    });
    expect(deployInput({ ...base, candidate: { ...c, name: 'primary' } })).toEqual({
      error: expect.stringMatching(/other than/u) as string,
    });
    expect(parseConfig('  ')).toEqual({ value: null });
  });
});

describe('charts from metrics.series', () => {
  it('aligns variants on one time axis with gaps, error rate in percent', () => {
    const m = (variant: string, series: DeploymentVariantMetrics['series']) =>
      ({
        variant,
        version: '1',
        requests: 0,
        errors: 0,
        errorRate: 0,
        latencyP50Ms: null,
        latencyP95Ms: null,
        latencyMeanMs: null,
        series,
      }) satisfies DeploymentVariantMetrics;
    const c = chartColumns([
      m('primary', [
        { at: '2026-12-07T10:00:02.000Z', requests: 90, errors: 9, latencyMeanMs: 3 },
        { at: '2026-12-07T10:00:04.000Z', requests: 0, errors: 0, latencyMeanMs: null },
      ]),
      m('candidate', [
        { at: Date.parse('2026-12-07T10:00:04Z'), requests: 10, errors: 0, latencyMeanMs: 5 },
      ]),
    ]);
    const t0 = Date.parse('2026-12-07T10:00:02Z') / 1000;
    expect(c.x).toEqual([t0, t0 + 2]);
    expect(c.variants).toEqual(['primary', 'candidate']);
    expect(c.requests).toEqual([
      [90, 0],
      [null, 10],
    ]);
    expect(c.latencyMeanMs).toEqual([
      [3, null],
      [null, 5],
    ]);
    expect(c.errorRatePct).toEqual([
      [10, null],
      [null, 0],
    ]);
    expect(chartColumns([]).x).toEqual([]);
  });

  it('orders metrics as the variants (others last)', () => {
    const names = byVariantOrder(
      [{ variant: 'old' }, { variant: 'candidate' }, { variant: 'primary' }],
      [{ name: 'primary' }, { name: 'candidate' }],
    ).map((m) => m.variant);
    expect(names).toEqual(['primary', 'candidate', 'old']);
  });

  it('formats rates and times', () => {
    expect(formatRate(0.05)).toBe('5.0 %');
    expect(formatRate(null)).toBe('—');
    expect(toMillis('1970-01-01T00:00:01Z')).toBe(1000);
    expect(toMillis(5)).toBe(5);
  });
});

describe('rollback target and history', () => {
  it('is the version before the newest VERSION_CHANGED of that variant', () => {
    const history = [
      anEvent({ kind: 'TRAFFIC_CHANGED', at: 5 }),
      anEvent({ kind: 'VERSION_CHANGED', variant: 'candidate', fromVersion: '7', toVersion: '8' }),
      anEvent({ kind: 'VERSION_CHANGED', variant: 'primary', fromVersion: '2', toVersion: '3' }),
      anEvent({ kind: 'VERSION_CHANGED', variant: 'primary', fromVersion: '1', toVersion: '2' }),
    ];
    expect(rollbackTarget(history, 'primary', '3')).toBe('2');
    expect(rollbackTarget(history, 'candidate', '8')).toBe('7');
    expect(rollbackTarget(history, 'other', '1')).toBeNull();
    expect(rollbackTarget([anEvent({ kind: 'CREATED' })], 'primary', '1')).toBeNull();
  });

  it('keeps older loaded rows after a pushed first page, without duplicates', () => {
    const e = (at: number) => anEvent({ at, summary: `e${at}` });
    expect(mergeHistory([e(9), e(8), e(7)], [e(7), e(6), e(5)]).map((x) => x.at)).toEqual([
      9, 8, 7, 6, 5,
    ]);
    expect(mergeHistory([], [e(2)]).map((x) => x.at)).toEqual([2]);
  });
});

describe('live list', () => {
  const a = aDeployment('a');
  const c = aDeployment('c');

  it('replaces a row in place, drops a deleted one', () => {
    const changed = aDeployment('a', { status: 'FAILED' });
    expect(applyListPush([a, c], changed, true)).toEqual([changed, c]);
    expect(applyListPush([a, c], aDeployment('c', { status: 'DELETED' }), true)).toEqual([a]);
    expect(applyListPush([a], aDeployment('zz', { status: 'DELETED' }), true)).toEqual([a]);
  });

  it('inserts a new one in name order when it falls in the loaded range', () => {
    const b = aDeployment('b');
    expect(applyListPush([a, c], b, false).map((d) => d.name)).toEqual(['a', 'b', 'c']);
    expect(applyListPush([a, c], aDeployment('d'), false).map((d) => d.name)).toEqual(['a', 'c']);
    expect(applyListPush([a, c], aDeployment('d'), true).map((d) => d.name)).toEqual([
      'a',
      'c',
      'd',
    ]);
  });
});
