'use client';

import { SearchFilterBox } from '../../components/search-filter-box.tsx';
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
  const filterError = error && (error.argument === 'filter' || error.position !== null);
  return (
    <SearchFilterBox
      value={value}
      onApply={onApply}
      error={filterError ? error : null}
      label="Filter runs"
      idPrefix="filter"
      placeholder="metrics.loss < 0.5 AND params.lr = '0.01'"
      examples={EXAMPLES}
      help={
        <>
          Compare <code>metrics.KEY</code> (numbers), <code>params.KEY</code> and{' '}
          <code>tags.KEY</code> (quoted strings), <code>attributes.status</code>,{' '}
          <code>run_name</code>, <code>start_time</code>… with <code>=</code> <code>!=</code>{' '}
          <code>&lt;</code> <code>&gt;</code> <code>LIKE</code> <code>ILIKE</code> <code>IN</code>{' '}
          <code>IS NULL</code>; combine with <code>AND</code>, <code>OR</code>, <code>NOT</code> and
          parentheses. Keys with spaces go in backticks.
        </>
      }
    />
  );
}
