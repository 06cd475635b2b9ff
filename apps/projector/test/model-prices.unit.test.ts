import { describe, expect, it } from 'vitest';
import { DEFAULT_MODEL_PRICES } from '@cairn/events';
import {
  DEFAULT_PRICE_ENTRIES,
  compilePattern,
  findPrice,
  isoToNs,
  priceSpan,
  providerMatches,
  spanCost,
  type PriceEntry,
} from '../src/index.ts';

const START = `${isoToNs('2025-11-01T00:00:00Z')}`;
const span = (model: string | null, provider: string | null = null, start = START) => ({
  model,
  provider,
  startTimeUnixNano: start,
});
const idOf = (model: string, provider: string | null = null, start = START) =>
  findPrice(span(model, provider, start), [])?.id ?? null;

function entry(o: Partial<PriceEntry>): PriceEntry {
  return {
    id: 'w1',
    modelPattern: 'gpt-4o',
    provider: null,
    inputPerMillion: 1,
    outputPerMillion: 2,
    cachedInputPerMillion: null,
    effectiveFromNs: 0n,
    ...o,
  };
}

describe('DEFAULT_MODEL_PRICES', () => {
  it('are valid, unique builtin entries', () => {
    const ids = DEFAULT_MODEL_PRICES.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of DEFAULT_MODEL_PRICES) {
      expect(p.id).toMatch(/^builtin:/);
      expect(compilePattern(p.modelPattern), p.id).not.toBeNull();
      expect(Number.isNaN(Date.parse(p.effectiveFrom))).toBe(false);
      expect(p.inputPerMillion).toBeGreaterThan(0);
    }
  });

  it('match dated and aliased model names, one entry each', () => {
    const expected: Record<string, string> = {
      'gpt-4o': 'builtin:gpt-4o',
      'gpt-4o-2024-08-06': 'builtin:gpt-4o',
      'gpt-4o-2024-05-13': 'builtin:gpt-4o-2024-05-13',
      'gpt-4o-mini': 'builtin:gpt-4o-mini',
      'gpt-4o-mini-2024-07-18': 'builtin:gpt-4o-mini',
      'gpt-4.1-2025-04-14': 'builtin:gpt-4.1',
      'gpt-4.1-mini': 'builtin:gpt-4.1-mini',
      'gpt-4.1-nano-2025-04-14': 'builtin:gpt-4.1-nano',
      'gpt-5': 'builtin:gpt-5',
      'gpt-5-2025-08-07': 'builtin:gpt-5',
      'gpt-5-mini-2025-08-07': 'builtin:gpt-5-mini',
      'gpt-5-nano': 'builtin:gpt-5-nano',
      o1: 'builtin:o1',
      'o3-mini-2025-01-31': 'builtin:o3-mini',
      'o4-mini': 'builtin:o4-mini',
      'text-embedding-3-small': 'builtin:text-embedding-3-small',
      'text-embedding-3-large': 'builtin:text-embedding-3-large',
      'claude-3-5-sonnet-20241022': 'builtin:claude-3.5-sonnet',
      'claude-3-5-haiku-latest': 'builtin:claude-3.5-haiku',
      'claude-3-7-sonnet-20250219': 'builtin:claude-3.7-sonnet',
      'claude-sonnet-4-20250514': 'builtin:claude-sonnet-4',
      'claude-sonnet-4-5': 'builtin:claude-sonnet-4.5',
      'claude-opus-4-1-20250805': 'builtin:claude-opus-4.1',
      'claude-opus-4-20250514': 'builtin:claude-opus-4',
      'claude-haiku-4-5-20251001': 'builtin:claude-haiku-4.5',
      'anthropic.claude-3-5-sonnet-20241022-v2:0': 'builtin:claude-3.5-sonnet',
      'GPT-4o': 'builtin:gpt-4o',
    };
    const got = Object.fromEntries(Object.keys(expected).map((m) => [m, idOf(m)]));
    expect(got).toEqual(expected);
    // Whole-name matches only: no prefix of a longer name, no unknown models.
    expect(idOf('gpt-4o-mini-realtime')).toBeNull();
    expect(idOf('my-gpt-4o')).toBeNull();
    expect(idOf('llama-3-70b')).toBeNull();
    // Exactly one default per known name (no overlapping patterns), at any date.
    for (const model of Object.keys(expected)) {
      const matching = DEFAULT_PRICE_ENTRIES.filter(
        (e) => compilePattern(e.modelPattern)!.test(model) && e.id !== 'builtin:o3-2025-04',
      );
      expect(
        matching.map((e) => e.id),
        model,
      ).toHaveLength(1);
    }
  });

  it('take the latest effectiveFrom at or before the span start (o3 price cut)', () => {
    expect(idOf('o3', 'openai', `${isoToNs('2025-05-01T00:00:00Z')}`)).toBe('builtin:o3-2025-04');
    expect(idOf('o3', 'openai', `${isoToNs('2025-06-10T00:00:00Z')}`)).toBe('builtin:o3');
  });
});

describe('findPrice', () => {
  it('prefers workspace entries to defaults, the latest effective one, ties by id', () => {
    const ws = [
      entry({ id: 'old', modelPattern: 'gpt-4o.*', effectiveFromNs: 1n }),
      entry({ id: 'new', modelPattern: 'gpt-4o.*', effectiveFromNs: 2n }),
      entry({ id: 'future', modelPattern: 'gpt-4o.*', effectiveFromNs: BigInt(START) + 1n }),
    ];
    expect(findPrice(span('gpt-4o-mini'), ws)?.id).toBe('new');
    expect(findPrice(span('gpt-4o-mini', null, '1'), ws)?.id).toBe('old');
    // No workspace entry effective yet: the defaults.
    expect(findPrice(span('gpt-4o-mini', null, '0'), ws)?.id).toBe('builtin:gpt-4o-mini');
    const tie = [entry({ id: 'a' }), entry({ id: 'b' })];
    expect(findPrice(span('gpt-4o'), tie)?.id).toBe('b');
    expect(findPrice(span(null), ws)).toBeNull();
  });

  it('checks the provider when both are known; an invalid pattern matches nothing', () => {
    expect(providerMatches('openai', 'OpenAI')).toBe(true);
    expect(providerMatches('openai', 'azure.ai.openai')).toBe(true);
    expect(providerMatches('openai', 'openai.chat')).toBe(true);
    expect(providerMatches('openai', 'anthropic')).toBe(false);
    expect(providerMatches(null, 'anthropic')).toBe(true);
    expect(providerMatches('openai', null)).toBe(true);
    expect(idOf('gpt-4o', 'anthropic')).toBeNull();
    expect(findPrice(span('gpt-4o'), [entry({ modelPattern: '(' })])?.id).toBe('builtin:gpt-4o');
  });
});

describe('spanCost', () => {
  const tokens = { inputTokens: 1000, outputTokens: 100, cachedTokens: 400 };
  it('charges cached input at the cached price when the entry has one', () => {
    const p = entry({ inputPerMillion: 2, outputPerMillion: 8, cachedInputPerMillion: 0.5 });
    expect(spanCost({ ...span('gpt-4o'), ...tokens }, p)).toBe(
      (600 * 2 + 400 * 0.5 + 100 * 8) / 1e6,
    );
    const noCache = entry({ inputPerMillion: 2, outputPerMillion: 8 });
    expect(spanCost({ ...span('gpt-4o'), ...tokens }, noCache)).toBe((1000 * 2 + 100 * 8) / 1e6);
    // More cached than input tokens never yields a negative part.
    expect(spanCost({ ...span('x'), inputTokens: 10, outputTokens: 0, cachedTokens: 50 }, p)).toBe(
      (10 * 0.5) / 1e6,
    );
  });

  it('is null without a price or without tokens', () => {
    expect(spanCost({ ...span('x'), ...tokens }, null)).toBeNull();
    expect(
      spanCost(
        { ...span('x'), inputTokens: null, outputTokens: null, cachedTokens: null },
        entry({}),
      ),
    ).toBeNull();
    expect(
      priceSpan(
        {
          ...span('gpt-4o-mini-2024-07-18'),
          inputTokens: 1_000_000,
          outputTokens: 0,
          cachedTokens: null,
        },
        [],
      ),
    ).toBe(0.15);
  });
});
