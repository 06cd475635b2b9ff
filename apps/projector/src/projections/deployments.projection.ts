import type { Transaction } from 'kysely';
import type { DB, DeploymentVariantsTable } from '@cairn/db';
import {
  assertNever,
  type CairnEvent,
  type DeploymentVariantData,
  type EventType,
} from '@cairn/events';
import type { Projection } from '../projection.ts';
import { deploymentRowFromCreated, deploymentVariantRows } from '@cairn/read-models';

// The creation rows live in @cairn/read-models (the API answers with them too).
export { deploymentRowFromCreated, deploymentVariantRows };

const handles = [
  'DeploymentCreated',
  'DeploymentUpdated',
  'DeploymentRolledBack',
  'DeploymentStatusChanged',
  'DeploymentDeleted',
  'DeploymentMetricsRecorded',
  // Alias moves of the registry: a variant that follows the alias now serves the new version.
  'ModelAliasSet',
] as const satisfies readonly EventType[];

type Handled = Extract<CairnEvent, { type: (typeof handles)[number] }>;

interface HistoryRow {
  kind: string;
  variant: string | null;
  from: number | null;
  to: number | null;
  summary: string;
}

const weights = (vs: readonly { name: string; weight: number }[]) =>
  vs.map((v) => `${v.name} ${v.weight}%`).join(', ');

/** What an update changed, as history rows (pure: the old variants against the event's). */
export function updateHistory(
  old: readonly Pick<DeploymentVariantsTable, 'name' | 'model_uri' | 'served_version' | 'weight'>[],
  oldConfig: unknown,
  next: readonly DeploymentVariantData[],
  nextConfig: unknown,
): HistoryRow[] {
  const rows: HistoryRow[] = [];
  const before = new Map(old.map((v) => [v.name, v]));
  const changes: string[] = [];
  for (const v of next) {
    const prev = before.get(v.name);
    if (!prev) {
      changes.push(`variant ${v.name} added (${v.modelUri})`);
      continue;
    }
    if (prev.model_uri !== v.modelUri) changes.push(`${v.name}: ${prev.model_uri} → ${v.modelUri}`);
    if (prev.served_version !== v.version)
      rows.push({
        kind: 'VERSION_CHANGED',
        variant: v.name,
        from: prev.served_version,
        to: v.version,
        summary: `${v.name} serves version ${v.version} (was ${prev.served_version})`,
      });
  }
  for (const v of old)
    if (!next.some((n) => n.name === v.name)) changes.push(`variant ${v.name} removed`);
  if (JSON.stringify(oldConfig) !== JSON.stringify(nextConfig)) changes.push('config changed');
  const oldWeights = weights([...old].sort((a, b) => a.name.localeCompare(b.name)));
  const newWeights = weights([...next].sort((a, b) => a.name.localeCompare(b.name)));
  if (oldWeights !== newWeights)
    rows.push({
      kind: 'TRAFFIC_CHANGED',
      variant: null,
      from: null,
      to: null,
      summary: `traffic ${weights(next)} (was ${weights(old)})`,
    });
  if (changes.length > 0)
    rows.unshift({
      kind: 'UPDATED',
      variant: null,
      from: null,
      to: null,
      summary: changes.join('; '),
    });
  return rows;
}

async function applyOne(trx: Transaction<DB>, event: Handled): Promise<void> {
  const ws = event.workspaceId;
  const at = new Date(event.recordedAt);
  const history = (deploymentId: string, rows: readonly HistoryRow[]) =>
    rows.length === 0
      ? Promise.resolve()
      : trx
          .insertInto('deployment_history')
          .values(
            rows.map((r, ordinal) => ({
              workspace_id: ws,
              deployment_id: deploymentId,
              global_position: event.globalPosition,
              ordinal,
              event_id: event.id,
              kind: r.kind,
              variant: r.variant,
              from_version: r.from,
              to_version: r.to,
              actor: event.actor,
              summary: r.summary,
              at,
            })),
          )
          .onConflict((oc) =>
            oc.columns(['workspace_id', 'deployment_id', 'global_position', 'ordinal']).doNothing(),
          )
          .execute()
          .then(() => undefined);
  const touch = (deploymentId: string) =>
    trx
      .updateTable('deployments')
      .set({ updated_at: at })
      .where('workspace_id', '=', ws)
      .where('deployment_id', '=', deploymentId)
      .execute();
  const replaceVariants = async (
    deploymentId: string,
    variants: readonly DeploymentVariantData[],
  ) => {
    await trx
      .deleteFrom('deployment_variants')
      .where('workspace_id', '=', ws)
      .where('deployment_id', '=', deploymentId)
      .execute();
    await trx
      .insertInto('deployment_variants')
      .values(deploymentVariantRows(ws, deploymentId, variants))
      .execute();
  };
  switch (event.type) {
    case 'DeploymentCreated': {
      const d = event.data;
      const row = deploymentRowFromCreated(event);
      const inserted = await trx
        .insertInto('deployments')
        .values({ ...row, config: JSON.stringify(row.config) })
        .onConflict((oc) => oc.columns(['workspace_id', 'deployment_id']).doNothing())
        .executeTakeFirst();
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0) return;
      await replaceVariants(d.deploymentId, d.variants);
      await history(d.deploymentId, [
        {
          kind: 'CREATED',
          variant: null,
          from: null,
          to: null,
          summary: `created on ${d.target}: ${d.variants
            .map((v) => `${v.name} ${v.modelUri} (version ${v.version}) ${v.weight}%`)
            .join(', ')}`,
        },
      ]);
      return;
    }
    case 'DeploymentUpdated': {
      const d = event.data;
      const current = await trx
        .selectFrom('deployments')
        .select('config')
        .where('workspace_id', '=', ws)
        .where('deployment_id', '=', d.deploymentId)
        .executeTakeFirst();
      if (!current) return;
      const old = await trx
        .selectFrom('deployment_variants')
        .select(['name', 'model_uri', 'served_version', 'weight'])
        .where('workspace_id', '=', ws)
        .where('deployment_id', '=', d.deploymentId)
        .orderBy('ordinal')
        .execute();
      await history(d.deploymentId, updateHistory(old, current.config, d.variants, d.config));
      await trx
        .updateTable('deployments')
        .set({ model_uri: d.modelUri, config: JSON.stringify(d.config), updated_at: at })
        .where('workspace_id', '=', ws)
        .where('deployment_id', '=', d.deploymentId)
        .execute();
      await replaceVariants(d.deploymentId, d.variants);
      return;
    }
    case 'DeploymentRolledBack': {
      const d = event.data;
      const variant = await trx
        .selectFrom('deployment_variants')
        .select(['served_version', 'ordinal'])
        .where('workspace_id', '=', ws)
        .where('deployment_id', '=', d.deploymentId)
        .where('name', '=', d.variant)
        .executeTakeFirst();
      if (!variant) return;
      const rows: HistoryRow[] = [
        {
          kind: 'ROLLED_BACK',
          variant: d.variant,
          from: d.fromVersion,
          to: d.toVersion,
          summary: d.alias
            ? `rolled back: alias ${d.alias} moved to version ${d.toVersion}`
            : `rolled back ${d.variant} to ${d.modelUri}`,
        },
      ];
      if (d.alias === null) {
        // A fixed-version variant: its URI changes here (an alias variant follows ModelAliasSet).
        if (variant.served_version !== d.toVersion)
          rows.push({
            kind: 'VERSION_CHANGED',
            variant: d.variant,
            from: variant.served_version,
            to: d.toVersion,
            summary: `${d.variant} serves version ${d.toVersion} (was ${variant.served_version})`,
          });
        await trx
          .updateTable('deployment_variants')
          .set({ model_uri: d.modelUri, served_version: d.toVersion })
          .where('workspace_id', '=', ws)
          .where('deployment_id', '=', d.deploymentId)
          .where('name', '=', d.variant)
          .execute();
        if (variant.ordinal === 0)
          await trx
            .updateTable('deployments')
            .set({ model_uri: d.modelUri })
            .where('workspace_id', '=', ws)
            .where('deployment_id', '=', d.deploymentId)
            .execute();
      }
      await history(d.deploymentId, rows);
      await touch(d.deploymentId);
      return;
    }
    case 'DeploymentStatusChanged': {
      const d = event.data;
      const updated = await trx
        .updateTable('deployments')
        .set({
          status: d.status,
          status_message: d.message,
          endpoint: d.endpoint,
          manifests: d.manifests,
          updated_at: at,
        })
        .where('workspace_id', '=', ws)
        .where('deployment_id', '=', d.deploymentId)
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) === 0) return;
      await history(d.deploymentId, [
        {
          kind: 'STATUS_CHANGED',
          variant: null,
          from: null,
          to: null,
          summary:
            d.status +
            (d.endpoint ? ` at ${d.endpoint}` : '') +
            (d.message ? `: ${d.message}` : ''),
        },
      ]);
      return;
    }
    case 'DeploymentDeleted':
      // A deleted deployment leaves the read models entirely (its name may be reused); its
      // events stay in the log.
      for (const table of [
        'deployments',
        'deployment_variants',
        'deployment_history',
        'deployment_metrics',
      ] as const) {
        await trx
          .deleteFrom(table)
          .where('workspace_id', '=', ws)
          .where('deployment_id', '=', event.data.deploymentId)
          .execute();
      }
      return;
    case 'DeploymentMetricsRecorded': {
      const d = event.data;
      if (d.variants.length === 0) return;
      const exists = await trx
        .selectFrom('deployments')
        .select('deployment_id')
        .where('workspace_id', '=', ws)
        .where('deployment_id', '=', d.deploymentId)
        .executeTakeFirst();
      if (!exists) return;
      await trx
        .insertInto('deployment_metrics')
        .values(
          d.variants.map((v) => ({
            workspace_id: ws,
            deployment_id: d.deploymentId,
            global_position: event.globalPosition,
            variant: v.variant,
            version: v.version,
            window_start: d.windowStart,
            window_end: d.windowEnd,
            requests: v.requests,
            errors: v.errors,
            latency_ms_sum: v.latencyMsSum,
            latency_buckets: v.latencyMsBuckets,
          })),
        )
        .onConflict((oc) =>
          oc.columns(['workspace_id', 'deployment_id', 'global_position', 'variant']).doNothing(),
        )
        .execute();
      return;
    }
    case 'ModelAliasSet': {
      const d = event.data;
      const followers = await trx
        .selectFrom('deployment_variants')
        .select(['deployment_id', 'name', 'served_version'])
        .where('workspace_id', '=', ws)
        .where('model_id', '=', d.modelId)
        .where('alias', '=', d.alias)
        .orderBy('deployment_id')
        .orderBy('name')
        .execute();
      for (const v of followers) {
        if (v.served_version === d.version) continue;
        await trx
          .updateTable('deployment_variants')
          .set({ served_version: d.version })
          .where('workspace_id', '=', ws)
          .where('deployment_id', '=', v.deployment_id)
          .where('name', '=', v.name)
          .execute();
        await history(v.deployment_id, [
          {
            kind: 'VERSION_CHANGED',
            variant: v.name,
            from: v.served_version,
            to: d.version,
            summary: `alias ${d.name}@${d.alias} moved: ${v.name} serves version ${d.version} (was ${v.served_version})`,
          },
        ]);
        await touch(v.deployment_id);
      }
      return;
    }
    default:
      assertNever(event);
  }
}

/** `deployments`: deployments, their variants, history and metric windows (docs/deployment.md). */
export const deploymentsProjection: Projection = {
  name: 'deployments',
  version: 1,
  handles,
  tables: ['deployments', 'deployment_variants', 'deployment_history', 'deployment_metrics'],
  async apply(trx, events) {
    for (const event of events) await applyOne(trx, event as Handled);
  },
};
