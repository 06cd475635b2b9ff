import { sql, type Kysely, type KyselyPlugin } from 'kysely';
import {
  defaultFieldResolver,
  getNamedType,
  isCompositeType,
  isObjectType,
  type GraphQLFieldResolver,
  type GraphQLSchema,
} from 'graphql';
import type { DB } from '@cairn/db';
import { CairnError } from '../errors.ts';
import { createLoaders, type GraphQLContext } from '../graphql/context.ts';

/** Which streams a historical read replays: named ones, or every stream with an id prefix. */
export type HistoricalStreams = { ids: readonly string[] } | { prefix: string };

export interface HistoricalStateRequest {
  workspaceId: string;
  /** Names of the projections whose tables are rebuilt (e.g. `registry`). */
  projections: readonly string[];
  streams: HistoricalStreams;
  /** Events recorded at or before this time are replayed. */
  asOf: Date;
  /** More events than this: refused (`too-many`), nothing is replayed. */
  maxEvents: number;
}

export type HistoricalOutcome<T> =
  { kind: 'ok'; value: T } | { kind: 'too-many'; events: number; limit: number };

/**
 * The port to the projections (implemented by the projector app's HistoricalStateReader, wired by
 * the CLI and the test harness): replays the streams' events up to `asOf` into temporary copies
 * of the projections' tables, in one transaction that `fn` reads through `db`, then rolls back.
 */
export interface HistoricalReader {
  withStateAsOf<T>(
    req: HistoricalStateRequest,
    fn: (state: { db: Kysely<DB>; events: number; position: number | null }) => Promise<T>,
  ): Promise<HistoricalOutcome<T>>;
}

/** Events one `asOf` question may replay (docs/governance.md, "Time travel"). */
export const MAX_HISTORY_EVENTS = 20_000;
/** Longest a replayed state is held open for the fields under it. */
const MAX_HOLD_MS = 30_000;

const SCOPE = Symbol('cairn.asOf');

/** One replayed state: the context its subtree resolves with, and a count of open resolvers. */
class HistoricalScope {
  private open = 0;
  private released = false;
  private readonly done: Promise<void>;
  private finish!: () => void;
  ctx!: GraphQLContext;

  constructor() {
    this.done = new Promise<void>((resolve) => (this.finish = resolve));
  }

  get isReleased(): boolean {
    return this.released;
  }

  enter(): void {
    this.open += 1;
  }

  leave(): void {
    this.open -= 1;
    if (this.open > 0) return;
    // Children of a field start in the continuation of its value: look again a turn later.
    setImmediate(() => {
      if (this.open === 0) this.release();
    });
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.finish();
  }

  /** Resolves when the subtree is done (or after MAX_HOLD_MS). */
  async held(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.done,
      new Promise<void>((resolve) => (timer = setTimeout(resolve, MAX_HOLD_MS))),
    ]);
    clearTimeout(timer);
    this.release();
  }
}

function scopeOf(value: unknown): HistoricalScope | undefined {
  return typeof value === 'object' && value !== null
    ? (value as { [SCOPE]?: HistoricalScope })[SCOPE]
    : undefined;
}

const isThenable = (v: unknown): v is PromiseLike<unknown> =>
  typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';

/** A copy of an object value (same prototype) that carries the scope; lists element by element. */
function tag(value: unknown, scope: HistoricalScope): unknown {
  if (Array.isArray(value)) {
    if (value.some(isThenable))
      return Promise.all(value).then((items) => items.map((i) => tag(i, scope)));
    return value.map((v) => tag(v, scope));
  }
  if (typeof value !== 'object' || value === null || value instanceof Date) return value;
  const copy = Object.create(Object.getPrototypeOf(value) as object | null) as object;
  Object.defineProperties(copy, Object.getOwnPropertyDescriptors(value));
  Object.defineProperty(copy, SCOPE, { value: scope, enumerable: false });
  return copy;
}

function settle(value: unknown, scope: HistoricalScope, composite: boolean): unknown {
  const done = (v: unknown) => {
    scope.leave();
    return v;
  };
  const fail = (e: unknown) => {
    scope.leave();
    throw e;
  };
  if (isThenable(value)) {
    return Promise.resolve(value)
      .then((v) => (composite ? tag(v, scope) : v))
      .then(done, fail);
  }
  const tagged = composite ? tag(value, scope) : value;
  if (isThenable(tagged)) return Promise.resolve(tagged).then(done, fail);
  return done(tagged);
}

const wrappedSchemas = new WeakSet<GraphQLSchema>();

/**
 * Fields under an `asOf` answer resolve with the historical context (its db reads the replayed
 * tables) instead of the request's: the values an `asOf` root field returns carry their scope,
 * and every field of every object type passes it on to what it returns. Wraps in place, once.
 */
export function withHistoricalScopes(schema: GraphQLSchema): GraphQLSchema {
  if (wrappedSchemas.has(schema)) return schema;
  wrappedSchemas.add(schema);
  const roots = new Set([
    schema.getQueryType(),
    schema.getMutationType(),
    schema.getSubscriptionType(),
  ]);
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__') || roots.has(type)) continue;
    for (const field of Object.values(type.getFields())) {
      const inner: GraphQLFieldResolver<unknown, unknown> = field.resolve ?? defaultFieldResolver;
      const composite = isCompositeType(getNamedType(field.type));
      field.resolve = (parent, args, ctx, info) => {
        const scope = scopeOf(parent);
        if (!scope) return inner(parent, args, ctx, info);
        scope.enter();
        let out: unknown;
        try {
          out = inner(parent, args, scope.ctx, info);
        } catch (error) {
          scope.leave();
          throw error;
        }
        return settle(out, scope, composite);
      };
    }
  }
  return schema;
}

/** `asOf` as a Date; null when absent or not in the past (a live read). */
export function parseAsOf(asOf: string | Date | null | undefined, now = new Date()): Date | null {
  if (asOf === null || asOf === undefined) return null;
  const at = asOf instanceof Date ? asOf : new Date(asOf);
  if (Number.isNaN(at.getTime()))
    throw new CairnError('INVALID_ARGUMENT', `asOf: not a date-time: ${String(asOf)}`, {
      argument: 'asOf',
    });
  return at.getTime() >= now.getTime() ? null : at;
}

/** Refuses queries on a replayed state once its subtree is done (its connection is gone). */
function guardPlugin(scope: HistoricalScope): KyselyPlugin {
  return {
    transformQuery(args) {
      if (scope.isReleased) throw new Error('historical state already released');
      return args.node;
    },
    transformResult: (args) => Promise.resolve(args.result),
  };
}

export interface AsOfQuery {
  /** Projections whose tables the answer reads. */
  projections: readonly string[];
  /** The streams to replay; null: nothing existed then (the answer is `empty`). */
  streams: HistoricalStreams | null;
}

/**
 * Answers `read` against the state at `asOf`: the streams replayed into temporary tables by
 * the historical reader, `read` and every field under its value resolving against them.
 */
export async function readAsOf<T>(
  ctx: GraphQLContext,
  asOf: Date,
  query: AsOfQuery,
  read: (historical: GraphQLContext) => Promise<T>,
  empty: T,
): Promise<T> {
  const reader = ctx.deps.history;
  if (!reader)
    throw new CairnError('UNAVAILABLE', 'asOf: this server has no historical reader', {
      argument: 'asOf',
    });
  if (query.streams === null) return empty;
  const scope = new HistoricalScope();
  return new Promise<T>((resolve, reject) => {
    let answered = false;
    reader
      .withStateAsOf(
        {
          workspaceId: ctx.workspaceId,
          projections: query.projections,
          streams: query.streams!,
          asOf,
          maxEvents: MAX_HISTORY_EVENTS,
        },
        async (state) => {
          const db = state.db.withPlugin(guardPlugin(scope));
          const deps = { ...ctx.deps, db };
          scope.ctx = { ...ctx, deps, loaders: createLoaders(deps, ctx.workspaceId) };
          scope.enter();
          try {
            const value = await read(scope.ctx);
            answered = true;
            resolve(tag(value, scope) as T);
          } catch (error) {
            answered = true;
            scope.release();
            reject(error instanceof Error ? error : new Error(String(error)));
            return;
          } finally {
            scope.leave();
          }
          await scope.held();
        },
      )
      .then(
        (outcome) => {
          if (outcome.kind === 'too-many')
            reject(
              new CairnError(
                'FAILED_PRECONDITION',
                `asOf: answering needs ${outcome.events} events replayed, more than the limit of ${outcome.limit}; narrow the question (one run or model instead of a list)`,
                { events: outcome.events, limit: outcome.limit },
              ),
            );
          else if (!answered) reject(new Error('asOf: the historical read gave no answer'));
        },
        (error: unknown) => reject(error instanceof Error ? error : new Error(String(error))),
      );
  });
}

/**
 * Streams of one type (`<prefix><id>`) with an event at or before `asOf` whose `data.<field>`
 * is one of `values` (`name`: renames included); null when there is none.
 */
export async function streamsWhere(
  db: Kysely<DB>,
  workspaceId: string,
  prefix: string,
  field: string,
  values: readonly string[],
  asOf: Date,
): Promise<string[] | null> {
  const { rows } = await sql<{ stream_id: string }>`
    SELECT DISTINCT stream_id FROM events
    WHERE workspace_id = ${workspaceId} AND starts_with(stream_id, ${prefix})
      AND recorded_at <= ${asOf} AND data->>${field} = ANY(${[...values]}::text[])`.execute(db);
  return rows.length === 0 ? null : rows.map((r) => r.stream_id);
}

/** The streams of one type that named the entity `name` at or before `asOf`, as a stream set. */
export async function streamsNamed(
  db: Kysely<DB>,
  workspaceId: string,
  prefix: string,
  name: string,
  asOf: Date,
): Promise<HistoricalStreams | null> {
  const ids = await streamsWhere(db, workspaceId, prefix, 'name', [name], asOf);
  return ids && { ids };
}

/** The registered-model streams a deployment's variants named at or before `asOf`. */
export async function modelStreamsOfDeployments(
  db: Kysely<DB>,
  workspaceId: string,
  deploymentStreams: readonly string[],
  asOf: Date,
): Promise<string[]> {
  const { rows } = await sql<{ model_id: string | null }>`
    SELECT DISTINCT v->>'modelId' AS model_id
    FROM events, jsonb_array_elements(CASE WHEN jsonb_typeof(data->'variants') = 'array'
                                           THEN data->'variants' ELSE '[]'::jsonb END) AS v
    WHERE workspace_id = ${workspaceId} AND stream_id = ANY(${[...deploymentStreams]}::text[])
      AND recorded_at <= ${asOf}`.execute(db);
  return rows.flatMap((r) => (r.model_id ? [`registered-model-${r.model_id}`] : []));
}

/**
 * A root field with an optional `asOf`: absent or not in the past, `read(ctx)` (the live read);
 * otherwise the same `read` against the streams (`streams(asOf)`) replayed up to `asOf`.
 */
export async function liveOrAsOf<T>(
  ctx: GraphQLContext,
  asOfArg: string | Date | null | undefined,
  spec: {
    projections: readonly string[];
    streams: (asOf: Date) => Promise<HistoricalStreams | null> | HistoricalStreams | null;
    empty: T;
  },
  read: (ctx: GraphQLContext) => Promise<T>,
): Promise<T> {
  const asOf = parseAsOf(asOfArg);
  if (!asOf) return read(ctx);
  const streams = await spec.streams(asOf);
  return readAsOf(ctx, asOf, { projections: spec.projections, streams }, read, spec.empty);
}

/** The `asOf` argument's description (one text for every field that takes it). */
export const AS_OF_DESCRIPTION =
  'Answer as of this time: the relevant streams replayed up to it (docs/governance.md, "Time travel"). Absent or in the future: now.';
