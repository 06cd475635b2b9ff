'use client';

import type { ApiErrorInfo } from '../lib/graphql/errors.ts';

/**
 * An API error shown inline. When the error names a position in `source` (a search filter), the
 * text is shown with the offending character marked. Everything is rendered as text.
 */
export function ErrorMessage({
  error,
  source,
  id,
}: {
  error: ApiErrorInfo;
  source?: string;
  id?: string;
}) {
  const pos = error.position;
  const marked =
    source !== undefined && pos !== null && pos >= 0 && pos <= source.length ? (
      <span className="where mono" aria-hidden="true">
        {source.slice(0, pos)}
        <mark>{source.slice(pos, pos + 1) || ' '}</mark>
        {source.slice(pos + 1)}
      </span>
    ) : null;
  return (
    <div className="error-box" role="alert" id={id}>
      <span>{error.message}</span>
      {marked}
    </div>
  );
}
