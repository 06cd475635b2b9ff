import { listRuns } from '../runs/runs.queries.ts';
import type { FilterExpr, OrderTerm, SearchTarget } from '../runs/search/run-search.ast.ts';
import { parseRunFilter, parseRunOrderBy } from '../runs/search/run-search.parser.ts';
import type { MlflowContext } from './mlflow-route.ts';
import { MlflowError } from './mlflow.errors.ts';
import { resolveExperimentId } from './mlflow-ids.ts';
import { optionalString, stringList, type Message } from './mlflow-input.ts';
import { decodePageToken, encodePageToken, maxResults } from './mlflow-paging.ts';
import { RUN_NAME_TAG, runMessages } from './run-message.ts';

/**
 * `runs/search` (docs/mlflow-compatibility.md): MLflow's filter and order_by grammar as Cairn's
 * run search parses it (docs/search.md: metrics./params./tags./attributes., =, !=, <, >, LIKE,
 * ILIKE, IN, plus OR and parentheses), over the same query as GraphQL's `runs`. Page tokens wrap
 * that query's keyset cursor, so a page never repeats or skips runs added meanwhile.
 */

/** `tags.mlflow.runName` is the run's name (run-message.ts): searched as attributes.run_name. */
function mapTarget(target: SearchTarget): SearchTarget {
  if (target.kind === 'tag' && target.key === RUN_NAME_TAG)
    return { kind: 'attribute', name: 'run_name' };
  return target;
}

export function mapMlflowFilter(expr: FilterExpr): FilterExpr {
  switch (expr.type) {
    case 'and':
    case 'or':
      return { type: expr.type, operands: expr.operands.map(mapMlflowFilter) };
    case 'not':
      return { type: 'not', operand: mapMlflowFilter(expr.operand) };
    case 'null': {
      const target = mapTarget(expr.target);
      // A name always exists: `tags.mlflow.runName IS NULL` matches nothing, IS NOT NULL all.
      if (target !== expr.target)
        return {
          type: 'compare',
          target,
          op: expr.negated ? '!=' : '=',
          value: '\u0001never-a-run-name',
          position: expr.position,
        };
      return expr;
    }
    default:
      return { ...expr, target: mapTarget(expr.target) };
  }
}

/** Parses MLflow's `filter` and `order_by` of a search, with the run name mapped (see above). */
export function parseMlflowRunSearch(
  filter: string | null,
  orderBy: readonly string[],
): { filter: FilterExpr | null; orderBy: OrderTerm[] } {
  const parsed = parseRunFilter(filter);
  const seen = new Set<string>();
  const terms = parseRunOrderBy(orderBy)
    .map((t) => ({ ...t, target: mapTarget(t.target) }))
    .filter((t) => {
      const label = t.target.kind === 'attribute' ? t.target.name : JSON.stringify(t.target);
      if (seen.has(label)) return false;
      seen.add(label);
      return true;
    });
  return { filter: parsed === null ? null : mapMlflowFilter(parsed), orderBy: terms };
}

export async function searchRuns(ctx: MlflowContext, body: Message) {
  const limit = maxResults(body);
  const rawIds = stringList(body, 'experiment_ids');
  const experimentIds = await Promise.all(
    rawIds.map((id) => resolveExperimentId(ctx.deps, ctx.caller, id)),
  );
  const view = body.run_view_type;
  let stage: 'active' | 'deleted' | null;
  if (view === undefined || view === null || view === '' || view === 'ACTIVE_ONLY' || view === 1)
    stage = 'active';
  else if (view === 'DELETED_ONLY' || view === 2) stage = 'deleted';
  else if (view === 'ALL' || view === 3) stage = null;
  else
    throw new MlflowError(
      'INVALID_PARAMETER_VALUE',
      `Invalid value ${JSON.stringify(view)} for parameter 'run_view_type': use ACTIVE_ONLY, DELETED_ONLY or ALL`,
    );
  const { filter, orderBy } = parseMlflowRunSearch(
    optionalString(body, 'filter'),
    stringList(body, 'order_by'),
  );
  const token = decodePageToken(body, 'runs');
  if (token !== null && typeof token !== 'string')
    throw new MlflowError('INVALID_PARAMETER_VALUE', 'Invalid page token');
  const page = await listRuns(ctx.deps.db, ctx.workspaceId, {
    experimentIds,
    lifecycleStage: stage,
    filter,
    orderBy,
    first: limit,
    after: token,
  });
  const runs = await runMessages(
    ctx.deps.db,
    ctx.workspaceId,
    page.edges.map((e) => e.node),
  );
  const last = page.edges.at(-1);
  return {
    ...(runs.length > 0 ? { runs } : {}),
    ...(page.hasNextPage && last ? { next_page_token: encodePageToken('runs', last.cursor) } : {}),
  };
}
