/**
 * The shipped model price table (docs/tracing.md, "Read models"): public list prices in USD per
 * million tokens, applied to a span when no entry of its workspace matches. Prices as published
 * by OpenAI and Anthropic, assumed current on 2025-11-30 (standard tier, no batch discount).
 * Changing this list changes the read model: bump the `traces` projection's version.
 *
 * `modelPattern` is a regular expression matched against the whole model name; the patterns
 * accept the dated and `-latest` suffixes the APIs report (`gpt-4o-mini-2024-07-18`,
 * `claude-3-5-sonnet-20241022`) and do not overlap each other.
 */
export interface DefaultModelPrice {
  /** `builtin:<name>` */
  id: string;
  modelPattern: string;
  provider: string | null;
  inputPerMillion: number;
  outputPerMillion: number;
  cachedInputPerMillion: number | null;
  /** ISO; the entry applies to spans starting at or after it. */
  effectiveFrom: string;
}

const ALWAYS = '1970-01-01T00:00:00.000Z';
/** OpenAI's dated snapshots: `-2024-08-06`. */
const OPENAI_DATE = '(?:-\\d{4}-\\d{2}-\\d{2})?';
/** Anthropic's dated snapshots and aliases: `-20241022`, `-latest`, Bedrock's `-v1:0`. */
const ANTHROPIC_SUFFIX = '(?:-\\d{8}|-latest)?(?:-v\\d+(?::\\d+)?)?';
/** Bedrock / Vertex names carry a provider prefix: `anthropic.claude-…`, `us.anthropic.claude-…`. */
const ANTHROPIC_PREFIX = '(?:(?:[a-z]{2}\\.)?anthropic[./])?';

function openai(
  name: string,
  model: string,
  input: number,
  output: number,
  cached: number | null,
  effectiveFrom = ALWAYS,
  pattern = `${model}${OPENAI_DATE}`,
): DefaultModelPrice {
  return {
    id: `builtin:${name}`,
    modelPattern: pattern,
    provider: 'openai',
    inputPerMillion: input,
    outputPerMillion: output,
    cachedInputPerMillion: cached,
    effectiveFrom,
  };
}

function anthropic(
  name: string,
  models: string,
  input: number,
  output: number,
  cacheRead: number,
): DefaultModelPrice {
  return {
    id: `builtin:${name}`,
    modelPattern: `${ANTHROPIC_PREFIX}(?:${models})${ANTHROPIC_SUFFIX}`,
    provider: 'anthropic',
    inputPerMillion: input,
    outputPerMillion: output,
    cachedInputPerMillion: cacheRead,
    effectiveFrom: ALWAYS,
  };
}

export const DEFAULT_MODEL_PRICES: readonly DefaultModelPrice[] = [
  // OpenAI — GPT-5 family
  openai('gpt-5', 'gpt-5', 1.25, 10, 0.125, ALWAYS, `gpt-5(?:-chat-latest)?${OPENAI_DATE}`),
  openai('gpt-5-mini', 'gpt-5-mini', 0.25, 2, 0.025),
  openai('gpt-5-nano', 'gpt-5-nano', 0.05, 0.4, 0.005),
  openai('gpt-5-pro', 'gpt-5-pro', 15, 120, null),
  // GPT-4.1 family
  openai('gpt-4.1', 'gpt-4\\.1', 2, 8, 0.5),
  openai('gpt-4.1-mini', 'gpt-4\\.1-mini', 0.4, 1.6, 0.1),
  openai('gpt-4.1-nano', 'gpt-4\\.1-nano', 0.1, 0.4, 0.025),
  // GPT-4o (the first snapshot, 2024-05-13, kept its launch price)
  openai(
    'gpt-4o',
    'gpt-4o',
    2.5,
    10,
    1.25,
    ALWAYS,
    'gpt-4o(?:-(?!2024-05-13)\\d{4}-\\d{2}-\\d{2})?',
  ),
  openai('gpt-4o-2024-05-13', 'gpt-4o-2024-05-13', 5, 15, null, ALWAYS, 'gpt-4o-2024-05-13'),
  openai('chatgpt-4o-latest', 'chatgpt-4o-latest', 5, 15, null, ALWAYS, 'chatgpt-4o-latest'),
  openai('gpt-4o-mini', 'gpt-4o-mini', 0.15, 0.6, 0.075),
  // o-series (o3 was cut from $10/$40 on 2025-06-10)
  openai('o1', 'o1', 15, 60, 7.5),
  openai('o1-mini', 'o1-mini', 1.1, 4.4, 0.55),
  openai('o1-pro', 'o1-pro', 150, 600, null),
  openai('o3-2025-04', 'o3', 10, 40, 2.5),
  openai('o3', 'o3', 2, 8, 0.5, '2025-06-10T00:00:00.000Z'),
  openai('o3-mini', 'o3-mini', 1.1, 4.4, 0.55),
  openai('o3-pro', 'o3-pro', 20, 80, null),
  openai('o4-mini', 'o4-mini', 1.1, 4.4, 0.275),
  // older chat models still in use
  openai(
    'gpt-4-turbo',
    'gpt-4-turbo',
    10,
    30,
    null,
    ALWAYS,
    `gpt-4-turbo(?:-preview)?${OPENAI_DATE}`,
  ),
  openai('gpt-3.5-turbo', 'gpt-3\\.5-turbo', 0.5, 1.5, null, ALWAYS, `gpt-3\\.5-turbo(?:-0125)?`),
  // embeddings (no output tokens)
  openai('text-embedding-3-small', 'text-embedding-3-small', 0.02, 0, null),
  openai('text-embedding-3-large', 'text-embedding-3-large', 0.13, 0, null),
  openai('text-embedding-ada-002', 'text-embedding-ada-002', 0.1, 0, null),

  // Anthropic (cached = cache read; cache writes are not priced separately)
  anthropic('claude-opus-4.5', 'claude-opus-4-5', 5, 25, 0.5),
  anthropic('claude-opus-4.1', 'claude-opus-4-1', 15, 75, 1.5),
  anthropic('claude-opus-4', 'claude-opus-4(?:-0)?|claude-4-opus', 15, 75, 1.5),
  anthropic('claude-sonnet-4.5', 'claude-sonnet-4-5', 3, 15, 0.3),
  anthropic('claude-sonnet-4', 'claude-sonnet-4(?:-0)?|claude-4-sonnet', 3, 15, 0.3),
  anthropic('claude-3.7-sonnet', 'claude-3-7-sonnet', 3, 15, 0.3),
  anthropic('claude-3.5-sonnet', 'claude-3-5-sonnet', 3, 15, 0.3),
  anthropic('claude-haiku-4.5', 'claude-haiku-4-5', 1, 5, 0.1),
  anthropic('claude-3.5-haiku', 'claude-3-5-haiku', 0.8, 4, 0.08),
  anthropic('claude-3-opus', 'claude-3-opus', 15, 75, 1.5),
  anthropic('claude-3-haiku', 'claude-3-haiku', 0.25, 1.25, 0.03),
];
