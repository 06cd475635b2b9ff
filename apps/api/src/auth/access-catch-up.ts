import type { Kysely } from 'kysely';
import type { DB } from '@cairn/db';
import type { Logger } from '@cairn/logging';
import type { ProjectionLagReport } from '../projector-port.ts';
import { AUTH_PROJECTION } from './api-keys.ts';
import { USERS_PROJECTION } from './user.commands.ts';

/** The projections every request's authentication reads (keys, members, users). */
export const ACCESS_PROJECTIONS = [AUTH_PROJECTION, USERS_PROJECTION] as const;

/**
 * Waits until the access projections have applied the whole log. A server answers no request
 * before this: a key revoked (or a member removed) just before a restart or a crash, whose event
 * is committed but not yet projected, must not be accepted in the meantime. The CLI's access
 * commands wait for the same before they exit. Resolves false at the deadline (with a warning
 * logged) so that a stuck projection is reported rather than hanging the start for ever.
 */
export async function waitForAccessProjections(
  db: Kysely<DB>,
  lags: (db: Kysely<DB>, names: readonly string[]) => Promise<ProjectionLagReport[]>,
  logger: Logger,
  timeoutMs = 60_000,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let announced = false;
  for (;;) {
    const behind = (await lags(db, ACCESS_PROJECTIONS)).filter((l) => l.events !== 0);
    if (behind.length === 0) return true;
    const what = behind.map((l) => `${l.projection} ${l.events} events behind`).join(', ');
    if (Date.now() >= deadline) {
      logger.error(`access projections did not catch up in ${timeoutMs} ms (${what})`);
      return false;
    }
    if (!announced) {
      logger.info(`waiting for the access projections to apply the log (${what})`);
      announced = true;
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
