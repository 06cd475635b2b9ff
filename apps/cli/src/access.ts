import { readFileSync } from 'node:fs';
import {
  ChangeListener,
  createApiKey,
  createUser,
  createWorkspace,
  DEFAULT_ORGANIZATION_ID,
  eraseUser,
  findUserIdByEmail,
  normaliseEmail,
  revokeApiKey,
  ACCESS_PROJECTIONS,
  waitForAccessProjections,
  type Caller,
  type ServiceDeps,
} from '@cairn/api';
import type { DbHandle } from '@cairn/db';
import { uuidv7 } from '@cairn/events';
import { findProjection, projectionLags, startProjector, type Logger } from '@cairn/projector';
import { UsageError } from './config.ts';

/** Flags of `cairn keys …` and `cairn users …` (docs/auth.md, "Bootstrap"). */
export interface AccessFlags {
  workspace: string | null;
  role: string | null;
  name: string | null;
  expiresIn: string | null;
  organizationWide: boolean;
  email: string | null;
  displayName: string | null;
  passwordStdin: boolean;
  includeRevoked: boolean;
}

export const ACCESS_OPTIONS = {
  workspace: { type: 'string' },
  role: { type: 'string' },
  name: { type: 'string' },
  'expires-in': { type: 'string' },
  'organization-wide': { type: 'boolean' },
  email: { type: 'string' },
  'display-name': { type: 'string' },
  'password-stdin': { type: 'boolean' },
  'include-revoked': { type: 'boolean' },
} as const;

export const ACCESS_USAGE = `  keys create --workspace W --role R [--name N] [--expires-in 30d] [--organization-wide]
                               Create an API key (printed once, on stdout alone)
  keys list --workspace W [--include-revoked]
                               List a workspace's keys (never their secrets)
  keys revoke <keyId> --workspace W
                               Revoke a key (refused everywhere within 2 s)
  users create --email E --workspace W --role R [--display-name D] [--password-stdin]
                               Create a dashboard user (password read from stdin, else prompted
                               for nothing: an OIDC-only user) and make it a member of W
  users erase <email|userId>   Erase a user for good: its email and name are crypto-shredded in
                               the log and read models (docs/governance.md, "Erasure")
  workspaces create <id> [--name N]
                               Create a workspace`;

export function accessFlags(values: Record<string, unknown>): AccessFlags {
  const str = (k: string): string | null => {
    const v = values[k];
    return typeof v === 'string' ? v : null;
  };
  return {
    workspace: str('workspace'),
    role: str('role'),
    name: str('name'),
    expiresIn: str('expires-in'),
    organizationWide: values['organization-wide'] === true,
    email: str('email'),
    displayName: str('display-name'),
    passwordStdin: values['password-stdin'] === true,
    includeRevoked: values['include-revoked'] === true,
  };
}

const UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `30d`, `12h`, `90m`, `2w` → milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d{1,6})([mhdw])$/.exec(text.trim());
  if (!m || Number(m[1]) === 0)
    throw new UsageError(`Invalid --expires-in "${text}": use e.g. 90m, 12h, 30d or 2w`);
  return Number(m[1]) * UNITS[m[2]!]!;
}

function need(value: string | null, flag: string, command: string): string {
  if (value === null || value.trim() === '') throw new UsageError(`${command} needs ${flag}`);
  return value;
}

/**
 * The write side the commands share with the API's mutations. With the embedded database the
 * CLI owns it (no server can be running on it), so it runs the `auth` and `users` projections
 * itself until its writes are applied; with --database-url the server's projector applies them.
 */
async function accessDeps(
  handle: DbHandle,
  databaseUrl: string,
  ownsDatabase: boolean,
  logger: Logger,
): Promise<{ deps: ServiceDeps; close: () => Promise<void> }> {
  const changes = new ChangeListener(databaseUrl, handle.db);
  await changes.start();
  const projector = ownsDatabase
    ? await startProjector({
        db: handle.db,
        transport: { kind: 'postgres' },
        logger,
        projections: ACCESS_PROJECTIONS.map((name) => findProjection(name)!),
      })
    : null;
  const deps: ServiceDeps = {
    db: handle.db,
    changes,
    decideContext: { now: () => new Date(), newId: uuidv7 },
    onAppended: () => projector?.wake(),
    readYourWritesTimeoutMs: 10_000,
  };
  return {
    deps,
    close: async () => {
      // The commands wait for their own stream; this makes sure the whole log is applied before
      // the projector stops, so a server started next authenticates against current rows.
      if (projector)
        await waitForAccessProjections(
          handle.db,
          (db, names) =>
            projectionLags(
              db,
              names.map((name) => findProjection(name)!),
            ),
          logger,
        );
      await projector?.stop();
      await changes.stop();
    },
  };
}

function cliCaller(workspaceId: string): Caller {
  const user = process.env.USER ?? process.env.LOGNAME ?? 'unknown';
  return {
    workspaceId,
    metadata: { actor: `cli:${user}`, correlationId: uuidv7(), causationId: null },
  };
}

function fmt(d: Date | null): string {
  return d ? new Date(d).toISOString() : '-';
}

export async function accessCommand(
  command: readonly string[],
  flags: AccessFlags,
  db: { handle: DbHandle; url: string; owns: boolean },
  logger: Logger,
): Promise<void> {
  const [group, sub, arg] = command;
  const { deps, close } = await accessDeps(db.handle, db.url, db.owns, logger);
  try {
    if (group === 'keys' && sub === 'create') {
      const workspace = need(flags.workspace, '--workspace', 'cairn keys create');
      const role = need(flags.role, '--role', 'cairn keys create');
      const name = flags.name ?? `${role} key (cli)`;
      const expiresAt = flags.expiresIn
        ? new Date(Date.now() + parseDuration(flags.expiresIn))
        : null;
      const key = await createApiKey(
        deps,
        cliCaller(workspace),
        { name, role, expiresAt, organizationWide: flags.organizationWide },
        null,
      );
      process.stdout.write(`${key.secret}\n`);
      console.error(
        `Created API key ${key.keyId} (${role}${flags.organizationWide ? ', organisation-wide' : ` in workspace ${workspace}`}${expiresAt ? `, expires ${expiresAt.toISOString()}` : ''}). It is shown only now: send it as "Authorization: Bearer <key>" (Python SDK: CAIRN_API_KEY).`,
      );
      return;
    }
    if (group === 'keys' && sub === 'list') {
      const workspace = need(flags.workspace, '--workspace', 'cairn keys list');
      let q = deps.db
        .selectFrom('api_keys as k')
        .leftJoin('api_key_usage as u', 'u.key_id', 'k.key_id')
        .select([
          'k.key_id',
          'k.name',
          'k.role',
          'k.created_at',
          'k.expires_at',
          'k.revoked_at',
          'u.last_used_at',
        ])
        .where('k.workspace_id', '=', workspace)
        .orderBy('k.created_at', 'desc');
      if (!flags.includeRevoked) q = q.where('k.revoked_at', 'is', null);
      const rows = await q.execute();
      console.log(
        'KEY ID        ROLE     CREATED                   EXPIRES                   LAST USED                 REVOKED                   NAME',
      );
      for (const r of rows)
        console.log(
          `${r.key_id}  ${r.role.padEnd(8)} ${fmt(r.created_at).padEnd(25)} ${fmt(r.expires_at).padEnd(25)} ${fmt(r.last_used_at).padEnd(25)} ${fmt(r.revoked_at).padEnd(25)} ${r.name}`,
        );
      console.error(`${rows.length} key(s) in workspace ${workspace}`);
      return;
    }
    if (group === 'keys' && sub === 'revoke') {
      const workspace = need(flags.workspace, '--workspace', 'cairn keys revoke');
      const keyId = need(arg ?? null, '<keyId>', 'cairn keys revoke');
      await revokeApiKey(deps, cliCaller(workspace), keyId);
      console.error(`Revoked API key ${keyId}`);
      return;
    }
    if (group === 'users' && sub === 'create') {
      const email = need(flags.email, '--email', 'cairn users create');
      const workspace = need(flags.workspace, '--workspace', 'cairn users create');
      const role = need(flags.role, '--role', 'cairn users create');
      const password = flags.passwordStdin ? readFileSync(0, 'utf8').replace(/\r?\n$/, '') : null;
      const user = await createUser(deps, cliCaller(workspace), {
        email,
        displayName: flags.displayName,
        password,
        membership: { workspaceId: workspace, role },
      });
      console.log(user.userId);
      console.error(`Created user ${user.email} (${role} in workspace ${workspace})`);
      return;
    }
    if (group === 'users' && sub === 'erase') {
      const who = need(arg ?? null, '<email|userId>', 'cairn users erase');
      const userId = who.includes('@')
        ? await findUserIdByEmail(deps.db, DEFAULT_ORGANIZATION_ID, normaliseEmail(who))
        : who;
      if (!userId) throw new UsageError(`No user has the email ${who}`);
      const result = await eraseUser(deps, cliCaller(DEFAULT_ORGANIZATION_ID), { userId });
      console.error(result.erased ? `Erased user ${userId}` : `User ${userId} was erased already`);
      return;
    }
    if (group === 'workspaces' && sub === 'create') {
      const id = need(arg ?? null, '<id>', 'cairn workspaces create');
      await createWorkspace(deps, cliCaller(id), { id, name: flags.name });
      console.error(`Created workspace ${id}`);
      return;
    }
    throw new UsageError(`Unknown command "${command.join(' ')}"`);
  } finally {
    await close();
  }
}
