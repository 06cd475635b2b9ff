import { describe, expect, it } from 'vitest';
import type { AnnotationLabel } from '../lib/annotation-documents.ts';
import {
  answerText,
  emptyLabel,
  labelAnswer,
  labelInput,
  progressPercent,
} from '../lib/annotation.ts';

const label = (over: Partial<AnnotationLabel>): AnnotationLabel => ({
  name: 'l',
  kind: 'TEXT',
  min: null,
  max: null,
  options: [],
  required: false,
  instructions: null,
  ...over,
});

describe('annotation queue helpers', () => {
  it('turns a label draft into the GraphQL input of its kind only', () => {
    expect(labelInput({ ...emptyLabel(), name: ' ok ', min: '1', max: '5' })).toEqual({
      name: 'ok',
      kind: 'BOOL',
      required: true,
    });
    expect(
      labelInput({ ...emptyLabel(), name: 's', kind: 'SCORE', min: '1', max: '', required: false }),
    ).toEqual({ name: 's', kind: 'SCORE', required: false, min: 1 });
    expect(
      labelInput({
        ...emptyLabel(),
        name: 'c',
        kind: 'CATEGORICAL',
        options: ' a, b ,,c',
        instructions: ' pick ',
      }),
    ).toEqual({
      name: 'c',
      kind: 'CATEGORICAL',
      required: true,
      options: ['a', 'b', 'c'],
      instructions: 'pick',
    });
  });

  it('checks answers against their label', () => {
    expect(labelAnswer(label({ required: true }), ' ')).toEqual({ error: 'required' });
    expect(labelAnswer(label({}), '')).toEqual({ value: undefined });
    expect(labelAnswer(label({ kind: 'BOOL' }), 'false')).toEqual({ value: false });
    expect(labelAnswer(label({ kind: 'BOOL' }), 'maybe')).toHaveProperty('error');
    const score = label({ kind: 'SCORE', min: 1, max: 5 });
    expect(labelAnswer(score, '4.5')).toEqual({ value: 4.5 });
    expect(labelAnswer(score, '9')).toEqual({ error: 'at most 5' });
    expect(labelAnswer(score, '0')).toEqual({ error: 'at least 1' });
    expect(labelAnswer(score, 'x')).toEqual({ error: 'must be a number' });
    const cat = label({ kind: 'CATEGORICAL', options: ['a', 'b'] });
    expect(labelAnswer(cat, 'b')).toEqual({ value: 'b' });
    expect(labelAnswer(cat, 'c')).toEqual({ error: 'one of a, b' });
    expect(labelAnswer(label({}), ' hi ')).toEqual({ value: 'hi' });
  });

  it('shows stored values and progress', () => {
    expect(answerText(null)).toBe('');
    expect(answerText('x')).toBe('x');
    expect(answerText(true)).toBe('true');
    expect(progressPercent({ itemCount: 0, completedCount: 0, skippedCount: 0 })).toBe(0);
    expect(progressPercent({ itemCount: 3, completedCount: 1, skippedCount: 1 })).toBe(67);
  });
});
