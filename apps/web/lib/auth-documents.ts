/**
 * GraphQL documents of the sign-in and settings pages (docs/auth.md): `me`, workspaces, members,
 * API keys, and `accessChanged`, the push the settings pages re-read on (no polling).
 */

export const ME_QUERY = /* GraphQL */ `
  query Me {
    me {
      kind
      id
      name
      organizationId
      workspaceId
      authenticated
      role
      scopes
      authMode
    }
  }
`;

export const ACCESS_CHANGED = /* GraphQL */ `
  subscription AccessChanged {
    accessChanged {
      kind
      id
    }
  }
`;

export interface AccessChangedResult {
  accessChanged: { kind: string; id: string | null };
}

interface PageInfo {
  hasNextPage: boolean;
  endCursor: string | null;
}

export interface Page<T> {
  nodes: T[];
  pageInfo: PageInfo;
  totalCount: number;
}

export interface WorkspaceRow {
  id: string;
  name: string;
  organizationId: string;
  createdAt: number | null;
  role: string | null;
}

export const WORKSPACES_QUERY = /* GraphQL */ `
  query Workspaces($first: Int, $after: String) {
    workspaces(first: $first, after: $after) {
      nodes {
        id
        name
        organizationId
        createdAt
        role
      }
      pageInfo {
        hasNextPage
        endCursor
      }
      totalCount
    }
  }
`;

export const CREATE_WORKSPACE = /* GraphQL */ `
  mutation CreateWorkspace($input: CreateWorkspaceInput!) {
    createWorkspace(input: $input) {
      id
      name
      organizationId
      createdAt
      role
    }
  }
`;

export interface MemberRow {
  user: { id: string; email: string; displayName: string };
  role: string;
}

export const MEMBERS_QUERY = /* GraphQL */ `
  query Members($first: Int, $after: String) {
    members(first: $first, after: $after) {
      nodes {
        user {
          id
          email
          displayName
        }
        role
      }
      pageInfo {
        hasNextPage
        endCursor
      }
      totalCount
    }
  }
`;

export const INVITE_MEMBER = /* GraphQL */ `
  mutation InviteMember($input: InviteMemberInput!) {
    inviteMember(input: $input) {
      userId
      email
      role
    }
  }
`;

export interface InviteResult {
  inviteMember: { userId: string | null; email: string; role: string };
}

export const SET_MEMBER_ROLE = /* GraphQL */ `
  mutation SetMemberRole($input: SetMemberRoleInput!) {
    setMemberRole(input: $input) {
      user {
        id
        email
        displayName
      }
      role
    }
  }
`;

export const REMOVE_MEMBER = /* GraphQL */ `
  mutation RemoveMember($userId: ID!) {
    removeMember(userId: $userId)
  }
`;

export interface ApiKeyRow {
  id: string;
  name: string;
  role: string;
  workspaceId: string | null;
  createdAt: number;
  createdBy: string;
  expiresAt: number | null;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

const API_KEY_FIELDS = /* GraphQL */ `
  id
  name
  role
  workspaceId
  createdAt
  createdBy
  expiresAt
  lastUsedAt
  revokedAt
`;

export const API_KEYS_QUERY = /* GraphQL */ `
  query ApiKeys($first: Int, $after: String, $includeRevoked: Boolean) {
    apiKeys(first: $first, after: $after, includeRevoked: $includeRevoked) {
      nodes {
        ${API_KEY_FIELDS}
      }
      pageInfo {
        hasNextPage
        endCursor
      }
      totalCount
    }
  }
`;

export const CREATE_API_KEY = /* GraphQL */ `
  mutation CreateApiKey($input: CreateApiKeyInput!) {
    createApiKey(input: $input) {
      apiKey {
        ${API_KEY_FIELDS}
      }
      secret
    }
  }
`;

export interface CreateApiKeyResult {
  createApiKey: { apiKey: ApiKeyRow; secret: string };
}

export const REVOKE_API_KEY = /* GraphQL */ `
  mutation RevokeApiKey($id: ID!) {
    revokeApiKey(id: $id) {
      ${API_KEY_FIELDS}
    }
  }
`;

export const CUSTOM_ROLES_QUERY = /* GraphQL */ `
  query CustomRoles {
    customRoles {
      name
    }
  }
`;

export interface CustomRolesResult {
  customRoles: { name: string }[];
}
