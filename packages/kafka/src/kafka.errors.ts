/** Base class of every error the Kafka transport throws on purpose. */
export class KafkaTransportError extends Error {
  override name = 'KafkaTransportError';
}

/**
 * The brokers could not be reached, or kept failing, for longer than the bounded retries allow.
 * Nothing from the failed call is acknowledged; some records may still have been written, so a
 * retry of the same records can produce duplicates (consumers are at-least-once anyway).
 */
export class KafkaUnavailableError extends KafkaTransportError {
  override name = 'KafkaUnavailableError';
  readonly operation: string;
  readonly brokers: readonly string[];

  constructor(operation: string, brokers: readonly string[], cause: unknown) {
    super(
      `Kafka unavailable: ${operation} failed after retries (brokers ${brokers.join(',')}): ${describe(cause)}`,
      {
        cause,
      },
    );
    this.operation = operation;
    this.brokers = brokers;
  }
}

/** An existing topic is configured in a way the event log can't accept (e.g. finite retention). */
export class KafkaTopicConfigError extends KafkaTransportError {
  override name = 'KafkaTopicConfigError';
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = 'cause' in error && error.cause instanceof Error ? ` (${error.cause.message})` : '';
  return `${error.name}: ${error.message}${cause}`;
}
