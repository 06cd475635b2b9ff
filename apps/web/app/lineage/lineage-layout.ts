/** The lineage graph's documents, types and its layout (pure: columns by kind, left → right). */

export const LINEAGE_QUERY = `query Lineage($ref: LineageRef!, $direction: LineageDirection, $depth: Int) {
  lineage(ref: $ref, direction: $direction, depth: $depth) {
    centre truncated depth
    nodes { id kind label refId name version digest modelId }
    edges { from to relation context }
  }
}`;

export const KINDS = [
  'DATASET',
  'RUN',
  'LOGGED_MODEL',
  'MODEL_VERSION',
  'DEPLOYMENT',
  'EVALUATION_RUN',
  'PROMPT_VERSION',
  'TRACE',
] as const;
export type Kind = (typeof KINDS)[number];

export const KIND_LABEL: Record<Kind, string> = {
  DATASET: 'Datasets',
  RUN: 'Runs',
  LOGGED_MODEL: 'Logged models',
  MODEL_VERSION: 'Model versions',
  DEPLOYMENT: 'Deployments',
  EVALUATION_RUN: 'Evaluation runs',
  PROMPT_VERSION: 'Prompt versions',
  TRACE: 'Traces',
};

export interface LineageNode {
  id: string;
  kind: Kind;
  label: string;
  refId: string | null;
  name: string | null;
  version: number | null;
  digest: string | null;
  modelId?: string | null;
}
export interface LineageEdge {
  from: string;
  to: string;
  relation: string;
  context: string | null;
}
export interface LineageGraph {
  centre: string;
  truncated: boolean;
  depth: number;
  nodes: LineageNode[];
  edges: LineageEdge[];
}

export const COLUMN_WIDTH = 210;
export const NODE_WIDTH = 170;
export const ROW_HEIGHT = 46;
export const NODE_HEIGHT = 32;

export interface Placed extends LineageNode {
  x: number;
  y: number;
}

/** One column per kind present (in KINDS order), nodes stacked in label order. */
export function layout(graph: LineageGraph): { nodes: Placed[]; width: number; height: number } {
  const columns = KINDS.filter((k) => graph.nodes.some((n) => n.kind === k));
  let rows = 0;
  const nodes: Placed[] = [];
  columns.forEach((kind, c) => {
    const inColumn = graph.nodes
      .filter((n) => n.kind === kind)
      .sort((a, b) => a.label.localeCompare(b.label));
    inColumn.forEach((n, r) =>
      nodes.push({ ...n, x: 10 + c * COLUMN_WIDTH, y: 30 + r * ROW_HEIGHT }),
    );
    rows = Math.max(rows, inColumn.length);
  });
  return {
    nodes,
    width: Math.max(1, columns.length) * COLUMN_WIDTH + 10,
    height: 40 + rows * ROW_HEIGHT,
  };
}

/** The object's own page, or null when the dashboard has none. */
export function pageOf(n: LineageNode): string | null {
  const q = (params: Record<string, string>) => new URLSearchParams(params).toString();
  switch (n.kind) {
    case 'RUN':
    case 'EVALUATION_RUN':
      return n.refId ? `/run?${q({ id: n.refId })}` : null;
    case 'TRACE':
      return n.refId ? `/trace?${q({ id: n.refId })}` : null;
    case 'MODEL_VERSION':
      return n.name ? `/models/view?${q({ name: n.name, v: String(n.version) })}` : null;
    case 'DEPLOYMENT':
      return n.name ? `/deployments/view?${q({ name: n.name })}` : null;
    case 'PROMPT_VERSION':
      return n.name ? `/prompts/view?${q({ name: n.name, v: String(n.version) })}` : null;
    case 'DATASET':
    case 'LOGGED_MODEL':
      return null;
  }
}

/** The /lineage URL that centres the graph on `n`. */
export function lineageHref(
  n: Pick<LineageNode, 'kind' | 'refId' | 'name' | 'version' | 'digest'>,
): string {
  const p = new URLSearchParams({ kind: n.kind });
  if (n.refId) p.set('id', n.refId);
  if (n.name && !n.refId) p.set('name', n.name);
  if (n.version !== null && n.version !== undefined) p.set('version', String(n.version));
  if (n.digest) p.set('digest', n.digest);
  return `/lineage?${p.toString()}`;
}
