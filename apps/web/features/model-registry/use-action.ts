'use client';

import { useCallback, useState } from 'react';
import type { AnyVariables } from '@urql/core';
import { useDashboard } from '../../components/providers.tsx';
import { describeError, type ApiErrorInfo } from '../../lib/graphql/errors.ts';

/**
 * One registry mutation as a control's action: `run` resolves true on success (then calls
 * `onDone`, which re-reads the model), false with `error` set to the server's message.
 */
export function useAction(onDone: () => void): {
  run: (document: string, variables: AnyVariables) => Promise<boolean>;
  busy: boolean;
  error: ApiErrorInfo | null;
  clear: () => void;
} {
  const { urql } = useDashboard();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiErrorInfo | null>(null);
  const run = useCallback(
    async (document: string, variables: AnyVariables) => {
      setBusy(true);
      const result = await urql.mutation(document, variables).toPromise();
      setBusy(false);
      if (result.error || !result.data) {
        setError(describeError(result.error ?? { message: 'No data' }));
        return false;
      }
      setError(null);
      onDone();
      return true;
    },
    [urql, onDone],
  );
  return { run, busy, error, clear: useCallback(() => setError(null), []) };
}
