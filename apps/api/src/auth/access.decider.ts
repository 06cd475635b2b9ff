import { assertNever, type CairnEvent, type EventData } from '@cairn/events';
import { CairnError } from '../errors.ts';
import { newEvent, type Decider } from '../write/decider.ts';

/** A workspace's creation and custom roles, decided on its `workspace-<id>` stream. */
export interface WorkspaceState {
  created: boolean;
  customRoles: ReadonlyMap<string, readonly string[]>;
}

export type WorkspaceCommand =
  | { type: 'CreateWorkspace'; data: EventData<'WorkspaceCreated'> }
  | { type: 'DefineCustomRole'; name: string; scopes: string[] }
  | { type: 'DeleteCustomRole'; name: string };

/** Member events (member.decider.ts) share the stream and leave this state alone. */
export const workspaceDecider: Decider<WorkspaceCommand, WorkspaceState> = {
  initialState: () => ({ created: false, customRoles: new Map() }),
  evolve(state, event: CairnEvent) {
    switch (event.type) {
      case 'WorkspaceCreated':
        return { ...state, created: true };
      case 'CustomRoleDefined': {
        const customRoles = new Map(state.customRoles);
        customRoles.set(event.data.name, event.data.scopes);
        return { ...state, customRoles };
      }
      case 'CustomRoleDeleted': {
        const customRoles = new Map(state.customRoles);
        customRoles.delete(event.data.name);
        return { ...state, customRoles };
      }
      default:
        return state;
    }
  },
  decide(command, state, ctx) {
    switch (command.type) {
      case 'CreateWorkspace':
        if (state.created || command.data.workspaceId === 'default')
          throw new CairnError(
            'ALREADY_EXISTS',
            `Workspace "${command.data.workspaceId}" exists already`,
            { workspaceId: command.data.workspaceId },
          );
        return [newEvent(ctx, 'WorkspaceCreated', command.data)];
      case 'DefineCustomRole': {
        const before = state.customRoles.get(command.name);
        if (before && before.join('\0') === command.scopes.join('\0')) return [];
        return [newEvent(ctx, 'CustomRoleDefined', { name: command.name, scopes: command.scopes })];
      }
      case 'DeleteCustomRole':
        if (!state.customRoles.has(command.name))
          throw new CairnError('NOT_FOUND', `Custom role "${command.name}" not found`, {
            name: command.name,
          });
        return [newEvent(ctx, 'CustomRoleDeleted', { name: command.name })];
      default:
        return assertNever(command);
    }
  },
};

/** One API key, decided on its `api-key-<keyId>` stream. */
export interface ApiKeyState {
  exists: boolean;
  revoked: boolean;
}

export type ApiKeyCommand =
  | { type: 'CreateApiKey'; data: EventData<'ApiKeyCreated'> }
  | { type: 'RevokeApiKey'; keyId: string; revokedBy: string };

export const apiKeyDecider: Decider<ApiKeyCommand, ApiKeyState> = {
  initialState: () => ({ exists: false, revoked: false }),
  evolve(state, event: CairnEvent) {
    switch (event.type) {
      case 'ApiKeyCreated':
        return { ...state, exists: true };
      case 'ApiKeyRevoked':
        return { ...state, revoked: true };
      default:
        return state;
    }
  },
  decide(command, state, ctx) {
    switch (command.type) {
      case 'CreateApiKey':
        if (state.exists)
          throw new CairnError('ALREADY_EXISTS', `API key ${command.data.keyId} exists already`);
        return [newEvent(ctx, 'ApiKeyCreated', command.data)];
      case 'RevokeApiKey':
        if (!state.exists)
          throw new CairnError('NOT_FOUND', `API key ${command.keyId} not found`, {
            keyId: command.keyId,
          });
        // Revoking twice changes nothing.
        if (state.revoked) return [];
        return [
          newEvent(ctx, 'ApiKeyRevoked', { keyId: command.keyId, revokedBy: command.revokedBy }),
        ];
      default:
        return assertNever(command);
    }
  },
};
