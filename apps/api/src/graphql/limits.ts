import {
  GraphQLError,
  Kind,
  type ASTVisitor,
  type FragmentDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
} from 'graphql';

/** Documented in docs/api.md ("Limits"). */
export const QUERY_LIMITS = {
  maxDepth: 12,
  maxAliases: 30,
  maxFields: 500,
  maxQueryBytes: 50_000,
} as const;

function limitError(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'INVALID_ARGUMENT' } });
}

/**
 * One validation rule for abuse limits: selection depth (fragments expanded), number of aliases
 * and number of selected fields per operation. Cycles through fragments are stopped by graphql's
 * own NoFragmentCycles rule; this rule guards itself too.
 */
export function queryLimitsRule(context: ValidationContext): ASTVisitor {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of context.getDocument().definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION)
      fragments.set(definition.name.value, definition);
  }
  return {
    OperationDefinition(node) {
      let aliases = 0;
      let fields = 0;
      let maxDepth = 0;
      const walk = (set: SelectionSetNode, depth: number, seen: ReadonlySet<string>): void => {
        if (depth > maxDepth) maxDepth = depth;
        if (depth > QUERY_LIMITS.maxDepth || fields > QUERY_LIMITS.maxFields) return;
        for (const selection of set.selections) {
          if (selection.kind === Kind.FIELD) {
            fields += 1;
            if (selection.alias) aliases += 1;
            if (selection.selectionSet) walk(selection.selectionSet, depth + 1, seen);
          } else if (selection.kind === Kind.INLINE_FRAGMENT) {
            walk(selection.selectionSet, depth, seen);
          } else {
            const name = selection.name.value;
            const fragment = fragments.get(name);
            if (fragment && !seen.has(name))
              walk(fragment.selectionSet, depth, new Set([...seen, name]));
          }
        }
      };
      walk(node.selectionSet, 1, new Set());
      if (maxDepth > QUERY_LIMITS.maxDepth) {
        context.reportError(
          limitError(`Query is nested deeper than ${QUERY_LIMITS.maxDepth} levels`),
        );
      }
      if (aliases > QUERY_LIMITS.maxAliases) {
        context.reportError(limitError(`Query uses more than ${QUERY_LIMITS.maxAliases} aliases`));
      }
      if (fields > QUERY_LIMITS.maxFields) {
        context.reportError(limitError(`Query selects more than ${QUERY_LIMITS.maxFields} fields`));
      }
    },
  };
}
