import DataLoader from 'dataloader';
import { ArtifactPathError, encodeArtifactUrlPath, validateArtifactDir } from '@cairn/artifacts';
import { invalidArgument } from '../errors.ts';
import { builder } from '../graphql/builder.ts';
import type { GraphQLContext } from '../graphql/context.ts';
import { RunRef } from '../runs/run.graphql.ts';
import { listArtifactChildren, type ArtifactChild } from './artifacts.queries.ts';

interface ArtifactEntry {
  runId: string;
  path: string;
  name: string;
  isDir: boolean;
  size: number | null;
  sha256: string | null;
  loggedAt: Date | null;
}

/** The relative download URL of an artifact file or (as tar.gz) directory. */
export function artifactDownloadUrl(runId: string, path: string, isDir: boolean): string {
  const base = `/api/runs/${runId}/artifacts/${encodeArtifactUrlPath(path)}`;
  return isDir ? `${base}?archive=tar.gz` : base;
}

/**
 * Per-request loader of directory listings keyed by run and directory: `runs { artifacts }` costs
 * one query per distinct directory, not one per run.
 */
const listingLoaders = new WeakMap<GraphQLContext, DataLoader<string, ArtifactChild[]>>();

function listingLoader(ctx: GraphQLContext): DataLoader<string, ArtifactChild[]> {
  let loader = listingLoaders.get(ctx);
  if (!loader) {
    loader = new DataLoader<string, ArtifactChild[]>(async (keys) => {
      const byDir = new Map<string, string[]>();
      for (const key of keys) {
        const [runId, dir] = key.split('\u0000') as [string, string];
        byDir.set(dir, [...(byDir.get(dir) ?? []), runId]);
      }
      const found = new Map<string, ArtifactChild[]>();
      for (const [dir, runIds] of byDir) {
        const listed = await listArtifactChildren(ctx.deps.db, ctx.workspaceId, runIds, dir);
        for (const [runId, children] of listed) found.set(`${runId}\u0000${dir}`, children);
      }
      return keys.map((k) => found.get(k) ?? []);
    });
    listingLoaders.set(ctx, loader);
  }
  return loader;
}

const ArtifactEntryRef = builder.objectRef<ArtifactEntry>('ArtifactEntry').implement({
  description: 'A file or directory among a run’s artifacts.',
  fields: (t) => ({
    path: t.exposeString('path', { description: 'Relative to the run’s artifact root.' }),
    name: t.exposeString('name'),
    isDir: t.exposeBoolean('isDir'),
    size: t.field({ type: 'Long', nullable: true, resolve: (e) => e.size }),
    sha256: t.exposeString('sha256', { nullable: true }),
    loggedAt: t.field({
      type: 'Timestamp',
      nullable: true,
      resolve: (e) => (e.loggedAt ? e.loggedAt.getTime() : null),
    }),
    downloadUrl: t.string({
      description: 'Relative URL; directories download as a tar.gz archive.',
      resolve: (e) => artifactDownloadUrl(e.runId, e.path, e.isDir),
    }),
  }),
});

builder.objectField(RunRef, 'artifacts', (t) =>
  t.field({
    type: [ArtifactEntryRef],
    description:
      'Direct children of `path` ("" = the root): directories first, then files, each by name.',
    args: { path: t.arg.string({ required: false, defaultValue: '' }) },
    resolve: async (run, args, ctx) => {
      let dir: string;
      try {
        dir = validateArtifactDir(args.path ?? '');
      } catch (error) {
        if (error instanceof ArtifactPathError) throw invalidArgument(error.message);
        throw error;
      }
      const children = await listingLoader(ctx).load(`${run.run_id}\u0000${dir}`);
      return children.map((c) => ({
        runId: run.run_id,
        path: dir === '' ? c.name : `${dir}/${c.name}`,
        ...c,
      }));
    },
  }),
);
