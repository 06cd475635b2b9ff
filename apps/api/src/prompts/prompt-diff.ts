import type { PromptTemplate } from '@cairn/events';

/** One line of a line diff (1-based line numbers on each side). */
export interface DiffLine {
  op: 'EQUAL' | 'ADDED' | 'REMOVED';
  text: string;
  fromLine: number | null;
  toLine: number | null;
}

/** One leaf change between two JSON values, addressed by a JSON pointer (RFC 6901). */
export interface ValueChange {
  path: string;
  op: 'ADDED' | 'REMOVED' | 'CHANGED';
  from: unknown;
  to: unknown;
}

/** A template as lines: a text template's lines, or per message `### <role>` and its content. */
export function templateLines(template: PromptTemplate): string[] {
  if (template.type === 'text') return template.text.split('\n');
  return template.messages.flatMap((m) => [`### ${m.role}`, ...m.content.split('\n')]);
}

/** Longest common subsequence line diff above this many line pairs falls back to a plain swap. */
const MAX_CELLS = 4_000_000;

/**
 * Line diff (longest common subsequence; the common prefix and suffix are trimmed first). Equal
 * inputs give only EQUAL lines; concatenating EQUAL+REMOVED gives `a`, EQUAL+ADDED gives `b`.
 */
export function diffLines(a: readonly string[], b: readonly string[]): DiffLine[] {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const out: DiffLine[] = [];
  for (let i = 0; i < start; i++)
    out.push({ op: 'EQUAL', text: a[i]!, fromLine: i + 1, toLine: i + 1 });
  const n = endA - start;
  const m = endB - start;
  if (n * m > MAX_CELLS) {
    for (let i = start; i < endA; i++)
      out.push({ op: 'REMOVED', text: a[i]!, fromLine: i + 1, toLine: null });
    for (let j = start; j < endB; j++)
      out.push({ op: 'ADDED', text: b[j]!, fromLine: null, toLine: j + 1 });
  } else {
    // lcs[i][j] = LCS length of a[start+i..endA) and b[start+j..endB), in one flat array.
    const width = m + 1;
    const lcs = new Uint32Array((n + 1) * width);
    for (let i = n - 1; i >= 0; i--)
      for (let j = m - 1; j >= 0; j--)
        lcs[i * width + j] =
          a[start + i] === b[start + j]
            ? lcs[(i + 1) * width + j + 1]! + 1
            : Math.max(lcs[(i + 1) * width + j]!, lcs[i * width + j + 1]!);
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && a[start + i] === b[start + j]) {
        out.push({
          op: 'EQUAL',
          text: a[start + i]!,
          fromLine: start + i + 1,
          toLine: start + j + 1,
        });
        i++;
        j++;
      } else if (j < m && (i === n || lcs[i * width + j + 1]! >= lcs[(i + 1) * width + j]!)) {
        out.push({ op: 'ADDED', text: b[start + j]!, fromLine: null, toLine: start + j + 1 });
        j++;
      } else {
        out.push({ op: 'REMOVED', text: a[start + i]!, fromLine: start + i + 1, toLine: null });
        i++;
      }
    }
  }
  for (let k = 0; k < a.length - endA; k++)
    out.push({ op: 'EQUAL', text: a[endA + k]!, fromLine: endA + k + 1, toLine: endB + k + 1 });
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const pointer = (path: string, key: string | number) =>
  `${path}/${String(key).replaceAll('~', '~0').replaceAll('/', '~1')}`;

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Leaf changes from `a` to `b`: objects are compared key by key, recursively; arrays and scalars
 * as whole values (an array that differs is one CHANGED). Sorted by path. `null` for a missing
 * document is treated as an empty object.
 */
export function diffValues(a: unknown, b: unknown): ValueChange[] {
  const out: ValueChange[] = [];
  const walk = (x: unknown, y: unknown, path: string) => {
    if (isObject(x) && isObject(y)) {
      const keys = [...new Set([...Object.keys(x), ...Object.keys(y)])];
      for (const key of keys) {
        const here = pointer(path, key);
        if (!Object.hasOwn(y, key)) out.push({ path: here, op: 'REMOVED', from: x[key], to: null });
        else if (!Object.hasOwn(x, key))
          out.push({ path: here, op: 'ADDED', from: null, to: y[key] });
        else walk(x[key], y[key], here);
      }
      return;
    }
    if (!sameJson(x, y))
      out.push({ path: path === '' ? '/' : path, op: 'CHANGED', from: x, to: y });
  };
  walk(a ?? {}, b ?? {}, '');
  return out.sort((p, q) => (p.path < q.path ? -1 : p.path > q.path ? 1 : 0));
}
