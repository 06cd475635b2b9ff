import type { Transaction } from 'kysely';
import type { DB } from '@cairn/db';
import { assertNever, type CairnEvent, type EventType } from '@cairn/events';
import type { Projection } from '../projection.ts';
import {
  modelVersionRowFromCreated,
  registeredModelRowFromCreated,
  type ModelHistoryKind,
} from '@cairn/read-models';

// The creation rows and history kinds live in @cairn/read-models (the API uses them too).
export { modelVersionRowFromCreated, registeredModelRowFromCreated, type ModelHistoryKind };

const handles = [
  'RegisteredModelCreated',
  'RegisteredModelRenamed',
  'RegisteredModelDescriptionSet',
  'RegisteredModelTagSet',
  'RegisteredModelTagDeleted',
  'RegisteredModelDeleted',
  'ModelVersionCreated',
  'ModelVersionDescriptionSet',
  'ModelVersionTagSet',
  'ModelVersionTagDeleted',
  'ModelVersionDeleted',
  'ModelVersionStageTransitioned',
  'ModelAliasSet',
  'ModelAliasDeleted',
] as const satisfies readonly EventType[];

type Handled = Extract<CairnEvent, { type: (typeof handles)[number] }>;

async function history(
  trx: Transaction<DB>,
  event: Handled,
  kind: ModelHistoryKind,
  fields: {
    version?: number;
    fromStage?: string;
    toStage?: string;
    alias?: string;
    previousVersion?: number | null;
  } = {},
): Promise<void> {
  await trx
    .insertInto('model_history')
    .values({
      workspace_id: event.workspaceId,
      model_id: event.data.modelId,
      stream_position: event.streamPosition,
      event_id: event.id,
      kind,
      at: new Date(event.recordedAt),
      actor: event.actor,
      version: fields.version ?? null,
      from_stage: fields.fromStage ?? null,
      to_stage: fields.toStage ?? null,
      alias: fields.alias ?? null,
      previous_version: fields.previousVersion ?? null,
    })
    .onConflict((oc) => oc.columns(['workspace_id', 'model_id', 'stream_position']).doNothing())
    .execute();
}

async function applyOne(trx: Transaction<DB>, event: Handled): Promise<void> {
  const ws = event.workspaceId;
  const at = new Date(event.recordedAt);
  const modelId = event.data.modelId;
  const touchModel = () =>
    trx
      .updateTable('registered_models')
      .set({ updated_at: at })
      .where('workspace_id', '=', ws)
      .where('model_id', '=', modelId)
      .execute();
  const touchVersion = (version: number) =>
    trx
      .updateTable('model_versions')
      .set({ updated_at: at })
      .where('workspace_id', '=', ws)
      .where('model_id', '=', modelId)
      .where('version', '=', version)
      .execute();
  switch (event.type) {
    case 'RegisteredModelCreated': {
      await trx
        .insertInto('registered_models')
        .values(registeredModelRowFromCreated(event))
        .onConflict((oc) => oc.columns(['workspace_id', 'model_id']).doNothing())
        .execute();
      if (event.data.tags.length > 0) {
        await trx
          .insertInto('registered_model_tags')
          .values(event.data.tags.map((t) => ({ workspace_id: ws, model_id: modelId, ...t })))
          .onConflict((oc) =>
            oc
              .columns(['workspace_id', 'model_id', 'key'])
              .doUpdateSet((eb) => ({ value: eb.ref('excluded.value') })),
          )
          .execute();
      }
      await history(trx, event, 'MODEL_CREATED');
      return;
    }
    case 'RegisteredModelRenamed':
      await trx
        .updateTable('registered_models')
        .set({ name: event.data.name, updated_at: at })
        .where('workspace_id', '=', ws)
        .where('model_id', '=', modelId)
        .execute();
      await trx
        .updateTable('model_versions')
        .set({ model_name: event.data.name })
        .where('workspace_id', '=', ws)
        .where('model_id', '=', modelId)
        .execute();
      await history(trx, event, 'MODEL_RENAMED');
      return;
    case 'RegisteredModelDescriptionSet':
      await trx
        .updateTable('registered_models')
        .set({ description: event.data.description, updated_at: at })
        .where('workspace_id', '=', ws)
        .where('model_id', '=', modelId)
        .execute();
      return;
    case 'RegisteredModelTagSet':
      await trx
        .insertInto('registered_model_tags')
        .values({
          workspace_id: ws,
          model_id: modelId,
          key: event.data.key,
          value: event.data.value,
        })
        .onConflict((oc) =>
          oc.columns(['workspace_id', 'model_id', 'key']).doUpdateSet({ value: event.data.value }),
        )
        .execute();
      await touchModel();
      return;
    case 'RegisteredModelTagDeleted':
      await trx
        .deleteFrom('registered_model_tags')
        .where('workspace_id', '=', ws)
        .where('model_id', '=', modelId)
        .where('key', '=', event.data.key)
        .execute();
      await touchModel();
      return;
    case 'RegisteredModelDeleted':
      // A deleted model leaves the read models entirely (its name may be reused by a new model);
      // its events stay in the log.
      for (const table of [
        'registered_models',
        'registered_model_tags',
        'model_versions',
        'model_version_tags',
        'model_aliases',
        'model_history',
      ] as const) {
        await trx
          .deleteFrom(table)
          .where('workspace_id', '=', ws)
          .where('model_id', '=', modelId)
          .execute();
      }
      return;
    case 'ModelVersionCreated': {
      const d = event.data;
      await trx
        .insertInto('model_versions')
        .values(modelVersionRowFromCreated(event))
        .onConflict((oc) => oc.columns(['workspace_id', 'model_id', 'version']).doNothing())
        .execute();
      if (d.tags.length > 0) {
        await trx
          .insertInto('model_version_tags')
          .values(
            d.tags.map((t) => ({ workspace_id: ws, model_id: modelId, version: d.version, ...t })),
          )
          .onConflict((oc) =>
            oc
              .columns(['workspace_id', 'model_id', 'version', 'key'])
              .doUpdateSet((eb) => ({ value: eb.ref('excluded.value') })),
          )
          .execute();
      }
      await touchModel();
      await history(trx, event, 'VERSION_CREATED', { version: d.version });
      return;
    }
    case 'ModelVersionDescriptionSet':
      await trx
        .updateTable('model_versions')
        .set({ description: event.data.description, updated_at: at })
        .where('workspace_id', '=', ws)
        .where('model_id', '=', modelId)
        .where('version', '=', event.data.version)
        .execute();
      return;
    case 'ModelVersionTagSet': {
      const d = event.data;
      await trx
        .insertInto('model_version_tags')
        .values({
          workspace_id: ws,
          model_id: modelId,
          version: d.version,
          key: d.key,
          value: d.value,
        })
        .onConflict((oc) =>
          oc
            .columns(['workspace_id', 'model_id', 'version', 'key'])
            .doUpdateSet({ value: d.value }),
        )
        .execute();
      await touchVersion(d.version);
      return;
    }
    case 'ModelVersionTagDeleted':
      await trx
        .deleteFrom('model_version_tags')
        .where('workspace_id', '=', ws)
        .where('model_id', '=', modelId)
        .where('version', '=', event.data.version)
        .where('key', '=', event.data.key)
        .execute();
      await touchVersion(event.data.version);
      return;
    case 'ModelVersionDeleted': {
      const version = event.data.version;
      for (const table of ['model_versions', 'model_version_tags', 'model_aliases'] as const) {
        await trx
          .deleteFrom(table)
          .where('workspace_id', '=', ws)
          .where('model_id', '=', modelId)
          .where('version', '=', version)
          .execute();
      }
      await touchModel();
      await history(trx, event, 'VERSION_DELETED', { version });
      return;
    }
    case 'ModelVersionStageTransitioned': {
      const d = event.data;
      if (d.archivedVersions.length > 0) {
        await trx
          .updateTable('model_versions')
          .set({ stage: 'ARCHIVED', updated_at: at })
          .where('workspace_id', '=', ws)
          .where('model_id', '=', modelId)
          .where('version', 'in', d.archivedVersions)
          .execute();
      }
      await trx
        .updateTable('model_versions')
        .set({ stage: d.toStage, updated_at: at })
        .where('workspace_id', '=', ws)
        .where('model_id', '=', modelId)
        .where('version', '=', d.version)
        .execute();
      await touchModel();
      await history(trx, event, 'STAGE_TRANSITIONED', {
        version: d.version,
        fromStage: d.fromStage,
        toStage: d.toStage,
      });
      return;
    }
    case 'ModelAliasSet': {
      const d = event.data;
      await trx
        .insertInto('model_aliases')
        .values({ workspace_id: ws, model_id: modelId, alias: d.alias, version: d.version })
        .onConflict((oc) =>
          oc.columns(['workspace_id', 'model_id', 'alias']).doUpdateSet({ version: d.version }),
        )
        .execute();
      await touchModel();
      await history(trx, event, 'ALIAS_SET', {
        version: d.version,
        alias: d.alias,
        previousVersion: d.previousVersion,
      });
      return;
    }
    case 'ModelAliasDeleted': {
      const d = event.data;
      await trx
        .deleteFrom('model_aliases')
        .where('workspace_id', '=', ws)
        .where('model_id', '=', modelId)
        .where('alias', '=', d.alias)
        .execute();
      await touchModel();
      await history(trx, event, 'ALIAS_DELETED', { version: d.version, alias: d.alias });
      return;
    }
    default:
      assertNever(event);
  }
}

export const registryProjection: Projection = {
  name: 'registry',
  version: 1,
  handles,
  tables: [
    'registered_models',
    'registered_model_tags',
    'model_versions',
    'model_version_tags',
    'model_aliases',
    'model_history',
  ],
  async apply(trx, events) {
    for (const event of events) await applyOne(trx, event as Handled);
  },
};
