/**
 * The event envelope: what every stored event carries besides its data.
 * Plain JSON types only (ISO strings, numbers): envelopes cross Postgres, Kafka and the wire.
 */
export interface EventMetadata {
  /** Who caused the change: a user, an API key or a system component (`system:projector`). */
  actor: string;
  /** Ties together every event caused by one request. */
  correlationId: string;
  /** The event (or command) that directly caused this one, if any. */
  causationId: string | null;
  /**
   * Where the request came from (the `origin` column, docs/governance.md): recorded on append,
   * not carried in envelopes read back from the log.
   */
  origin?: EventOrigin | null;
}

/** Where a change came from: the client's address, its user agent and its declared client. */
export interface EventOrigin {
  /** The peer address of the connection (no proxy header is trusted). */
  address?: string | null;
  userAgent?: string | null;
  /** `x-cairn-client` when the client names itself, else the user agent's first product. */
  client?: string | null;
}

export interface StoredEventEnvelope<
  TType extends string = string,
  TData = unknown,
> extends EventMetadata {
  /** uuidv7, sortable by creation time. */
  id: string;
  type: TType;
  schemaVersion: number;
  workspaceId: string;
  streamId: string;
  /** 1-based position of the event in its stream. */
  streamPosition: number;
  /** Position in the global log. */
  globalPosition: number;
  /** Id of the Postgres transaction that appended the event (xid8, decimal string). */
  transactionId: string;
  occurredAt: string;
  recordedAt: string;
  data: TData;
}

/** An event as a command handler produces it, before the store assigns positions. */
export interface NewEvent<TType extends string = string, TData = unknown> {
  id: string;
  type: TType;
  schemaVersion: number;
  occurredAt: string;
  data: TData;
}
