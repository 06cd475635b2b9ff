import { DEFAULT_MODEL_PRICES } from '@cairn/events';

/** A price entry: a workspace's (`model_prices`) or a shipped default. */
export interface PriceEntry {
  id: string;
  modelPattern: string;
  provider: string | null;
  inputPerMillion: number;
  outputPerMillion: number;
  cachedInputPerMillion: number | null;
  /** Nanoseconds since the epoch: the entry applies to spans starting at or after it. */
  effectiveFromNs: bigint;
}

export interface PricedSpan {
  model: string | null;
  provider: string | null;
  startTimeUnixNano: string;
  inputTokens: number | null;
  outputTokens: number | null;
  cachedTokens: number | null;
}

export function isoToNs(iso: string | Date): bigint {
  return BigInt(new Date(iso).getTime()) * 1_000_000n;
}

const patternCache = new Map<string, RegExp | null>();

/** The pattern anchored to the whole model name; null when it is not a valid expression. */
export function compilePattern(pattern: string): RegExp | null {
  let re = patternCache.get(pattern);
  if (re === undefined) {
    try {
      re = new RegExp(`^(?:${pattern})$`, 'i');
    } catch {
      re = null;
    }
    if (patternCache.size > 10_000) patternCache.clear();
    patternCache.set(pattern, re);
  }
  return re;
}

export function patternMatches(pattern: string, model: string): boolean {
  return compilePattern(pattern)?.test(model) ?? false;
}

/**
 * An entry's provider constrains the span's only when both are known: equal ignoring case, or a
 * segment of it (`azure.ai.openai` is served by `openai`'s prices).
 */
export function providerMatches(entry: string | null, span: string | null): boolean {
  if (entry === null || span === null) return true;
  const e = entry.toLowerCase();
  const s = span.toLowerCase();
  return s === e || s.split(/[./:]/).includes(e);
}

export const DEFAULT_PRICE_ENTRIES: readonly PriceEntry[] = DEFAULT_MODEL_PRICES.map((p) => ({
  id: p.id,
  modelPattern: p.modelPattern,
  provider: p.provider,
  inputPerMillion: p.inputPerMillion,
  outputPerMillion: p.outputPerMillion,
  cachedInputPerMillion: p.cachedInputPerMillion,
  effectiveFromNs: isoToNs(p.effectiveFrom),
}));

function latestApplicable(
  entries: readonly PriceEntry[],
  model: string,
  provider: string | null,
  startNs: bigint,
): PriceEntry | null {
  let best: PriceEntry | null = null;
  for (const e of entries) {
    if (e.effectiveFromNs > startNs) continue;
    if (!providerMatches(e.provider, provider) || !patternMatches(e.modelPattern, model)) continue;
    if (
      !best ||
      e.effectiveFromNs > best.effectiveFromNs ||
      (e.effectiveFromNs === best.effectiveFromNs && e.id > best.id)
    )
      best = e;
  }
  return best;
}

/**
 * The entry that prices a span: among the workspace's entries whose pattern matches the model
 * (and provider), the one with the latest `effectiveFrom` at or before the span's start (ties:
 * the greater id); only when none applies, the same among the defaults.
 */
export function findPrice(
  span: Pick<PricedSpan, 'model' | 'provider' | 'startTimeUnixNano'>,
  workspace: readonly PriceEntry[],
  defaults: readonly PriceEntry[] = DEFAULT_PRICE_ENTRIES,
): PriceEntry | null {
  if (span.model === null) return null;
  const start = BigInt(span.startTimeUnixNano);
  return (
    latestApplicable(workspace, span.model, span.provider, start) ??
    latestApplicable(defaults, span.model, span.provider, start)
  );
}

/**
 * USD: input tokens at the input price, the cached part of them at the cached price when the
 * entry has one, output tokens at the output price. Null without a price or without tokens.
 */
export function spanCost(span: PricedSpan, price: PriceEntry | null): number | null {
  if (!price || (span.inputTokens === null && span.outputTokens === null)) return null;
  const input = span.inputTokens ?? 0;
  const output = span.outputTokens ?? 0;
  const cached = price.cachedInputPerMillion === null ? 0 : Math.min(span.cachedTokens ?? 0, input);
  return (
    ((input - cached) * price.inputPerMillion +
      cached * (price.cachedInputPerMillion ?? 0) +
      output * price.outputPerMillion) /
    1_000_000
  );
}

export function priceSpan(
  span: PricedSpan,
  workspace: readonly PriceEntry[],
  defaults: readonly PriceEntry[] = DEFAULT_PRICE_ENTRIES,
): number | null {
  return spanCost(span, findPrice(span, workspace, defaults));
}
