import DataLoader from 'dataloader';
import type { Kysely } from 'kysely';
import type { DB } from '@cairn/db';
import type { KV } from '../runs/runs.queries.ts';
import {
  getSessionsByIds,
  getSpans,
  getTraceKeyValues,
  getTracesByIds,
  type SessionRow,
  type SpanRow,
  type TraceRow,
} from './traces.queries.ts';

/** Per-request DataLoaders of tracing: every trace → list edge is one query per batch. */
export function createTracingLoaders(db: Kysely<DB>, workspaceId: string) {
  return {
    trace: new DataLoader<string, TraceRow | null>(async (ids) => {
      const found = new Map(
        (await getTracesByIds(db, workspaceId, ids)).map((r) => [r.trace_id, r]),
      );
      return ids.map((id) => found.get(id) ?? null);
    }),
    spans: new DataLoader<string, SpanRow[]>(async (ids) => {
      const found = await getSpans(db, workspaceId, ids);
      return ids.map((id) => found.get(id) ?? []);
    }),
    tags: new DataLoader<string, KV[]>(async (ids) => {
      const found = await getTraceKeyValues(db, 'trace_tags_effective', workspaceId, ids);
      return ids.map((id) => found.get(id) ?? []);
    }),
    metadata: new DataLoader<string, KV[]>(async (ids) => {
      const found = await getTraceKeyValues(db, 'trace_metadata_effective', workspaceId, ids);
      return ids.map((id) => found.get(id) ?? []);
    }),
    session: new DataLoader<string, SessionRow | null>(async (ids) => {
      const found = new Map(
        (await getSessionsByIds(db, workspaceId, ids)).map((r) => [r.session_id, r]),
      );
      return ids.map((id) => found.get(id) ?? null);
    }),
  };
}

export type TracingLoaders = ReturnType<typeof createTracingLoaders>;

/** Forgets everything cached about these traces (after a write or a change notice). */
export function clearTraces(loaders: TracingLoaders, traceIds: Iterable<string>): void {
  for (const id of traceIds) {
    loaders.trace.clear(id);
    loaders.spans.clear(id);
    loaders.tags.clear(id);
    loaders.metadata.clear(id);
  }
  loaders.session.clearAll();
}
