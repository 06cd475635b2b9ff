/**
 * The audit log (issue 17): `auditLog` reads the workspace's event log newest first, with its
 * actor, time and a readable summary, filtered by type, domain, stream, actor and time, paged by
 * keyset cursors; other workspaces' events never show; bad filters get INVALID_ARGUMENT.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, randomWorkspaceId } from '@cairn/testing';
import { startApiHarness, type ApiHarness, type GqlResponse } from './helpers/api-harness.ts';

let api: ApiHarness;
let dropDb: () => Promise<void>;

beforeAll(async () => {
  const database = await createTestDatabase();
  dropDb = database.drop;
  api = await startApiHarness({ databaseUrl: database.url });
});

afterAll(async () => {
  await api?.stop();
  await dropDb?.();
});

interface Entry {
  position: string;
  type: string;
  domain: string | null;
  streamId: string;
  actor: string;
  recordedAt: number;
  summary: string;
  data: Record<string, unknown>;
}
interface Page {
  auditLog: {
    nodes: Entry[];
    totalCount: number;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
}

const AUDIT = `query($filter: AuditFilter, $first: Int, $after: String) {
  auditLog(filter: $filter, first: $first, after: $after) {
    nodes { position type domain streamId actor recordedAt summary data }
    totalCount pageInfo { hasNextPage endCursor } } }`;

async function gql<T>(w: string, query: string, variables: Record<string, unknown> = {}) {
  return api.gql<T>(query, variables, { 'x-cairn-workspace': w });
}
function ok<T>(res: GqlResponse<T>): T {
  expect(res.errors).toBeUndefined();
  return res.data!;
}

describe('auditLog', () => {
  it('lists the changes of the workspace newest first, with actor, time and summary', async () => {
    const w = randomWorkspaceId();
    const started = Date.now();
    const { createExperiment } = ok(
      await gql<{ createExperiment: { id: string } }>(
        w,
        'mutation{ createExperiment(name: "audited"){ id } }',
      ),
    );
    ok(
      await gql(
        w,
        `mutation{ renameExperiment(id:"${createExperiment.id}", name:"audited-2"){ id } }`,
      ),
    );
    ok(
      await gql(
        w,
        `mutation{ setExperimentTag(id:"${createExperiment.id}", key:"team", value:"nlp"){ id } }`,
      ),
    );
    // Another workspace's change never shows.
    ok(await gql(randomWorkspaceId(), 'mutation{ createExperiment(name: "elsewhere"){ id } }'));

    const all = ok(await gql<Page>(w, AUDIT)).auditLog;
    expect(all.nodes.map((n) => n.type)).toEqual([
      'ExperimentTagSet',
      'ExperimentRenamed',
      'ExperimentCreated',
    ]);
    expect(all.totalCount).toBe(3);
    for (const n of all.nodes) {
      expect(n.actor).toBe('anonymous');
      expect(n.domain).toBe('experiments');
      expect(n.streamId).toBe(`experiment-${createExperiment.id}`);
      expect(n.recordedAt).toBeGreaterThanOrEqual(started - 1000);
    }
    expect(all.nodes[0]!.summary).toBe(
      `anonymous: experiment tag set (experiment-${createExperiment.id}) key=team, value=nlp`,
    );
    expect(all.nodes[1]!.data).toMatchObject({ name: 'audited-2' });

    // Paging: one at a time, the same three, then no more.
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: Page['auditLog'] = ok(await gql<Page>(w, AUDIT, { first: 1, after })).auditLog;
      seen.push(...page.nodes.map((n) => n.position));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual(all.nodes.map((n) => n.position));

    // Filters: type, domain, stream, actor, time window.
    const byType = ok(await gql<Page>(w, AUDIT, { filter: { types: ['ExperimentRenamed'] } }));
    expect(byType.auditLog.nodes.map((n) => n.type)).toEqual(['ExperimentRenamed']);
    const byDomain = ok(await gql<Page>(w, AUDIT, { filter: { domain: 'registry' } }));
    expect(byDomain.auditLog.nodes).toEqual([]);
    const byStream = ok(
      await gql<Page>(w, AUDIT, { filter: { streamId: `experiment-${createExperiment.id}` } }),
    );
    expect(byStream.auditLog.nodes).toHaveLength(3);
    const byActor = ok(await gql<Page>(w, AUDIT, { filter: { actor: 'key:nobody' } }));
    expect(byActor.auditLog.nodes).toEqual([]);
    const future = ok(await gql<Page>(w, AUDIT, { filter: { from: Date.now() + 60_000 } }));
    expect(future.auditLog.nodes).toEqual([]);
    const past = ok(await gql<Page>(w, AUDIT, { filter: { to: started - 60_000 } }));
    expect(past.auditLog.nodes).toEqual([]);
  });

  it('refuses bad filters and cursors with INVALID_ARGUMENT', async () => {
    const w = randomWorkspaceId();
    const code = (res: GqlResponse<unknown>) => res.errors?.[0]?.extensions?.code;
    for (const variables of [
      { filter: { types: ['NoSuchEvent'] } },
      { filter: { domain: 'nowhere' } },
      { filter: { types: [] } },
      { filter: { actor: 'a'.repeat(501) } },
      { first: 0 },
      { first: 501 },
      { after: 'not-a-cursor' },
    ])
      expect(code(await gql(w, AUDIT, variables))).toBe('INVALID_ARGUMENT');
  });
});
