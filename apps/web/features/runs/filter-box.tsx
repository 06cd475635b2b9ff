'use client';

import { useEffect, useState, type FormEvent } from 'react';
import { ErrorMessage } from '../../components/error-message.tsx';
import type { ApiErrorInfo } from '../../lib/graphql/errors.ts';

const EXAMPLES = [
  "metrics.loss < 0.5 AND params.lr = '0.01'",
  "(params.optimizer = 'adam' OR params.optimizer = 'sgd') AND metrics.accuracy >= 0.9",
  "attributes.status = 'FINISHED' AND tags.team LIKE 'vision%'",
  "params.layers IN ('2', '4') AND metrics.val_loss IS NOT NULL",
];

/**
 * The run search box: the filter is applied on Enter (or Apply); a syntax error from the server
 * is shown under the box with the offending position marked.
 */
export function FilterBox({
  value,
  onApply,
  error,
}: {
  value: string;
  onApply(filter: string): void;
  error: ApiErrorInfo | null;
}) {
  const [draft, setDraft] = useState(value);
  useEffect(() => setDraft(value), [value]);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    onApply(draft.trim());
  };
  const showError = error && (error.argument === 'filter' || error.position !== null);
  return (
    <form role="search" onSubmit={submit} className="filter-box" aria-label="Filter runs">
      <div className="toolbar">
        <label className="field grow">
          <span>Filter</span>
          <input
            type="search"
            className="grow mono"
            name="filter"
            value={draft}
            placeholder="metrics.loss < 0.5 AND params.lr = '0.01'"
            onChange={(e) => setDraft(e.target.value)}
            aria-invalid={showError ? true : undefined}
            aria-describedby={showError ? 'filter-error' : 'filter-help'}
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
          <div className="panel" id="filter-help">
            <p>
              Compare <code>metrics.KEY</code> (numbers), <code>params.KEY</code> and{' '}
              <code>tags.KEY</code> (quoted strings), <code>attributes.status</code>,{' '}
              <code>run_name</code>, <code>start_time</code>… with <code>=</code> <code>!=</code>{' '}
              <code>&lt;</code> <code>&gt;</code> <code>LIKE</code> <code>ILIKE</code>{' '}
              <code>IN</code> <code>IS NULL</code>; combine with <code>AND</code>, <code>OR</code>,{' '}
              <code>NOT</code> and parentheses. Keys with spaces go in backticks.
            </p>
            <ul>
              {EXAMPLES.map((example) => (
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
      {showError && <ErrorMessage error={error} source={value} id="filter-error" />}
    </form>
  );
}
