import { CairnError } from '../../errors.ts';

/**
 * Server-side scorer specs of online evaluation rules (docs/evaluation.md, "Online evaluation"):
 * `{ name, type, config }`, validated once when a rule is created or updated, so that the
 * consumer only ever runs specs it understands.
 */

export const DETERMINISTIC_SCORER_TYPES = [
  'exact_match',
  'contains',
  'regex',
  'json_valid',
  'latency_budget',
  'token_budget',
] as const;
export const JUDGE_SCORER_TYPES = [
  'correctness',
  'guidelines',
  'relevance_to_query',
  'safety',
  'llm_judge',
] as const;
export const SCORER_TYPES = [...DETERMINISTIC_SCORER_TYPES, ...JUDGE_SCORER_TYPES] as const;
export type ScorerType = (typeof SCORER_TYPES)[number];
export type JudgeScorerType = (typeof JUDGE_SCORER_TYPES)[number];

export const DEFAULT_JUDGE_MODEL = 'openai:/gpt-4o-mini';
export const SCORER_LIMITS = {
  scorersPerRule: 20,
  name: 200,
  pattern: 1000,
  text: 10_000,
  guidelines: 50,
} as const;

export type ScorerConfig =
  | { type: 'exact_match'; expectation: string; value?: unknown; caseSensitive: boolean }
  | { type: 'contains'; value: string; caseSensitive: boolean }
  | { type: 'regex'; pattern: string; flags?: string }
  | { type: 'json_valid' }
  | { type: 'latency_budget'; maxMs: number }
  | { type: 'token_budget'; maxTokens: number }
  | { type: 'correctness'; model: string }
  | { type: 'guidelines'; model: string; guidelines: string[] }
  | { type: 'relevance_to_query'; model: string }
  | { type: 'safety'; model: string }
  | { type: 'llm_judge'; model: string; instructions: string };

/** A validated scorer: `config` is what is stored in the rule's events (defaults filled in). */
export interface ScorerSpec {
  name: string;
  type: ScorerType;
  config: Record<string, unknown>;
}

export type ScorerSpecErrorReason =
  'UNKNOWN_TYPE' | 'BAD_NAME' | 'BAD_REGEX' | 'BAD_CONFIG' | 'DUPLICATE_NAME' | 'TOO_MANY';

/** A spec the server cannot run: INVALID_ARGUMENT with the scorer, field and reason. */
export class ScorerSpecError extends CairnError {
  constructor(
    readonly reason: ScorerSpecErrorReason,
    message: string,
    details: { scorer?: string; index?: number; field?: string } = {},
  ) {
    super('INVALID_ARGUMENT', message, { argument: 'scorers', reason, ...details });
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export function isJudgeType(type: ScorerType): type is JudgeScorerType {
  return (JUDGE_SCORER_TYPES as readonly string[]).includes(type);
}

/** The model URIs a judge accepts: `openai:/<model>` (any OpenAI-compatible endpoint). */
export function parseModelUri(uri: string): { provider: 'openai'; model: string } | null {
  const m = /^openai:\/(?!\/)(\S{1,200})$/u.exec(uri);
  return m ? { provider: 'openai', model: m[1]! } : null;
}

export const TEMPLATE_VARIABLES = ['inputs', 'outputs', 'expectations', 'trace'] as const;
const TEMPLATE_VAR = /\{\{\s*([A-Za-z_]\w*)\s*\}\}/gu;

/** Parses `config` for `type`; throws ScorerSpecError naming the field. */
export function parseScorerConfig(
  type: ScorerType,
  raw: Record<string, unknown>,
  name: string,
  index: number,
): ScorerConfig {
  const fail = (field: string, message: string, reason: ScorerSpecErrorReason = 'BAD_CONFIG') => {
    throw new ScorerSpecError(reason, `Scorer "${name}" (${type}): ${message}`, {
      scorer: name,
      index,
      field,
    });
  };
  const known = (...fields: string[]) => {
    for (const key of Object.keys(raw))
      if (!fields.includes(key))
        fail(key, `unknown config field "${key}" (expected ${fields.join(', ') || 'none'})`);
  };
  const text = (field: string, required: boolean, max: number = SCORER_LIMITS.text) => {
    const v = raw[field];
    if (v === undefined || v === null) {
      if (required) fail(field, `config.${field} is required`);
      return undefined;
    }
    if (typeof v !== 'string' || v.length === 0)
      fail(field, `config.${field} must be a non-empty string`);
    if ((v as string).length > max) fail(field, `config.${field} is longer than ${max} characters`);
    return v as string;
  };
  const bool = (field: string, fallback: boolean) => {
    const v = raw[field];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'boolean') fail(field, `config.${field} must be a boolean`);
    return v as boolean;
  };
  const positive = (field: string) => {
    const v = raw[field];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)
      fail(field, `config.${field} must be a positive number`);
    return v as number;
  };
  const model = () => {
    const uri = text('model', false, 300) ?? DEFAULT_JUDGE_MODEL;
    if (!parseModelUri(uri))
      fail('model', `config.model must be a model URI like "${DEFAULT_JUDGE_MODEL}"`);
    return uri;
  };
  switch (type) {
    case 'exact_match':
      known('expectation', 'value', 'caseSensitive');
      return {
        type,
        expectation: text('expectation', false, SCORER_LIMITS.name) ?? 'expected_response',
        ...(raw.value !== undefined ? { value: raw.value } : {}),
        caseSensitive: bool('caseSensitive', true),
      };
    case 'contains':
      known('value', 'caseSensitive');
      return { type, value: text('value', true)!, caseSensitive: bool('caseSensitive', true) };
    case 'regex': {
      known('pattern', 'flags');
      const pattern = text('pattern', true, SCORER_LIMITS.pattern)!;
      const flags = text('flags', false, 10) ?? '';
      if (!/^[imsu]*$/u.test(flags) || new Set(flags).size !== flags.length)
        fail('flags', 'config.flags may hold i, m, s and u, each once', 'BAD_REGEX');
      try {
        new RegExp(pattern, flags);
      } catch (error) {
        fail('pattern', `invalid regular expression: ${(error as Error).message}`, 'BAD_REGEX');
      }
      return { type, pattern, ...(flags ? { flags } : {}) };
    }
    case 'json_valid':
      known();
      return { type };
    case 'latency_budget':
      known('maxMs');
      return { type, maxMs: positive('maxMs') };
    case 'token_budget':
      known('maxTokens');
      return { type, maxTokens: positive('maxTokens') };
    case 'correctness':
    case 'relevance_to_query':
    case 'safety':
      known('model');
      return { type, model: model() };
    case 'guidelines': {
      known('model', 'guidelines');
      const g = raw.guidelines;
      const list = typeof g === 'string' ? [g] : g;
      if (
        !Array.isArray(list) ||
        list.length === 0 ||
        list.length > SCORER_LIMITS.guidelines ||
        list.some((x) => typeof x !== 'string' || x.trim() === '' || x.length > SCORER_LIMITS.text)
      )
        fail(
          'guidelines',
          `config.guidelines must be 1 to ${SCORER_LIMITS.guidelines} non-empty strings`,
        );
      return { type, model: model(), guidelines: (list as string[]).map((x) => x.trim()) };
    }
    case 'llm_judge': {
      known('model', 'instructions');
      const instructions = text('instructions', true)!;
      const used = [...instructions.matchAll(TEMPLATE_VAR)].map((m) => m[1]!);
      const unknown = used.find((v) => !(TEMPLATE_VARIABLES as readonly string[]).includes(v));
      if (unknown !== undefined)
        fail(
          'instructions',
          `unknown template variable {{ ${unknown} }} (use ${TEMPLATE_VARIABLES.map((v) => `{{ ${v} }}`).join(', ')})`,
        );
      if (used.length === 0)
        fail('instructions', 'config.instructions must use {{ inputs }} or {{ outputs }}');
      return { type, model: model(), instructions };
    }
  }
}

/** Validates a rule's scorers: known types, valid configs, distinct names. */
export function validateScorerSpecs(
  specs: readonly { name: string; type: string; config?: unknown }[],
): ScorerSpec[] {
  if (specs.length === 0)
    throw new ScorerSpecError('BAD_CONFIG', 'A rule needs at least one scorer');
  if (specs.length > SCORER_LIMITS.scorersPerRule)
    throw new ScorerSpecError(
      'TOO_MANY',
      `A rule has at most ${SCORER_LIMITS.scorersPerRule} scorers`,
    );
  const names = new Set<string>();
  return specs.map((spec, index) => {
    const name = spec.name.trim();
    if (name === '' || name.length > SCORER_LIMITS.name || !/^[\w.\-/: ]+$/u.test(name))
      throw new ScorerSpecError(
        'BAD_NAME',
        `Scorer name "${spec.name}" must be 1 to ${SCORER_LIMITS.name} letters, digits, spaces or _ . - / :`,
        { index, field: 'name' },
      );
    if (names.has(name))
      throw new ScorerSpecError('DUPLICATE_NAME', `Two scorers are named "${name}"`, {
        scorer: name,
        index,
        field: 'name',
      });
    names.add(name);
    if (!(SCORER_TYPES as readonly string[]).includes(spec.type))
      throw new ScorerSpecError(
        'UNKNOWN_TYPE',
        `Scorer "${name}": unknown type "${spec.type}" (expected one of ${SCORER_TYPES.join(', ')})`,
        { scorer: name, index, field: 'type' },
      );
    const type = spec.type as ScorerType;
    const raw = spec.config ?? {};
    if (!isObject(raw))
      throw new ScorerSpecError('BAD_CONFIG', `Scorer "${name}": config must be an object`, {
        scorer: name,
        index,
        field: 'config',
      });
    const { type: _t, ...config } = parseScorerConfig(type, raw, name, index);
    return { name, type, config };
  });
}

/** The parsed config of a stored (already validated) spec. */
export function scorerConfig(spec: ScorerSpec): ScorerConfig {
  return parseScorerConfig(spec.type, spec.config, spec.name, 0);
}
