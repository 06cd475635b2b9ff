/** Pure logic of the annotation queue pages: label schema editing and label answers. */
import type { AnnotationLabel, AnnotationLabelKind } from './annotation-documents.ts';

export const LABEL_KINDS: readonly AnnotationLabelKind[] = ['BOOL', 'SCORE', 'CATEGORICAL', 'TEXT'];

/** A label as the schema editor holds it (text fields as typed). */
export interface LabelDraft {
  name: string;
  kind: AnnotationLabelKind;
  min: string;
  max: string;
  options: string;
  required: boolean;
  instructions: string;
}

export const emptyLabel = (): LabelDraft => ({
  name: '',
  kind: 'BOOL',
  min: '',
  max: '',
  options: '',
  required: true,
  instructions: '',
});

/** The GraphQL input of a draft (the server validates it and names the field it refuses). */
export function labelInput(d: LabelDraft): Record<string, unknown> {
  const out: Record<string, unknown> = { name: d.name.trim(), kind: d.kind, required: d.required };
  if (d.kind === 'SCORE') {
    if (d.min.trim() !== '') out.min = Number(d.min);
    if (d.max.trim() !== '') out.max = Number(d.max);
  }
  if (d.kind === 'CATEGORICAL')
    out.options = d.options
      .split(',')
      .map((o) => o.trim())
      .filter((o) => o !== '');
  if (d.instructions.trim() !== '') out.instructions = d.instructions.trim();
  return out;
}

/**
 * A reviewer's answer (as typed) as the feedback value: `{ value }` (undefined when left blank)
 * or `{ error }` saying why it does not fit the label.
 */
export function labelAnswer(
  label: AnnotationLabel,
  raw: string,
): { value: unknown } | { error: string } {
  const text = raw.trim();
  if (text === '') return label.required ? { error: 'required' } : { value: undefined };
  switch (label.kind) {
    case 'BOOL':
      if (text === 'true') return { value: true };
      if (text === 'false') return { value: false };
      return { error: 'choose yes or no' };
    case 'SCORE': {
      const n = Number(text);
      if (!Number.isFinite(n)) return { error: 'must be a number' };
      if (label.min !== null && n < label.min) return { error: `at least ${label.min}` };
      if (label.max !== null && n > label.max) return { error: `at most ${label.max}` };
      return { value: n };
    }
    case 'CATEGORICAL':
      return label.options.includes(text)
        ? { value: text }
        : { error: `one of ${label.options.join(', ')}` };
    case 'TEXT':
      return { value: text };
  }
}

/** The answer field's text for a stored value (to prefill the form). */
export function answerText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

/** Completed and skipped items out of all, as a percentage (0 for an empty queue). */
export function progressPercent(q: {
  itemCount: number;
  completedCount: number;
  skippedCount: number;
}): number {
  if (q.itemCount === 0) return 0;
  return Math.round(((q.completedCount + q.skippedCount) / q.itemCount) * 100);
}
