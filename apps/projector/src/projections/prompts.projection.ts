import type { Transaction } from 'kysely';
import type { DB } from '@cairn/db';
import { assertNever, type CairnEvent, type EventType } from '@cairn/events';
import type { Projection } from '../projection.ts';
import { promptRowFromCreated, promptVersionRowFromCreated } from '@cairn/read-models';

// The creation rows live in @cairn/read-models (the API answers with them too).
export { promptRowFromCreated, promptVersionRowFromCreated };

const handles = [
  'PromptCreated',
  'PromptTagSet',
  'PromptTagDeleted',
  'PromptArchived',
  'PromptUnarchived',
  'PromptDeleted',
  'PromptVersionCreated',
  'PromptVersionTagSet',
  'PromptVersionTagDeleted',
  'PromptAliasSet',
  'PromptAliasDeleted',
] as const satisfies readonly EventType[];

type Handled = Extract<CairnEvent, { type: (typeof handles)[number] }>;

const json = (value: unknown) => JSON.stringify(value);

async function applyOne(trx: Transaction<DB>, event: Handled): Promise<void> {
  const ws = event.workspaceId;
  const at = new Date(event.recordedAt);
  const promptId = event.data.promptId;
  const touch = () =>
    trx
      .updateTable('prompts')
      .set({ updated_at: at })
      .where('workspace_id', '=', ws)
      .where('prompt_id', '=', promptId)
      .execute();
  const aliasHistory = (
    alias: string,
    kind: 'SET' | 'DELETED',
    from: number | null,
    to: number | null,
  ) =>
    trx
      .insertInto('prompt_alias_history')
      .values({
        workspace_id: ws,
        prompt_id: promptId,
        stream_position: event.streamPosition,
        event_id: event.id,
        alias,
        kind,
        from_version: from,
        to_version: to,
        actor: event.actor,
        at,
      })
      .onConflict((oc) => oc.columns(['workspace_id', 'prompt_id', 'stream_position']).doNothing())
      .execute();
  switch (event.type) {
    case 'PromptCreated': {
      await trx
        .insertInto('prompts')
        .values(promptRowFromCreated(event))
        .onConflict((oc) => oc.columns(['workspace_id', 'prompt_id']).doNothing())
        .execute();
      if (event.data.tags.length > 0) {
        await trx
          .insertInto('prompt_tags')
          .values(event.data.tags.map((t) => ({ workspace_id: ws, prompt_id: promptId, ...t })))
          .onConflict((oc) =>
            oc
              .columns(['workspace_id', 'prompt_id', 'key'])
              .doUpdateSet((eb) => ({ value: eb.ref('excluded.value') })),
          )
          .execute();
      }
      return;
    }
    case 'PromptTagSet':
      await trx
        .insertInto('prompt_tags')
        .values({
          workspace_id: ws,
          prompt_id: promptId,
          key: event.data.key,
          value: event.data.value,
        })
        .onConflict((oc) =>
          oc.columns(['workspace_id', 'prompt_id', 'key']).doUpdateSet({ value: event.data.value }),
        )
        .execute();
      await touch();
      return;
    case 'PromptTagDeleted':
      await trx
        .deleteFrom('prompt_tags')
        .where('workspace_id', '=', ws)
        .where('prompt_id', '=', promptId)
        .where('key', '=', event.data.key)
        .execute();
      await touch();
      return;
    case 'PromptArchived':
    case 'PromptUnarchived':
      await trx
        .updateTable('prompts')
        .set({ archived: event.type === 'PromptArchived', updated_at: at })
        .where('workspace_id', '=', ws)
        .where('prompt_id', '=', promptId)
        .execute();
      return;
    case 'PromptDeleted':
      // A deleted prompt leaves the read models entirely (its name may be reused by a new
      // prompt); its events stay in the log.
      for (const table of [
        'prompts',
        'prompt_tags',
        'prompt_versions',
        'prompt_version_tags',
        'prompt_aliases',
        'prompt_alias_history',
      ] as const) {
        await trx
          .deleteFrom(table)
          .where('workspace_id', '=', ws)
          .where('prompt_id', '=', promptId)
          .execute();
      }
      return;
    case 'PromptVersionCreated': {
      const d = event.data;
      const row = promptVersionRowFromCreated(event);
      await trx
        .insertInto('prompt_versions')
        .values({
          ...row,
          template: json(row.template),
          variables: json(row.variables),
          response_format: row.response_format === null ? null : json(row.response_format),
          model_config: row.model_config === null ? null : json(row.model_config),
        })
        .onConflict((oc) => oc.columns(['workspace_id', 'prompt_id', 'version']).doNothing())
        .execute();
      if (d.tags.length > 0) {
        await trx
          .insertInto('prompt_version_tags')
          .values(
            d.tags.map((t) => ({
              workspace_id: ws,
              prompt_id: promptId,
              version: d.version,
              ...t,
            })),
          )
          .onConflict((oc) =>
            oc
              .columns(['workspace_id', 'prompt_id', 'version', 'key'])
              .doUpdateSet((eb) => ({ value: eb.ref('excluded.value') })),
          )
          .execute();
      }
      await trx
        .updateTable('prompts')
        .set((eb) => ({
          latest_version: eb.fn('greatest', [
            eb.fn.coalesce('latest_version', eb.val(0)),
            eb.val(d.version),
          ]),
          updated_at: at,
        }))
        .where('workspace_id', '=', ws)
        .where('prompt_id', '=', promptId)
        .execute();
      return;
    }
    case 'PromptVersionTagSet': {
      const d = event.data;
      await trx
        .insertInto('prompt_version_tags')
        .values({
          workspace_id: ws,
          prompt_id: promptId,
          version: d.version,
          key: d.key,
          value: d.value,
        })
        .onConflict((oc) =>
          oc
            .columns(['workspace_id', 'prompt_id', 'version', 'key'])
            .doUpdateSet({ value: d.value }),
        )
        .execute();
      await touch();
      return;
    }
    case 'PromptVersionTagDeleted':
      await trx
        .deleteFrom('prompt_version_tags')
        .where('workspace_id', '=', ws)
        .where('prompt_id', '=', promptId)
        .where('version', '=', event.data.version)
        .where('key', '=', event.data.key)
        .execute();
      await touch();
      return;
    case 'PromptAliasSet': {
      const d = event.data;
      await trx
        .insertInto('prompt_aliases')
        .values({
          workspace_id: ws,
          prompt_id: promptId,
          alias: d.alias,
          version: d.version,
          updated_at: at,
          updated_by: event.actor,
        })
        .onConflict((oc) =>
          oc
            .columns(['workspace_id', 'prompt_id', 'alias'])
            .doUpdateSet({ version: d.version, updated_at: at, updated_by: event.actor }),
        )
        .execute();
      await touch();
      await aliasHistory(d.alias, 'SET', d.previousVersion, d.version);
      return;
    }
    case 'PromptAliasDeleted': {
      const d = event.data;
      await trx
        .deleteFrom('prompt_aliases')
        .where('workspace_id', '=', ws)
        .where('prompt_id', '=', promptId)
        .where('alias', '=', d.alias)
        .execute();
      await touch();
      await aliasHistory(d.alias, 'DELETED', d.version, null);
      return;
    }
    default:
      assertNever(event);
  }
}

/** `prompts`: the prompt registry's read models (docs/prompts.md, "Events and read models"). */
export const promptsProjection: Projection = {
  name: 'prompts',
  version: 1,
  handles,
  tables: [
    'prompts',
    'prompt_tags',
    'prompt_versions',
    'prompt_version_tags',
    'prompt_aliases',
    'prompt_alias_history',
  ],
  async apply(trx, events) {
    for (const event of events) await applyOne(trx, event as Handled);
  },
};
