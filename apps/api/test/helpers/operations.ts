/**
 * A syntactically and type-valid operation for any root field of the served schema, with every
 * required argument filled (strings and ids from `fill`, numbers 1, the first enum value, input
 * objects with their required fields): what the generated auth suites send for every field.
 */
import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isObjectType,
  isInterfaceType,
  isUnionType,
  isScalarType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLOutputType,
} from 'graphql';

/** Literal values of the custom scalars (epoch ms, 64-bit ints, JSON, …). */
const SCALAR_LITERALS: Record<string, string> = {
  Int: '1',
  Float: '1',
  Boolean: 'false',
  Timestamp: '1',
  DateTime: '"2026-01-01T00:00:00Z"',
  Long: '1',
  MetricValue: '1',
};

function literal(type: GraphQLInputType, fill: string, depth = 0): string {
  if (isNonNullType(type)) return literal(type.ofType, fill, depth);
  if (isListType(type)) return `[${literal(type.ofType, fill, depth)}]`;
  if (isEnumType(type)) return type.getValues()[0]!.name;
  if (isInputObjectType(type)) {
    if (depth > 4) return '{}';
    const parts = Object.values(type.getFields())
      .filter((f) => isNonNullType(f.type) && f.defaultValue === undefined)
      .map((f) => `${f.name}: ${literal(f.type, fill, depth + 1)}`);
    return `{ ${parts.join(', ')} }`;
  }
  if (isScalarType(type)) {
    const known = SCALAR_LITERALS[type.name];
    if (known) return known;
    if (type.name === 'JSON') return '{}';
    return JSON.stringify(fill);
  }
  return JSON.stringify(fill);
}

/**
 * A selection of every scalar field (without required arguments) down to `depth` levels, so
 * that a response shows what a caller could read; `__typename` alone at depth 0.
 */
function selectionOf(type: GraphQLOutputType, depth: number): string {
  const named = getNamedType(type);
  if (!(isObjectType(named) || isInterfaceType(named) || isUnionType(named))) return '';
  if (depth <= 0 || isUnionType(named)) return ' { __typename }';
  const parts = ['__typename'];
  for (const f of Object.values(named.getFields())) {
    if (f.args.some((a) => isNonNullType(a.type))) continue;
    const inner = getNamedType(f.type);
    if (isScalarType(inner) || isEnumType(inner)) parts.push(f.name);
    else parts.push(`${f.name}${selectionOf(f.type, depth - 1)}`);
  }
  return ` { ${parts.join(' ')} }`;
}

export function operationFor(
  kind: 'query' | 'mutation' | 'subscription',
  field: GraphQLField<unknown, unknown>,
  fill = 'x',
  depth = 0,
): string {
  const args = field.args
    .filter((a) => isNonNullType(a.type) && a.defaultValue === undefined)
    .map((a) => `${a.name}: ${literal(a.type, fill)}`);
  return `${kind} { ${field.name}${args.length ? `(${args.join(', ')})` : ''}${selectionOf(field.type, depth)} }`;
}
