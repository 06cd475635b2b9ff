/**
 * What the UI shows for a failed request: the server's message (expected errors carry a code in
 * `extensions`, e.g. INVALID_ARGUMENT with the `position` of a filter's syntax error), or the
 * transport failure. Pure: takes the parts of urql's CombinedError it reads.
 */

export interface ApiErrorInfo {
  message: string;
  code: string | null;
  /** 0-based character position in the offending argument (run search filters). */
  position: number | null;
  /** The argument the error is about (`filter`, `orderBy`, …) when the server says. */
  argument: string | null;
  network: boolean;
}

interface ErrorLike {
  message: string;
  graphQLErrors?: readonly { message: string; extensions?: Record<string, unknown> }[];
  networkError?: Error | undefined;
}

export function describeError(error: ErrorLike): ApiErrorInfo {
  const first = error.graphQLErrors?.[0];
  if (first) {
    const ext = first.extensions ?? {};
    const position =
      typeof ext.position === 'number' ? ext.position : positionFromMessage(first.message);
    return {
      message: first.message,
      code: typeof ext.code === 'string' ? ext.code : null,
      position,
      argument: typeof ext.argument === 'string' ? ext.argument : null,
      network: false,
    };
  }
  if (error.networkError) {
    return {
      message: `Cannot reach the API: ${error.networkError.message}`,
      code: null,
      position: null,
      argument: null,
      network: true,
    };
  }
  return { message: error.message, code: null, position: null, argument: null, network: false };
}

/** "Invalid filter at position 12: …" → 12. */
export function positionFromMessage(message: string): number | null {
  const m = /\bposition (\d+)\b/u.exec(message);
  return m ? Number(m[1]) : null;
}
