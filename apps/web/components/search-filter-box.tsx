'use client';

import { useEffect, useState, type FormEvent, type ReactNode } from 'react';
import { ErrorMessage } from './error-message.tsx';
import type { ApiErrorInfo } from '../lib/graphql/errors.ts';

/**
 * A search box for the filter grammar (runs, registered models): the filter is applied on Enter
 * (or Apply); `error`, when given, is shown under the box with the offending position marked;
 * "Syntax" opens `help` and examples that fill the box when clicked.
 */
export function SearchFilterBox({
  value,
  onApply,
  error,
  label,
  idPrefix,
  placeholder,
  examples,
  help,
}: {
  value: string;
  onApply(filter: string): void;
  /** The error to show (null: none). */
  error: ApiErrorInfo | null;
  /** The form's accessible name, e.g. "Filter runs". */
  label: string;
  /** Prefix of the help and error element ids (unique on the page). */
  idPrefix: string;
  placeholder: string;
  examples: readonly string[];
  help: ReactNode;
}) {
  const [draft, setDraft] = useState(value);
  useEffect(() => setDraft(value), [value]);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    onApply(draft.trim());
  };
  const errorId = `${idPrefix}-error`;
  const helpId = `${idPrefix}-help`;
  return (
    <form role="search" onSubmit={submit} className="filter-box" aria-label={label}>
      <div className="toolbar">
        <label className="field grow">
          <span>Filter</span>
          <input
            type="search"
            className="grow mono"
            name="filter"
            value={draft}
            placeholder={placeholder}
            onChange={(e) => setDraft(e.target.value)}
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? errorId : helpId}
            spellCheck={false}
            autoComplete="off"
          />
        </label>
        <button type="submit" className="primary">
          Apply
        </button>
        <button
          type="button"
          onClick={() => {
            setDraft('');
            onApply('');
          }}
          disabled={!value && !draft}
        >
          Clear
        </button>
        <details className="popover">
          <summary>Syntax</summary>
          <div className="panel" id={helpId}>
            <p>{help}</p>
            <ul>
              {examples.map((example) => (
                <li key={example}>
                  <button type="button" className="link mono" onClick={() => setDraft(example)}>
                    {example}
                  </button>
                </li>
              ))}
            </ul>
          </div>
        </details>
      </div>
      {error && <ErrorMessage error={error} source={value} id={errorId} />}
    </form>
  );
}
