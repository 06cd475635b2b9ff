'use client';

import { useState } from 'react';
import { columnId, type ColumnKind } from '../../lib/run-columns.ts';
import type { KeySets } from './table-run.ts';

const GROUPS: { kind: ColumnKind; label: string }[] = [
  { kind: 'params', label: 'Parameters' },
  { kind: 'metrics', label: 'Metrics (latest value)' },
  { kind: 'tags', label: 'Tags' },
];

/** Which params, metrics and tags the runs table shows as columns. */
export function ColumnPicker({
  keys,
  chosen,
  onChange,
}: {
  keys: KeySets;
  chosen: readonly string[];
  onChange(columns: string[]): void;
}) {
  const [search, setSearch] = useState('');
  const needle = search.trim().toLowerCase();
  const chosenSet = new Set(chosen);
  const toggle = (id: string, on: boolean) =>
    onChange(on ? [...chosen, id] : chosen.filter((c) => c !== id));
  return (
    <details className="popover">
      <summary>Columns ({chosen.length})</summary>
      <div className="panel" role="group" aria-label="Choose columns">
        <div className="toolbar">
          <label className="field grow">
            <span className="visually-hidden">Find a key</span>
            <input
              type="search"
              className="grow"
              placeholder="Find a key…"
              value={search}
              onChange={(e) => setSearch(e.target.value)}
            />
          </label>
          <button type="button" onClick={() => onChange([])} disabled={chosen.length === 0}>
            None
          </button>
        </div>
        {GROUPS.map(({ kind, label }) => {
          const list = keys[kind].filter((k) => !needle || k.toLowerCase().includes(needle));
          return (
            <fieldset key={kind}>
              <legend>{label}</legend>
              {list.length === 0 && <span className="muted">none</span>}
              {list.slice(0, 300).map((key) => {
                const id = columnId({ kind, key });
                return (
                  <label key={id}>
                    <input
                      type="checkbox"
                      checked={chosenSet.has(id)}
                      onChange={(e) => toggle(id, e.target.checked)}
                    />
                    <span>{key}</span>
                  </label>
                );
              })}
              {list.length > 300 && (
                <span className="muted">{list.length - 300} more: narrow the search</span>
              )}
            </fieldset>
          );
        })}
      </div>
    </details>
  );
}
