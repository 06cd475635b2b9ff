'use client';

import { useVirtualizer } from '@tanstack/react-virtual';
import { memo, useCallback, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { formatMetric } from '../../lib/metric-values.ts';
import { columnId, type DataColumn } from '../../lib/run-columns.ts';
import type { RunGroup } from '../../lib/run-groups.ts';
import { KIND_LABEL, RunRowView } from './runs-table.tsx';
import type { TableRun } from './table-run.ts';

const ROW_HEIGHT = 32;
const HEADER_HEIGHT = 34;

/** A group as the page shows it: its runs, its colour (also in the chart view), its label. */
export interface ShownGroup {
  /** Stable id of the group (its value, or a marker for "no value"). */
  id: string;
  group: RunGroup<TableRun>;
  color: string;
}

export const NO_VALUE_GROUP = '\u0000none';
export const groupIdOf = (value: string | null): string => value ?? NO_VALUE_GROUP;
export const groupLabel = (value: string | null): string => value ?? '(no value)';

type Item =
  | { type: 'group'; shown: ShownGroup }
  | { type: 'run'; run: TableRun; color: string; group: string };

export interface GroupedRunsTableProps {
  groupBy: string;
  groups: ShownGroup[];
  columns: DataColumn[];
  expanded: ReadonlySet<string>;
  onToggle(groupId: string): void;
  selected: ReadonlySet<string>;
  onSelect(ids: string[], on: boolean): void;
  colors: ReadonlyMap<string, string>;
  flashed: ReadonlySet<string>;
  now: number;
}

/**
 * The runs table grouped by a param or tag: one row per value (count; the mean of each metric
 * column over the group's runs; a param or tag column shows its value when the group's runs
 * share it), expandable to the group's runs. Virtualised like the flat table.
 */
export function GroupedRunsTable(props: GroupedRunsTableProps) {
  const { groups, columns, expanded, selected, flashed, now, colors } = props;
  const scroller = useRef<HTMLDivElement>(null);
  const items = useMemo(() => {
    const out: Item[] = [];
    for (const g of groups) {
      out.push({ type: 'group', shown: g });
      if (expanded.has(g.id))
        for (const run of g.group.runs)
          out.push({ type: 'run', run, color: colors.get(run.id) ?? g.color, group: g.id });
    }
    return out;
  }, [groups, expanded, colors]);
  const virtualizer = useVirtualizer({
    count: items.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
    paddingStart: HEADER_HEIGHT,
    scrollPaddingStart: HEADER_HEIGHT,
  });
  const virtual = virtualizer.getVirtualItems();
  const latest = useRef(props);
  latest.current = props;
  const onSelectOne = useCallback(
    (id: string, on: boolean) => latest.current.onSelect([id], on),
    [],
  );
  const noop = useCallback(() => undefined, []);
  // One tab stop (the active row); arrows, Page Up/Down, Home/End move it (as in the flat table).
  const [active, setActive] = useState(0);
  const count = useRef(items.length);
  count.current = items.length;
  const focusRow = useCallback(
    (index: number) => {
      const i = Math.max(0, Math.min(count.current - 1, index));
      setActive(i);
      const find = () => scroller.current?.querySelector<HTMLElement>(`tr[data-index="${i}"]`);
      const rendered = find();
      if (rendered) {
        rendered.focus();
        return;
      }
      virtualizer.scrollToIndex(i, { align: 'auto' });
      let tries = 0;
      const retry = () => {
        const el = find();
        if (el) el.focus();
        else if (++tries < 10) requestAnimationFrame(retry);
      };
      requestAnimationFrame(retry);
    },
    [virtualizer],
  );
  const onMoveKey = (e: KeyboardEvent<HTMLDivElement>) => {
    const row = e.target instanceof HTMLElement ? e.target : null;
    if (!row || row.tagName !== 'TR' || row.dataset.index === undefined) return;
    const index = Number(row.dataset.index);
    const page = Math.max(1, Math.floor((scroller.current?.clientHeight ?? 320) / ROW_HEIGHT) - 1);
    const target =
      e.key === 'ArrowDown'
        ? index + 1
        : e.key === 'ArrowUp'
          ? index - 1
          : e.key === 'PageDown'
            ? index + page
            : e.key === 'PageUp'
              ? index - page
              : e.key === 'Home'
                ? 0
                : e.key === 'End'
                  ? count.current - 1
                  : null;
    if (target === null) return;
    focusRow(target);
    e.preventDefault();
  };
  const onRunKey = useCallback((e: KeyboardEvent<HTMLTableRowElement>, index: number) => {
    if (e.target !== e.currentTarget) return;
    const item = latestItems.current[index];
    if (e.key === 'Enter') {
      e.currentTarget.querySelector<HTMLAnchorElement>('a.run-link')?.click();
      e.preventDefault();
    } else if (e.key === ' ' && item?.type === 'run') {
      latest.current.onSelect([item.run.id], !latest.current.selected.has(item.run.id));
      e.preventDefault();
    }
  }, []);
  const latestItems = useRef(items);
  latestItems.current = items;
  const activeRendered = virtual.some((v) => v.index === active);

  const colCount = 5 + columns.length;
  const paddingTop = virtual.length > 0 ? virtual[0]!.start - HEADER_HEIGHT : 0;
  const paddingBottom =
    virtual.length > 0 ? virtualizer.getTotalSize() - virtual[virtual.length - 1]!.end : 0;

  return (
    <div className="runs-scroller" ref={scroller} data-testid="runs-scroller" onKeyDown={onMoveKey}>
      <table
        className="runs-table grouped"
        aria-label={`Runs grouped by ${props.groupBy}`}
        aria-rowcount={items.length + 1}
      >
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
            <th scope="col" />
            <th scope="col">
              <span className="plain">{props.groupBy} / run</span>
            </th>
            <th scope="col">
              <span className="plain">Status</span>
            </th>
            <th scope="col">
              <span className="plain">Started</span>
            </th>
            <th scope="col">
              <span className="plain">Duration</span>
            </th>
            {columns.map((c) => (
              <th scope="col" key={columnId(c)}>
                <span className="plain" title={c.kind === 'metrics' ? 'Group: mean' : undefined}>
                  <span className="kind">{KIND_LABEL[c.kind]}</span> {c.key}
                </span>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {paddingTop > 0 && (
            <tr className="spacer" aria-hidden="true">
              <td colSpan={colCount} style={{ height: paddingTop }} />
            </tr>
          )}
          {virtual.map((v) => {
            const item = items[v.index];
            if (!item) return null;
            if (item.type === 'group') {
              const ids = item.shown.group.runs.map((r) => r.id);
              const chosen = ids.filter((id) => selected.has(id)).length;
              return (
                <GroupRowView
                  key={`g:${item.shown.id}`}
                  shown={item.shown}
                  index={v.index}
                  columns={columns}
                  isExpanded={expanded.has(item.shown.id)}
                  tabbable={v.index === active || (!activeRendered && v === virtual[0])}
                  onFocusRow={setActive}
                  allSelected={chosen === ids.length && ids.length > 0}
                  onToggle={props.onToggle}
                  onSelect={props.onSelect}
                />
              );
            }
            return (
              <RunRowView
                key={`r:${item.group}:${item.run.id}`}
                row={{ run: item.run, depth: 1, childCount: 0, orphan: false }}
                index={v.index}
                columns={columns}
                color={item.color}
                isSelected={selected.has(item.run.id)}
                isCollapsed={false}
                isFlashed={flashed.has(item.run.id)}
                tabbable={v.index === active || (!activeRendered && v === virtual[0])}
                now={item.run.summary.endTime === null ? now : 0}
                onKey={onRunKey}
                onFocusRow={setActive}
                onSelect={onSelectOne}
                onToggle={noop}
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

function groupCell(group: RunGroup<TableRun>, column: DataColumn): string {
  if (column.kind === 'metrics') {
    const mean = group.means.get(column.key);
    return mean === undefined ? '' : formatMetric(mean);
  }
  const values = new Set(
    group.runs.map((r) => (column.kind === 'params' ? r.params : r.tags).get(column.key)),
  );
  if (values.size === 1) return [...values][0] ?? '';
  return `${values.size} values`;
}

const GroupRowView = memo(function GroupRowView({
  shown,
  index,
  columns,
  isExpanded,
  tabbable,
  onFocusRow,
  allSelected,
  onToggle,
  onSelect,
}: {
  shown: ShownGroup;
  index: number;
  columns: DataColumn[];
  isExpanded: boolean;
  tabbable: boolean;
  onFocusRow(index: number): void;
  allSelected: boolean;
  onToggle(groupId: string): void;
  onSelect(ids: string[], on: boolean): void;
}) {
  const { group } = shown;
  const label = groupLabel(group.value);
  const n = group.runs.length;
  return (
    <tr
      className="group-row"
      data-index={index}
      data-group={shown.id}
      data-count={n}
      aria-rowindex={index + 2}
      tabIndex={tabbable ? 0 : -1}
      onFocus={(e) => {
        if (e.target === e.currentTarget) onFocusRow(index);
      }}
      onKeyDown={(e) => {
        if (e.target !== e.currentTarget) return;
        if (e.key === 'Enter' || e.key === ' ' || e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
          if (e.key === 'ArrowRight' && isExpanded) return;
          if (e.key === 'ArrowLeft' && !isExpanded) return;
          onToggle(shown.id);
          e.preventDefault();
        }
      }}
    >
      <td>
        <input
          type="checkbox"
          tabIndex={-1}
          aria-label={`Select the ${n} runs of ${label}`}
          checked={allSelected}
          onChange={(e) =>
            onSelect(
              group.runs.map((r) => r.id),
              e.target.checked,
            )
          }
        />
      </td>
      <td>
        <span className="name-cell">
          <button
            type="button"
            className="toggle"
            tabIndex={-1}
            aria-expanded={isExpanded}
            aria-label={`${isExpanded ? 'Hide' : 'Show'} the ${n} runs of ${label}`}
            onClick={() => onToggle(shown.id)}
          >
            {isExpanded ? '▾' : '▸'}
          </button>
          <span
            className="swatch"
            data-color={shown.color}
            style={{ background: shown.color }}
            aria-hidden="true"
          />
          <strong className="group-value" title={label}>
            {label}
          </strong>
          <span className="muted" data-testid="group-count">
            {n} run{n === 1 ? '' : 's'}
          </span>
        </span>
      </td>
      <td />
      <td />
      <td />
      {columns.map((c) => {
        const text = groupCell(group, c);
        return (
          <td
            key={columnId(c)}
            data-column={columnId(c)}
            className={c.kind === 'metrics' ? 'num' : undefined}
            title={c.kind === 'metrics' && text ? `mean of ${n}: ${text}` : text}
          >
            {text}
          </td>
        );
      })}
    </tr>
  );
});
