import type { Logger } from '../src/index.ts';

/** A logger that keeps what the projector reports: a healthy run reports no errors. */
export function capturingLogger(): Logger & { errors: string[] } {
  const errors: string[] = [];
  return {
    errors,
    info: () => undefined,
    error: (message, error) =>
      errors.push(`${message}${error instanceof Error ? `: ${error.message}` : ''}`),
  };
}
