import type { Kysely } from 'kysely';
import {
  appendToExistingStreams,
  appendToStream,
  StreamVersionConflictError,
  type AppendRequest,
  type AppendResult,
  type DB,
} from '@cairn/db';

interface Pending {
  request: AppendRequest;
  resolve: (result: AppendResult | null) => void;
  reject: (error: unknown) => void;
}

/** Requests per group statement (each adds a few parameters per event; far below 65,535). */
const MAX_GROUP = 64;
/** Group statements in flight at once (their stream locks are taken in one order). */
const MAX_IN_FLIGHT = 2;

/**
 * Group commit for appends to existing streams without unique keys or personal data
 * (`expectedVersion: 'exists'`: the metric-only batches; or a version: params, tags, status
 * changes): while a group statement is in flight, the appends of other requests queue, and the
 * next statement takes them all (one per stream, one `unlessLatest` check per group), so many
 * requests share one transaction and one WAL flush. A lone request goes at once, alone. Each
 * caller is answered when its statement has committed (durable), with its own result: `null`
 * when its stream is missing, not at the expected version, or refused (nothing of it written).
 * When a group statement fails (an idempotency key seen before, a deadlock with a foreign
 * writer), nothing of it is written and its requests are appended one by one, so one request's
 * error is its own.
 */
export class GroupCommitter {
  private queue: Pending[] = [];
  private inFlight = 0;

  constructor(private readonly db: Kysely<DB>) {}

  append(request: AppendRequest): Promise<AppendResult | null> {
    return new Promise((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < MAX_IN_FLIGHT && this.queue.length > 0) {
      const guard = JSON.stringify(this.queue[0]!.request.unlessLatest);
      const group: Pending[] = [];
      const rest: Pending[] = [];
      const streams = new Set<string>();
      for (const p of this.queue) {
        const k = `${p.request.workspaceId}\0${p.request.streamId}`;
        if (
          group.length < MAX_GROUP &&
          !streams.has(k) &&
          JSON.stringify(p.request.unlessLatest) === guard
        ) {
          group.push(p);
          streams.add(k);
        } else rest.push(p);
      }
      this.queue = rest;
      this.inFlight += 1;
      void this.flush(group).finally(() => {
        this.inFlight -= 1;
        this.pump();
      });
    }
  }

  private async flush(group: Pending[]): Promise<void> {
    if (group.length > 1) {
      let results: (AppendResult | null)[] | null = null;
      try {
        results = await appendToExistingStreams(
          this.db,
          group.map((p) => p.request),
        );
      } catch (error) {
        // Only an error Postgres reported (SQLSTATE) means the statement rolled back; a lost
        // connection may have committed it, and a retry could append twice: the callers get it.
        if (!isStatementError(error)) {
          for (const p of group) p.reject(error);
          return;
        }
        results = null;
      }
      if (results) {
        group.forEach((p, i) => p.resolve(results[i] ?? null));
        return;
      }
    }
    await Promise.all(
      group.map(async (p) => {
        try {
          p.resolve(await appendOne(this.db, p.request));
        } catch (error) {
          p.reject(error);
        }
      }),
    );
  }
}

function isStatementError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code);
}

async function appendOne(db: Kysely<DB>, request: AppendRequest): Promise<AppendResult | null> {
  try {
    return await appendToStream(db, request);
  } catch (error) {
    if (error instanceof StreamVersionConflictError) return null;
    throw error;
  }
}

const committers = new WeakMap<Kysely<DB>, GroupCommitter>();

/**
 * The process's group committer for a database handle; null when `CAIRN_GROUP_COMMIT=0` (each
 * request then appends alone, as before; for comparisons).
 */
export function groupCommitterFor(db: Kysely<DB>): GroupCommitter | null {
  if (process.env.CAIRN_GROUP_COMMIT === '0') return null;
  let committer = committers.get(db);
  if (!committer) {
    committer = new GroupCommitter(db);
    committers.set(db, committer);
  }
  return committer;
}
