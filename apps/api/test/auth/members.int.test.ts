/**
 * Workspace members through GraphQL (issue 20): invite an existing user or an email that has no
 * user yet (the invitation becomes a membership when the user is created), set roles, remove
 * members (the session loses the workspace at once), typed errors, pagination, and a rebuild of
 * the users projection identical to the live read models.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rebuildProjection, usersProjection } from '@cairn/projector';
import { createTestDatabase, diffDumps, dumpReadModels, randomWorkspaceId } from '@cairn/testing';
import { createUser, DEFAULT_ORGANIZATION_ID, type Caller } from '../../src/index.ts';
import { startApiHarness, type ApiHarness } from '../helpers/api-harness.ts';

let api: ApiHarness;
let dropDb: () => Promise<void>;
const admin: Caller = {
  workspaceId: 'default',
  metadata: { actor: 'test:admin', correlationId: 'c-test', causationId: null },
};

beforeAll(async () => {
  const database = await createTestDatabase();
  dropDb = database.drop;
  api = await startApiHarness({ databaseUrl: database.url });
});

afterAll(async () => {
  await api?.stop();
  await dropDb?.();
});

const email = () => `m${Math.random().toString(36).slice(2, 10)}@example.com`;

const MEMBERS = `query($first: Int, $after: String) { members(first: $first, after: $after) {
  totalCount pageInfo { hasNextPage endCursor } nodes { role user { id email displayName } } } }`;

interface MembersPage {
  members: {
    totalCount: number;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
    nodes: { role: string; user: { id: string; email: string; displayName: string } }[];
  };
}

describe('members', () => {
  it('invites, sets roles, removes; invitations wait for their user; pages; rebuilds identical', async () => {
    const ws = randomWorkspaceId();
    const h = { 'x-cairn-workspace': ws };
    const alice = email();
    const password = 'alice-long-password';
    const { userId: aliceId } = await createUser(api.deps, admin, {
      email: alice,
      password,
      displayName: 'Alice',
    });

    const invited = await api.gql<{ inviteMember: { userId: string | null; role: string } }>(
      'mutation($i: InviteMemberInput!) { inviteMember(input: $i) { userId email role } }',
      { i: { email: alice.toUpperCase(), role: 'viewer' } },
      h,
    );
    expect(invited.errors).toBeUndefined();
    expect(invited.data?.inviteMember).toMatchObject({ userId: aliceId, role: 'viewer' });

    // An email without a user: the invitation waits, then becomes a membership.
    const bob = email();
    const pending = await api.gql<{ inviteMember: { userId: string | null } }>(
      'mutation($i: InviteMemberInput!) { inviteMember(input: $i) { userId email role } }',
      { i: { email: bob, role: 'member' } },
      h,
    );
    expect(pending.data?.inviteMember.userId).toBeNull();
    let page = await api.gql<MembersPage>(MEMBERS, {}, h);
    expect(page.data?.members.nodes.map((n) => n.user.email)).toEqual([alice]);
    const { userId: bobId } = await createUser(api.deps, admin, { email: bob, password: null });
    page = await api.gql<MembersPage>(MEMBERS, {}, h);
    expect(page.data?.members.totalCount).toBe(2);
    expect(Object.fromEntries(page.data!.members.nodes.map((n) => [n.user.id, n.role]))).toEqual({
      [aliceId]: 'viewer',
      [bobId]: 'member',
    });

    // Pages of one.
    const first = await api.gql<MembersPage>(MEMBERS, { first: 1 }, h);
    expect(first.data?.members.pageInfo.hasNextPage).toBe(true);
    const second = await api.gql<MembersPage>(
      MEMBERS,
      { first: 1, after: first.data?.members.pageInfo.endCursor },
      h,
    );
    expect(second.data?.members.pageInfo.hasNextPage).toBe(false);
    expect(
      [first.data!.members.nodes[0]!.user.id, second.data!.members.nodes[0]!.user.id].sort(),
    ).toEqual([aliceId, bobId].sort());

    // A session of Alice sees the role change and the removal at once.
    const login = await fetch(`${api.url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: alice, password }),
    });
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const sessionRoles = async () =>
      (
        (await (await fetch(`${api.url}/auth/session`, { headers: { cookie } })).json()) as {
          workspaces: { workspaceId: string; role: string }[];
        }
      ).workspaces.filter((w) => w.workspaceId === ws);
    expect(await sessionRoles()).toEqual([{ workspaceId: ws, role: 'viewer' }]);

    const set = await api.gql<{ setMemberRole: { role: string } }>(
      'mutation($i: SetMemberRoleInput!) { setMemberRole(input: $i) { role user { email } } }',
      { i: { userId: aliceId, role: 'admin' } },
      h,
    );
    expect(set.data?.setMemberRole.role).toBe('admin');
    expect(await sessionRoles()).toEqual([{ workspaceId: ws, role: 'admin' }]);

    const removed = await api.gql<{ removeMember: boolean }>(
      'mutation($u: ID!) { removeMember(userId: $u) }',
      { u: aliceId },
      h,
    );
    expect(removed.data?.removeMember).toBe(true);
    expect(await sessionRoles()).toEqual([]);
    page = await api.gql<MembersPage>(MEMBERS, {}, h);
    expect(page.data?.members.nodes.map((n) => n.user.id)).toEqual([bobId]);

    // Typed errors that change nothing.
    const again = await api.gql(
      'mutation($u: ID!) { removeMember(userId: $u) }',
      { u: aliceId },
      h,
    );
    expect(again.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const badRole = await api.gql(
      'mutation($i: InviteMemberInput!) { inviteMember(input: $i) { email } }',
      { i: { email: email(), role: 'Super User!' } },
      h,
    );
    expect(badRole.errors?.[0]?.extensions?.code).toBe('INVALID_ARGUMENT');
    const badEmail = await api.gql(
      'mutation($i: InviteMemberInput!) { inviteMember(input: $i) { email } }',
      { i: { email: 'not an email', role: 'viewer' } },
      h,
    );
    expect(badEmail.errors?.[0]?.extensions?.code).toBe('INVALID_ARGUMENT');
    const noUser = await api.gql(
      'mutation($i: SetMemberRoleInput!) { setMemberRole(input: $i) { role } }',
      { i: { userId: '0'.repeat(32), role: 'viewer' } },
      h,
    );
    expect(noUser.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const duplicate = await createUser(api.deps, admin, { email: bob, password: null }).catch(
      (e: { code?: string }) => e.code,
    );
    expect(duplicate).toBe('ALREADY_EXISTS');

    // The read models rebuild identical from the log.
    const workspaces = [ws, DEFAULT_ORGANIZATION_ID];
    const before = await dumpReadModels(api.db, workspaces);
    expect(before.workspace_members).toHaveLength(1);
    await rebuildProjection(api.db, usersProjection);
    const after = await dumpReadModels(api.db, workspaces);
    expect(diffDumps(before, after, ['live', 'rebuilt'])).toEqual([]);
  });
});
