import { Kind, type GraphQLResolveInfo } from 'graphql';

/**
 * True when the field being resolved selects nothing of its object but `id` (and
 * `__typename`), spelled out as plain fields: a mutation can then answer with the id it knows
 * instead of reading the object back. Fragments, spreads and any other field: false.
 */
export function selectsOnlyId(info: GraphQLResolveInfo): boolean {
  for (const node of info.fieldNodes) {
    const selections = node.selectionSet?.selections;
    if (!selections) return false;
    for (const selection of selections) {
      if (selection.kind !== Kind.FIELD) return false;
      const name = selection.name.value;
      if (name !== 'id' && name !== '__typename') return false;
    }
  }
  return true;
}
