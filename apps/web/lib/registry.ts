/**
 * The registry pages' pure parts: stage words, history lines, and the version an alias rolls
 * back to.
 */
import type { ModelHistoryEntry, ModelStage } from './graphql/registry-documents.ts';

const STAGE_LABELS: Record<ModelStage, string> = {
  NONE: 'None',
  STAGING: 'Staging',
  PRODUCTION: 'Production',
  ARCHIVED: 'Archived',
};

export function stageLabel(stage: ModelStage | null | undefined): string {
  return stage ? STAGE_LABELS[stage] : '—';
}

/**
 * The version `alias` was on before its last move (`ModelHistoryEntry.previousVersion` of the
 * newest ALIAS_SET for it), when that version still exists and differs from the current one.
 * `history` is newest first.
 */
export function rollbackTarget(
  history: readonly ModelHistoryEntry[],
  alias: string,
  currentVersion: number,
  existingVersions: ReadonlySet<number>,
): number | null {
  for (const entry of history) {
    if (entry.alias !== alias) continue;
    if (entry.kind === 'ALIAS_DELETED') return null;
    if (entry.kind !== 'ALIAS_SET') continue;
    const previous = entry.previousVersion;
    if (previous === null || previous === currentVersion || !existingVersions.has(previous))
      return null;
    return previous;
  }
  return null;
}

/** One line of a model's history, e.g. "champion moved from v3 to v2". */
export function describeHistory(entry: ModelHistoryEntry): string {
  const v = entry.version === null ? '' : `v${entry.version}`;
  switch (entry.kind) {
    case 'MODEL_CREATED':
      return 'Model created';
    case 'MODEL_RENAMED':
      return 'Model renamed';
    case 'VERSION_CREATED':
      return `Version ${entry.version ?? '?'} created`;
    case 'VERSION_DELETED':
      return `Version ${entry.version ?? '?'} deleted`;
    case 'STAGE_TRANSITIONED':
      return `${v}: ${stageLabel(entry.fromStage)} → ${stageLabel(entry.toStage)}`;
    case 'ALIAS_SET':
      return entry.previousVersion === null
        ? `Alias ${entry.alias ?? ''} set to ${v}`
        : `Alias ${entry.alias ?? ''} moved from v${entry.previousVersion} to ${v}`;
    case 'ALIAS_DELETED':
      return `Alias ${entry.alias ?? ''} removed (was ${v})`;
    default: {
      const never: never = entry.kind;
      return String(never);
    }
  }
}

/** A string literal of the registry's filter grammar: 'it''s'. */
export function filterLiteral(value: string): string {
  return `'${value.replace(/'/gu, "''")}'`;
}
