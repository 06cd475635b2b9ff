/**
 * Nested runs in the runs table: a child is listed right under its parent (depth + 1) when the
 * parent is loaded; otherwise it stands at the top level, in the server's order. Pure.
 */

export interface TreeRun {
  id: string;
  parentId: string | null;
}

export interface RunRow<T extends TreeRun> {
  run: T;
  depth: number;
  /** Loaded children (all, also when collapsed). */
  childCount: number;
  /** The run has a parent that is not among the loaded runs. */
  orphan: boolean;
}

export function buildRunRows<T extends TreeRun>(
  runs: readonly T[],
  collapsed: ReadonlySet<string>,
): RunRow<T>[] {
  const byId = new Map(runs.map((r) => [r.id, r]));
  const children = new Map<string, T[]>();
  const roots: T[] = [];
  for (const run of runs) {
    const parent = run.parentId && run.parentId !== run.id ? byId.get(run.parentId) : undefined;
    if (parent) {
      const list = children.get(parent.id);
      if (list) list.push(run);
      else children.set(parent.id, [run]);
    } else roots.push(run);
  }
  const rows: RunRow<T>[] = [];
  const placed = new Set<string>();
  const visit = (run: T, depth: number, hidden: boolean) => {
    if (placed.has(run.id)) return;
    placed.add(run.id);
    const kids = children.get(run.id) ?? [];
    if (!hidden) {
      rows.push({
        run,
        depth,
        childCount: kids.length,
        orphan: depth === 0 && run.parentId !== null && !byId.has(run.parentId),
      });
    }
    const hideKids = hidden || collapsed.has(run.id);
    for (const kid of kids) visit(kid, depth + 1, hideKids);
  };
  for (const root of roots) visit(root, 0, false);
  // Runs in a parent cycle (corrupt data) have no root: list them flat rather than lose them.
  for (const run of runs) {
    if (!placed.has(run.id)) {
      placed.add(run.id);
      rows.push({ run, depth: 0, childCount: 0, orphan: false });
    }
  }
  return rows;
}
