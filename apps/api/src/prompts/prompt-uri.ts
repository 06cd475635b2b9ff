import { invalidArgument } from '../errors.ts';

/**
 * A parsed `prompts:/` URI (docs/prompts.md, "Prompt URIs"): `prompts:/<name>/<version>`,
 * `prompts:/<name>@<alias>`, `prompts:/<name>@latest` (also `prompts:/<name>/latest`).
 */
export type PromptUri =
  | { name: string; kind: 'version'; version: number }
  | { name: string; kind: 'alias'; alias: string }
  | { name: string; kind: 'latest' };

/** Why a URI is malformed (`details.reason` of the INVALID_ARGUMENT error). */
export type PromptUriProblem = 'SCHEME' | 'NAME' | 'ALIAS' | 'VERSION' | 'SHAPE';

const USAGE = 'use prompts:/<name>/<version>, prompts:/<name>@<alias> or prompts:/<name>@latest';
const ALIAS = /^[A-Za-z0-9_-]+$/u;
const MAX_URI = 1024;

export function parsePromptUri(uri: string): PromptUri {
  const fail = (reason: PromptUriProblem, why: string) =>
    invalidArgument(`Invalid prompt URI "${uri.slice(0, 300)}": ${why}; ${USAGE}`, {
      argument: 'uri',
      reason,
    });
  if (uri.length > MAX_URI) throw fail('SHAPE', `longer than ${MAX_URI} characters`);
  if (!uri.startsWith('prompts:/')) throw fail('SCHEME', 'it does not start with prompts:/');
  const rest = uri.slice('prompts:/'.length);
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const name = rest.slice(0, at);
    const alias = rest.slice(at + 1);
    if (name.trim().length === 0 || name.includes('/')) throw fail('NAME', 'bad prompt name');
    if (alias.length === 0 || !ALIAS.test(alias)) throw fail('ALIAS', 'bad alias');
    if (alias.toLowerCase() === 'latest') return { name, kind: 'latest' };
    return { name, kind: 'alias', alias };
  }
  const slash = rest.lastIndexOf('/');
  if (slash < 0) throw fail('SHAPE', 'no /<version> or @<alias>');
  const name = rest.slice(0, slash);
  const ref = rest.slice(slash + 1);
  if (name.trim().length === 0 || name.includes('/')) throw fail('NAME', 'bad prompt name');
  if (ref.toLowerCase() === 'latest') return { name, kind: 'latest' };
  if (!/^\d+$/u.test(ref)) throw fail('VERSION', `"${ref.slice(0, 50)}" is not a version number`);
  const version = Number(ref);
  if (!Number.isSafeInteger(version) || version < 1 || version > 2 ** 31 - 1)
    throw fail('VERSION', 'bad version number');
  return { name, kind: 'version', version };
}

/** The canonical URI of one version: what traces link to. */
export function promptVersionUri(name: string, version: number): string {
  return `prompts:/${name}/${version}`;
}
