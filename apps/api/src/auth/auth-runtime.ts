import type { ChangeNotice } from '@cairn/projector';
import type { GraphQLContext } from '../graphql/context.ts';
import type { ChangeListener } from '../write/projection-waiter.ts';
import {
  CredentialResolvers,
  type AuthMode,
  type CredentialResolver,
  type Principal,
} from './principal.ts';

/** Projections whose notices may end a credential (key revocations, AUTH-USERS' sessions). */
export const AUTH_NOTICE_PROJECTIONS: readonly string[] = ['auth', 'users'];

/**
 * What one API process knows about authentication: the mode, the credential resolvers, and the
 * hooks the authorisation point uses (re-checks for subscriptions, denied-access events).
 */
export interface AuthRuntime {
  mode: AuthMode;
  resolvers: CredentialResolvers;
  /** Every resolver that knows this principal's kind still accepts it. */
  stillValid(principal: Principal): Promise<boolean>;
  /** Calls `onInvalid` once the principal stops being valid (notice-driven); returns unwatch. */
  watch(principal: Principal, onInvalid: () => void): () => void;
  /** A denied mutation (AccessDenied event, rate-limited); never throws. */
  denied(ctx: GraphQLContext, operation: string, error: unknown): void;
}

export interface AuthRuntimeOptions {
  mode: AuthMode;
  changes?: ChangeListener;
  resolvers?: readonly CredentialResolver[];
  denied?: AuthRuntime['denied'];
}

export function createAuthRuntime(opts: AuthRuntimeOptions): AuthRuntime {
  const resolvers = new CredentialResolvers();
  for (const r of opts.resolvers ?? []) resolvers.register(r);
  const stillValid = async (principal: Principal): Promise<boolean> => {
    if (principal.kind === 'anonymous') return true;
    if (principal.expiresAt && Date.parse(principal.expiresAt) <= Date.now()) return false;
    for (const r of resolvers.resolvers) {
      if (r.stillValid && !(await r.stillValid(principal))) return false;
    }
    return true;
  };
  return {
    mode: opts.mode,
    resolvers,
    stillValid,
    watch(principal, onInvalid) {
      if (principal.kind === 'anonymous' || !opts.changes) return () => undefined;
      let done = false;
      const off = opts.changes.onChange((notice: ChangeNotice) => {
        if (done || !AUTH_NOTICE_PROJECTIONS.includes(notice.p)) return;
        void stillValid(principal)
          .then((ok) => {
            if (!ok && !done) {
              done = true;
              onInvalid();
            }
          })
          .catch(() => undefined);
      });
      return () => {
        done = true;
        off();
      };
    },
    denied: opts.denied ?? (() => undefined),
  };
}
