/**
 * The run search language (docs/search.md): MLflow's `search_runs` filter and `order_by` syntax,
 * plus OR, NOT and parentheses. The parser (run-search.parser.ts) turns text into these types; the
 * compiler (run-search.sql.ts) turns them into parameterised SQL. Pure data, no I/O.
 */

/** Run columns a search may name: a closed set, each with its type. */
export const RUN_ATTRIBUTES = {
  run_id: { type: 'string', nullable: false },
  run_name: { type: 'string', nullable: false },
  status: { type: 'string', nullable: false },
  experiment_id: { type: 'string', nullable: false },
  start_time: { type: 'number', nullable: false },
  end_time: { type: 'number', nullable: true },
} as const satisfies Record<string, { type: 'string' | 'number'; nullable: boolean }>;

export type AttributeName = keyof typeof RUN_ATTRIBUTES;

/** Other spellings of attribute names (MLflow's): looked up lower-cased. */
export const ATTRIBUTE_ALIASES: Readonly<Record<string, AttributeName>> = {
  created: 'start_time',
  'run name': 'run_name',
};

/** A bare column of another searchable entity (the model registry's `name`, `stage`, …). */
export interface FieldSpec {
  type: 'string' | 'number';
  nullable: boolean;
}

export type SearchTarget =
  | { kind: 'metric'; key: string }
  | { kind: 'param'; key: string }
  | { kind: 'tag'; key: string }
  | { kind: 'attribute'; name: AttributeName }
  /** Only produced when the parser is given `fields` (never by the run search). */
  | ({ kind: 'field'; name: string } & FieldSpec);

export type CompareOp = '=' | '!=' | '<' | '<=' | '>' | '>=';
export type LikeOp = 'LIKE' | 'ILIKE';

/** One comparison; `position` is the 0-based offset of its identifier in the filter text. */
export type Predicate =
  | {
      type: 'compare';
      target: SearchTarget;
      op: CompareOp;
      value: string | number;
      position: number;
    }
  | { type: 'like'; target: SearchTarget; op: LikeOp; pattern: string; position: number }
  | { type: 'in'; target: SearchTarget; negated: boolean; values: string[]; position: number }
  | { type: 'null'; target: SearchTarget; negated: boolean; position: number };

export type FilterExpr =
  | Predicate
  | { type: 'and'; operands: FilterExpr[] }
  | { type: 'or'; operands: FilterExpr[] }
  | { type: 'not'; operand: FilterExpr };

export type SortDirection = 'asc' | 'desc';

export interface OrderTerm {
  target: SearchTarget;
  direction: SortDirection;
}

/** A stable text form of a target, e.g. `metrics.loss` or `attributes.start_time` (for cursors and messages). */
export function targetLabel(target: SearchTarget): string {
  switch (target.kind) {
    case 'metric':
      return `metrics.${quoteKeyIfNeeded(target.key)}`;
    case 'param':
      return `params.${quoteKeyIfNeeded(target.key)}`;
    case 'tag':
      return `tags.${quoteKeyIfNeeded(target.key)}`;
    case 'attribute':
      return `attributes.${target.name}`;
    case 'field':
      return target.name;
  }
}

function quoteKeyIfNeeded(key: string): string {
  return /^[\w.\-/:]+$/u.test(key) ? key : `\`${key.replaceAll('`', '``')}\``;
}
