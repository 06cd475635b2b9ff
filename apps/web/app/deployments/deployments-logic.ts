/**
 * Pure helpers of the deployments pages: times, names, weights, the deploy form's variants, chart
 * columns from `metrics.series`, rollback targets, history merging and live list updates. Unit
 * tests: test/deployments.unit.test.ts.
 */
import type {
  DeploymentEvent,
  DeploymentSummary,
  DeploymentVariantInput,
  DeploymentVariantMetrics,
  WireTime,
} from './deployments.documents.ts';

/** The contract's name rule (unique per workspace). */
export const DEPLOYMENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/u;
/** A user-given variant name. */
export const VARIANT_NAME = /^[a-z0-9-]{1,32}$/u;

export const TARGETS = ['local', 'kubernetes'] as const;

/** Epoch milliseconds of a wire time (the API's time scalar: a number or an ISO string). */
export function toMillis(t: WireTime): number {
  return typeof t === 'number' ? t : Date.parse(t);
}

/** The deployment page's address. */
export function deploymentHref(name: string): string {
  return `/deployments/view?name=${encodeURIComponent(name)}`;
}

/** A name for a new deployment of `modelName`: the model's name made valid (max 63 chars). */
export function suggestDeploymentName(modelName: string, suffix: string): string {
  const base = `${modelName}-${suffix}`
    .replace(/[^A-Za-z0-9._-]+/gu, '-')
    .replace(/^[^A-Za-z0-9]+/u, '')
    .slice(0, 63);
  return base || 'deployment';
}

/** The reason a deployment name is refused, or null. */
export function deploymentNameError(name: string): string | null {
  if (!name) return 'A name is required.';
  if (!DEPLOYMENT_NAME.test(name))
    return 'Use letters, digits, ".", "_" or "-" (starting with a letter or digit), up to 63 characters.';
  return null;
}

/** The reason a set of weights is refused (integers 0..100 summing to 100), or null. */
export function weightsError(weights: readonly number[]): string | null {
  if (weights.length === 0) return 'At least one variant is needed.';
  for (const w of weights)
    if (!Number.isInteger(w) || w < 0 || w > 100)
      return 'Each weight is a whole number from 0 to 100.';
  const sum = weights.reduce((a, b) => a + b, 0);
  if (sum !== 100) return `The weights add up to ${sum}, not 100.`;
  return null;
}

/** `models:/name@alias` or `models:/name/N`. */
export function modelUri(
  modelName: string,
  follow: { alias: string } | { version: number | string },
): string {
  return 'alias' in follow
    ? `models:/${modelName}@${follow.alias}`
    : `models:/${modelName}/${follow.version}`;
}

export interface DeployFormValues {
  name: string;
  target: string;
  primaryUri: string;
  configText: string;
  candidate: { name: string; uri: string; weight: number } | null;
}

export type DeployInput = {
  name: string;
  target: string;
  modelUri: string;
  config?: Record<string, unknown>;
  variants?: DeploymentVariantInput[];
};

/**
 * The createDeployment input for the deploy form, or the first problem found (checked here so
 * the form says it at once; the server checks again and its typed error is shown as well).
 */
export function deployInput(v: DeployFormValues): { input: DeployInput } | { error: string } {
  const name = v.name.trim();
  const nameProblem = deploymentNameError(name);
  if (nameProblem) return { error: nameProblem };
  if (!v.primaryUri) return { error: 'Choose what the deployment serves.' };
  const config = parseConfig(v.configText);
  if ('error' in config) return config;
  const input: DeployInput = { name, target: v.target, modelUri: v.primaryUri };
  if (config.value) input.config = config.value;
  if (v.candidate) {
    const c = v.candidate;
    const cname = c.name.trim();
    if (!VARIANT_NAME.test(cname))
      return { error: 'The candidate variant name is 1-32 of a-z, 0-9 and "-".' };
    if (cname === 'primary') return { error: 'The candidate needs a name other than "primary".' };
    if (!c.uri.trim()) return { error: 'Choose what the candidate serves.' };
    const problem = weightsError([100 - c.weight, c.weight]);
    if (problem) return { error: 'The candidate weight is a whole number from 0 to 100.' };
    input.variants = [
      { name: 'primary', modelUri: v.primaryUri, weight: 100 - c.weight },
      { name: cname, modelUri: c.uri.trim(), weight: c.weight },
    ];
  }
  return { input };
}

/** Optional JSON object text → the object (null when empty), or the problem. */
export function parseConfig(
  text: string,
): { value: Record<string, unknown> | null } | { error: string } {
  if (!text.trim()) return { value: null };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    return { error: `The config is not valid JSON: ${(e as Error).message}` };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    return { error: 'The config is a JSON object, e.g. {"workers": 2}.' };
  return { value: parsed as Record<string, unknown> };
}

export interface ChartColumns {
  /** Window times in epoch seconds, ascending (the union over all variants). */
  x: number[];
  variants: string[];
  requests: (number | null)[][];
  latencyMeanMs: (number | null)[][];
  /** Errors / requests per window, in percent; null where a window had no requests. */
  errorRatePct: (number | null)[][];
}

/** Metrics in the order of the deployment's variants (variants no longer deployed last). */
export function byVariantOrder<T extends { variant: string }>(
  metrics: readonly T[],
  variants: readonly { name: string }[],
): T[] {
  const rank = (name: string) => {
    const i = variants.findIndex((v) => v.name === name);
    return i < 0 ? variants.length : i;
  };
  return [...metrics].sort((a, b) => rank(a.variant) - rank(b.variant));
}

/** Aligns each variant's `series` on one time axis for the charts (gaps are null). */
export function chartColumns(metrics: readonly DeploymentVariantMetrics[]): ChartColumns {
  const times = new Set<number>();
  for (const m of metrics) for (const p of m.series) times.add(Math.round(toMillis(p.at)));
  const x = [...times].sort((a, b) => a - b);
  const index = new Map(x.map((t, i) => [t, i]));
  const empty = () => x.map((): number | null => null);
  const requests: (number | null)[][] = [];
  const latency: (number | null)[][] = [];
  const errorRate: (number | null)[][] = [];
  for (const m of metrics) {
    const r = empty();
    const l = empty();
    const e = empty();
    for (const p of m.series) {
      const i = index.get(Math.round(toMillis(p.at)))!;
      r[i] = (r[i] ?? 0) + p.requests;
      l[i] = p.latencyMeanMs;
      e[i] = p.requests > 0 ? (100 * p.errors) / p.requests : null;
    }
    requests.push(r);
    latency.push(l);
    errorRate.push(e);
  }
  return {
    x: x.map((t) => t / 1000),
    variants: metrics.map((m) => m.variant),
    requests,
    latencyMeanMs: latency,
    errorRatePct: errorRate,
  };
}

/**
 * The version a rollback of `variant` goes back to: the version served before its newest
 * VERSION_CHANGED (the server's default), or null when the history shows none. `history` is
 * newest first.
 */
export function rollbackTarget(
  history: readonly DeploymentEvent[],
  variant: string,
  servedVersion: string | null,
): string | null {
  for (const e of history) {
    if (e.kind !== 'VERSION_CHANGED') continue;
    if (e.variant !== null && e.variant !== variant) continue;
    if (e.fromVersion && e.fromVersion !== servedVersion) return e.fromVersion;
    if (e.fromVersion) return null;
  }
  return null;
}

const eventKey = (e: DeploymentEvent) =>
  `${toMillis(e.at)}|${e.kind}|${e.variant ?? ''}|${e.fromVersion ?? ''}|${e.toVersion ?? ''}|${e.summary}`;

/**
 * The history shown after a push: the pushed first page (newest first), then the older rows
 * loaded with "Load older" that the first page does not hold already.
 */
export function mergeHistory(
  head: readonly DeploymentEvent[],
  older: readonly DeploymentEvent[],
): DeploymentEvent[] {
  const seen = new Set(head.map(eventKey));
  const oldestHead = head.length ? toMillis(head[head.length - 1]!.at) : Infinity;
  return [...head, ...older.filter((e) => !seen.has(eventKey(e)) && toMillis(e.at) <= oldestHead)];
}

/**
 * The list after a `deploymentChanged` push: the row replaced in place; a deleted one removed;
 * an unknown one inserted in name order when it falls inside the loaded range (or when all rows
 * are loaded), else left for the next page. Rows are sorted by name (the API's keyset order).
 */
export function applyListPush(
  items: readonly DeploymentSummary[],
  pushed: DeploymentSummary,
  allLoaded: boolean,
): DeploymentSummary[] {
  const at = items.findIndex((d) => d.name === pushed.name);
  if (pushed.status === 'DELETED') return at < 0 ? [...items] : items.filter((_, i) => i !== at);
  if (at >= 0) return items.map((d, i) => (i === at ? pushed : d));
  const last = items[items.length - 1];
  if (!allLoaded && last && compareNames(pushed.name, last.name) > 0) return [...items];
  const next = [...items, pushed];
  next.sort((a, b) => compareNames(a.name, b.name));
  return next;
}

/** Byte order, as the API's keyset pages sort names. */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** "v3", or "—" when nothing resolves. */
export function versionLabel(v: string | null | undefined): string {
  return v ? `v${v}` : '—';
}

/** Percent text for an error rate given as a fraction (0.05 → "5.0 %"). */
export function formatRate(fraction: number | null | undefined): string {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return '—';
  return `${(100 * fraction).toFixed(fraction > 0 && fraction < 0.001 ? 2 : 1)} %`;
}

/** Milliseconds as text (null → "—"). */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  return ms < 10
    ? `${ms.toFixed(2)} ms`
    : ms < 100
      ? `${ms.toFixed(1)} ms`
      : `${Math.round(ms)} ms`;
}

/** "primary 90 % · candidate 10 %". */
export function splitText(variants: readonly { name: string; weight: number }[]): string {
  return variants.map((v) => `${v.name} ${v.weight} %`).join(' · ');
}
