'use client';

import { ErrorMessage } from '../../components/error-message.tsx';
import type { ApiErrorInfo } from '../../lib/graphql/errors.ts';

/** An API error as the evaluation pages show it: the server's message and its code (as text). */
export function TypedError({ error, id }: { error: ApiErrorInfo; id?: string }) {
  return (
    <div className="typed-error" data-code={error.code ?? undefined}>
      <ErrorMessage error={error} {...(id ? { id } : {})} />
      {error.code && (
        <span className="muted mono" data-testid="error-code">
          {error.code}
        </span>
      )}
    </div>
  );
}
