import { CairnError } from '../../errors.ts';
import { targetLabel, type OrderTerm } from './run-search.ast.ts';
import { isValidSortValue, type SortColumn, type SortValue } from './run-search.sql.ts';

/**
 * Keyset cursors of the run search: the sort values of the last row of a page (null-ness
 * included) plus its start_time and run_id, and the ordering they belong to. Opaque base64url
 * JSON; a cursor is checked against the request's ordering and column types before use.
 */
interface CursorPayload {
  /** The ordering the values belong to, e.g. "metrics.loss asc". */
  o: string;
  /** One value per sort column, tie-breakers included. */
  k: SortValue[];
}

export function orderSignature(terms: readonly OrderTerm[]): string {
  return terms.map((t) => `${targetLabel(t.target)} ${t.direction}`).join(', ');
}

export function encodeRunCursor(terms: readonly OrderTerm[], values: readonly SortValue[]): string {
  const payload: CursorPayload = { o: orderSignature(terms), k: [...values] };
  return Buffer.from(JSON.stringify(payload)).toString('base64url');
}

const invalidCursor = (why: string) =>
  new CairnError('INVALID_ARGUMENT', `Invalid cursor "after": ${why}`, { argument: 'after' });

export function decodeRunCursor(
  cursor: string | null | undefined,
  terms: readonly OrderTerm[],
  columns: readonly SortColumn[],
): SortValue[] | null {
  if (cursor === null || cursor === undefined) return null;
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor('not a cursor of this query');
  }
  if (typeof payload !== 'object' || payload === null)
    throw invalidCursor('not a cursor of this query');
  const { o, k } = payload as Partial<CursorPayload>;
  if (o !== orderSignature(terms)) throw invalidCursor('it was issued for a different orderBy');
  if (!Array.isArray(k) || k.length !== columns.length)
    throw invalidCursor('not a cursor of this query');
  const values: SortValue[] = [];
  columns.forEach((column, i) => {
    const value: unknown = k[i];
    if (!isValidSortValue(column, value)) throw invalidCursor('not a cursor of this query');
    values.push(value);
  });
  return values;
}
