/**
 * A traced function's inputs as an object keyed by parameter name (the Python SDK records the
 * bound arguments the same way): names come from the function's source text, defaults and rest
 * parameters included; a destructured object parameter contributes its properties; anything that
 * cannot be named is `argN`. When the source cannot be read (native or bound functions) the
 * inputs are `{ args: [...] }`.
 */

export type Param =
  | { kind: 'name'; name: string }
  | { kind: 'rest'; name: string }
  | { kind: 'object' }
  | { kind: 'other' };

const IDENTIFIER = /^[A-Za-z_$\u00a0-\uffff][\w$\u00a0-\uffff]*$/;

/** Parameters of `fn` from its source text, or undefined when it cannot be read. */
export function parameters(fn: (...args: never[]) => unknown): Param[] | undefined {
  let source: string;
  try {
    source = Function.prototype.toString.call(fn);
  } catch {
    return undefined;
  }
  if (/^\s*class\b/.test(source) || /\{\s*\[native code\]\s*\}\s*$/.test(source)) return undefined;
  const bare = /^\s*(?:async\s+)?([A-Za-z_$][\w$]*)\s*=>/.exec(source);
  if (bare?.[1] && bare[1] !== 'async') return [{ kind: 'name', name: bare[1] }];
  const open = source.indexOf('(');
  if (open < 0) return undefined;
  const close = matching(source, open);
  if (close < 0) return undefined;
  return splitTopLevel(source.slice(open + 1, close))
    .map((text) => stripComments(text).trim())
    .filter((text) => text !== '')
    .map(classify);
}

function classify(text: string): Param {
  if (text.startsWith('...')) {
    const name = text.slice(3).trim();
    return IDENTIFIER.test(name) ? { kind: 'rest', name } : { kind: 'other' };
  }
  if (text.startsWith('{')) return { kind: 'object' };
  if (text.startsWith('[')) return { kind: 'other' };
  const name = text.split('=')[0]!.trim();
  return IDENTIFIER.test(name) ? { kind: 'name', name } : { kind: 'other' };
}

/** Index of the bracket closing the one at `open`, skipping strings, templates and comments. */
function matching(source: string, open: number): number {
  let depth = 0;
  for (let i = open; i < source.length; i++) {
    const c = source[i]!;
    if (c === '"' || c === "'" || c === '`') {
      i = skipString(source, i);
      continue;
    }
    if (c === '/' && source[i + 1] === '/') {
      const end = source.indexOf('\n', i);
      i = end < 0 ? source.length : end;
      continue;
    }
    if (c === '/' && source[i + 1] === '*') {
      const end = source.indexOf('*/', i + 2);
      i = end < 0 ? source.length : end + 1;
      continue;
    }
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

function skipString(source: string, start: number): number {
  const quote = source[start];
  for (let i = start + 1; i < source.length; i++) {
    if (source[i] === '\\') i++;
    else if (source[i] === quote) return i;
  }
  return source.length;
}

function splitTopLevel(list: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let from = 0;
  for (let i = 0; i < list.length; i++) {
    const c = list[i]!;
    if (c === '"' || c === "'" || c === '`') i = skipString(list, i);
    else if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(list.slice(from, i));
      from = i + 1;
    }
  }
  parts.push(list.slice(from));
  return parts;
}

function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/[^\n]*/g, '');
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** The inputs object for one call. */
export function bindInputs(params: Param[] | undefined, args: readonly unknown[]): unknown {
  if (params === undefined) return { args: [...args] };
  const out: Record<string, unknown> = {};
  let i = 0;
  for (; i < params.length; i++) {
    const param = params[i]!;
    if (param.kind === 'rest') {
      out[param.name] = args.slice(i);
      return out;
    }
    if (i >= args.length) continue;
    const arg = args[i];
    if (param.kind === 'name') out[param.name] = arg;
    else if (param.kind === 'object' && isPlainObject(arg)) Object.assign(out, arg);
    else out[`arg${i}`] = arg;
  }
  for (; i < args.length; i++) out[`arg${i}`] = args[i];
  return out;
}
