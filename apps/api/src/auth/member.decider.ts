import { assertNever, type CairnEvent } from '@cairn/events';
import { CairnError } from '../errors.ts';
import { newEvent, type Decider } from '../write/decider.ts';

/** The members of one workspace, decided on its `workspace-<id>` stream. */
export interface MembersState {
  members: ReadonlyMap<string, string>;
  /** Pending invitations by email (no user yet). */
  invited: ReadonlyMap<string, string>;
}

export type MemberCommand =
  | { type: 'InviteMember'; userId: string | null; email: string; role: string; invitedBy: string }
  | { type: 'SetMemberRole'; userId: string; role: string }
  | { type: 'RemoveMember'; userId: string };

/**
 * Other events of the workspace stream (WorkspaceCreated, CustomRoleDefined) leave this state
 * alone; the stream version still guards against concurrent member changes.
 */
export const memberDecider: Decider<MemberCommand, MembersState> = {
  initialState: () => ({ members: new Map(), invited: new Map() }),
  evolve(state, event: CairnEvent) {
    switch (event.type) {
      case 'MemberInvited': {
        if (event.data.userId === null) {
          const invited = new Map(state.invited);
          invited.set(event.data.email, event.data.role);
          return { ...state, invited };
        }
        const members = new Map(state.members);
        if (!members.has(event.data.userId)) members.set(event.data.userId, event.data.role);
        return { ...state, members };
      }
      case 'MemberRoleSet': {
        const members = new Map(state.members);
        members.set(event.data.userId, event.data.role);
        return { ...state, members };
      }
      case 'MemberRemoved': {
        const members = new Map(state.members);
        members.delete(event.data.userId);
        return { ...state, members };
      }
      default:
        return state;
    }
  },
  decide(command, state, ctx) {
    switch (command.type) {
      case 'InviteMember':
        if (command.userId !== null && state.members.has(command.userId))
          throw new CairnError('ALREADY_EXISTS', `${command.email} is a member already`, {
            email: command.email,
          });
        return [
          newEvent(ctx, 'MemberInvited', {
            userId: command.userId,
            email: command.email,
            role: command.role,
            invitedBy: command.invitedBy,
          }),
        ];
      case 'SetMemberRole': {
        const previous = state.members.get(command.userId) ?? null;
        if (previous === command.role) return [];
        return [
          newEvent(ctx, 'MemberRoleSet', {
            userId: command.userId,
            role: command.role,
            previousRole: previous,
          }),
        ];
      }
      case 'RemoveMember':
        if (!state.members.has(command.userId))
          throw new CairnError('NOT_FOUND', `User ${command.userId} is not a member`, {
            userId: command.userId,
          });
        return [newEvent(ctx, 'MemberRemoved', { userId: command.userId })];
      default:
        return assertNever(command);
    }
  },
};
