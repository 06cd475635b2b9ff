'use client';

import { SearchFilterBox } from '../../components/search-filter-box.tsx';
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
  return (
    <SearchFilterBox
      value={value}
      onApply={onApply}
      error={error}
      label="Filter models"
      idPrefix="model-filter"
      placeholder="name LIKE 'churn%' AND tags.team = 'risk'"
      examples={EXAMPLES}
      help={
        <>
          Compare <code>name</code>, <code>description</code>, <code>tags.KEY</code> (quoted
          strings) and <code>created_at</code>, <code>updated_at</code> (epoch ms) with{' '}
          <code>=</code> <code>!=</code> <code>LIKE</code> <code>ILIKE</code> <code>IN</code>;
          combine with <code>AND</code>, <code>OR</code> and parentheses.
        </>
      }
    />
  );
}
