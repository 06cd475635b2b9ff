import type { ObjectRef } from '@pothos/core';
import { builder } from './builder.ts';
import { PageInfo } from './scalars.ts';

/**
 * A Relay-style page of `T`. `totalCount` is a number, or a function that counts only when the
 * field is selected (a count can cost as much as the page itself).
 */
export interface Connection<T> {
  edges: { node: T; cursor: string }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  totalCount: number | (() => Promise<number>);
}

/** The `<Name>Edge` and `<Name>Connection` types (edges, nodes, pageInfo, totalCount) of `node`. */
export function connectionType<T>(
  name: string,
  node: ObjectRef<typeof builder.$inferSchemaTypes, T>,
) {
  // Pothos cannot check a resolver's result against a generic shape (a conditional type over
  // T): the casts below are sound because `Connection<T>` holds exactly `node`'s shape.
  const edge = builder.objectRef<{ node: T; cursor: string }>(`${name}Edge`).implement({
    fields: (t) => ({
      node: t.field({ type: node, resolve: (e) => e.node as never }),
      cursor: t.exposeString('cursor'),
    }),
  });
  return builder.objectRef<Connection<T>>(`${name}Connection`).implement({
    fields: (t) => ({
      edges: t.field({ type: [edge], resolve: (c) => c.edges }),
      nodes: t.field({ type: [node], resolve: (c) => c.edges.map((e) => e.node) as never }),
      pageInfo: t.field({ type: PageInfo, resolve: (c) => c.pageInfo }),
      totalCount: t.int({
        resolve: (c) => (typeof c.totalCount === 'number' ? c.totalCount : c.totalCount()),
      }),
    }),
  });
}
