/**
 * The runs table's columns and sort order, in the words of the search language
 * (docs/search.md): `params.lr`, `metrics.loss`, `tags.team`, `attributes.start_time`. The same
 * text goes into the URL and into `runs(orderBy: …)`. Pure.
 */

export type ColumnKind = 'params' | 'metrics' | 'tags';

export interface DataColumn {
  kind: ColumnKind;
  key: string;
}

export type SortDirection = 'ASC' | 'DESC';

export interface SortOrder {
  /** A data column id (`metrics.loss`) or an attribute (`attributes.run_name`). */
  column: string;
  direction: SortDirection;
}

/** Attributes the table shows as fixed columns, and the attribute each sorts by. */
export const ATTRIBUTE_SORT = {
  name: 'attributes.run_name',
  status: 'attributes.status',
  start: 'attributes.start_time',
  end: 'attributes.end_time',
} as const;

/** The server's order when none is given: newest first. */
export const DEFAULT_ORDER: SortOrder = { column: ATTRIBUTE_SORT.start, direction: 'DESC' };

const KINDS: readonly ColumnKind[] = ['params', 'metrics', 'tags'];

export function columnId(column: DataColumn): string {
  return `${column.kind}.${column.key}`;
}

/** Parses `params.lr` (keys may contain dots: only the first dot separates). */
export function parseColumnId(id: string): DataColumn | null {
  const dot = id.indexOf('.');
  if (dot <= 0) return null;
  const kind = id.slice(0, dot) as ColumnKind;
  const key = id.slice(dot + 1);
  if (!KINDS.includes(kind) || key.length === 0) return null;
  return { kind, key };
}

/** Backticks a key the search language cannot take bare (same rule as the server's). */
export function quoteKey(key: string): string {
  return /^[\w.\-/:]+$/u.test(key) ? key : `\`${key.replaceAll('`', '``')}\``;
}

/** `metrics.loss DESC`, `params.\`my key\` ASC`, `attributes.start_time DESC`. */
export function orderByTerm(order: SortOrder): string {
  if (order.column.startsWith('attributes.')) return `${order.column} ${order.direction}`;
  const parsed = parseColumnId(order.column);
  if (!parsed) return `${order.column} ${order.direction}`;
  return `${parsed.kind}.${quoteKey(parsed.key)} ${order.direction}`;
}

/** The orderBy argument: the chosen order, then newest first as the tie-breaker. */
export function orderByArgument(order: SortOrder | null): string[] | null {
  if (!order) return null;
  if (order.column === DEFAULT_ORDER.column) return [orderByTerm(order)];
  return [orderByTerm(order), orderByTerm(DEFAULT_ORDER)];
}

/** Header click: ascending, then descending, then back to the default order. */
export function nextSort(current: SortOrder | null, column: string): SortOrder | null {
  if (!current || current.column !== column) return { column, direction: 'ASC' };
  if (current.direction === 'ASC') return { column, direction: 'DESC' };
  return null;
}

export interface RunsViewState {
  filter: string;
  order: SortOrder | null;
  /** null: not chosen yet (the page picks defaults); [] : the user chose none. */
  columns: string[] | null;
  selected: string[];
}

const list = (value: string | null): string[] =>
  value
    ? [
        ...new Set(
          value
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
        ),
      ]
    : [];

/** Reads the view from the experiment page's query string. */
export function parseRunsView(params: URLSearchParams): RunsViewState {
  const orderText = params.get('order');
  let order: SortOrder | null = null;
  if (orderText) {
    const m = /^(.+?)\s+(ASC|DESC)$/iu.exec(orderText.trim());
    const column = m ? m[1]! : orderText.trim();
    const direction = (m?.[2]?.toUpperCase() ?? 'ASC') as SortDirection;
    if (column.startsWith('attributes.') || parseColumnId(column)) order = { column, direction };
  }
  return {
    filter: params.get('filter') ?? '',
    order,
    columns: params.has('cols')
      ? list(params.get('cols')).filter((c) => parseColumnId(c) !== null)
      : null,
    selected: list(params.get('sel')),
  };
}

/** Writes the view into a copy of the query string (empty parts are left out). */
export function writeRunsView(base: URLSearchParams, view: RunsViewState): URLSearchParams {
  const params = new URLSearchParams(base);
  const set = (name: string, value: string) => {
    if (value) params.set(name, value);
    else params.delete(name);
  };
  set('filter', view.filter);
  set('order', view.order ? `${view.order.column} ${view.order.direction}` : '');
  if (view.columns === null) params.delete('cols');
  else params.set('cols', view.columns.join(','));
  set('sel', view.selected.join(','));
  return params;
}

/** The first columns to show when the URL names none: a few params, then a few metrics. */
export function defaultColumns(keys: { params: string[]; metrics: string[] }, max = 8): string[] {
  const metrics = keys.metrics.slice(0, Math.ceil(max / 2)).map((key) => `metrics.${key}`);
  const params = keys.params.slice(0, max - metrics.length).map((key) => `params.${key}`);
  return [...params, ...metrics];
}
