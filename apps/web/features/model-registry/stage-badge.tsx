'use client';

import type { ModelStage } from '../../lib/graphql/registry-documents.ts';
import { stageLabel } from '../../lib/registry.ts';

/** A version's stage: colour plus the word. */
export function StageBadge({ stage }: { stage: ModelStage }) {
  return <span className={`badge stage-${stage}`}>{stageLabel(stage)}</span>;
}

/** The model page's URL (a static export: the name travels in the query string). */
export function modelHref(name: string, version?: number): string {
  return `/models/view?name=${encodeURIComponent(name)}${version === undefined ? '' : `&v=${version}`}`;
}
