import {
  defaultFieldResolver,
  isObjectType,
  type GraphQLFieldResolver,
  type GraphQLSchema,
} from 'graphql';
import { assertCleanStrings, MAX_STORED_STRING } from '../input-hygiene.ts';
import { withGraphQLRules } from '../auth/graphql-rules.ts';
import { getSchema } from './schema.ts';
import { withHistoricalScopes } from '../governance/time-travel.ts';

const wrapped = new WeakSet<GraphQLSchema>();

/**
 * The schema both transports serve (yoga over HTTP, graphql-ws): `getSchema()`, its arguments
 * checked, and every root field behind its authorisation rule (auth/graphql-rules.ts: building
 * it throws when a root field has no rule). The rule runs first, then the argument checks.
 */
export function servedSchema(): GraphQLSchema {
  return withGraphQLRules(withArgumentHygiene(withHistoricalScopes(getSchema())));
}

/**
 * Every field that takes arguments checks them first, over HTTP and graphql-ws alike: no NUL,
 * no lone surrogate in any string (INVALID_ARGUMENT naming the argument path, before any lookup
 * or append). Mutation arguments are also capped at MAX_STORED_STRING characters; each stored
 * field's own, smaller limit is checked where it is stored (deciders, command handler).
 *
 * Wraps the resolvers in place, once per schema; fields added later are covered without a rule of
 * their own.
 */
export function withArgumentHygiene(schema: GraphQLSchema): GraphQLSchema {
  if (wrapped.has(schema)) return schema;
  wrapped.add(schema);
  const mutationType = schema.getMutationType();
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    const maxLength = type === mutationType ? MAX_STORED_STRING : null;
    for (const field of Object.values(type.getFields())) {
      if (field.args.length === 0) continue;
      const wrap = <T extends GraphQLFieldResolver<unknown, unknown>>(inner: T): T =>
        ((source, args, context, info) => {
          assertCleanStrings(args, '', maxLength);
          return inner(source, args, context, info);
        }) as T;
      field.resolve = wrap(field.resolve ?? defaultFieldResolver);
      if (field.subscribe) field.subscribe = wrap(field.subscribe);
    }
  }
  return schema;
}
