'use client';

import { useCallback, useEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { ErrorMessage } from '../../components/error-message.tsx';
import { useDashboard } from '../../components/providers.tsx';
import {
  ancestorsOf,
  archiveName,
  formatBytes,
  parentPath,
  rootArchiveUrl,
} from '../../lib/artifacts.ts';
import {
  RUN_ARTIFACTS_CHANGED,
  RUN_ARTIFACTS_QUERY,
  type ArtifactEntry,
  type RunArtifactsResult,
} from '../../lib/graphql/artifact-documents.ts';
import { describeError, type ApiErrorInfo } from '../../lib/graphql/errors.ts';
import { useSubscriptionEffect } from '../../lib/hooks.ts';
import { ArtifactPreview } from './artifact-preview.tsx';
import { DownloadButton } from './download-button.tsx';

type DirState =
  | { status: 'loading'; entries?: ArtifactEntry[] }
  | { status: 'ok'; entries: ArtifactEntry[] }
  | { status: 'error'; error: ApiErrorInfo; entries?: ArtifactEntry[] };

interface VisibleItem {
  entry: ArtifactEntry;
  depth: number;
}

/**
 * The run's artifact tree (`Run.artifacts(path)`, one directory at a time, loaded when first
 * expanded) next to a preview of the selected file. The tree is one tab stop (ARIA tree): ↑/↓
 * move, → expands or enters a directory, ← collapses or goes to the parent, Enter/Space opens.
 */
export function ArtifactsTab({
  runId,
  selected,
  onSelect,
}: {
  runId: string;
  selected: string | null;
  onSelect: (path: string | null) => void;
}) {
  const { urql } = useDashboard();
  const [dirs, setDirs] = useState<ReadonlyMap<string, DirState>>(new Map());
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(new Set());
  const [focused, setFocused] = useState<string | null>(null);
  const treeRef = useRef<HTMLUListElement>(null);
  const requested = useRef(new Set<string>());

  const loadDir = useCallback(
    async (path: string, quiet = false) => {
      requested.current.add(path);
      if (!quiet)
        setDirs((m) => new Map(m).set(path, { status: 'loading', entries: m.get(path)?.entries }));
      const r = await urql
        .query<RunArtifactsResult>(
          RUN_ARTIFACTS_QUERY,
          { id: runId, path },
          { requestPolicy: 'network-only' },
        )
        .toPromise();
      setDirs((m) => {
        const next = new Map(m);
        // A quiet (periodic) refresh that failed keeps what is shown.
        if (quiet && (r.error || !r.data?.run)) return m;
        if (r.error || !r.data?.run)
          next.set(path, {
            status: 'error',
            error: describeError(r.error ?? { message: `Run ${runId} not found` }),
            entries: m.get(path)?.entries,
          });
        else next.set(path, { status: 'ok', entries: r.data.run.artifacts });
        return next;
      });
    },
    [urql, runId],
  );

  // The root, and the directories down to a file named in the URL.
  useEffect(() => {
    requested.current = new Set();
    setDirs(new Map());
    void loadDir('');
    if (selected) {
      const ancestors = ancestorsOf(selected);
      setExpanded(new Set(ancestors));
      for (const dir of ancestors) void loadDir(dir);
      setFocused(selected);
    }
    // Only when the run changes (`selected` is read once): later selections come from the tree.
  }, [runId, loadDir]);

  // Artifacts logged later (while the run runs, or after it ended) show up: each
  // runArtifactsChanged push re-reads the open directories. No polling.
  const reloadOpen = useCallback(() => {
    for (const path of requested.current) void loadDir(path, true);
  }, [loadDir]);
  useSubscriptionEffect(RUN_ARTIFACTS_CHANGED, { runId }, reloadOpen);

  const visible = useMemo(() => {
    const out: VisibleItem[] = [];
    const walk = (path: string, depth: number) => {
      const state = dirs.get(path);
      for (const entry of state?.entries ?? []) {
        out.push({ entry, depth });
        if (entry.isDir && expanded.has(entry.path)) walk(entry.path, depth + 1);
      }
    };
    walk('', 1);
    return out;
  }, [dirs, expanded]);

  const selectedEntry = useMemo(() => {
    if (!selected) return null;
    return dirs.get(parentPath(selected))?.entries?.find((e) => e.path === selected) ?? null;
  }, [dirs, selected]);

  const toggle = (path: string, open?: boolean) => {
    const willOpen = open ?? !expanded.has(path);
    setExpanded((s) => {
      const next = new Set(s);
      if (willOpen) next.add(path);
      else next.delete(path);
      return next;
    });
    if (willOpen && !requested.current.has(path)) void loadDir(path);
  };

  const focusItem = (path: string) => {
    setFocused(path);
    const el = treeRef.current?.querySelector<HTMLElement>(`[data-path="${CSS.escape(path)}"]`);
    el?.focus();
  };

  const activate = (entry: ArtifactEntry) => {
    if (entry.isDir) toggle(entry.path);
    else onSelect(entry.path);
  };

  const onKeyDown = (e: KeyboardEvent<HTMLUListElement>) => {
    if (visible.length === 0) return;
    const at = Math.max(
      0,
      visible.findIndex((v) => v.entry.path === focused),
    );
    const current = visible[at]!.entry;
    let handled = true;
    switch (e.key) {
      case 'ArrowDown':
        focusItem(visible[Math.min(visible.length - 1, at + 1)]!.entry.path);
        break;
      case 'ArrowUp':
        focusItem(visible[Math.max(0, at - 1)]!.entry.path);
        break;
      case 'Home':
        focusItem(visible[0]!.entry.path);
        break;
      case 'End':
        focusItem(visible[visible.length - 1]!.entry.path);
        break;
      case 'ArrowRight':
        if (current.isDir) {
          if (!expanded.has(current.path)) toggle(current.path, true);
          else {
            const child = visible[at + 1];
            if (child && parentPath(child.entry.path) === current.path) focusItem(child.entry.path);
          }
        }
        break;
      case 'ArrowLeft':
        if (current.isDir && expanded.has(current.path)) toggle(current.path, false);
        else if (parentPath(current.path)) focusItem(parentPath(current.path));
        break;
      case 'Enter':
      case ' ':
        activate(current);
        break;
      default:
        handled = false;
    }
    if (handled) e.preventDefault();
  };

  const root = dirs.get('');
  const focusedEntry = visible.find((v) => v.entry.path === focused)?.entry ?? null;
  const tabStop = focused && visible.some((v) => v.entry.path === focused) ? focused : null;

  return (
    <div className="artifacts">
      <div className="artifacts-tree-pane">
        <div className="toolbar" style={{ marginTop: 0 }}>
          <button
            type="button"
            onClick={() => {
              for (const path of requested.current) void loadDir(path);
            }}
          >
            Refresh
          </button>
          {root?.entries && root.entries.length > 0 && (
            <DownloadButton
              downloadUrl={rootArchiveUrl(runId)}
              fileName={archiveName('', runId)}
              label="Download all artifacts as .tar.gz"
              text="All as .tar.gz"
            />
          )}
          {/* Always there (no layout shift under the pointer when focus moves in the tree). */}
          {focusedEntry?.isDir ? (
            <DownloadButton
              downloadUrl={focusedEntry.downloadUrl}
              fileName={archiveName(focusedEntry.path, runId)}
              label={`Download folder ${focusedEntry.path} as .tar.gz`}
              text="Folder as .tar.gz"
            />
          ) : (
            <button type="button" disabled title="Focus a folder in the tree to download it">
              Folder as .tar.gz
            </button>
          )}
        </div>
        {root?.status === 'error' && <ErrorMessage error={root.error} />}
        {!root || (root.status === 'loading' && !root.entries) ? (
          <p className="muted" role="status">
            Loading artifacts…
          </p>
        ) : root.entries?.length === 0 ? (
          <p className="muted">No artifacts logged for this run.</p>
        ) : (
          <ul
            className="artifact-tree"
            role="tree"
            aria-label="Artifacts"
            ref={treeRef}
            onKeyDown={onKeyDown}
          >
            {visible.map(({ entry, depth }, i) => {
              const isOpen = entry.isDir && expanded.has(entry.path);
              const dirState = entry.isDir ? dirs.get(entry.path) : undefined;
              const isTabStop = tabStop ? tabStop === entry.path : i === 0;
              return (
                <li
                  key={entry.path}
                  role="treeitem"
                  aria-level={depth}
                  aria-expanded={entry.isDir ? isOpen : undefined}
                  aria-selected={!entry.isDir && entry.path === selected}
                  aria-label={`${entry.name}${entry.isDir ? ' (folder)' : ''}`}
                  data-path={entry.path}
                  tabIndex={isTabStop ? 0 : -1}
                  className="artifact-item"
                  style={{ paddingLeft: 6 + (depth - 1) * 16 }}
                  onFocus={() => setFocused(entry.path)}
                  onClick={() => {
                    setFocused(entry.path);
                    activate(entry);
                  }}
                >
                  <span className="artifact-icon" aria-hidden="true">
                    {entry.isDir ? (isOpen ? '▾' : '▸') : '·'}
                  </span>
                  <span className="artifact-name">{entry.name}</span>
                  {entry.isDir ? (
                    <span className="artifact-meta">
                      {dirState?.status === 'loading' && 'loading…'}
                      {dirState?.status === 'error' && (
                        <span role="alert">{dirState.error.message}</span>
                      )}
                    </span>
                  ) : (
                    <span className="artifact-meta">{formatBytes(entry.size)}</span>
                  )}
                </li>
              );
            })}
          </ul>
        )}
      </div>
      <div className="artifacts-preview-pane">
        {selectedEntry ? (
          <ArtifactPreview entry={selectedEntry} />
        ) : selected && dirs.get(parentPath(selected))?.status !== 'ok' ? (
          <p className="muted" role="status">
            Loading…
          </p>
        ) : selected ? (
          <p className="muted">{selected} is not among this run&apos;s artifacts.</p>
        ) : (
          <p className="muted">
            Select a file to preview it. Folders download as .tar.gz from the toolbar.
          </p>
        )}
      </div>
    </div>
  );
}
