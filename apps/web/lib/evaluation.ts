/**
 * Pure helpers of the evaluation pages (issue 14, /work/briefs/evaluation-contract.md "Value
 * model"): score values as numbers, their display, mean deltas, the tone of a compared score or
 * row, the feedback form's validation, the two-run selection of the runs list. No I/O.
 */

/** The change of one scorer's value between two runs (the API's `ScoreChangeKind`). */
export type ScoreChangeKind =
  'REGRESSED' | 'IMPROVED' | 'UNCHANGED' | 'CHANGED' | 'ADDED' | 'REMOVED';

/** How a change is shown: red (worse), green (better) or plain. */
export type Tone = 'regressed' | 'improved' | 'neutral';

/**
 * A score as a number, as the API averages and compares them: numbers as themselves, `true` /
 * `"yes"` as 1, `false` / `"no"` as 0 (case-insensitive, trimmed); anything else is null.
 */
export function scoreNumber(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string') {
    const v = value.trim().toLowerCase();
    if (v === 'yes') return 1;
    if (v === 'no') return 0;
  }
  return null;
}

/** A number with at most `digits` decimals, trailing zeros dropped: 0.6667, 1, −0.25. */
export function formatNumber(n: number, digits = 4): string {
  if (!Number.isFinite(n)) return String(n);
  if (Number.isInteger(n)) return String(n);
  const abs = Math.abs(n);
  if (abs !== 0 && (abs >= 1e9 || abs < 1e-4)) return n.toExponential(2);
  return String(Number(n.toFixed(digits)));
}

/**
 * A score value as one line of text: `yes`, `no`, `true`, `0.75`, a string as itself, an object
 * or array as compact JSON; longer than `max` characters is cut with "…". `null` / undefined → "—".
 */
export function formatScore(value: unknown, max = 80): string {
  if (value === null || value === undefined) return '—';
  let text: string;
  if (typeof value === 'number') text = formatNumber(value);
  else if (typeof value === 'string') text = value;
  else if (typeof value === 'boolean') text = String(value);
  else text = compactJson(value);
  return truncate(text, max);
}

/** A JSON value as one line (no spaces after separators), cut at `max` characters. */
export function previewJson(value: unknown, max = 160): string {
  if (value === undefined) return '—';
  if (value === null) return 'null';
  if (typeof value === 'string') return truncate(value, max);
  return truncate(compactJson(value), max);
}

function compactJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function truncate(text: string, max: number): string {
  const oneLine = text.replace(/\s*\n\s*/gu, ' ');
  return oneLine.length > max ? `${oneLine.slice(0, Math.max(0, max - 1))}…` : oneLine;
}

/** A scorer's mean: "0.667", or "—" when none of its values is numeric. */
export function formatMean(mean: number | null | undefined): string {
  if (mean === null || mean === undefined || !Number.isFinite(mean)) return '—';
  return formatNumber(mean, 3);
}

export interface MeanDelta {
  /** candidate − base, null when either mean is missing. */
  delta: number | null;
  /** "+0.25", "−0.1", "±0", "—". */
  text: string;
  /** Higher is better (the value model's yes = 1 > no = 0). */
  tone: Tone;
}

/** The change of a scorer's mean from the base run to the candidate. */
export function meanDelta(
  base: number | null | undefined,
  candidate: number | null | undefined,
): MeanDelta {
  if (
    base === null ||
    base === undefined ||
    candidate === null ||
    candidate === undefined ||
    !Number.isFinite(base) ||
    !Number.isFinite(candidate)
  )
    return { delta: null, text: '—', tone: 'neutral' };
  // Rounded so that 0.1 + 0.2-style noise does not read as a change.
  const delta = Number((candidate - base).toFixed(6));
  if (delta === 0) return { delta: 0, text: '±0', tone: 'neutral' };
  const text = `${delta > 0 ? '+' : '−'}${formatNumber(Math.abs(delta), 3)}`;
  return { delta, text, tone: delta > 0 ? 'improved' : 'regressed' };
}

/** The colour of one compared score. */
export function changeTone(kind: ScoreChangeKind): Tone {
  switch (kind) {
    case 'REGRESSED':
      return 'regressed';
    case 'IMPROVED':
      return 'improved';
    case 'UNCHANGED':
    case 'CHANGED':
    case 'ADDED':
    case 'REMOVED':
      return 'neutral';
    default:
      return assertNever(kind);
  }
}

/** Words for a change (the colour is never the only signal). */
export function changeLabel(kind: ScoreChangeKind): string {
  switch (kind) {
    case 'REGRESSED':
      return 'regressed';
    case 'IMPROVED':
      return 'improved';
    case 'UNCHANGED':
      return 'unchanged';
    case 'CHANGED':
      return 'changed';
    case 'ADDED':
      return 'only in candidate';
    case 'REMOVED':
      return 'only in base';
    default:
      return assertNever(kind);
  }
}

export type RowTone = 'regressed' | 'improved' | 'mixed' | 'unchanged';

/** A compared row's tone: red when any scorer regressed (and none improved), green the other way. */
export function rowTone(row: { regressed: boolean; improved: boolean }): RowTone {
  if (row.regressed && row.improved) return 'mixed';
  if (row.regressed) return 'regressed';
  if (row.improved) return 'improved';
  return 'unchanged';
}

/** Whether a compared row has any score that is not UNCHANGED (the "only changed rows" toggle). */
export function rowChanged(row: { scores: readonly { change: ScoreChangeKind }[] }): boolean {
  return row.scores.some((s) => s.change !== 'UNCHANGED');
}

export interface AssessmentLike {
  name: string;
  updatedAt: number;
}

/**
 * A row's assessment per scorer: the newest one of each name (a row re-sent or updated can carry
 * several of one name). Names of `scorers` come first in that order, then any others by name.
 */
export function assessmentsByScorer<A extends AssessmentLike>(
  assessments: readonly A[],
  scorers: readonly string[],
): Map<string, A> {
  const newest = new Map<string, A>();
  for (const a of assessments) {
    const seen = newest.get(a.name);
    if (!seen || a.updatedAt > seen.updatedAt) newest.set(a.name, a);
  }
  const ordered = new Map<string, A>();
  for (const s of scorers) {
    const a = newest.get(s);
    if (a) ordered.set(s, a);
  }
  for (const name of [...newest.keys()].sort())
    if (!ordered.has(name)) ordered.set(name, newest.get(name)!);
  return ordered;
}

/** Scorer columns of a table: the run's declared scorers, then names only seen on rows. */
export function scorerColumns(
  scorers: readonly string[],
  rows: readonly { assessments: readonly { name: string }[] }[],
): string[] {
  const cols = [...scorers];
  const extra = new Set<string>();
  for (const r of rows)
    for (const a of r.assessments) if (!cols.includes(a.name)) extra.add(a.name);
  return [...cols, ...[...extra].sort()];
}

/**
 * The runs list's selection for "Compare": at most two run ids; picking a third drops the
 * oldest pick. Picking a selected one unselects it.
 */
export function toggleSelection(selected: readonly string[], id: string): string[] {
  if (selected.includes(id)) return selected.filter((s) => s !== id);
  return [...selected, id].slice(-2);
}

/** Of two picked runs, the older is the base and the newer the candidate. */
export function orderPair<R extends { runId: string; createdAt: number }>(
  a: R,
  b: R,
): { base: R; candidate: R } {
  return a.createdAt <= b.createdAt ? { base: a, candidate: b } : { base: b, candidate: a };
}

export function evaluationRunHref(runId: string): string {
  return `/evaluations/run?${new URLSearchParams({ id: runId }).toString()}`;
}

export function compareHref(
  baseRunId: string,
  candidateRunId: string,
  onlyChanged = false,
): string {
  const q = new URLSearchParams({ base: baseRunId, candidate: candidateRunId });
  if (onlyChanged) q.set('changed', '1');
  return `/evaluations/compare?${q.toString()}`;
}

export function traceHref(traceId: string): string {
  return `/trace?${new URLSearchParams({ id: traceId }).toString()}`;
}

/** Canonical JSON: object keys sorted, no spaces (the contract's `rowKey` is sha256 of this). */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

// --- feedback widget -------------------------------------------------------------------------

export type FeedbackMode = 'thumbs' | 'score' | 'label';

export interface FeedbackForm {
  name: string;
  mode: FeedbackMode;
  /** Thumbs: up (true), down (false), not chosen (null). */
  thumbs: boolean | null;
  score: string;
  label: string;
  comment: string;
}

export interface FeedbackValue {
  name: string;
  value: boolean | number | string;
  rationale: string | null;
}

export type FeedbackCheck =
  | { ok: true; feedback: FeedbackValue }
  | { ok: false; field: 'name' | 'thumbs' | 'score' | 'label'; message: string };

/** The API's bounds the form checks before sending (the server checks them again). */
export const FEEDBACK_NAME_MAX = 256;
export const FEEDBACK_RATIONALE_MAX = 16_384;

/**
 * The feedback form as `logFeedback` / `updateAssessment` values: thumbs → true / false, score →
 * a finite number, label → a non-empty string; the comment is the rationale (null when blank).
 */
export function checkFeedback(form: FeedbackForm): FeedbackCheck {
  const name = form.name.trim();
  if (name === '') return { ok: false, field: 'name', message: 'Give the feedback a name.' };
  const comment = form.comment.trim();
  const rationale = comment === '' ? null : comment;
  switch (form.mode) {
    case 'thumbs':
      if (form.thumbs === null)
        return { ok: false, field: 'thumbs', message: 'Choose thumbs up or thumbs down.' };
      return { ok: true, feedback: { name, value: form.thumbs, rationale } };
    case 'score': {
      const text = form.score.trim();
      const n = text === '' ? Number.NaN : Number(text);
      if (!Number.isFinite(n))
        return { ok: false, field: 'score', message: 'The score must be a number, e.g. 0.8 or 4.' };
      return { ok: true, feedback: { name, value: n, rationale } };
    }
    case 'label': {
      const label = form.label.trim();
      if (label === '') return { ok: false, field: 'label', message: 'Type a label.' };
      return { ok: true, feedback: { name, value: label, rationale } };
    }
    default:
      return assertNever(form.mode);
  }
}

/** A stored value loaded back into the form (to edit it): booleans as thumbs, numbers as score. */
export function feedbackFormOf(a: {
  name: string;
  value: unknown;
  rationale: string | null;
}): FeedbackForm {
  const base = { name: a.name, thumbs: null, score: '', label: '', comment: a.rationale ?? '' };
  if (typeof a.value === 'boolean') return { ...base, mode: 'thumbs', thumbs: a.value };
  if (typeof a.value === 'number') return { ...base, mode: 'score', score: String(a.value) };
  return {
    ...base,
    mode: 'label',
    label: typeof a.value === 'string' ? a.value : previewJson(a.value, 10_000),
  };
}

/** A value for people: 👍 / 👎 for thumbs-style values, else `formatScore`. */
export function feedbackText(value: unknown): string {
  if (value === true) return '👍 up';
  if (value === false) return '👎 down';
  return formatScore(value, 200);
}

function assertNever(x: never): never {
  throw new Error(`Unexpected value: ${String(x)}`);
}

// --- online rules ----------------------------------------------------------------------------

/** Scorer types an online rule can use (the API checks them again). */
export const SCORER_TYPES = [
  'exact_match',
  'contains',
  'regex',
  'json_valid',
  'latency_budget',
  'token_budget',
  'correctness',
  'guidelines',
  'relevance_to_query',
  'safety',
  'llm_judge',
] as const;

export const SCORE_BUCKETS = ['minute', 'hour', 'day', 'week'] as const;
export type ScoreBucketSize = (typeof SCORE_BUCKETS)[number];

/** A sampling rate typed as `0.25` or `25%` → 0.25; null when it is not within 0–1 (0–100 %). */
export function parseSamplingRate(text: string): number | null {
  const t = text.trim();
  const pct = t.endsWith('%');
  const body = pct ? t.slice(0, -1).trim() : t;
  if (body === '' || !/^[0-9]*\.?[0-9]+$/u.test(body)) return null;
  const n = Number(body) / (pct ? 100 : 1);
  return n >= 0 && n <= 1 ? n : null;
}

/** "25 %", "100 %", "0.5 %". */
export function formatRate(rate: number): string {
  return `${formatNumber(rate * 100, 2)} %`;
}

/** A scorer's config typed as JSON: blank → null (none), an object, or an error message. */
export function parseScorerConfig(
  text: string,
): { ok: true; config: Record<string, unknown> | null } | { ok: false; message: string } {
  if (text.trim() === '') return { ok: true, config: null };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return { ok: false, message: `Not valid JSON: ${(e as Error).message}` };
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    return { ok: false, message: 'The config must be a JSON object, e.g. {"pattern": "^ok"}' };
  return { ok: true, config: v as Record<string, unknown> };
}

export interface BucketLike {
  start: number;
  count: number;
  mean: number | null;
  errorCount: number;
}

export interface BarShape {
  x: number;
  y: number;
  width: number;
  height: number;
  bucket: BucketLike;
}

export const BUCKET_MS: Record<ScoreBucketSize, number> = {
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  week: 604_800_000,
};

/**
 * Bars of a scores-over-time chart in a `width` × `height` box. Buckets (sparse: only those with
 * assessments) are placed by time, one slot of `bucketMs` each from the first to the last, so gaps
 * stay visible; bar height = mean on a 0…max(1, largest mean) scale (a bucket without a mean, or
 * a negative one, is 0 high). Bars are at most `maxBarWidth` wide, centred in their slot.
 */
export function bucketBars(
  buckets: readonly BucketLike[],
  bucketMs: number,
  width: number,
  height: number,
  maxBarWidth = Number.POSITIVE_INFINITY,
): { bars: BarShape[]; max: number; slots: number } {
  const max = Math.max(1, ...buckets.map((b) => b.mean ?? 0));
  if (buckets.length === 0) return { bars: [], max, slots: 0 };
  const first = Math.min(...buckets.map((b) => b.start));
  const last = Math.max(...buckets.map((b) => b.start));
  const slots = Math.round((last - first) / bucketMs) + 1;
  const slot = width / slots;
  const w = Math.max(1, Math.min(maxBarWidth, slot * 0.8));
  const bars = buckets.map((b) => {
    const i = Math.round((b.start - first) / bucketMs);
    const h = b.mean === null ? 0 : (Math.max(0, b.mean) / max) * height;
    return { x: i * slot + (slot - w) / 2, y: height - h, width: w, height: h, bucket: b };
  });
  return { bars, max, slots };
}

/**
 * The runs list after a re-read of its first page (`fresh`, newest first): runs already listed
 * are replaced in place, runs not listed yet go on top in `fresh`'s order; rows loaded beyond the
 * first page stay.
 */
export function mergeRuns<R extends { runId: string }>(
  list: readonly R[],
  fresh: readonly R[],
): R[] {
  const byId = new Map(fresh.map((r) => [r.runId, r]));
  const listed = new Set(list.map((r) => r.runId));
  const added = fresh.filter((r) => !listed.has(r.runId));
  return [...added, ...list.map((r) => byId.get(r.runId) ?? r)];
}
