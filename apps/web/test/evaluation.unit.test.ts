import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  SCORER_TYPES,
  assessmentsByScorer,
  bucketBars,
  formatRate,
  parseSamplingRate,
  parseScorerConfig,
  canonicalJson,
  changeLabel,
  changeTone,
  checkFeedback,
  compareHref,
  evaluationRunHref,
  feedbackFormOf,
  feedbackText,
  formatMean,
  formatNumber,
  formatScore,
  meanDelta,
  mergeRuns,
  orderPair,
  previewJson,
  rowChanged,
  rowTone,
  scoreNumber,
  scorerColumns,
  toggleSelection,
  type FeedbackForm,
} from '../lib/evaluation.ts';

describe('scoreNumber (the value model)', () => {
  it('reads numbers, booleans and yes/no; other values are not numeric', () => {
    expect(scoreNumber(0.25)).toBe(0.25);
    expect(scoreNumber(-3)).toBe(-3);
    expect(scoreNumber(true)).toBe(1);
    expect(scoreNumber(false)).toBe(0);
    expect(scoreNumber('yes')).toBe(1);
    expect(scoreNumber(' No ')).toBe(0);
    expect(scoreNumber('YES')).toBe(1);
    expect(scoreNumber('maybe')).toBeNull();
    expect(scoreNumber('1')).toBeNull();
    expect(scoreNumber(null)).toBeNull();
    expect(scoreNumber({ result: 'yes' })).toBeNull();
    expect(scoreNumber(Number.NaN)).toBeNull();
  });
});

describe('formatting', () => {
  it('formats numbers with trailing zeros dropped', () => {
    expect(formatNumber(2)).toBe('2');
    expect(formatNumber(2 / 3)).toBe('0.6667');
    expect(formatNumber(2 / 3, 3)).toBe('0.667');
    expect(formatNumber(0.5)).toBe('0.5');
    expect(formatNumber(0.00001)).toBe('1.00e-5');
  });

  it('formats score values as one line of text', () => {
    expect(formatScore('yes')).toBe('yes');
    expect(formatScore(true)).toBe('true');
    expect(formatScore(0.125)).toBe('0.125');
    expect(formatScore(null)).toBe('—');
    expect(formatScore(undefined)).toBe('—');
    expect(formatScore({ b: 1, a: [1, 2] })).toBe('{"b":1,"a":[1,2]}');
    expect(formatScore('x'.repeat(100), 10)).toBe(`${'x'.repeat(9)}…`);
    expect(formatScore('two\n  lines')).toBe('two lines');
  });

  it('previews JSON compactly', () => {
    expect(previewJson({ question: 'What is 2+2?' })).toBe('{"question":"What is 2+2?"}');
    expect(previewJson('plain')).toBe('plain');
    expect(previewJson(null)).toBe('null');
    expect(previewJson(undefined)).toBe('—');
    expect(previewJson([1, 2, 3], 5)).toBe('[1,2…');
  });

  it('formats means', () => {
    expect(formatMean(null)).toBe('—');
    expect(formatMean(undefined)).toBe('—');
    expect(formatMean(0.6666666)).toBe('0.667');
    expect(formatMean(1)).toBe('1');
  });
});

describe('meanDelta', () => {
  it('is green up, red down, plain when equal or missing', () => {
    expect(meanDelta(0.5, 0.75)).toEqual({ delta: 0.25, text: '+0.25', tone: 'improved' });
    expect(meanDelta(1, 0.5)).toEqual({ delta: -0.5, text: '−0.5', tone: 'regressed' });
    expect(meanDelta(0.5, 0.5)).toEqual({ delta: 0, text: '±0', tone: 'neutral' });
    expect(meanDelta(null, 0.5)).toEqual({ delta: null, text: '—', tone: 'neutral' });
    expect(meanDelta(0.5, undefined).tone).toBe('neutral');
  });

  it('does not read floating-point noise as a change', () => {
    expect(meanDelta(0.1 + 0.2, 0.3).text).toBe('±0');
    expect(meanDelta(2 / 3, 1).text).toBe('+0.333');
  });
});

describe('change tones', () => {
  it('colours regressions red and improvements green, the rest plain', () => {
    expect(changeTone('REGRESSED')).toBe('regressed');
    expect(changeTone('IMPROVED')).toBe('improved');
    for (const k of ['UNCHANGED', 'CHANGED', 'ADDED', 'REMOVED'] as const)
      expect(changeTone(k)).toBe('neutral');
    expect(changeLabel('ADDED')).toBe('only in candidate');
    expect(changeLabel('REMOVED')).toBe('only in base');
  });

  it('gives a row its tone', () => {
    expect(rowTone({ regressed: true, improved: false })).toBe('regressed');
    expect(rowTone({ regressed: false, improved: true })).toBe('improved');
    expect(rowTone({ regressed: true, improved: true })).toBe('mixed');
    expect(rowTone({ regressed: false, improved: false })).toBe('unchanged');
  });

  it('tells changed rows', () => {
    expect(rowChanged({ scores: [{ change: 'UNCHANGED' }, { change: 'UNCHANGED' }] })).toBe(false);
    expect(rowChanged({ scores: [{ change: 'UNCHANGED' }, { change: 'CHANGED' }] })).toBe(true);
    expect(rowChanged({ scores: [] })).toBe(false);
  });
});

describe('assessments per scorer', () => {
  const a = (name: string, updatedAt: number, value: unknown = 1) => ({ name, updatedAt, value });
  it('keeps the newest of each name, declared scorers first, then the others by name', () => {
    const map = assessmentsByScorer(
      [a('zeta', 1), a('correctness', 1, 'no'), a('correctness', 5, 'yes'), a('alpha', 2)],
      ['correctness', 'missing'],
    );
    expect([...map.keys()]).toEqual(['correctness', 'alpha', 'zeta']);
    expect(map.get('correctness')?.value).toBe('yes');
  });

  it('lists scorer columns: declared, then extra names seen on rows', () => {
    expect(
      scorerColumns(
        ['correctness', 'safety'],
        [
          { assessments: [{ name: 'len' }, { name: 'correctness' }] },
          { assessments: [{ name: 'abc' }] },
        ],
      ),
    ).toEqual(['correctness', 'safety', 'abc', 'len']);
  });
});

describe('run selection for Compare', () => {
  it('keeps at most two picks, dropping the oldest; a second click unselects', () => {
    expect(toggleSelection([], 'a')).toEqual(['a']);
    expect(toggleSelection(['a'], 'b')).toEqual(['a', 'b']);
    expect(toggleSelection(['a', 'b'], 'c')).toEqual(['b', 'c']);
    expect(toggleSelection(['a', 'b'], 'a')).toEqual(['b']);
  });

  it('makes the older run the base', () => {
    const older = { runId: 'o', createdAt: 1 };
    const newer = { runId: 'n', createdAt: 2 };
    expect(orderPair(newer, older)).toEqual({ base: older, candidate: newer });
    expect(orderPair(older, newer)).toEqual({ base: older, candidate: newer });
  });

  it('builds page links with escaped ids', () => {
    expect(evaluationRunHref('a b')).toBe('/evaluations/run?id=a+b');
    expect(compareHref('x', 'y')).toBe('/evaluations/compare?base=x&candidate=y');
    expect(compareHref('x', 'y&z', true)).toBe(
      '/evaluations/compare?base=x&candidate=y%26z&changed=1',
    );
  });
});

describe('canonicalJson (rowKey)', () => {
  it('sorts keys at every level and has no spaces', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 0 }], c: 'x' } })).toBe(
      '{"a":{"c":"x","d":[2,{"y":0,"z":1}]},"b":1}',
    );
    expect(canonicalJson('s')).toBe('"s"');
    expect(canonicalJson(null)).toBe('null');
  });

  it('gives the same key for the same inputs whatever their key order', () => {
    const key = (v: unknown) => createHash('sha256').update(canonicalJson(v)).digest('hex');
    expect(key({ q: 'hi', n: 1 })).toBe(key({ n: 1, q: 'hi' }));
    expect(key({ q: 'hi', n: 1 })).not.toBe(key({ q: 'hi', n: 2 }));
  });
});

describe('feedback form', () => {
  const form = (over: Partial<FeedbackForm>): FeedbackForm => ({
    name: 'helpful',
    mode: 'thumbs',
    thumbs: null,
    score: '',
    label: '',
    comment: '',
    ...over,
  });

  it('turns thumbs, scores and labels into values, the comment into the rationale', () => {
    expect(checkFeedback(form({ thumbs: true, comment: '  spot on ' }))).toEqual({
      ok: true,
      feedback: { name: 'helpful', value: true, rationale: 'spot on' },
    });
    expect(checkFeedback(form({ thumbs: false }))).toEqual({
      ok: true,
      feedback: { name: 'helpful', value: false, rationale: null },
    });
    expect(checkFeedback(form({ mode: 'score', score: ' 0.8 ' }))).toEqual({
      ok: true,
      feedback: { name: 'helpful', value: 0.8, rationale: null },
    });
    expect(checkFeedback(form({ mode: 'label', label: ' off-topic ', name: ' topic ' }))).toEqual({
      ok: true,
      feedback: { name: 'topic', value: 'off-topic', rationale: null },
    });
  });

  it('says which field is wrong', () => {
    expect(checkFeedback(form({ name: '  ', thumbs: true }))).toMatchObject({
      ok: false,
      field: 'name',
    });
    expect(checkFeedback(form({}))).toMatchObject({ ok: false, field: 'thumbs' });
    expect(checkFeedback(form({ mode: 'score', score: 'abc' }))).toMatchObject({
      ok: false,
      field: 'score',
    });
    expect(checkFeedback(form({ mode: 'score', score: '' }))).toMatchObject({
      ok: false,
      field: 'score',
    });
    expect(checkFeedback(form({ mode: 'score', score: 'Infinity' }))).toMatchObject({ ok: false });
    expect(checkFeedback(form({ mode: 'label', label: ' ' }))).toMatchObject({
      ok: false,
      field: 'label',
    });
  });

  it('loads a stored value back for editing', () => {
    expect(feedbackFormOf({ name: 'h', value: false, rationale: 'meh' })).toMatchObject({
      mode: 'thumbs',
      thumbs: false,
      comment: 'meh',
    });
    expect(feedbackFormOf({ name: 'h', value: 4, rationale: null })).toMatchObject({
      mode: 'score',
      score: '4',
      comment: '',
    });
    expect(feedbackFormOf({ name: 'h', value: 'yes', rationale: null })).toMatchObject({
      mode: 'label',
      label: 'yes',
    });
    expect(feedbackText(true)).toBe('👍 up');
    expect(feedbackText(false)).toBe('👎 down');
    expect(feedbackText(3)).toBe('3');
  });
});

describe('online rules', () => {
  it('reads sampling rates as fractions or percentages', () => {
    expect(parseSamplingRate('0.5')).toBe(0.5);
    expect(parseSamplingRate('25%')).toBe(0.25);
    expect(parseSamplingRate(' 100 % ')).toBe(1);
    expect(parseSamplingRate('0')).toBe(0);
    expect(parseSamplingRate('1.5')).toBeNull();
    expect(parseSamplingRate('150%')).toBeNull();
    expect(parseSamplingRate('-0.1')).toBeNull();
    expect(parseSamplingRate('half')).toBeNull();
    expect(parseSamplingRate('')).toBeNull();
    expect(formatRate(0.25)).toBe('25 %');
    expect(formatRate(1)).toBe('100 %');
  });

  it('parses scorer configs as JSON objects', () => {
    expect(parseScorerConfig('')).toEqual({ ok: true, config: null });
    expect(parseScorerConfig('{"maxMs": 2000}')).toEqual({ ok: true, config: { maxMs: 2000 } });
    expect(parseScorerConfig('[1]')).toMatchObject({ ok: false });
    expect(parseScorerConfig('{maxMs: 1}')).toMatchObject({ ok: false });
    expect(SCORER_TYPES).toContain('llm_judge');
  });

  it('lays out score bars by time on a 0…max(1, largest mean) scale', () => {
    const H = 3_600_000;
    const b = (slot: number, mean: number | null) => ({
      start: 1_800_000_000_000 + slot * H,
      count: 1,
      mean,
      errorCount: 0,
    });
    // Hours 0, 1 and 3: hour 2 has no assessments and stays an empty slot.
    const { bars, max, slots } = bucketBars([b(0, 1), b(1, 0.5), b(3, null)], H, 400, 100);
    expect(max).toBe(1);
    expect(slots).toBe(4);
    expect(bars.map((x) => x.height)).toEqual([100, 50, 0]);
    expect(bars.map((x) => x.y)).toEqual([0, 50, 100]);
    expect(bars.map((x) => x.x)).toEqual([10, 110, 310]);
    expect(bars[0]!.width).toBe(80);
    expect(bucketBars([b(0, 4), b(1, 2)], H, 100, 100).bars.map((x) => x.height)).toEqual([
      100, 50,
    ]);
    expect(bucketBars([], H, 100, 100).bars).toEqual([]);
    // One bucket alone is not a full-width slab.
    const [one] = bucketBars([b(0, 1)], H, 400, 100, 40).bars;
    expect(one).toMatchObject({ x: 180, width: 40, height: 100 });
  });
});

describe('mergeRuns', () => {
  it('puts new runs on top, replaces listed ones in place, keeps rows beyond the first page', () => {
    const r = (runId: string, rowCount = 0) => ({ runId, rowCount });
    expect(mergeRuns([r('b'), r('a'), r('old')], [r('d'), r('c'), r('b', 5), r('a')])).toEqual([
      r('d'),
      r('c'),
      r('b', 5),
      r('a'),
      r('old'),
    ]);
    expect(mergeRuns([], [r('x')])).toEqual([r('x')]);
    expect(mergeRuns([r('x')], [])).toEqual([r('x')]);
  });
});
