import { builder } from '../graphql/builder.ts';
import { mapNotices } from '../runs/run.subscriptions.ts';
import { AuditEntryRef, AuditFilterRef, toAuditFilter } from './audit.graphql.ts';
import { readAuditLog, type AuditRow } from './audit.queries.ts';

/**
 * How far back (by recorded time) each push looks again for events that became visible late: a
 * log position is taken before commit, so under concurrent appends an earlier position can
 * commit after a later one was read. Entries already pushed are not pushed twice.
 */
const LATE_WINDOW_MS = 5_000;
/** Entries per push at most (a larger backlog arrives over several pushes). */
const MAX_PER_PUSH = 500;

interface AuditLogAppended {
  entries: AuditRow[];
}

const AuditLogAppendedRef = builder.objectRef<AuditLogAppended>('AuditLogAppended').implement({
  fields: (t) => ({
    entries: t.field({
      type: [AuditEntryRef],
      description: 'The new entries matching the filter, newest first.',
      resolve: (a) => a.entries,
    }),
  }),
});

builder.subscriptionFields((t) => ({
  auditLogAppended: t.field({
    type: AuditLogAppendedRef,
    args: { filter: t.arg({ type: AuditFilterRef }) },
    description:
      "Pushes the workspace's audit entries (matching the filter) appended since the subscription started or since the last push: each push re-reads the log after a projection's change notice. docs/governance.md.",
    subscribe: (_r, args, ctx) => {
      const filter = toAuditFilter(args.filter);
      const notices = mapNotices(ctx, () => true);
      const { db } = ctx.deps;
      return (async function* () {
        // Entries after the log's end when the subscription started; recorded times are the
        // database's, so the look-back window does not depend on this process's clock.
        const end = await db
          .selectFrom('events')
          .select((eb) => eb.fn.max('global_position').as('p'))
          .where('workspace_id', '=', ctx.workspaceId)
          .executeTakeFirst();
        const startPosition = Number(end?.p ?? 0);
        // A bad filter is refused at once (INVALID_ARGUMENT), not at the first push.
        await readAuditLog(db, ctx.workspaceId, filter, 1, null);
        let newest: number | null = null;
        /** Pushed entries: position → recorded at (ms), forgotten once out of the window. */
        const pushed = new Map<number, number>();
        for await (const _ of notices) {
          const lookBack = newest === null ? null : newest - LATE_WINDOW_MS;
          const from =
            lookBack === null ? (filter.from ?? null) : Math.max(lookBack, filter.from ?? 0);
          const { rows } = await readAuditLog(
            db,
            ctx.workspaceId,
            { ...filter, from },
            MAX_PER_PUSH,
            null,
          );
          const entries = rows.filter(
            (r) => r.globalPosition > startPosition && !pushed.has(r.globalPosition),
          );
          if (entries.length === 0) continue;
          for (const e of entries) {
            pushed.set(e.globalPosition, e.recordedAt.getTime());
            newest = Math.max(newest ?? 0, e.recordedAt.getTime());
          }
          for (const [position, at] of pushed)
            if (newest !== null && at < newest - LATE_WINDOW_MS) pushed.delete(position);
          yield { entries };
        }
      })();
    },
    resolve: (a: AuditLogAppended) => a,
  }),
}));
