import { builder } from '../graphql/builder.ts';
import type { GraphQLContext } from '../graphql/context.ts';
import { scopesOf, roleName, ALL_SCOPES } from './scopes.ts';

/** Who the caller is, in the current workspace; public, so a login page can decide. */
interface MeView {
  principal: GraphQLContext['principal'];
  workspaceId: string;
  authMode: GraphQLContext['authMode'];
}

export const AuthModeEnum = builder.enumType('AuthMode', {
  description:
    'OFF: no credential needed (loopback); REQUIRED: every operation but `me` needs one.',
  values: { OFF: { value: 'off' }, REQUIRED: { value: 'required' } } as const,
});

export const PrincipalKindEnum = builder.enumType('PrincipalKind', {
  values: {
    ANONYMOUS: { value: 'anonymous' },
    API_KEY: { value: 'api-key' },
    SERVICE_ACCOUNT: { value: 'service-account' },
    USER: { value: 'user' },
  } as const,
});

const Me = builder.objectRef<MeView>('Me').implement({
  description: 'The caller: its principal, the current workspace and its role there.',
  fields: (t) => ({
    kind: t.field({ type: PrincipalKindEnum, resolve: (m) => m.principal.kind }),
    id: t.string({ resolve: (m) => m.principal.id }),
    name: t.string({ resolve: (m) => m.principal.name }),
    organizationId: t.string({ resolve: (m) => m.principal.organizationId }),
    workspaceId: t.string({ resolve: (m) => m.workspaceId }),
    authenticated: t.boolean({
      description: 'False for a request without a credential in REQUIRED mode.',
      resolve: (m) => m.principal.kind !== 'anonymous' || m.principal.workspaces.size > 0,
    }),
    role: t.string({
      nullable: true,
      description: 'owner, admin, member, viewer or a custom role name; null without a role here.',
      resolve: (m) => {
        const role = m.principal.workspaces.get(m.workspaceId);
        return role ? roleName(role) : null;
      },
    }),
    scopes: t.stringList({
      resolve: (m) => {
        const role = m.principal.workspaces.get(m.workspaceId);
        if (!role) return [];
        const held = scopesOf(role);
        return ALL_SCOPES.filter((s) => held.has(s));
      },
    }),
    authMode: t.field({ type: AuthModeEnum, resolve: (m) => m.authMode }),
  }),
});

builder.queryField('me', (t) =>
  t.field({
    type: Me,
    description: 'The caller (public: answers without a credential, with authMode).',
    resolve: (_root, _args, ctx) => ({
      principal: ctx.principal,
      workspaceId: ctx.workspaceId,
      authMode: ctx.authMode,
    }),
  }),
);
