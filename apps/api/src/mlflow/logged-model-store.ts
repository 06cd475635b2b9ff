import { LIMITS } from '../limits.ts';
import { invalidParameter } from './mlflow.errors.ts';

/**
 * How an MLflow 3 logged model is kept in its source run (logged-models.handlers.ts): a JSON
 * record in run tags `cairn.logged_model.<model_id>.<n>`, cut into parts below the tag value
 * limit. Part 0 starts with the number of parts and a colon; parts past that number (left from a
 * longer earlier record) are ignored, so a rewrite is one LogRunBatch and never half-read.
 */

export const LOGGED_MODEL_TAG_PREFIX = 'cairn.logged_model.';
/** The run artifact directory holding the logged models' files: `models/<model_id>/…`. */
export const LOGGED_MODEL_DIR = 'models';

export interface LoggedModelRecord {
  id: string;
  name: string;
  modelType: string | null;
  status: string;
  statusMessage: string | null;
  createdAt: number;
  updatedAt: number;
  deleted: boolean;
  tags: Record<string, string>;
  params: Record<string, string>;
}

/** Parts of one record at most (64 × ~8 000 characters of tags and params). */
const MAX_PARTS = 64;
const PART_CHARS = LIMITS.tagValue - 16;

const ID = /^m-([0-9a-f]{32})[0-9a-f]{8}$/u;

export const newLoggedModelId = (runId: string, suffix: string) => `m-${runId}${suffix}`;

/** The source run of a logged model id, or null for an id Cairn never gives out. */
export function loggedModelRunId(modelId: string): string | null {
  return ID.exec(modelId)?.[1] ?? null;
}

export function isLoggedModelId(modelId: string): boolean {
  return ID.test(modelId);
}

export function chunkRecord(record: LoggedModelRecord): { key: string; value: string }[] {
  const text = JSON.stringify({
    n: record.name,
    t: record.modelType,
    s: record.status,
    m: record.statusMessage,
    c: record.createdAt,
    u: record.updatedAt,
    d: record.deleted,
    tags: record.tags,
    params: record.params,
  });
  const parts: string[] = [];
  for (let i = 0; i < text.length; i += PART_CHARS) parts.push(text.slice(i, i + PART_CHARS));
  if (parts.length > MAX_PARTS)
    throw invalidParameter(
      `The logged model's tags and params are too large for Cairn (more than ${MAX_PARTS * PART_CHARS} characters as JSON)`,
    );
  return parts.map((part, i) => ({
    key: `${LOGGED_MODEL_TAG_PREFIX}${record.id}.${i}`,
    value: i === 0 ? `${parts.length}:${part}` : part,
  }));
}

/** Every logged model record among a run's tags, by model id (unreadable ones are skipped). */
export function readRecords(
  tags: readonly { key: string; value: string }[],
): Map<string, LoggedModelRecord> {
  const parts = new Map<string, Map<number, string>>();
  for (const { key, value } of tags) {
    if (!key.startsWith(LOGGED_MODEL_TAG_PREFIX)) continue;
    const m = /^(m-[0-9a-f]{40})\.(\d+)$/u.exec(key.slice(LOGGED_MODEL_TAG_PREFIX.length));
    if (!m) continue;
    const byIndex = parts.get(m[1]!) ?? new Map<number, string>();
    byIndex.set(Number(m[2]), value);
    parts.set(m[1]!, byIndex);
  }
  const out = new Map<string, LoggedModelRecord>();
  for (const [id, byIndex] of parts) {
    const first = byIndex.get(0);
    const head = first === undefined ? null : /^(\d+):/u.exec(first);
    if (!first || !head) continue;
    const count = Number(head[1]);
    let text = first.slice(head[0].length);
    let complete = true;
    for (let i = 1; i < count; i++) {
      const part = byIndex.get(i);
      if (part === undefined) complete = false;
      text += part ?? '';
    }
    if (!complete) continue;
    try {
      const r = JSON.parse(text) as {
        n: string;
        t: string | null;
        s: string;
        m: string | null;
        c: number;
        u: number;
        d: boolean;
        tags: Record<string, string>;
        params: Record<string, string>;
      };
      out.set(id, {
        id,
        name: r.n,
        modelType: r.t,
        status: r.s,
        statusMessage: r.m,
        createdAt: r.c,
        updatedAt: r.u,
        deleted: r.d,
        tags: r.tags,
        params: r.params,
      });
    } catch {
      continue;
    }
  }
  return out;
}

/** One `<field> <op> <value>` clause of a logged-model filter (clauses are ANDed). */
export interface LoggedModelClause {
  kind: 'attribute' | 'tag' | 'param';
  key: string;
  op: '=' | '!=' | 'LIKE' | 'ILIKE';
  value: string;
}

const ATTRIBUTES = new Set(['name', 'model_id', 'status', 'model_type', 'source_run_id']);

/**
 * MLflow's logged-model filter as far as Cairn answers it: `name`, `model_id`, `status`,
 * `model_type`, `source_run_id` (optionally `attributes.`), `tags.<key>`, `params.<key>` with
 * =, !=, LIKE, ILIKE and a quoted string, joined by AND. Metrics are INVALID_PARAMETER_VALUE.
 */
export function parseLoggedModelFilter(filter: string): LoggedModelClause[] {
  const text = filter.trim();
  if (text === '') return [];
  const clause =
    /^\s*(?:(attributes|attribute|tags|tag|params|param)\.)?(`[^`]+`|"[^"]+"|[A-Za-z_][\w.]*)\s*(=|!=|<>|(?:NOT\s+)?I?LIKE)\s*('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")\s*/iu;
  const out: LoggedModelClause[] = [];
  let rest = text;
  for (;;) {
    const m = clause.exec(rest);
    if (!m)
      throw invalidParameter(
        `Invalid filter '${filter.slice(0, 200)}': use <field> <op> '<value>' joined by AND, where field is name, model_id, status, model_type, source_run_id, tags.<key> or params.<key> and op is =, !=, LIKE or ILIKE`,
      );
    const prefix = (m[1] ?? 'attributes').toLowerCase();
    const key = m[2]!.replace(/^[`"]|[`"]$/gu, '');
    const rawOp = m[3]!.toUpperCase().replace(/\s+/gu, ' ');
    if (rawOp.startsWith('NOT'))
      throw invalidParameter(`Invalid filter '${filter.slice(0, 200)}': NOT LIKE is not supported`);
    const op = (rawOp === '<>' ? '!=' : rawOp) as LoggedModelClause['op'];
    const value = m[4]!.slice(1, -1).replace(/\\(.)/gu, '$1');
    const kind = prefix.startsWith('tag')
      ? 'tag'
      : prefix.startsWith('param')
        ? 'param'
        : 'attribute';
    if (kind === 'attribute' && !ATTRIBUTES.has(key))
      throw invalidParameter(
        `Invalid filter '${filter.slice(0, 200)}': cannot filter logged models by '${key}' (use name, model_id, status, model_type, source_run_id, tags.<key> or params.<key>)`,
      );
    out.push({ kind, key, op, value });
    rest = rest.slice(m[0].length);
    if (rest === '') return out;
    const and = /^AND\s+/iu.exec(rest);
    if (!and)
      throw invalidParameter(
        `Invalid filter '${filter.slice(0, 200)}': clauses must be joined by AND`,
      );
    rest = rest.slice(and[0].length);
  }
}

function like(value: string, pattern: string, insensitive: boolean): boolean {
  const source = pattern
    .split('')
    .map((ch) =>
      ch === '%' ? '.*' : ch === '_' ? '.' : ch.replace(/[.*+?^${}()|[\]\\]/gu, '\\$&'),
    )
    .join('');
  return new RegExp(`^${source}$`, insensitive ? 'isu' : 'su').test(value);
}

export function matchesLoggedModelFilter(
  clauses: readonly LoggedModelClause[],
  record: LoggedModelRecord,
  runId: string,
): boolean {
  return clauses.every((c) => {
    let actual: string | null;
    if (c.kind === 'tag') actual = record.tags[c.key] ?? null;
    else if (c.kind === 'param') actual = record.params[c.key] ?? null;
    else if (c.key === 'name') actual = record.name;
    else if (c.key === 'model_id') actual = record.id;
    else if (c.key === 'model_type') actual = record.modelType;
    else if (c.key === 'source_run_id') actual = runId;
    else actual = record.status.replace(/^LOGGED_MODEL_/u, '');
    const expected =
      c.kind === 'attribute' && c.key === 'status'
        ? c.value.replace(/^LOGGED_MODEL_/u, '')
        : c.value;
    if (actual === null) return false;
    if (c.op === '=') return actual === expected;
    if (c.op === '!=') return actual !== expected;
    return like(actual, expected, c.op === 'ILIKE');
  });
}
