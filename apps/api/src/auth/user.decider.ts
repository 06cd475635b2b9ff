import { assertNever, type CairnEvent } from '@cairn/events';
import { CairnError } from '../errors.ts';
import { newEvent, type Decider } from '../write/decider.ts';

export interface UserState {
  exists: boolean;
  userId: string;
  organizationId: string;
  email: string;
  displayName: string;
  passwordHash: string | null;
  oidcSubject: string | null;
  /** Set by SubjectErased: the user's personal data is gone, it cannot log in or change. */
  erased: boolean;
}

export type UserCommand =
  | {
      type: 'CreateUser';
      userId: string;
      organizationId: string;
      email: string;
      displayName: string;
      passwordHash: string | null;
      oidcSubject: string | null;
    }
  | { type: 'ChangePassword'; userId: string; passwordHash: string }
  | { type: 'LinkOidcIdentity'; userId: string; oidcSubject: string }
  | { type: 'EraseUser'; userId: string; subjectId: string }
  | {
      type: 'RecordLogin';
      userId: string;
      method: 'password' | 'oidc';
      remoteAddress: string | null;
    };

const initial: UserState = {
  exists: false,
  userId: '',
  organizationId: '',
  email: '',
  displayName: '',
  passwordHash: null,
  oidcSubject: null,
  erased: false,
};

function live(state: UserState, userId: string): void {
  if (!state.exists) throw new CairnError('NOT_FOUND', `User ${userId} not found`);
  if (state.erased)
    throw new CairnError('FAILED_PRECONDITION', `User ${userId} is erased`, { userId });
}

/** One user account (`user-<id>`). Email uniqueness is an event-store unique key. */
export const userDecider: Decider<UserCommand, UserState> = {
  initialState: () => initial,
  evolve(state, event: CairnEvent) {
    switch (event.type) {
      case 'UserCreated':
        return { ...event.data, exists: true, erased: false };
      case 'UserPasswordChanged':
        return { ...state, passwordHash: event.data.passwordHash };
      case 'UserIdentityLinked':
        return { ...state, oidcSubject: event.data.oidcSubject };
      case 'SubjectErased':
        return { ...state, erased: true, passwordHash: null, oidcSubject: null };
      default:
        return state;
    }
  },
  decide(command, state, ctx) {
    switch (command.type) {
      case 'CreateUser':
        if (state.exists)
          throw new CairnError('ALREADY_EXISTS', `User ${command.userId} already exists`);
        return [
          newEvent(ctx, 'UserCreated', {
            userId: command.userId,
            organizationId: command.organizationId,
            email: command.email,
            displayName: command.displayName,
            passwordHash: command.passwordHash,
            oidcSubject: command.oidcSubject,
          }),
        ];
      case 'ChangePassword':
        live(state, command.userId);
        return [
          newEvent(ctx, 'UserPasswordChanged', {
            userId: command.userId,
            passwordHash: command.passwordHash,
          }),
        ];
      case 'LinkOidcIdentity':
        live(state, command.userId);
        if (state.oidcSubject === command.oidcSubject) return [];
        if (state.oidcSubject !== null)
          throw new CairnError(
            'FAILED_PRECONDITION',
            'This user signs in with another identity of the provider already',
            { userId: command.userId },
          );
        return [
          newEvent(ctx, 'UserIdentityLinked', {
            userId: command.userId,
            oidcSubject: command.oidcSubject,
          }),
        ];
      case 'RecordLogin':
        live(state, command.userId);
        return [
          newEvent(ctx, 'LoginSucceeded', {
            userId: command.userId,
            method: command.method,
            remoteAddress: command.remoteAddress,
          }),
        ];
      case 'EraseUser':
        if (!state.exists) throw new CairnError('NOT_FOUND', `User ${command.userId} not found`);
        // Irreversible and idempotent: erasing an erased user changes nothing.
        if (state.erased) return [];
        return [
          newEvent(ctx, 'SubjectErased', { subjectId: command.subjectId, userId: command.userId }),
        ];
      default:
        return assertNever(command);
    }
  },
};
