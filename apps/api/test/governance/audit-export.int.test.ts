/**
 * The audit export and the origin of changes (issue 17): GET /api/audit/export streams the
 * workspace's audit log as JSON lines or CSV, newest first, with who (actor, key id), from where
 * (client, address, user agent: recorded at the one place events get their metadata), what
 * (summary) and the before/after of a change; CSV cells that a spreadsheet would run as formulas
 * are defused; only admins may export; bad parameters are 400; keyset pages give the same
 * entries as one page; `auditLog` shows the same origin and change.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, randomWorkspaceId } from '@cairn/testing';
import { createApiKey } from '../../src/auth/access.commands.ts';
import { csvCell, exportAuditLog } from '../../src/governance/audit-export.ts';
import { startApiHarness, type ApiHarness } from '../helpers/api-harness.ts';

type AuditLine = Record<string, unknown> & { data?: { name?: string } };

let api: ApiHarness;
let dropDb: () => Promise<void>;
const W = randomWorkspaceId();
let owner: { secret: string; id: string };
let viewer: string;

async function gql<T>(key: string, query: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${api.url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${key}`,
      'user-agent': 'audit-test/1.0 (vitest)',
      ...headers,
    },
    body: JSON.stringify({ query }),
  });
  const body = (await res.json()) as { data?: T; errors?: unknown[] };
  expect(body.errors).toBeUndefined();
  return body.data!;
}

beforeAll(async () => {
  const database = await createTestDatabase();
  dropDb = database.drop;
  api = await startApiHarness({ databaseUrl: database.url, auth: { mode: 'required' } });
  const caller = {
    workspaceId: W,
    metadata: { actor: 'test', correlationId: 'c', causationId: null },
  };
  const created = await createApiKey(api.deps, caller, { name: 'o', role: 'owner' }, null);
  owner = { secret: created.secret, id: created.keyId };
  viewer = (await createApiKey(api.deps, caller, { name: 'v', role: 'viewer' }, null)).secret;
  await gql(owner.secret, 'mutation { createExperiment(name: "=HYPERLINK(\\"x\\")") { id } }', {
    'x-cairn-client': 'cairn-python/0.9',
  });
  await gql(owner.secret, 'mutation { createRegisteredModel(name: "exported") { name } }');
  const run = await gql<{ createExperiment: { id: string } }>(
    owner.secret,
    'mutation { createExperiment(name: "for-runs") { id } }',
  );
  const r = await gql<{ createRun: { id: string } }>(
    owner.secret,
    `mutation { createRun(experimentId: "${run.createExperiment.id}") { id } }`,
  );
  for (const v of [1, 2])
    await gql(
      owner.secret,
      `mutation { createModelVersion(name: "exported", source: "runs:/${r.createRun.id}/m${v}", runId: "${r.createRun.id}") { version } }`,
    );
  await gql(
    owner.secret,
    'mutation { setModelAlias(name: "exported", alias: "prod", version: 1) { __typename } }',
  );
  await gql(
    owner.secret,
    'mutation { setModelAlias(name: "exported", alias: "prod", version: 2) { __typename } }',
  );
}, 60_000);

afterAll(async () => {
  await api?.stop();
  await dropDb?.();
});

const exportUrl = (q: string) => `${api.url}/api/audit/export?${q}`;
const get = (q: string, key = owner.secret) =>
  fetch(exportUrl(q), { headers: { authorization: `Bearer ${key}` } });

describe('audit export', () => {
  it('JSON lines: newest first, who, from where, summary and the change', async () => {
    const res = await get('format=jsonl');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/x-ndjson');
    expect(res.headers.get('content-disposition')).toContain(`audit-${W}.jsonl`);
    const lines = (await res.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditLine);
    const positions = lines.map((l) => l.position as number);
    expect(positions).toEqual([...positions].sort((a, b) => b - a));
    const byMe = lines.filter((l) => l.actor === `key:${owner.id}`);
    expect(byMe.length).toBeGreaterThanOrEqual(8);
    const [latest] = byMe;
    expect(latest).toMatchObject({
      type: 'ModelAliasSet',
      domain: 'registry',
      keyId: owner.id,
      client: 'audit-test/1.0',
      userAgent: 'audit-test/1.0 (vitest)',
      before: { version: 1 },
      after: { version: 2 },
    });
    expect(latest!.address).toMatch(/127\.0\.0\.1|::1/);
    expect(latest!.summary).toContain('version=2, alias=prod');
    const first = byMe.find(
      (l) => l.type === 'ExperimentCreated' && (l.data?.name ?? '').startsWith('='),
    );
    expect(first?.client).toBe('cairn-python/0.9');
    // A creation states no before.
    expect(first?.before).toBeNull();
  });

  it('CSV: header, one row per entry, formulas defused; filters apply', async () => {
    const res = await get('format=csv&domain=experiments');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/csv');
    const text = await res.text();
    const rows = text.trimEnd().split('\r\n');
    expect(rows[0]).toBe(
      'position,recordedAt,actor,keyId,client,address,userAgent,type,domain,streamId,summary,before,after,correlationId,eventId,data',
    );
    expect(rows.slice(1).every((r) => r.includes(',ExperimentCreated,experiments,'))).toBe(true);
    expect(rows).toHaveLength(3);
    // The name reaches the file only behind a quote: never as a cell starting with "=".
    expect(text).not.toMatch(/(^|,)"?=HYPERLINK/mu);
    expect(csvCell('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvCell('@cmd')).toBe("'@cmd");
    expect(csvCell(-3)).toBe('-3');
    const typed = await (await get('type=ModelAliasSet')).text();
    expect(typed.trim().split('\n')).toHaveLength(2);
  });

  it('refuses non-admins, bad parameters and other methods', async () => {
    const denied = await get('format=jsonl', viewer);
    expect(denied.status).toBe(403);
    expect(((await denied.json()) as { error: { code: string } }).error.code).toBe(
      'PERMISSION_DENIED',
    );
    expect((await fetch(exportUrl('format=jsonl'))).status).toBe(401);
    for (const q of ['format=xml', 'type=NoSuchEvent', 'domain=nowhere', 'from=yesterday']) {
      const res = await get(q);
      expect(res.status, q).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
        'INVALID_ARGUMENT',
      );
    }
    const post = await fetch(exportUrl(''), {
      method: 'POST',
      headers: { authorization: `Bearer ${owner.secret}` },
    });
    expect(post.status).toBe(405);
  });

  it('keyset pages give the same entries as one page; auditLog shows origin and change', async () => {
    const collect = async (pageSize: number) => {
      let text = '';
      for await (const chunk of exportAuditLog(api.db, W, {}, 'jsonl', { pageSize })) text += chunk;
      return text;
    };
    const whole = await collect(1000);
    expect(await collect(3)).toBe(whole);
    expect(whole.trim().split('\n').length).toBeGreaterThan(9);

    const data = await gql<{
      auditLog: {
        nodes: {
          keyId: string | null;
          origin: { client: string | null; address: string | null } | null;
          before: unknown;
          after: unknown;
        }[];
      };
    }>(
      owner.secret,
      '{ auditLog(filter: { types: ["ModelAliasSet"] }, first: 1) { nodes { keyId origin { client address } before after } } }',
    );
    expect(data.auditLog.nodes[0]).toMatchObject({
      keyId: owner.id,
      origin: { client: 'audit-test/1.0' },
      before: { version: 1 },
      after: { version: 2 },
    });
  });
});
