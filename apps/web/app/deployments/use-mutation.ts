'use client';

import { useCallback, useState } from 'react';
import type { AnyVariables } from '@urql/core';
import { useDashboard } from '../../components/providers.tsx';
import { describeError, type ApiErrorInfo } from '../../lib/graphql/errors.ts';

/**
 * One deployments mutation as a control's action: `run` resolves with the answer's data, or null
 * with `error` set to the server's typed error (message and code).
 */
export function useMutation<T>(): {
  run: (document: string, variables: AnyVariables) => Promise<T | null>;
  busy: boolean;
  error: ApiErrorInfo | null;
  setError: (error: ApiErrorInfo | null) => void;
} {
  const { urql } = useDashboard();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiErrorInfo | null>(null);
  const run = useCallback(
    async (document: string, variables: AnyVariables) => {
      setBusy(true);
      const result = await urql.mutation<T>(document, variables).toPromise();
      setBusy(false);
      if (result.error || !result.data) {
        setError(describeError(result.error ?? { message: 'No data' }));
        return null;
      }
      setError(null);
      return result.data;
    },
    [urql],
  );
  return { run, busy, error, setError };
}
