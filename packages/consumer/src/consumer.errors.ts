/** A subscription that cannot start as configured (bad name, unknown type, changed filter). */
export class ConsumerConfigError extends Error {
  override readonly name = 'ConsumerConfigError';
  /** The CairnError code this maps to. */
  readonly code: 'INVALID_ARGUMENT' | 'FAILED_PRECONDITION';
  constructor(
    message: string,
    code: 'INVALID_ARGUMENT' | 'FAILED_PRECONDITION' = 'INVALID_ARGUMENT',
  ) {
    super(message);
    this.code = code;
  }
}

/** The subscription was stopped while a batch was in flight: the batch is not checkpointed. */
export class ConsumerStoppedError extends Error {
  override readonly name = 'ConsumerStoppedError';
  constructor() {
    super('the subscription was stopped');
  }
}
