import type { GraphQLContext } from './context.ts';
import { mapNotices } from '../runs/run.subscriptions.ts';

/** Ids re-read per push at most (a larger backlog is pushed in several payloads). */
export const MAX_IDS_PER_PUSH = 500;

/**
 * The entity ids (stream id minus `prefix`) of one projection's change notices in the caller's
 * workspace, merged while the client is busy, in chunks of at most MAX_IDS_PER_PUSH: the feed
 * of the list-level subscriptions (experimentsChanged, registeredModelsChanged).
 */
export function changedIds(
  ctx: GraphQLContext,
  projection: string,
  prefix: string,
): AsyncIterable<string[]> {
  const changed = mapNotices<Set<string>>(
    ctx,
    (n) => {
      if (n.p !== projection) return null;
      const ids = n.s
        .map(([s]) => s)
        .filter((s) => s.startsWith(prefix))
        .map((s) => s.slice(prefix.length));
      return ids.length > 0 ? new Set(ids) : null;
    },
    (a, b) => new Set([...a, ...b]),
  );
  return (async function* () {
    for await (const set of changed) {
      const all = [...set];
      for (let i = 0; i < all.length; i += MAX_IDS_PER_PUSH)
        yield all.slice(i, i + MAX_IDS_PER_PUSH);
    }
  })();
}
