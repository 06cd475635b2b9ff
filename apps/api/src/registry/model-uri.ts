import { invalidArgument } from '../errors.ts';

/**
 * A parsed `models:/` URI (docs/registry.md, "Model URIs"):
 * `models:/<name>@<alias>`, `models:/<name>/<version>`, `models:/<name>/<stage>` (the newest
 * version in that stage) and `models:/<name>/latest` (the newest version).
 */
export type ModelUri =
  | { name: string; kind: 'alias'; alias: string }
  | { name: string; kind: 'version'; version: number }
  | { name: string; kind: 'stage'; stage: 'NONE' | 'STAGING' | 'PRODUCTION' | 'ARCHIVED' }
  | { name: string; kind: 'latest' };

const STAGES: Readonly<Record<string, 'NONE' | 'STAGING' | 'PRODUCTION' | 'ARCHIVED'>> = {
  none: 'NONE',
  staging: 'STAGING',
  production: 'PRODUCTION',
  archived: 'ARCHIVED',
};

const USAGE =
  'use models:/<name>@<alias>, models:/<name>/<version>, models:/<name>/<stage> or models:/<name>/latest';

export function parseModelUri(uri: string): ModelUri {
  const fail = (why: string) =>
    invalidArgument(`Invalid model URI "${uri.slice(0, 300)}": ${why}; ${USAGE}`, {
      argument: 'uri',
    });
  if (!uri.startsWith('models:/')) throw fail('it does not start with models:/');
  const rest = uri.slice('models:/'.length);
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const name = rest.slice(0, at);
    const alias = rest.slice(at + 1);
    if (name.length === 0 || name.includes('/')) throw fail('bad model name');
    if (alias.length === 0 || alias.includes('/')) throw fail('bad alias');
    return { name, kind: 'alias', alias };
  }
  const slash = rest.lastIndexOf('/');
  if (slash <= 0) throw fail('no version, stage, alias or "latest"');
  const name = rest.slice(0, slash);
  const ref = rest.slice(slash + 1);
  if (name.includes('/')) throw fail('bad model name');
  if (/^\d+$/u.test(ref)) {
    const version = Number(ref);
    if (!Number.isSafeInteger(version) || version < 1) throw fail('bad version number');
    return { name, kind: 'version', version };
  }
  if (ref.toLowerCase() === 'latest') return { name, kind: 'latest' };
  const stage = STAGES[ref.toLowerCase()];
  if (stage === undefined) throw fail(`"${ref}" is not a version, stage or "latest"`);
  return { name, kind: 'stage', stage };
}
