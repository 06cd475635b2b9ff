'use client';

import { useState } from 'react';
import type { OperationResult } from 'urql';
import { useDashboard } from '../../components/providers.tsx';
import { RUNS_QUERY, type PageInfo, type RunsResult } from '../../lib/graphql/documents.ts';
import { describeError, type ApiErrorInfo } from '../../lib/graphql/errors.ts';
import type { DataColumn } from '../../lib/run-columns.ts';
import { runsCsv, type CsvRun } from '../../lib/runs-csv.ts';
import { toTableRun } from './table-run.ts';

const PAGE = 1000;

/**
 * "Export CSV": every run of the filter in the table's order (paged through the runs query, not
 * only the loaded rows), with the table's columns, downloaded as a Blob.
 */
export function ExportCsvButton({
  experimentId,
  experimentName,
  filter,
  orderBy,
  columns,
  onError,
}: {
  experimentId: string;
  experimentName: string;
  filter: string;
  orderBy: string[] | null;
  columns: readonly DataColumn[];
  onError: (error: ApiErrorInfo | null) => void;
}) {
  const { urql } = useDashboard();
  const [busy, setBusy] = useState<string | null>(null);

  const run = async () => {
    onError(null);
    const runs: CsvRun[] = [];
    let after: string | null = null;
    for (;;) {
      setBusy(`Exporting ${runs.length}…`);
      const result: OperationResult<RunsResult> = await urql
        .query<RunsResult>(
          RUNS_QUERY,
          { experimentIds: [experimentId], filter: filter || null, orderBy, first: PAGE, after },
          { requestPolicy: 'network-only' },
        )
        .toPromise();
      if (result.error || !result.data) {
        onError(describeError(result.error ?? { message: 'No data' }));
        setBusy(null);
        return;
      }
      for (const edge of result.data.runs.edges) {
        const t = toTableRun(edge.node);
        runs.push({ ...t, ...edge.node, params: t.params, tags: t.tags, metrics: t.metrics });
      }
      const { hasNextPage, endCursor }: PageInfo = result.data.runs.pageInfo;
      if (!hasNextPage || !endCursor) break;
      after = endCursor;
    }
    const blob = new Blob([runsCsv(runs, columns)], { type: 'text/csv;charset=utf-8' });
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = `${experimentName.replace(/[^\w.-]+/gu, '_') || 'runs'}-runs.csv`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    setBusy(null);
  };

  return (
    <button
      type="button"
      onClick={() => void run()}
      disabled={busy !== null}
      title="Every run of this filter, with the table's columns"
    >
      {busy ?? 'Export CSV'}
    </button>
  );
}
