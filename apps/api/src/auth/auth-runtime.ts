import type { ChangeNotice } from '@cairn/change-notices';
import { CairnError } from '../errors.ts';
import type { GraphQLContext } from '../graphql/context.ts';
import type { ChangeListener } from '../write/projection-waiter.ts';
import type { ServiceDeps } from '../write/services.ts';
import { recordAccessDenied } from './access.commands.ts';
import { createApiKeyResolver } from './api-keys.ts';
import { createSessionResolver, type SessionStore } from './sessions.ts';
import {
  actorOf,
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

/** At most one AccessDenied event per principal and operation in this window. */
const DENIED_EVENT_INTERVAL_MS = 10_000;

export interface ServerAuthOptions {
  mode: AuthMode;
  /** Dashboard sessions: the session-cookie resolver is registered when given. */
  sessions?: SessionStore;
  /** Key cache lifetime (≤ 2 s). */
  keyCacheMs?: number;
}

/**
 * The auth runtime of one API process: the API-key resolver, then the session-cookie resolver,
 * and denied mutations recorded as AccessDenied events (rate-limited so a flood of refused
 * calls cannot flood the log). `close()` stops listening for key changes.
 */
export function createServerAuthRuntime(
  deps: ServiceDeps,
  opts: ServerAuthOptions,
): AuthRuntime & { close(): void } {
  const keys = createApiKeyResolver(deps.db, {
    changes: deps.changes,
    ...(opts.keyCacheMs !== undefined ? { cacheMs: opts.keyCacheMs } : {}),
  });
  const resolvers: CredentialResolver[] = [keys];
  if (opts.sessions) resolvers.push(createSessionResolver({ sessions: opts.sessions }));
  const lastDenied = new Map<string, number>();
  const runtime = createAuthRuntime({
    mode: opts.mode,
    changes: deps.changes,
    resolvers,
    denied(ctx, operation, error) {
      if (!(error instanceof CairnError)) return;
      if (error.code !== 'UNAUTHENTICATED' && error.code !== 'PERMISSION_DENIED') return;
      const actor = actorOf(ctx.principal);
      const key = `${ctx.workspaceId}\0${actor}\0${operation}`;
      const now = Date.now();
      if (now - (lastDenied.get(key) ?? 0) < DENIED_EVENT_INTERVAL_MS) return;
      if (lastDenied.size > 10_000) lastDenied.clear();
      lastDenied.set(key, now);
      const scope = (error.details as { scope?: unknown } | undefined)?.scope;
      void recordAccessDenied(deps, ctx.caller, {
        principal: actor,
        operation,
        scope: typeof scope === 'string' ? scope : null,
        code: error.code,
        message: error.message.slice(0, 500),
      }).catch(() => undefined);
    },
  });
  return { ...runtime, close: () => keys.close() };
}
