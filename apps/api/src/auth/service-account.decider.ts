import { assertNever, type CairnEvent, type EventData } from '@cairn/events';
import { CairnError } from '../errors.ts';
import { newEvent, type Decider } from '../write/decider.ts';

/** One service account, decided on its `service-account-<id>` stream (in its workspace). */
export interface ServiceAccountState {
  exists: boolean;
  deleted: boolean;
  name: string;
  role: string;
}

export type ServiceAccountCommand =
  | { type: 'CreateServiceAccount'; data: EventData<'ServiceAccountCreated'> }
  | { type: 'DeleteServiceAccount'; serviceAccountId: string; deletedBy: string };

export const serviceAccountDecider: Decider<ServiceAccountCommand, ServiceAccountState> = {
  initialState: () => ({ exists: false, deleted: false, name: '', role: '' }),
  evolve(state, event: CairnEvent) {
    switch (event.type) {
      case 'ServiceAccountCreated':
        return { exists: true, deleted: false, name: event.data.name, role: event.data.role };
      case 'ServiceAccountDeleted':
        return { ...state, deleted: true };
      default:
        return state;
    }
  },
  decide(command, state, ctx) {
    switch (command.type) {
      case 'CreateServiceAccount':
        if (state.exists)
          throw new CairnError(
            'ALREADY_EXISTS',
            `Service account ${command.data.serviceAccountId} exists already`,
          );
        return [newEvent(ctx, 'ServiceAccountCreated', command.data)];
      case 'DeleteServiceAccount':
        if (!state.exists || state.deleted)
          throw new CairnError(
            'NOT_FOUND',
            `Service account ${command.serviceAccountId} not found`,
            {
              serviceAccountId: command.serviceAccountId,
            },
          );
        return [
          newEvent(ctx, 'ServiceAccountDeleted', {
            serviceAccountId: command.serviceAccountId,
            name: state.name,
            deletedBy: command.deletedBy,
          }),
        ];
      default:
        return assertNever(command);
    }
  },
};
