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
};

/** One user account (`user-<id>`). Email uniqueness is an event-store unique key. */
export const userDecider: Decider<UserCommand, UserState> = {
  initialState: () => initial,
  evolve(state, event: CairnEvent) {
    switch (event.type) {
      case 'UserCreated':
        return { ...event.data, exists: true };
      case 'UserPasswordChanged':
        return { ...state, passwordHash: event.data.passwordHash };
      case 'UserIdentityLinked':
        return { ...state, oidcSubject: event.data.oidcSubject };
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
        if (!state.exists) throw new CairnError('NOT_FOUND', `User ${command.userId} not found`);
        return [
          newEvent(ctx, 'UserPasswordChanged', {
            userId: command.userId,
            passwordHash: command.passwordHash,
          }),
        ];
      case 'LinkOidcIdentity':
        if (!state.exists) throw new CairnError('NOT_FOUND', `User ${command.userId} not found`);
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
        if (!state.exists) throw new CairnError('NOT_FOUND', `User ${command.userId} not found`);
        return [
          newEvent(ctx, 'LoginSucceeded', {
            userId: command.userId,
            method: command.method,
            remoteAddress: command.remoteAddress,
          }),
        ];
      default:
        return assertNever(command);
    }
  },
};
