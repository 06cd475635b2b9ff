'use client';

import { SearchFilterBox } from '../../components/search-filter-box.tsx';
import type { ApiErrorInfo } from '../../lib/graphql/errors.ts';

const EXAMPLES = [
  "status = 'ERROR'",
  "span.model = 'gpt-4o-mini' AND duration_ms > 2000",
  "user = 'ana' AND cost > 0.01",
  "tags.env = 'prod' OR environment = 'production'",
  "name LIKE 'chat%' AND NOT span.type = 'TOOL'",
  "attributes.`gen_ai.request.model` LIKE 'claude%'",
];

/** The traces search box: docs/tracing.md's grammar, applied on Enter or Apply. */
export function TraceFilterBox({
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
      label="Filter traces"
      idPrefix="trace-filter"
      placeholder="status = 'ERROR' AND span.model LIKE 'gpt-4o%'"
      examples={EXAMPLES}
      help={
        <>
          Strings (quoted): <code>name</code>, <code>status</code>, <code>session</code>,{' '}
          <code>user</code>, <code>environment</code>, <code>trace_id</code>, <code>run_id</code>,{' '}
          <code>tags.KEY</code>, <code>metadata.KEY</code>, <code>span.name</code>,{' '}
          <code>span.type</code>, <code>span.model</code> with <code>=</code> <code>!=</code>{' '}
          <code>LIKE</code> <code>ILIKE</code> <code>IN</code>. Numbers: <code>duration_ms</code>,{' '}
          <code>span_count</code>, <code>input_tokens</code>, <code>output_tokens</code>,{' '}
          <code>total_tokens</code>, <code>cost</code>, <code>timestamp_ms</code>,{' '}
          <code>end_time_ms</code> with <code>&lt;</code> <code>&lt;=</code> <code>&gt;</code>{' '}
          <code>&gt;=</code> <code>=</code> <code>!=</code>. <code>attributes.KEY</code> matches any
          span. Combine with <code>AND</code>, <code>OR</code>, <code>NOT</code> and parentheses.
        </>
      }
    />
  );
}
