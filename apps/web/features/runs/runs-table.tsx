'use client';

import Link from 'next/link';
import { useVirtualizer } from '@tanstack/react-virtual';
import {
  Fragment,
  memo,
  useCallback,
  useEffect,
  useMemo,
  useRef,
  useState,
  type KeyboardEvent,
} from 'react';
import { StatusBadge } from '../../components/status-badge.tsx';
import { formatDuration, formatTimestamp, runDuration } from '../../lib/format.ts';
import { formatMetric } from '../../lib/metric-values.ts';
import {
  ATTRIBUTE_SORT,
  columnId,
  type DataColumn,
  type SortOrder,
} from '../../lib/run-columns.ts';
import type { RunRow } from '../../lib/run-rows.ts';
import type { TableRun } from './table-run.ts';

const ROW_HEIGHT = 32;
const HEADER_HEIGHT = 34;
/** Start loading the next page this many rows before the loaded end comes into view. */
const LOAD_AHEAD = 300;

export interface RunsTableProps {
  rows: RunRow<TableRun>[];
  /** Run colours (the same in the chart view); a swatch before each name. */
  colors?: ReadonlyMap<string, string>;
  /** Rows not loaded yet (shown as placeholders, so the scrollbar reflects the total). */
  placeholders: number;
  columns: DataColumn[];
  order: SortOrder | null;
  onSort(column: string): void;
  selected: ReadonlySet<string>;
  onSelect(ids: string[], on: boolean): void;
  collapsed: ReadonlySet<string>;
  onToggleCollapse(id: string): void;
  flashed: ReadonlySet<string>;
  onNearEnd(): void;
  now: number;
}

function cellText(run: TableRun, column: DataColumn): string {
  switch (column.kind) {
    case 'params':
      return run.params.get(column.key) ?? '';
    case 'tags':
      return run.tags.get(column.key) ?? '';
    case 'metrics': {
      const v = run.metrics.get(column.key);
      return v === undefined ? '' : formatMetric(v);
    }
  }
}

export const KIND_LABEL = { params: 'param', metrics: 'metric', tags: 'tag' } as const;

export function RunsTable(props: RunsTableProps) {
  const { rows, placeholders, columns, order, selected, collapsed, flashed, now } = props;
  const scroller = useRef<HTMLDivElement>(null);
  const count = rows.length + placeholders;
  const virtualizer = useVirtualizer({
    count,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
    paddingStart: HEADER_HEIGHT,
    scrollPaddingStart: HEADER_HEIGHT,
  });
  const items = virtualizer.getVirtualItems();
  const lastIndex = items.at(-1)?.index ?? 0;
  const { onNearEnd } = props;
  useEffect(() => {
    if (placeholders > 0 && lastIndex >= rows.length - LOAD_AHEAD) onNearEnd();
  }, [lastIndex, rows.length, placeholders, onNearEnd]);

  const [active, setActive] = useState(0);
  // Handlers read the latest props through a ref, so they keep one identity and the memoised
  // rows re-render only when their own data changes (not on every scroll frame).
  const latest = useRef({ props, rows, virtualizer });
  latest.current = { props, rows, virtualizer };
  const focusRow = useCallback((index: number) => {
    const { rows: current, virtualizer: v } = latest.current;
    const i = Math.max(0, Math.min(current.length - 1, index));
    setActive(i);
    const find = () => scroller.current?.querySelector<HTMLElement>(`tr[data-index="${i}"]`);
    const rendered = find();
    if (rendered) {
      rendered.focus();
      return;
    }
    // Not rendered (scrolled out of the window): bring it in, then focus it.
    v.scrollToIndex(i, { align: 'auto' });
    let tries = 0;
    const retry = () => {
      const el = find();
      if (el) el.focus();
      else if (++tries < 10) requestAnimationFrame(retry);
    };
    requestAnimationFrame(retry);
  }, []);
  const onRowKey = useCallback(
    (e: KeyboardEvent<HTMLTableRowElement>, index: number) => {
      if (e.target !== e.currentTarget) return;
      const { props: p, rows: current } = latest.current;
      const row = current[index];
      if (!row) return;
      const page = Math.max(
        1,
        Math.floor((scroller.current?.clientHeight ?? 320) / ROW_HEIGHT) - 1,
      );
      switch (e.key) {
        case 'ArrowDown':
          focusRow(index + 1);
          break;
        case 'ArrowUp':
          focusRow(index - 1);
          break;
        case 'PageDown':
          focusRow(index + page);
          break;
        case 'PageUp':
          focusRow(index - page);
          break;
        case 'Home':
          focusRow(0);
          break;
        case 'End':
          focusRow(current.length - 1);
          break;
        case ' ':
          p.onSelect([row.run.id], !p.selected.has(row.run.id));
          break;
        case 'Enter':
          e.currentTarget.querySelector<HTMLAnchorElement>('a.run-link')?.click();
          break;
        case 'ArrowRight':
          if (row.childCount > 0 && p.collapsed.has(row.run.id)) p.onToggleCollapse(row.run.id);
          break;
        case 'ArrowLeft':
          if (row.childCount > 0 && !p.collapsed.has(row.run.id)) p.onToggleCollapse(row.run.id);
          break;
        default:
          return;
      }
      e.preventDefault();
    },
    [focusRow],
  );
  const onSelectOne = useCallback(
    (id: string, on: boolean) => latest.current.props.onSelect([id], on),
    [],
  );
  const onToggle = useCallback((id: string) => latest.current.props.onToggleCollapse(id), []);

  const loadedIds = useMemo(() => rows.map((r) => r.run.id), [rows]);
  const selectedLoaded = useMemo(
    () => loadedIds.filter((id) => selected.has(id)).length,
    [loadedIds, selected],
  );
  const selectAll = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (selectAll.current)
      selectAll.current.indeterminate = selectedLoaded > 0 && selectedLoaded < loadedIds.length;
  }, [selectedLoaded, loadedIds.length]);

  const sortHeader = (label: string, column: string, extra?: string) => {
    const dir = order?.column === column ? order.direction : null;
    return (
      <th
        scope="col"
        aria-sort={dir === 'ASC' ? 'ascending' : dir === 'DESC' ? 'descending' : undefined}
      >
        <button
          type="button"
          className="sort"
          onClick={() => props.onSort(column)}
          title={`Sort by ${label}${extra ? ` (${extra})` : ''}`}
        >
          {extra && <span className="kind">{extra}</span>}
          <span>{label}</span>
          <span aria-hidden="true">{dir === 'ASC' ? '▲' : dir === 'DESC' ? '▼' : ''}</span>
        </button>
      </th>
    );
  };

  const colCount = 5 + columns.length;
  const paddingTop = items.length > 0 ? items[0]!.start - HEADER_HEIGHT : 0;
  const paddingBottom =
    items.length > 0 ? virtualizer.getTotalSize() - items[items.length - 1]!.end : 0;
  const activeRendered = items.some((v) => v.index === active && v.index < rows.length);

  return (
    <div className="runs-scroller" ref={scroller} data-testid="runs-scroller">
      <table className="runs-table" aria-label="Runs" aria-rowcount={count + 1}>
        <colgroup>
          <col style={{ width: 40 }} />
          <col style={{ width: 280 }} />
          <col style={{ width: 104 }} />
          <col style={{ width: 160 }} />
          <col style={{ width: 96 }} />
          {columns.map((c) => (
            <col key={columnId(c)} style={{ width: 140 }} />
          ))}
        </colgroup>
        <thead>
          <tr aria-rowindex={1}>
            <th scope="col">
              <span className="plain">
                <input
                  ref={selectAll}
                  type="checkbox"
                  aria-label="Select all loaded runs"
                  checked={loadedIds.length > 0 && selectedLoaded === loadedIds.length}
                  onChange={(e) => props.onSelect(loadedIds, e.target.checked)}
                />
              </span>
            </th>
            {sortHeader('Run', ATTRIBUTE_SORT.name)}
            {sortHeader('Status', ATTRIBUTE_SORT.status)}
            {sortHeader('Started', ATTRIBUTE_SORT.start)}
            <th scope="col">
              <span className="plain" title="End − start (not sortable on the server)">
                Duration
              </span>
            </th>
            {columns.map((c) => (
              <Fragment key={columnId(c)}>
                {sortHeader(c.key, columnId(c), KIND_LABEL[c.kind])}
              </Fragment>
            ))}
          </tr>
        </thead>
        <tbody>
          {paddingTop > 0 && (
            <tr className="spacer" aria-hidden="true">
              <td colSpan={colCount} style={{ height: paddingTop }} />
            </tr>
          )}
          {items.map((item) => {
            const row = rows[item.index];
            if (!row) {
              return (
                <tr
                  key={`placeholder-${item.index}`}
                  className="placeholder"
                  aria-rowindex={item.index + 2}
                >
                  <td colSpan={colCount}>Loading…</td>
                </tr>
              );
            }
            return (
              <RunRowView
                key={row.run.id}
                row={row}
                index={item.index}
                columns={columns}
                color={props.colors?.get(row.run.id)}
                isSelected={selected.has(row.run.id)}
                isCollapsed={collapsed.has(row.run.id)}
                isFlashed={flashed.has(row.run.id)}
                tabbable={item.index === active || (!activeRendered && item === items[0])}
                now={row.run.summary.endTime === null ? now : 0}
                onKey={onRowKey}
                onFocusRow={setActive}
                onSelect={onSelectOne}
                onToggle={onToggle}
              />
            );
          })}
          {paddingBottom > 0 && (
            <tr className="spacer" aria-hidden="true">
              <td colSpan={colCount} style={{ height: paddingBottom }} />
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}

interface RunRowViewProps {
  row: RunRow<TableRun>;
  index: number;
  columns: DataColumn[];
  color: string | undefined;
  isSelected: boolean;
  isCollapsed: boolean;
  isFlashed: boolean;
  tabbable: boolean;
  now: number;
  onKey(e: KeyboardEvent<HTMLTableRowElement>, index: number): void;
  onFocusRow(index: number): void;
  onSelect(id: string, on: boolean): void;
  onToggle(id: string): void;
}

/** One run's row; memoised: scrolling renders only the rows that come into view. */
export const RunRowView = memo(function RunRowView({
  row,
  index,
  columns,
  color,
  isSelected,
  isCollapsed,
  isFlashed,
  tabbable,
  now,
  onKey,
  onFocusRow,
  onSelect,
  onToggle,
}: RunRowViewProps) {
  const run = row.run;
  const s = run.summary;
  return (
    <tr
      data-index={index}
      data-run-id={run.id}
      aria-rowindex={index + 2}
      data-selected={isSelected}
      className={`run-row${isFlashed ? ' flash' : ''}`}
      tabIndex={tabbable ? 0 : -1}
      onFocus={(e) => {
        if (e.target === e.currentTarget) onFocusRow(index);
      }}
      onKeyDown={(e) => onKey(e, index)}
    >
      <td>
        <input
          type="checkbox"
          aria-label={`Select run ${s.name}`}
          tabIndex={-1}
          checked={isSelected}
          onChange={(e) => onSelect(run.id, e.target.checked)}
        />
      </td>
      <td>
        <span className="name-cell">
          <span className="indent" style={{ width: row.depth * 18 }} />
          {row.childCount > 0 ? (
            <button
              type="button"
              className="toggle"
              tabIndex={-1}
              aria-expanded={!isCollapsed}
              aria-label={`${isCollapsed ? 'Show' : 'Hide'} ${row.childCount} child runs of ${s.name}`}
              onClick={() => onToggle(run.id)}
            >
              {isCollapsed ? '▸' : '▾'}
            </button>
          ) : (
            <span className="toggle" aria-hidden="true">
              {row.depth > 0 || row.orphan ? '↳' : ''}
            </span>
          )}
          {color && (
            <span
              className="swatch"
              data-color={color}
              style={{ background: color }}
              aria-hidden="true"
            />
          )}
          <Link
            className="run-link"
            href={`/run?id=${encodeURIComponent(run.id)}`}
            title={s.name}
            tabIndex={-1}
          >
            {s.name}
          </Link>
          {row.orphan && <span className="visually-hidden">(child run)</span>}
          {row.childCount > 0 && (
            <span className="muted" title={`${row.childCount} child runs`}>
              ({row.childCount})
            </span>
          )}
        </span>
      </td>
      <td>
        <StatusBadge status={s.status} />
      </td>
      <td title={formatTimestamp(s.startTime)}>{formatTimestamp(s.startTime)}</td>
      <td>{formatDuration(runDuration(s.startTime, s.endTime, now))}</td>
      {columns.map((c) => {
        const text = cellText(run, c);
        return (
          <td key={columnId(c)} className={c.kind === 'metrics' ? 'num' : undefined} title={text}>
            {text}
          </td>
        );
      })}
    </tr>
  );
});
