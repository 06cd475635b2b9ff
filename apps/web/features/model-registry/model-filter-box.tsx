'use client';

import { useEffect, useState, type FormEvent } from 'react';
import { ErrorMessage } from '../../components/error-message.tsx';
import type { ApiErrorInfo } from '../../lib/graphql/errors.ts';

const EXAMPLES = [
  "name LIKE 'churn%'",
  "name = 'fraud-detector'",
  "tags.team = 'vision' AND name LIKE '%resnet%'",
  "(tags.owner = 'ana' OR tags.owner = 'li') AND description LIKE '%baseline%'",
];

/**
 * The models search box (the registry's filter grammar, the runs search language): applied on
 * Enter or Apply; a syntax error is shown under the box with the offending position marked.
 */
export function ModelFilterBox({
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
  return (
    <form role="search" onSubmit={submit} className="filter-box" aria-label="Filter models">
      <div className="toolbar">
        <label className="field grow">
          <span>Filter</span>
          <input
            type="search"
            className="grow mono"
            name="filter"
            value={draft}
            placeholder="name LIKE 'churn%' AND tags.team = 'risk'"
            onChange={(e) => setDraft(e.target.value)}
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? 'model-filter-error' : 'model-filter-help'}
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
          <div className="panel" id="model-filter-help">
            <p>
              Compare <code>name</code>, <code>description</code>, <code>tags.KEY</code> (quoted
              strings) and <code>created_at</code>, <code>updated_at</code> (epoch ms) with{' '}
              <code>=</code> <code>!=</code> <code>LIKE</code> <code>ILIKE</code> <code>IN</code>;
              combine with <code>AND</code>, <code>OR</code> and parentheses.
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
      {error && <ErrorMessage error={error} source={value} id="model-filter-error" />}
    </form>
  );
}
