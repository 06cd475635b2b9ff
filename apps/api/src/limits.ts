import { invalidArgument } from './errors.ts';

/** Documented in docs/api.md ("Limits"). Enforced on every write, with the offending field named. */
export const LIMITS = {
  experimentName: 500,
  runName: 500,
  paramKey: 250,
  paramValue: 6000,
  tagKey: 250,
  tagValue: 8000,
  metricKey: 250,
  metricsPerBatch: 50_000,
  paramsPerBatch: 1000,
  tagsPerBatch: 1000,
} as const;

// MLflow's rule for keys: alphanumerics, underscores, dashes, periods, spaces and slashes; no
// path climbing.
const KEY_PATTERN = /^[\w\-. /:]+$/u;

export function validateKey(kind: 'param' | 'metric' | 'tag', key: string): void {
  const max =
    kind === 'param' ? LIMITS.paramKey : kind === 'metric' ? LIMITS.metricKey : LIMITS.tagKey;
  if (key.length === 0) throw invalidArgument(`${kind} key must not be empty`, { field: kind });
  if (key.length > max) {
    throw invalidArgument(`${kind} key "${key.slice(0, 40)}…" is longer than ${max} characters`, {
      key,
    });
  }
  if (!KEY_PATTERN.test(key) || key.split('/').includes('..') || key.startsWith('/')) {
    throw invalidArgument(
      `Invalid ${kind} key "${key}": use letters, digits, "_", "-", ".", " ", ":" and "/" (no "..", no leading "/")`,
      { key },
    );
  }
}

export function validateValue(kind: 'param' | 'tag', key: string, value: string): void {
  const max = kind === 'param' ? LIMITS.paramValue : LIMITS.tagValue;
  if (value.length > max) {
    throw invalidArgument(`${kind} "${key}" value is longer than ${max} characters`, {
      key,
      length: value.length,
    });
  }
}

export function validateName(kind: 'experiment' | 'run', name: string): string {
  const trimmed = name.trim();
  const max = kind === 'experiment' ? LIMITS.experimentName : LIMITS.runName;
  if (kind === 'experiment' && trimmed.length === 0)
    throw invalidArgument('Experiment name must not be empty');
  if (trimmed.length > max) throw invalidArgument(`${kind} name is longer than ${max} characters`);
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  if (/[\u0000-\u001f]/u.test(trimmed))
    throw invalidArgument(`${kind} name must not contain control characters`);
  return trimmed;
}
