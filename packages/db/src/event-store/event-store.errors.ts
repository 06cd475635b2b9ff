/** Another writer appended to the stream first: reload and decide again, or report CONFLICT. */
export class StreamVersionConflictError extends Error {
  override readonly name = 'StreamVersionConflictError';
  constructor(
    readonly streamId: string,
    readonly expectedVersion: ExpectedVersion,
  ) {
    super(`Stream ${streamId} is not at the expected version ${String(expectedVersion)}`);
  }
}

/** A unique key (an experiment name, ...) is held by another stream. */
export class UniqueKeyTakenError extends Error {
  override readonly name = 'UniqueKeyTakenError';
  constructor(
    readonly scope: string,
    readonly key: string,
  ) {
    super(`${scope} "${key}" already exists`);
  }
}

/**
 * `no_stream`: the stream must not exist yet; a number: the stream must be exactly there;
 * `any`: append whatever the version (used for facts with no rule against stream state);
 * `exists`: the stream must exist, at whatever version (a fact appended without reading the
 * stream first: a missing stream fails the append instead of creating it).
 */
export type ExpectedVersion = number | 'no_stream' | 'any' | 'exists';
