/** The line diff of promptVersionDiff laid out side by side. Pure. */
import type { PromptDiffLine, PromptDiffOp } from './prompts.documents.ts';

export interface DiffCell {
  op: PromptDiffOp;
  text: string;
  line: number | null;
}

export interface DiffRow {
  left: DiffCell | null;
  right: DiffCell | null;
}

/**
 * Equal lines on both sides; each run of changed lines pairs its removed lines (left) with its
 * added lines (right), the shorter side padded with empty cells.
 */
export function sideBySide(lines: readonly PromptDiffLine[]): DiffRow[] {
  const rows: DiffRow[] = [];
  let removed: DiffCell[] = [];
  let added: DiffCell[] = [];
  const flush = () => {
    for (let i = 0; i < Math.max(removed.length, added.length); i++)
      rows.push({ left: removed[i] ?? null, right: added[i] ?? null });
    removed = [];
    added = [];
  };
  for (const l of lines) {
    if (l.op === 'EQUAL') {
      flush();
      rows.push({
        left: { op: 'EQUAL', text: l.text, line: l.fromLine },
        right: { op: 'EQUAL', text: l.text, line: l.toLine },
      });
    } else if (l.op === 'REMOVED') removed.push({ op: 'REMOVED', text: l.text, line: l.fromLine });
    else added.push({ op: 'ADDED', text: l.text, line: l.toLine });
  }
  flush();
  return rows;
}
