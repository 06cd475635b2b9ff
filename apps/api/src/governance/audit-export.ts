/**
 * The audit log as JSON lines or CSV (docs/governance.md, "Export"): the same entries as
 * `auditLog`, newest first, read in keyset pages so that a long log streams in bounded memory.
 * Used by GET /api/audit/export (audit-export.route.ts) and `cairn audit export`.
 */
import type { Kysely } from 'kysely';
import type { DB } from '@cairn/db';
import { invalidArgument } from '../errors.ts';
import {
  changeOf,
  keyIdOf,
  readAuditLog,
  summarize,
  type AuditFilter,
  type AuditRow,
} from './audit.queries.ts';

export type AuditExportFormat = 'jsonl' | 'csv';

export function parseExportFormat(value: string | null | undefined): AuditExportFormat {
  if (value === null || value === undefined || value === '' || value === 'jsonl') return 'jsonl';
  if (value === 'csv') return 'csv';
  throw invalidArgument(`format must be jsonl or csv, not "${value.slice(0, 40)}"`, {
    argument: 'format',
  });
}

/** One exported entry: who, what, when, from where, the summary and the change. */
export function exportRecord(row: AuditRow) {
  const change = changeOf(row.data);
  return {
    position: row.globalPosition,
    eventId: row.eventId,
    recordedAt: row.recordedAt.toISOString(),
    occurredAt: row.occurredAt.toISOString(),
    actor: row.actor,
    keyId: keyIdOf(row.actor),
    client: row.origin?.client ?? null,
    address: row.origin?.address ?? null,
    userAgent: row.origin?.userAgent ?? null,
    correlationId: row.correlationId,
    type: row.type,
    schemaVersion: row.schemaVersion,
    domain: row.domain,
    streamId: row.streamId,
    streamPosition: row.streamPosition,
    summary: summarize(row),
    before: change?.before ?? null,
    after: change?.after ?? null,
    data: row.data,
  };
}

export const CSV_COLUMNS = [
  'position',
  'recordedAt',
  'actor',
  'keyId',
  'client',
  'address',
  'userAgent',
  'type',
  'domain',
  'streamId',
  'summary',
  'before',
  'after',
  'correlationId',
  'eventId',
  'data',
] as const;

/**
 * One CSV cell (RFC 4180 quoting). A text that a spreadsheet would read as a formula (leading
 * `=`, `+`, `-`, `@`, tab or carriage return) gets a leading `'`: names and tags are user input.
 */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text =
    typeof value === 'string'
      ? value
      : typeof value === 'object'
        ? JSON.stringify(value)
        : // eslint-disable-next-line @typescript-eslint/no-base-to-string -- numbers, booleans
          String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/u.test(text)) text = `'${text}`;
  return /[",\r\n]/u.test(text) ? `"${text.replace(/"/gu, '""')}"` : text;
}

function csvLine(record: ReturnType<typeof exportRecord>): string {
  return `${CSV_COLUMNS.map((c) => csvCell(record[c])).join(',')}\r\n`;
}

/**
 * The export, chunk by chunk (a header line for CSV, then one chunk per page of up to
 * `pageSize` entries). Entries appended after the first page was read are not included: the
 * pages go down from the newest position at the start.
 */
export async function* exportAuditLog(
  db: Kysely<DB>,
  workspaceId: string,
  filter: AuditFilter,
  format: AuditExportFormat,
  opts: { pageSize?: number; onEntries?: (n: number) => void } = {},
): AsyncGenerator<string> {
  const pageSize = opts.pageSize ?? 1000;
  if (format === 'csv') yield `${CSV_COLUMNS.join(',')}\r\n`;
  let before: number | null = null;
  for (;;) {
    const { rows, hasMore } = await readAuditLog(db, workspaceId, filter, pageSize, before);
    opts.onEntries?.(rows.length);
    if (rows.length > 0)
      yield rows
        .map((row) =>
          format === 'csv' ? csvLine(exportRecord(row)) : `${JSON.stringify(exportRecord(row))}\n`,
        )
        .join('');
    if (!hasMore) return;
    before = rows.at(-1)!.globalPosition;
  }
}

/** Filter parameters of an export (HTTP query or CLI flags), validated like `auditLog`'s. */
export function exportFilter(params: {
  actor?: string | null;
  types?: readonly string[];
  domain?: string | null;
  streamId?: string | null;
  from?: string | null;
  to?: string | null;
}): AuditFilter {
  const time = (name: string, text: string | null | undefined): number | null => {
    if (text === null || text === undefined || text === '') return null;
    const ms = /^\d+$/u.test(text) ? Number(text) : Date.parse(text);
    if (!Number.isSafeInteger(ms))
      throw invalidArgument(`${name} must be epoch milliseconds or an ISO time`, {
        argument: name,
      });
    return ms;
  };
  return {
    actor: params.actor || null,
    types: params.types && params.types.length > 0 ? params.types : null,
    domain: params.domain || null,
    streamId: params.streamId || null,
    from: time('from', params.from),
    to: time('to', params.to),
  };
}
