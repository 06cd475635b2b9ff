/** The small logging port every long-running component takes; `main` decides where it goes. */
export interface Logger {
  info(message: string): void;
  error(message: string, error?: unknown): void;
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function consoleLogger(prefix = 'cairn'): Logger {
  return {
    info: (message) => console.log(`[${prefix}] ${message}`),
    error: (message, error) =>
      console.error(`[${prefix}] ${message}${error ? `: ${describeError(error)}` : ''}`),
  };
}

export const silentLogger: Logger = { info: () => undefined, error: () => undefined };
