/**
 * Masking of span payloads (docs/tracing.md "Masking"): regular expressions whose matches are
 * replaced before anything is stored. The defaults catch secrets that LLM applications leak into
 * prompts, headers and tool arguments; a deployment adds its own with `--trace-mask-rules FILE`.
 */

export interface MaskRuleSpec {
  pattern: string;
  /** Default `[REDACTED]`; `$1`-style references to groups work as in String.replace. */
  replacement?: string;
  /** Extra RegExp flags (`i`, `m`, `s`, `u`); `g` is always on. */
  flags?: string;
}

export interface MaskRule {
  source: string;
  regex: RegExp;
  replacement: string;
}

export const REDACTED = '[REDACTED]';

export const DEFAULT_MASK_RULES: readonly MaskRuleSpec[] = [
  // Anthropic (sk-ant-api03-…) and OpenAI (sk-…, sk-proj-…) API keys.
  { pattern: String.raw`\bsk-(?:ant-)?[A-Za-z0-9][A-Za-z0-9_-]{19,}` },
  // Authorization: Bearer <token> (JWTs, OAuth tokens); the scheme word is kept.
  {
    pattern: String.raw`\b(Bearer)\s+[A-Za-z0-9._~+/=-]{8,}`,
    replacement: '$1 [REDACTED]',
    flags: 'i',
  },
  // AWS access key ids (long-term AKIA…, temporary ASIA…, and the other documented prefixes).
  { pattern: String.raw`\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|ANPA|ANVA|APKA)[A-Z0-9]{16}\b` },
];

export class MaskRuleError extends Error {
  override readonly name = 'MaskRuleError';
}

const ALLOWED_FLAGS = /^[imsu]*$/;

export function compileMaskRule(spec: MaskRuleSpec, where: string): MaskRule {
  if (typeof spec.pattern !== 'string' || spec.pattern === '')
    throw new MaskRuleError(`${where}: "pattern" must be a non-empty string`);
  if (spec.replacement !== undefined && typeof spec.replacement !== 'string')
    throw new MaskRuleError(`${where}: "replacement" must be a string`);
  const flags = spec.flags ?? '';
  if (typeof flags !== 'string' || !ALLOWED_FLAGS.test(flags))
    throw new MaskRuleError(`${where}: "flags" may only hold i, m, s and u`);
  let regex: RegExp;
  try {
    regex = new RegExp(spec.pattern, `g${flags}`);
  } catch (error) {
    throw new MaskRuleError(
      `${where}: invalid regular expression ${JSON.stringify(spec.pattern)}: ${
        error instanceof Error ? error.message : String(error)
      }`,
    );
  }
  // A pattern that matches the empty string would write its replacement between every
  // character of every value.
  if (regex.test('')) {
    throw new MaskRuleError(
      `${where}: the pattern ${JSON.stringify(spec.pattern)} matches the empty string`,
    );
  }
  regex.lastIndex = 0;
  return { source: spec.pattern, regex, replacement: spec.replacement ?? REDACTED };
}

/**
 * The rules of a `--trace-mask-rules` file: a JSON list of `{ "pattern", "replacement"?,
 * "flags"? }`. Throws MaskRuleError with the file name and the rule's index on anything else.
 */
export function parseMaskRules(text: string, source: string): MaskRule[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new MaskRuleError(
      `${source}: not JSON (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  if (!Array.isArray(parsed))
    throw new MaskRuleError(`${source}: must be a JSON list of {"pattern", "replacement"} objects`);
  return parsed.map((item: unknown, i) => {
    if (item === null || typeof item !== 'object' || Array.isArray(item))
      throw new MaskRuleError(`${source}: rule ${i} must be an object`);
    const known = new Set(['pattern', 'replacement', 'flags']);
    const unknownKey = Object.keys(item).find((k) => !known.has(k));
    if (unknownKey)
      throw new MaskRuleError(`${source}: rule ${i} has an unknown field "${unknownKey}"`);
    return compileMaskRule(item as MaskRuleSpec, `${source}: rule ${i}`);
  });
}

/** The defaults followed by the deployment's own rules. */
export function maskRules(extra: readonly MaskRule[] = []): MaskRule[] {
  return [...DEFAULT_MASK_RULES.map((r, i) => compileMaskRule(r, `default rule ${i}`)), ...extra];
}

/** Applies every rule in order. The same string comes back when nothing matched. */
export function maskString(rules: readonly MaskRule[], s: string): string {
  let out = s;
  for (const rule of rules) {
    rule.regex.lastIndex = 0;
    if (rule.regex.test(out)) {
      rule.regex.lastIndex = 0;
      out = out.replace(rule.regex, rule.replacement);
    }
  }
  return out;
}
