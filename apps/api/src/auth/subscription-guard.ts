import type { GraphQLContext } from '../graphql/context.ts';

/**
 * The value a guarded subscription yields once its credential is revoked or expired: the wrapped
 * resolver (graphql-rules.ts) turns it into an UNAUTHENTICATED error, then the stream completes.
 */
export const REVOKED: unique symbol = Symbol('cairn.auth.revoked');

/** Longest timer Node accepts (about 24.8 days); a later expiry is re-armed when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Wraps a subscription's source stream: before every push the principal is checked again
 * (`auth.stillValid`, cached ≤ 2 s per key), and a revocation notice for its key or its expiry
 * time ends the stream at once (one watcher per subscription, not a timer per push).
 */
export function guardSubscription<T>(
  ctx: GraphQLContext,
  source: AsyncIterable<T>,
): AsyncIterable<T | typeof REVOKED> {
  const { auth, principal } = ctx;
  if (principal.kind === 'anonymous') return source;
  return {
    [Symbol.asyncIterator]() {
      const it = source[Symbol.asyncIterator]();
      let ended = false;
      let wake: (() => void) | null = null;
      let revoked = false;
      const revoke = () => {
        revoked = true;
        wake?.();
      };
      const unwatch = auth.watch(principal, revoke);
      let timer: NodeJS.Timeout | null = null;
      const arm = () => {
        if (!principal.expiresAt) return;
        const left = Date.parse(principal.expiresAt) - Date.now();
        timer = setTimeout(
          () => (left > MAX_TIMER_MS ? arm() : revoke()),
          Math.min(left, MAX_TIMER_MS),
        );
        timer.unref();
      };
      arm();
      const finish = () => {
        ended = true;
        unwatch();
        if (timer) clearTimeout(timer);
        // A pending next() of the source may never settle: do not wait for its return().
        void Promise.resolve(it.return?.()).catch(() => undefined);
      };
      return {
        async next(): Promise<IteratorResult<T | typeof REVOKED>> {
          if (ended) return { done: true, value: undefined };
          if (revoked) {
            finish();
            return { done: false, value: REVOKED };
          }
          const woken = new Promise<typeof REVOKED>((resolve) => {
            wake = () => resolve(REVOKED);
          });
          const result = await Promise.race([it.next(), woken]);
          wake = null;
          if (result === REVOKED || revoked || !(await auth.stillValid(principal))) {
            finish();
            return { done: false, value: REVOKED };
          }
          if (result.done) {
            finish();
            return { done: true, value: undefined };
          }
          return result;
        },
        return(): Promise<IteratorResult<T | typeof REVOKED>> {
          if (!ended) finish();
          return Promise.resolve({ done: true, value: undefined });
        },
      };
    },
  };
}
