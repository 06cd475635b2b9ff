'use client';

import { useQuery } from 'urql';
import { DATASET_NAME_QUERY, type DatasetNameResult } from '../../lib/evaluation-documents.ts';

/**
 * A run's dataset by name (`name v3`), read once per dataset id (urql dedupes the same query
 * across rows); the id while loading or when the dataset is gone.
 */
export function DatasetName({ id, version }: { id: string; version: number | null }) {
  const [result] = useQuery<DatasetNameResult>({
    query: DATASET_NAME_QUERY,
    variables: { id },
    requestPolicy: 'cache-first',
  });
  const ds = result.data?.evaluationDataset ?? null;
  const v = version !== null ? ` v${version}` : '';
  return (
    <span title={ds ? `${id} · latest v${ds.version}, ${ds.recordCount} records` : id}>
      {ds ? ds.name : <span className="mono">{id.length > 12 ? `${id.slice(0, 8)}…` : id}</span>}
      {v}
    </span>
  );
}
