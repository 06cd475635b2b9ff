import DataLoader from 'dataloader';
import type { Kysely } from 'kysely';
import type { DB } from '@cairn/db';
import type { KV } from '../runs/runs.queries.ts';
import {
  getAliases,
  getHistories,
  getLatestVersions,
  getModelsByIds,
  getModelTags,
  getVersionPages,
  getVersionsByKeys,
  getVersionTags,
  type AliasRow,
  type HistoryRow,
  type ModelRow,
  type VersionPage,
  type VersionRow,
} from './registry.queries.ts';

/** Loaders keyed by a model id plus page arguments: one query per distinct argument set. */
function pagedLoader<V>(
  load: (ids: string[], args: string) => Promise<Map<string, V>>,
  fallback: V,
): DataLoader<string, V> {
  return new DataLoader<string, V>(async (keys) => {
    const byArgs = new Map<string, string[]>();
    for (const key of keys) {
      const [id, args] = splitKey(key);
      const list = byArgs.get(args);
      if (list) list.push(id);
      else byArgs.set(args, [id]);
    }
    const results = new Map<string, V>();
    for (const [args, ids] of byArgs) {
      const found = await load(ids, args);
      for (const id of ids) results.set(`${id}|${args}`, found.get(id) ?? fallback);
    }
    return keys.map((k) => results.get(k) ?? fallback);
  });
}

function splitKey(key: string): [string, string] {
  const i = key.indexOf('|');
  return [key.slice(0, i), key.slice(i + 1)];
}

/** Per-request DataLoaders of the registry: every model → list edge is one query per page. */
export function createRegistryLoaders(db: Kysely<DB>, workspaceId: string) {
  return {
    model: new DataLoader<string, ModelRow | null>(async (ids) => {
      const rows = await getModelsByIds(db, workspaceId, ids);
      const found = new Map(rows.map((r) => [r.model_id, r]));
      return ids.map((id) => found.get(id) ?? null);
    }),
    modelTags: new DataLoader<string, KV[]>(async (ids) => {
      const found = await getModelTags(db, workspaceId, ids);
      return ids.map((id) => found.get(id) ?? []);
    }),
    aliases: new DataLoader<string, AliasRow[]>(async (ids) => {
      const found = await getAliases(db, workspaceId, ids);
      return ids.map((id) => found.get(id) ?? []);
    }),
    latestVersions: new DataLoader<string, VersionRow[]>(async (ids) => {
      const found = await getLatestVersions(db, workspaceId, ids);
      return ids.map((id) => found.get(id) ?? []);
    }),
    /** Key `<modelId>/<version>`. */
    version: new DataLoader<string, VersionRow | null>(async (keys) => {
      const found = await getVersionsByKeys(db, workspaceId, keys);
      return keys.map((k) => found.get(k) ?? null);
    }),
    /** Key `<modelId>/<version>`. */
    versionTags: new DataLoader<string, KV[]>(async (keys) => {
      const found = await getVersionTags(db, workspaceId, keys);
      return keys.map((k) => found.get(k) ?? []);
    }),
    /** Key `<modelId>|<first>|<before version or "">`. */
    versionPage: pagedLoader<VersionPage>(
      (ids, args) => {
        const [first, before] = args.split('|');
        return getVersionPages(db, workspaceId, ids, Number(first), before ? Number(before) : null);
      },
      { rows: [], hasNextPage: false, totalCount: 0 },
    ),
    /** Key `<modelId>|<first>`. */
    history: pagedLoader<HistoryRow[]>(
      (ids, first) => getHistories(db, workspaceId, ids, Number(first)),
      [],
    ),
  };
}

export type RegistryLoaders = ReturnType<typeof createRegistryLoaders>;
