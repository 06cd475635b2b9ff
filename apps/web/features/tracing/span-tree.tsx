'use client';

import { useMemo, useRef, type KeyboardEvent } from 'react';
import type { Span } from '../../lib/graphql/tracing-documents.ts';
import {
  axisTicks,
  barGeometry,
  buildSpanTree,
  formatCount,
  formatLatency,
  totalTokens,
  traceBounds,
  visibleRows,
} from '../../lib/tracing.ts';
import { SpanTypeBadge } from './tracing-nav.tsx';

const INDENT_PX = 14;

/**
 * The spans of a trace: a collapsible tree (an ARIA tree: ↑/↓ move, ←/→ collapse and expand,
 * Home/End) next to a waterfall whose bars sit at each span's start and end relative to the
 * trace. The two share one scroll and one row per visible span; clicking a row on either side
 * selects that span.
 */
export function SpanTreeView({
  spans,
  selectedId,
  onSelect,
  collapsed,
  onToggle,
}: {
  spans: Span[];
  selectedId: string | null;
  onSelect(id: string): void;
  collapsed: ReadonlySet<string>;
  onToggle(id: string, expand: boolean): void;
}) {
  const forest = useMemo(() => buildSpanTree(spans), [spans]);
  const rows = useMemo(() => visibleRows(forest, collapsed), [forest, collapsed]);
  const bounds = useMemo(() => traceBounds(spans), [spans]);
  const ticks = useMemo(() => axisTicks(bounds?.durationMs ?? 0, 5), [bounds]);
  const treeRef = useRef<HTMLUListElement>(null);
  const selectedIndex = rows.findIndex((r) => r.node.span.id === selectedId);
  const focusIndex = selectedIndex >= 0 ? selectedIndex : 0;

  const focusRow = (index: number) => {
    const row = rows[index];
    if (!row) return;
    onSelect(row.node.span.id);
    const el = treeRef.current?.querySelector<HTMLElement>(
      `[data-span-id="${CSS.escape(row.node.span.id)}"]`,
    );
    el?.focus();
  };

  const onKeyDown = (e: KeyboardEvent, index: number) => {
    const row = rows[index]!;
    switch (e.key) {
      case 'ArrowDown':
        focusRow(Math.min(rows.length - 1, index + 1));
        break;
      case 'ArrowUp':
        focusRow(Math.max(0, index - 1));
        break;
      case 'Home':
        focusRow(0);
        break;
      case 'End':
        focusRow(rows.length - 1);
        break;
      case 'ArrowRight':
        if (row.hasChildren && !row.expanded) onToggle(row.node.span.id, true);
        else if (row.hasChildren) focusRow(index + 1);
        break;
      case 'ArrowLeft':
        if (row.hasChildren && row.expanded) onToggle(row.node.span.id, false);
        else {
          const parent = row.node.span.parentId;
          const at = rows.findIndex((r) => r.node.span.id === parent);
          if (at >= 0) focusRow(at);
        }
        break;
      case 'Enter':
      case ' ':
        onSelect(row.node.span.id);
        break;
      default:
        return;
    }
    e.preventDefault();
  };

  return (
    <div className="trace-scroll" data-testid="trace-spans">
      <div className="trace-layout">
        <div className="tree-pane">
          <div className="pane-head" style={{ position: 'sticky', top: 0, zIndex: 1 }}>
            Spans ({spans.length})
          </div>
          <ul className="span-tree" role="tree" aria-label="Spans" ref={treeRef}>
            {rows.map((row, index) => {
              const s = row.node.span;
              const total = totalTokens(s.tokenUsage);
              return (
                <li
                  key={s.id}
                  role="treeitem"
                  aria-level={row.node.depth + 1}
                  aria-expanded={row.hasChildren ? row.expanded : undefined}
                  aria-selected={s.id === selectedId}
                  tabIndex={index === focusIndex ? 0 : -1}
                  className="span-row"
                  data-span-id={s.id}
                  data-testid="span-row"
                  onClick={() => onSelect(s.id)}
                  onKeyDown={(e) => onKeyDown(e, index)}
                  style={{ paddingLeft: 8 + row.node.depth * INDENT_PX }}
                >
                  {row.hasChildren ? (
                    <button
                      type="button"
                      className="toggle"
                      tabIndex={-1}
                      aria-label={row.expanded ? `Collapse ${s.name}` : `Expand ${s.name}`}
                      onClick={(e) => {
                        e.stopPropagation();
                        onToggle(s.id, !row.expanded);
                      }}
                    >
                      {row.expanded ? '▾' : '▸'}
                    </button>
                  ) : (
                    <span className="toggle" aria-hidden="true" />
                  )}
                  <SpanTypeBadge type={s.spanType} />
                  <span className="span-name" title={s.name}>
                    {s.name || <span className="muted mono">{s.id}</span>}
                  </span>
                  {row.node.orphan && (
                    <span className="muted" title="Its parent span is not in this trace (yet)">
                      (orphan)
                    </span>
                  )}
                  {s.status.code === 'ERROR' && (
                    <span className="error-mark" title={s.status.message ?? 'Error'}>
                      ! <span className="visually-hidden">error</span>
                    </span>
                  )}
                  {total !== null && (
                    <span className="span-meta" title="Total tokens">
                      {formatCount(total)} tok
                    </span>
                  )}
                  <span className="span-meta">{formatLatency(s.durationMs)}</span>
                </li>
              );
            })}
          </ul>
        </div>
        <div className="waterfall-pane">
          <div className="pane-head" style={{ position: 'sticky', top: 0, zIndex: 1 }}>
            <div className="wf-axis" aria-hidden="true">
              {bounds &&
                ticks.map((t) => (
                  <span key={t} style={{ left: `${(t / (bounds.durationMs || 1)) * 100}%` }}>
                    {t === 0 ? '0' : formatLatency(t)}
                  </span>
                ))}
            </div>
          </div>
          <ol
            className="span-tree"
            aria-label="Timeline"
            data-testid="waterfall"
            style={{ position: 'relative' }}
          >
            {rows.map((row) => {
              const s = row.node.span;
              const g = bounds ? barGeometry(s, bounds) : null;
              const place = !g
                ? 'right'
                : g.leftPct + g.widthPct < 75
                  ? 'right'
                  : g.leftPct > 25
                    ? 'left'
                    : 'inside';
              return (
                <li
                  key={s.id}
                  className="wf-row"
                  aria-selected={s.id === selectedId}
                  onClick={() => onSelect(s.id)}
                  data-span-id={s.id}
                >
                  <div className="wf-track">
                    {bounds &&
                      ticks.map((t) => (
                        <span
                          key={t}
                          className="wf-grid"
                          style={{ left: `${(t / (bounds.durationMs || 1)) * 100}%` }}
                        />
                      ))}
                    {g && (
                      <>
                        <div
                          className="wf-bar"
                          data-testid="wf-bar"
                          data-type={s.spanType}
                          data-status={s.status.code}
                          data-open={g.open}
                          title={`${s.name}: ${formatLatency(g.durationMs)}, starts at +${formatLatency(g.offsetMs)}`}
                          style={{ left: `${g.leftPct}%`, width: `${g.widthPct}%` }}
                        />
                        <span
                          className="wf-label"
                          data-place={place}
                          style={
                            place === 'right'
                              ? { left: `calc(${g.leftPct + g.widthPct}% + 4px)` }
                              : place === 'left'
                                ? { right: `calc(${100 - g.leftPct}% + 4px)` }
                                : { left: `calc(${g.leftPct}% + 6px)` }
                          }
                        >
                          {formatLatency(g.durationMs)}
                          {g.open ? ' (open)' : ''}
                        </span>
                      </>
                    )}
                  </div>
                </li>
              );
            })}
          </ol>
        </div>
      </div>
    </div>
  );
}
