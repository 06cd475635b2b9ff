import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type DB, type DbHandle } from '@cairn/db';
import { createTestDatabase, randomWorkspaceId, type TestDatabase } from '@cairn/testing';
import { CairnError } from '../src/errors.ts';
import { listRuns, type RunSearchPage } from '../src/runs/runs.queries.ts';
import { startApiHarness, type ApiHarness } from './helpers/api-harness.ts';
import { decodeRunCursor } from '../src/runs/search/run-search.cursor.ts';
import { parseRunFilter, parseRunOrderBy } from '../src/runs/search/run-search.parser.ts';
import { buildRunSearch, compileOrder } from '../src/runs/search/run-search.sql.ts';

let database: TestDatabase;
let handle: DbHandle;
let db: Kysely<DB>;

beforeAll(async () => {
  database = await createTestDatabase();
  handle = createDb(database.url, { maxConnections: 4 });
  db = handle.db;
});

afterAll(async () => {
  await handle?.destroy();
  await database?.drop();
});

// ---- fixtures ----------------------------------------------------------------------------------

interface RunFixture {
  runId: string;
  experimentId: string;
  name: string;
  status: string;
  startTime: number;
  endTime: number | null;
  lifecycleStage: 'active' | 'deleted';
  metrics: Record<string, number>;
  params: Record<string, string>;
  tags: Record<string, string>;
}

function aRun(overrides: Partial<RunFixture> & { runId: string }): RunFixture {
  return {
    experimentId: 'e1',
    name: overrides.runId,
    status: 'FINISHED',
    startTime: 1000,
    endTime: null,
    lifecycleStage: 'active',
    metrics: {},
    params: {},
    tags: {},
    ...overrides,
  };
}

async function insertRuns(workspaceId: string, runs: readonly RunFixture[]): Promise<void> {
  const now = new Date();
  for (let i = 0; i < runs.length; i += 500) {
    const chunk = runs.slice(i, i + 500);
    await db
      .insertInto('runs')
      .values(
        chunk.map((r) => ({
          workspace_id: workspaceId,
          run_id: r.runId,
          experiment_id: r.experimentId,
          name: r.name,
          status: r.status,
          start_time: r.startTime,
          end_time: r.endTime,
          lifecycle_stage: r.lifecycleStage,
          parent_run_id: null,
          source_git_commit: null,
          source_entry_point: null,
          source_type: null,
          created_at: now,
          updated_at: now,
        })),
      )
      .execute();
    const metrics = chunk.flatMap((r) =>
      Object.entries(r.metrics).map(([key, value]) => ({
        workspace_id: workspaceId,
        experiment_id: r.experimentId,
        run_id: r.runId,
        key,
        value,
        step: 0,
        timestamp: 0,
      })),
    );
    if (metrics.length > 0) await db.insertInto('run_latest_metrics').values(metrics).execute();
    for (const table of ['run_params', 'run_tags'] as const) {
      const rows = chunk.flatMap((r) =>
        Object.entries(table === 'run_params' ? r.params : r.tags).map(([key, value]) => ({
          workspace_id: workspaceId,
          experiment_id: r.experimentId,
          run_id: r.runId,
          key,
          value,
        })),
      );
      if (rows.length > 0) await db.insertInto(table).values(rows).execute();
    }
  }
}

interface SearchOptions {
  filter?: string;
  orderBy?: string[];
  first?: number;
  after?: string | null;
  experimentIds?: string[];
  lifecycleStage?: 'active' | 'deleted' | null;
}

/** Async, so that parse errors surface as rejections like the GraphQL resolver's. */
type CountedPage = Omit<RunSearchPage, 'totalCount'> & { totalCount: number };

/** listRuns with its (lazy) count resolved, as a GraphQL query selecting totalCount would. */
async function search(workspaceId: string, o: SearchOptions = {}): Promise<CountedPage> {
  const page = await listRuns(db, workspaceId, {
    experimentIds: o.experimentIds ?? ['e1'],
    lifecycleStage: o.lifecycleStage === undefined ? 'active' : o.lifecycleStage,
    filter: parseRunFilter(o.filter),
    orderBy: parseRunOrderBy(o.orderBy),
    first: o.first ?? 1000,
    after: o.after ?? null,
  });
  return { ...page, totalCount: await page.totalCount() };
}

const idsOf = (page: Pick<RunSearchPage, 'edges'>) => page.edges.map((e) => e.node.run_id);

/** Matching run ids (sorted) — and the count must agree with them. */
async function matching(
  workspaceId: string,
  filter: string,
  o: SearchOptions = {},
): Promise<string[]> {
  const page = await search(workspaceId, { ...o, filter });
  expect(page.totalCount).toBe(page.edges.length);
  return idsOf(page).sort();
}

/** Every page of a search, following endCursor. */
async function allPages(
  workspaceId: string,
  o: SearchOptions & { first: number },
): Promise<CountedPage[]> {
  const pages: CountedPage[] = [];
  let after: string | null = null;
  for (;;) {
    const page = await search(workspaceId, { ...o, after });
    pages.push(page);
    if (!page.hasNextPage) return pages;
    after = page.edges.at(-1)!.cursor;
    if (pages.length > 10_000) throw new Error('pagination does not end');
  }
}

// ---- comparators -------------------------------------------------------------------------------

describe('filter: every comparator per kind', () => {
  const ws = randomWorkspaceId();

  beforeAll(async () => {
    await insertRuns(ws, [
      aRun({
        runId: 'a',
        name: 'sweep-a',
        startTime: 1000,
        endTime: 2000,
        metrics: { loss: 0.1, acc: 0.9 },
        params: { opt: 'adam', lr: '0.01' },
        tags: { team: 'vision', note: "it's" },
      }),
      aRun({
        runId: 'b',
        name: 'sweep-b',
        status: 'FAILED',
        startTime: 2000,
        metrics: { loss: 0.5 },
        params: { opt: 'sgd', lr: '0.1' },
        tags: { team: 'nlp' },
      }),
      aRun({
        runId: 'c',
        name: 'other-c',
        status: 'RUNNING',
        startTime: 3000,
        endTime: 5000,
        metrics: { loss: 0.9 },
        params: { opt: 'Adam' },
        tags: { team: 'Vision' },
      }),
      aRun({
        runId: 'd',
        name: 'Sweep-d',
        status: 'KILLED',
        startTime: 4000,
        endTime: 4500,
        metrics: { loss: Number.NaN },
        params: { lr: '0.01' },
      }),
      aRun({ runId: 'e', name: 'e', startTime: 5000 }),
      aRun({
        runId: 'f',
        name: 'f',
        status: 'RUNNING',
        startTime: 6000,
        metrics: { loss: -0.001, 'my metric': 3 },
        tags: { team: 'vision' },
      }),
      aRun({ runId: 'g', experimentId: 'e2', startTime: 7000, metrics: { loss: 0.1 } }),
      aRun({ runId: 'h', lifecycleStage: 'deleted', startTime: 8000, metrics: { loss: 0.1 } }),
    ]);
  });

  it('metrics: numeric comparisons on the latest value; NaN only satisfies !=', async () => {
    expect(await matching(ws, 'metrics.loss = 0.1')).toEqual(['a']);
    expect(await matching(ws, 'metrics.loss != 0.1')).toEqual(['b', 'c', 'd', 'f']);
    expect(await matching(ws, 'metrics.loss < 0.5')).toEqual(['a', 'f']);
    expect(await matching(ws, 'metrics.loss <= 0.5')).toEqual(['a', 'b', 'f']);
    expect(await matching(ws, 'metrics.loss > 0.5')).toEqual(['c']);
    expect(await matching(ws, 'metrics.loss >= 0.5')).toEqual(['b', 'c']);
    expect(await matching(ws, 'metrics.loss > -1e-2')).toEqual(['a', 'b', 'c', 'f']);
    expect(await matching(ws, 'metrics.loss < 1e999')).toEqual(['a', 'b', 'c', 'f']);
    expect(await matching(ws, 'metrics.loss IS NULL')).toEqual(['e']);
    expect(await matching(ws, 'metrics.loss IS NOT NULL')).toEqual(['a', 'b', 'c', 'd', 'f']);
    expect(await matching(ws, 'metrics.`my metric` >= 3')).toEqual(['f']);
    expect(await matching(ws, 'metric.acc > 0.5 AND metric.acc < 1')).toEqual(['a']);
    expect(await matching(ws, 'metrics.nope < 100')).toEqual([]);
  });

  it('params: =, !=, LIKE, ILIKE, IN, NOT IN, IS NULL, IS NOT NULL; a run without the key never compares', async () => {
    expect(await matching(ws, "params.opt = 'adam'")).toEqual(['a']);
    expect(await matching(ws, "params.opt != 'adam'")).toEqual(['b', 'c']);
    expect(await matching(ws, "params.opt LIKE 'a%'")).toEqual(['a']);
    expect(await matching(ws, "params.opt ILIKE 'a%'")).toEqual(['a', 'c']);
    expect(await matching(ws, "params.opt LIKE '%d_m'")).toEqual(['a', 'c']);
    expect(await matching(ws, "params.opt IN ('adam', 'sgd', 'lion')")).toEqual(['a', 'b']);
    expect(await matching(ws, "params.opt NOT IN ('adam')")).toEqual(['b', 'c']);
    expect(await matching(ws, 'params.opt IS NULL')).toEqual(['d', 'e', 'f']);
    expect(await matching(ws, 'params.opt IS NOT NULL')).toEqual(['a', 'b', 'c']);
    expect(await matching(ws, 'param.lr = "0.01"')).toEqual(['a', 'd']);
  });

  it('tags: the same string comparators', async () => {
    expect(await matching(ws, "tags.team = 'vision'")).toEqual(['a', 'f']);
    expect(await matching(ws, "tags.team != 'vision'")).toEqual(['b', 'c']);
    expect(await matching(ws, "tags.team LIKE 'V%'")).toEqual(['c']);
    expect(await matching(ws, "tags.team ILIKE 'VISION'")).toEqual(['a', 'c', 'f']);
    expect(await matching(ws, "tags.team IN ('nlp')")).toEqual(['b']);
    expect(await matching(ws, "tags.team NOT IN ('vision', 'nlp')")).toEqual(['c']);
    expect(await matching(ws, 'tags.team IS NULL')).toEqual(['d', 'e']);
    expect(await matching(ws, 'tags.team IS NOT NULL')).toEqual(['a', 'b', 'c', 'f']);
    expect(await matching(ws, "tags.note = 'it''s'")).toEqual(['a']);
  });

  it('string attributes: run_id, run_name, status, experiment_id', async () => {
    expect(await matching(ws, "attributes.run_id = 'a'")).toEqual(['a']);
    expect(await matching(ws, "attributes.run_id != 'a'")).toEqual(['b', 'c', 'd', 'e', 'f']);
    expect(await matching(ws, "attributes.run_id IN ('a', 'c', 'zzz')")).toEqual(['a', 'c']);
    expect(await matching(ws, "attributes.run_id NOT IN ('a', 'b')")).toEqual(['c', 'd', 'e', 'f']);
    expect(await matching(ws, "attributes.run_name LIKE 'sweep-%'")).toEqual(['a', 'b']);
    expect(await matching(ws, "attributes.run_name ILIKE 'sweep-%'")).toEqual(['a', 'b', 'd']);
    expect(await matching(ws, "attributes.`run name` = 'e'")).toEqual(['e']);
    expect(await matching(ws, "attributes.status = 'FINISHED'")).toEqual(['a', 'e']);
    expect(await matching(ws, "attributes.status != 'FINISHED'")).toEqual(['b', 'c', 'd', 'f']);
    expect(await matching(ws, "attributes.status IN ('FAILED', 'KILLED')")).toEqual(['b', 'd']);
    expect(await matching(ws, "attr.status NOT IN ('FAILED', 'KILLED', 'RUNNING')")).toEqual([
      'a',
      'e',
    ]);
    expect(
      await matching(ws, "attributes.experiment_id = 'e2'", { experimentIds: ['e1', 'e2'] }),
    ).toEqual(['g']);
  });

  it('numeric attributes: start_time (created), end_time with nulls', async () => {
    expect(await matching(ws, 'attributes.start_time = 3000')).toEqual(['c']);
    expect(await matching(ws, 'attributes.start_time != 3000')).toEqual(['a', 'b', 'd', 'e', 'f']);
    expect(await matching(ws, 'attributes.start_time > 3000')).toEqual(['d', 'e', 'f']);
    expect(await matching(ws, 'attributes.start_time >= 5000')).toEqual(['e', 'f']);
    expect(await matching(ws, 'attributes.start_time < 2000')).toEqual(['a']);
    expect(await matching(ws, 'attributes.start_time <= 2000')).toEqual(['a', 'b']);
    expect(await matching(ws, 'attributes.created >= 5000')).toEqual(['e', 'f']);
    expect(await matching(ws, 'attributes.end_time < 4600')).toEqual(['a', 'd']);
    expect(await matching(ws, 'attributes.end_time != 2000')).toEqual(['c', 'd']);
    expect(await matching(ws, 'attributes.end_time IS NULL')).toEqual(['b', 'e', 'f']);
    expect(await matching(ws, 'attributes.end_time IS NOT NULL')).toEqual(['a', 'c', 'd']);
    expect(await matching(ws, 'NOT attributes.end_time < 4600')).toEqual(['b', 'c', 'e', 'f']);
  });

  it('OR, AND precedence, parentheses and NOT', async () => {
    expect(await matching(ws, "metrics.loss < 0.2 OR params.opt = 'sgd'")).toEqual(['a', 'b', 'f']);
    // AND binds tighter: nlp OR (loss < 0.2 AND FINISHED)
    expect(
      await matching(
        ws,
        "tags.team = 'nlp' OR metrics.loss < 0.2 AND attributes.status = 'FINISHED'",
      ),
    ).toEqual(['a', 'b']);
    expect(
      await matching(
        ws,
        "(tags.team = 'nlp' OR metrics.loss < 0.2) AND attributes.status = 'FINISHED'",
      ),
    ).toEqual(['a']);
    expect(await matching(ws, 'NOT metrics.loss < 0.5')).toEqual(['b', 'c', 'd', 'e']);
    expect(await matching(ws, "NOT (params.opt = 'adam' OR params.opt IS NULL)")).toEqual([
      'b',
      'c',
    ]);
    expect(
      await matching(
        ws,
        "(metrics.loss > 0.4 AND (tags.team ILIKE 'vision' OR tags.team = 'nlp')) OR attributes.run_id = 'e'",
      ),
    ).toEqual(['b', 'c', 'e']);
  });

  it('experimentIds and lifecycleStage bound the search; totalCount counts the matches, not the page', async () => {
    expect(await matching(ws, 'metrics.loss = 0.1', { experimentIds: ['e1', 'e2'] })).toEqual([
      'a',
      'g',
    ]);
    expect(await matching(ws, 'metrics.loss = 0.1', { lifecycleStage: 'deleted' })).toEqual(['h']);
    expect(await matching(ws, 'metrics.loss = 0.1', { lifecycleStage: null })).toEqual(['a', 'h']);
    const page = await search(ws, { filter: 'metrics.loss IS NOT NULL', first: 2 });
    expect(page).toMatchObject({ totalCount: 5, hasNextPage: true });
    expect(page.edges).toHaveLength(2);
    expect((await search(ws, { experimentIds: [] })).totalCount).toBe(0);
  });

  it('returns plain run rows (no sort-key columns leak)', async () => {
    const page = await search(ws, {
      filter: "attributes.run_id = 'a'",
      orderBy: ['metrics.loss', 'params.opt'],
    });
    expect(Object.keys(page.edges[0]!.node).sort()).toEqual(
      [
        'created_at',
        'end_time',
        'experiment_id',
        'lifecycle_stage',
        'name',
        'parent_run_id',
        'run_id',
        'source_entry_point',
        'source_git_commit',
        'source_type',
        'start_time',
        'status',
        'updated_at',
        'workspace_id',
      ].sort(),
    );
    expect(page.edges[0]!.node).toMatchObject({
      run_id: 'a',
      start_time: 1000,
      end_time: 2000,
      name: 'sweep-a',
    });
  });
});

// ---- ordering ----------------------------------------------------------------------------------

describe('orderBy: nulls last both ways, NaN before them, deterministic ties', () => {
  const ws = randomWorkspaceId();

  beforeAll(async () => {
    await insertRuns(ws, [
      aRun({
        runId: 'r1',
        startTime: 100,
        endTime: 900,
        metrics: { loss: 1 },
        params: { opt: 'b' },
      }),
      aRun({ runId: 'r2', startTime: 200, metrics: { loss: 1 }, params: { opt: 'a' } }),
      aRun({
        runId: 'r3',
        startTime: 50,
        endTime: 700,
        metrics: { loss: 0.5 },
        params: { opt: 'b' },
      }),
      aRun({ runId: 'r4', startTime: 300, endTime: 900 }),
      aRun({ runId: 'r5', startTime: 10, params: { opt: 'a' } }),
      aRun({ runId: 'r6', startTime: 20, endTime: 100, metrics: { loss: Number.NaN } }),
      aRun({
        runId: 'r7',
        startTime: 30,
        metrics: { loss: Number.NEGATIVE_INFINITY },
        params: { opt: 'c' },
      }),
      aRun({
        runId: 'r8',
        startTime: 200,
        endTime: 800,
        metrics: { loss: 1 },
        params: { opt: 'a' },
      }),
      aRun({ runId: 'r9', startTime: 40, metrics: { loss: Number.POSITIVE_INFINITY } }),
    ]);
  });

  const cases: [string[], string[]][] = [
    [[], ['r4', 'r2', 'r8', 'r1', 'r3', 'r9', 'r7', 'r6', 'r5']],
    [['metrics.loss'], ['r7', 'r3', 'r2', 'r8', 'r1', 'r9', 'r6', 'r4', 'r5']],
    [['metrics.loss ASC'], ['r7', 'r3', 'r2', 'r8', 'r1', 'r9', 'r6', 'r4', 'r5']],
    [['metrics.loss DESC'], ['r9', 'r2', 'r8', 'r1', 'r3', 'r7', 'r6', 'r4', 'r5']],
    [['params.opt'], ['r2', 'r8', 'r5', 'r1', 'r3', 'r7', 'r4', 'r9', 'r6']],
    [['params.opt DESC'], ['r7', 'r1', 'r3', 'r2', 'r8', 'r5', 'r4', 'r9', 'r6']],
    [
      ['params.opt DESC', 'metrics.loss DESC'],
      ['r7', 'r1', 'r3', 'r2', 'r8', 'r5', 'r9', 'r6', 'r4'],
    ],
    [['attributes.end_time'], ['r6', 'r3', 'r8', 'r4', 'r1', 'r2', 'r9', 'r7', 'r5']],
    [['attributes.end_time DESC'], ['r4', 'r1', 'r8', 'r3', 'r6', 'r2', 'r9', 'r7', 'r5']],
    [['attributes.start_time ASC'], ['r5', 'r6', 'r7', 'r9', 'r3', 'r1', 'r2', 'r8', 'r4']],
    [['attributes.run_id DESC'], ['r9', 'r8', 'r7', 'r6', 'r5', 'r4', 'r3', 'r2', 'r1']],
  ];

  it.each(cases)('%j', async (orderBy, expected) => {
    expect(idsOf(await search(ws, { orderBy }))).toEqual(expected);
  });

  it.each(cases)('%j pages through every boundary (first: 1, 2, 4)', async (orderBy, expected) => {
    for (const first of [1, 2, 4]) {
      const pages = await allPages(ws, { orderBy, first });
      expect(pages.flatMap(idsOf)).toEqual(expected);
      expect(pages.every((p) => p.totalCount === expected.length)).toBe(true);
    }
  });

  it('applies orderBy to a filtered search', async () => {
    const page = await search(ws, {
      filter: "params.opt IN ('a', 'b')",
      orderBy: ['metrics.loss DESC'],
    });
    expect(idsOf(page)).toEqual(['r2', 'r8', 'r1', 'r3', 'r5']);
  });

  it('rejects a cursor of another ordering', async () => {
    const page = await search(ws, { orderBy: ['metrics.loss'], first: 2 });
    const cursor = page.edges.at(-1)!.cursor;
    await expect(search(ws, { orderBy: ['metrics.loss DESC'], after: cursor })).rejects.toThrow(
      /different orderBy/u,
    );
    await expect(search(ws, { after: cursor })).rejects.toBeInstanceOf(CairnError);
  });
});

// ---- pagination --------------------------------------------------------------------------------

function manyRuns(count: number, prefix: string, startBase: number): RunFixture[] {
  return Array.from({ length: count }, (_, i) =>
    aRun({
      runId: `${prefix}${String(i).padStart(4, '0')}`,
      startTime: startBase + (i % 50), // many start_time ties
      metrics: i % 10 === 0 ? {} : { loss: i % 13 === 0 ? Number.NaN : (i % 7) / 7 },
      params: i % 6 === 0 ? {} : { opt: ['adam', 'sgd', 'lion'][i % 3]! },
    }),
  );
}

describe('keyset pagination', () => {
  it('visits each of 250 runs exactly once with first: 20, in every ordering', async () => {
    const ws = randomWorkspaceId();
    const runs = manyRuns(250, 'p', 10_000);
    await insertRuns(ws, runs);
    for (const orderBy of [
      [],
      ['metrics.loss DESC'],
      ['metrics.loss ASC'],
      ['params.opt', 'metrics.loss DESC'],
    ]) {
      const pages = await allPages(ws, { orderBy, first: 20 });
      expect(pages).toHaveLength(13);
      const visited = pages.flatMap(idsOf);
      expect(visited).toHaveLength(250);
      expect(new Set(visited).size).toBe(250);
      expect(visited).toEqual(idsOf(await search(ws, { orderBy, first: 1000 })));
      expect(pages.every((p) => p.totalCount === 250)).toBe(true);
      expect(pages.at(-1)!.edges).toHaveLength(10);
    }
    // A filtered search pages the same way, over the matches only.
    const pages = await allPages(ws, {
      filter: "metrics.loss >= 0.5 OR params.opt = 'lion'",
      orderBy: ['metrics.loss'],
      first: 20,
    });
    const expected = await search(ws, {
      filter: "metrics.loss >= 0.5 OR params.opt = 'lion'",
      orderBy: ['metrics.loss'],
    });
    expect(pages.flatMap(idsOf)).toEqual(idsOf(expected));
    expect(expected.totalCount).toBeGreaterThan(20);
  });

  it('stays stable while runs are added between pages: no duplicates, no gaps', async () => {
    for (const orderBy of [[], ['metrics.loss ASC'], ['metrics.loss DESC', 'params.opt']]) {
      const ws = randomWorkspaceId();
      const original = manyRuns(250, 'o', 10_000);
      await insertRuns(ws, original);
      const seen: string[] = [];
      let after: string | null = null;
      let round = 0;
      for (;;) {
        const page: CountedPage = await search(ws, { orderBy, first: 20, after });
        seen.push(...idsOf(page));
        if (!page.hasNextPage) break;
        after = page.edges.at(-1)!.cursor;
        // New runs all over the order: newer and older starts, tied and fresh metric values.
        await insertRuns(
          ws,
          manyRuns(15, `n${round}-`, round % 2 === 0 ? 20_000 : 0).map((r, i) => ({
            ...r,
            startTime: r.startTime + i,
          })),
        );
        round++;
      }
      expect(new Set(seen).size).toBe(seen.length);
      const originals = seen.filter((id) => id.startsWith('o'));
      expect(new Set(originals)).toEqual(new Set(original.map((r) => r.runId)));
      // What was visited is in order: it equals the final full ordering restricted to the visited set.
      const final = idsOf(await search(ws, { orderBy, first: 1000 }));
      const visited = new Set(seen);
      expect(seen).toEqual(final.filter((id) => visited.has(id)));
    }
  });
});

// ---- isolation and injection -------------------------------------------------------------------

describe('values around the indexed 200-character prefix', () => {
  it('= and IN match whole values only, whether shorter than, as long as or longer than the prefix', async () => {
    const ws = randomWorkspaceId();
    const p199 = 'x'.repeat(199);
    const p200 = 'x'.repeat(200);
    const long = 'x'.repeat(200) + 'a';
    const longer = 'x'.repeat(200) + 'ab';
    const wide = '\u{1F600}'.repeat(150); // 150 characters, 300 UTF-16 units
    await insertRuns(ws, [
      aRun({ runId: 's199', params: { v: p199 }, tags: { v: p199 } }),
      aRun({ runId: 's200', params: { v: p200 }, tags: { v: p200 } }),
      aRun({ runId: 'l201', params: { v: long }, tags: { v: long } }),
      aRun({ runId: 'l202', params: { v: longer }, tags: { v: longer } }),
      aRun({ runId: 'wide', params: { v: wide }, tags: { v: wide + 'z' } }),
    ]);
    for (const kind of ['params', 'tags']) {
      expect(await matching(ws, `${kind}.v = '${p199}'`)).toEqual(['s199']);
      expect(await matching(ws, `${kind}.v = '${p200}'`)).toEqual(['s200']);
      expect(await matching(ws, `${kind}.v = '${long}'`)).toEqual(['l201']);
      expect(await matching(ws, `${kind}.v = '${longer}'`)).toEqual(['l202']);
      expect(await matching(ws, `${kind}.v IN ('${p199}', '${longer}')`)).toEqual(['l202', 's199']);
      expect(await matching(ws, `${kind}.v IN ('${p199}', 'y')`)).toEqual(['s199']);
    }
    expect(await matching(ws, `params.v = '${wide}'`)).toEqual(['wide']);
    expect(await matching(ws, `tags.v = '${wide}'`)).toEqual([]);
  });
});

describe('experiments bound the side tables too', () => {
  it('a run of another experiment never satisfies a filter or feeds a sort key', async () => {
    const ws = randomWorkspaceId();
    await insertRuns(ws, [
      aRun({ runId: 'in', metrics: { loss: 2 }, params: { opt: 'adam' }, tags: { t: 'v' } }),
      aRun({
        runId: 'out',
        experimentId: 'e9',
        metrics: { loss: 1 },
        params: { opt: 'adam' },
        tags: { t: 'v' },
      }),
    ]);
    const filter = "metrics.loss > 0 AND params.opt = 'adam' AND tags.t = 'v'";
    expect(await matching(ws, filter)).toEqual(['in']);
    expect(await matching(ws, filter, { experimentIds: ['e9'] })).toEqual(['out']);
    expect(await matching(ws, filter, { experimentIds: ['e1', 'e9'] })).toEqual(['in', 'out']);
    const both = await search(ws, { experimentIds: ['e1', 'e9'], orderBy: ['metrics.loss ASC'] });
    expect(idsOf(both)).toEqual(['out', 'in']);
  });
});

describe('workspace isolation', () => {
  it('never sees or matches another workspace’s runs, metrics, params or tags', async () => {
    const a = randomWorkspaceId();
    const b = randomWorkspaceId();
    await insertRuns(a, [
      aRun({ runId: 'shared' }),
      aRun({ runId: 'only-a', metrics: { loss: 5 } }),
    ]);
    await insertRuns(b, [
      aRun({
        runId: 'shared',
        metrics: { loss: 0.1 },
        params: { opt: 'adam' },
        tags: { team: 'x' },
      }),
      aRun({ runId: 'only-b', metrics: { loss: 0.2 } }),
    ]);
    expect(await matching(a, 'metrics.loss < 1')).toEqual([]);
    expect(await matching(a, "params.opt = 'adam' OR tags.team = 'x'")).toEqual([]);
    expect(await matching(a, 'metrics.loss IS NULL')).toEqual(['shared']);
    expect(await matching(b, 'metrics.loss < 1')).toEqual(['only-b', 'shared']);
    expect(idsOf(await search(a, { orderBy: ['metrics.loss DESC', 'params.opt'] }))).toEqual([
      'only-a',
      'shared',
    ]);
    const sorted = await search(a, { orderBy: ['metrics.loss'] });
    expect(sorted.edges.every((e) => e.node.workspace_id === a)).toBe(true);
    // A cursor from B's search, replayed in A, still only reads A.
    const fromB = (await search(b, { orderBy: ['metrics.loss'], first: 1 })).edges[0]!.cursor;
    expect(idsOf(await search(a, { orderBy: ['metrics.loss'], after: fromB }))).toEqual([
      'only-a',
      'shared',
    ]);
  });
});

describe('injection attempts are just values', () => {
  const ws = randomWorkspaceId();

  beforeAll(async () => {
    await insertRuns(ws, [
      aRun({ runId: 'plain', params: { x: 'a' }, metrics: { loss: 1 } }),
      aRun({ runId: 'quoted', params: { x: "a' OR 1=1 --", "x' OR '1'='1": 'a' } }),
      aRun({ runId: 'backslash', params: { x: 'a\\' } }),
    ]);
  });

  it('a doubled quote stays inside the string', async () => {
    expect(await matching(ws, "params.x = 'a'' OR 1=1 --'")).toEqual(['quoted']);
  });

  it('rejects SQL outside strings with a position, never runs it', async () => {
    await expect(search(ws, { filter: "params.x = 'a' OR 1=1 --'" })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      details: { position: 18 },
    });
    await expect(
      search(ws, { filter: "attributes.run_id IN ('a'); DROP TABLE runs; --" }),
    ).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      details: { position: 26 },
    });
  });

  it('keys, patterns and sort keys are bound values too', async () => {
    expect(await matching(ws, "params.`x' OR '1'='1` = 'a'")).toEqual(['quoted']);
    expect(await matching(ws, "params.`x\" = '' OR ''=''` IS NOT NULL")).toEqual([]);
    expect(await matching(ws, "params.x = 'a\\'")).toEqual(['backslash']);
    expect(await matching(ws, "params.x LIKE '%'' OR ''1''=''1'")).toEqual([]);
    const page = await search(ws, {
      orderBy: ['metrics.`loss"; DROP TABLE runs; --` DESC', "params.`x' OR '1'='1`"],
    });
    expect(idsOf(page).sort()).toEqual(['backslash', 'plain', 'quoted']);
    const { count } = await db
      .selectFrom('runs')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('workspace_id', '=', ws)
      .executeTakeFirstOrThrow();
    expect(Number(count)).toBe(3);
  });

  it('a forged cursor is rejected, not executed', async () => {
    const forged = Buffer.from(JSON.stringify({ o: '', k: ['1; DROP TABLE runs', 'x'] })).toString(
      'base64url',
    );
    await expect(search(ws, { after: forged })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

// ---- through GraphQL ---------------------------------------------------------------------------

describe('the runs field over HTTP', () => {
  let api: ApiHarness;
  const ws = randomWorkspaceId();
  const headers = { 'x-cairn-workspace': ws };
  const QUERY = `query($e: [String!]!, $f: String, $o: [String!], $n: Int, $a: String) {
    runs(experimentIds: $e, filter: $f, orderBy: $o, first: $n, after: $a) {
      totalCount
      edges { cursor node { id } }
      nodes { id }
      pageInfo { hasNextPage endCursor }
    }
  }`;
  type RunsData = {
    runs: {
      totalCount: number;
      edges: { cursor: string; node: { id: string } }[];
      nodes: { id: string }[];
      pageInfo: { hasNextPage: boolean; endCursor: string | null };
    };
  };

  beforeAll(async () => {
    api = await startApiHarness({ databaseUrl: database.url, workspaceId: ws });
    await insertRuns(ws, [
      aRun({ runId: 'x1', startTime: 1, metrics: { loss: 0.3 }, params: { opt: 'adam' } }),
      aRun({ runId: 'x2', startTime: 2, metrics: { loss: 0.1 }, params: { opt: 'sgd' } }),
      aRun({ runId: 'x3', startTime: 3, params: { opt: 'adam' } }),
      aRun({ runId: 'x4', startTime: 4, metrics: { loss: 0.2 }, tags: { team: 'nlp' } }),
    ]);
  });

  afterAll(async () => {
    await api?.stop();
  });

  const run = (variables: Record<string, unknown>) =>
    api.gql<RunsData>(QUERY, { e: ['e1'], ...variables }, headers);

  it('filters, orders and pages with keyset cursors', async () => {
    const filter = "params.opt = 'adam' OR tags.team = 'nlp'";
    const first = await run({ f: filter, o: ['metrics.loss DESC'], n: 2 });
    expect(first.errors).toBeUndefined();
    expect(first.data!.runs).toMatchObject({
      totalCount: 3,
      nodes: [{ id: 'x1' }, { id: 'x4' }],
      pageInfo: { hasNextPage: true, endCursor: first.data!.runs.edges[1]!.cursor },
    });
    const second = await run({
      f: filter,
      o: ['metrics.loss DESC'],
      n: 2,
      a: first.data!.runs.pageInfo.endCursor,
    });
    expect(second.data!.runs).toMatchObject({
      totalCount: 3,
      nodes: [{ id: 'x3' }],
      pageInfo: { hasNextPage: false },
    });
    // Defaults: every active run, newest first.
    expect((await run({})).data!.runs.nodes.map((n) => n.id)).toEqual(['x4', 'x3', 'x2', 'x1']);
  });

  it('reports filter and orderBy errors with their position in extensions', async () => {
    const bad = await run({ f: 'metrics.loss 0.5' });
    expect(bad.data ?? null).toBeNull();
    expect(bad.errors?.[0]).toMatchObject({
      message:
        'Invalid filter at position 13: expected a comparator after "metrics.loss", found "0.5"',
      extensions: { code: 'INVALID_ARGUMENT', argument: 'filter', position: 13 },
    });
    const order = await run({ o: ['metrics.loss', 'params.opt upward'] });
    expect(order.errors?.[0]?.extensions).toMatchObject({
      code: 'INVALID_ARGUMENT',
      argument: 'orderBy',
      index: 1,
      position: 11,
    });
    const cursor = (await run({ n: 1 })).data!.runs.pageInfo.endCursor;
    const mismatch = await run({ o: ['metrics.loss'], a: cursor });
    expect(mismatch.errors?.[0]?.extensions?.code).toBe('INVALID_ARGUMENT');
    expect(mismatch.errors?.[0]?.message).toContain('different orderBy');
  });
});

// ---- scale: plans and timings (reported, not asserted) ----------------------------------------

const BENCH_RUNS = Number(process.env.CAIRN_SEARCH_BENCH_RUNS ?? 20_000);

describe(`at scale (${BENCH_RUNS} runs)`, () => {
  const ws = randomWorkspaceId();

  beforeAll(async () => {
    // Set-based generation (constants only): every run has 3 metrics (10% lack loss), 3 params, 2 tags.
    await sql`
      INSERT INTO runs (workspace_id, run_id, experiment_id, name, status, start_time, end_time, lifecycle_stage, created_at, updated_at)
      SELECT ${ws}, 'run-' || lpad(i::text, 7, '0'), 'e1', 'run ' || i, (ARRAY['FINISHED','FAILED','RUNNING'])[1 + i % 3],
             1700000000000 + (i / 3) * 1000, NULL, 'active', now(), now()
      FROM generate_series(1, ${BENCH_RUNS}::int) AS i`.execute(db);
    await sql`
      INSERT INTO run_latest_metrics (workspace_id, experiment_id, run_id, key, value, step, timestamp)
      SELECT ${ws}, 'e1', 'run-' || lpad(i::text, 7, '0'), k.key, abs(sin(i * k.seed)), 100, 0
      FROM generate_series(1, ${BENCH_RUNS}::int) AS i,
           (VALUES ('loss', 1.0), ('acc', 2.0), ('val_loss', 3.0)) AS k(key, seed)
      WHERE NOT (k.key = 'loss' AND i % 10 = 0)`.execute(db);
    await sql`
      INSERT INTO run_params (workspace_id, experiment_id, run_id, key, value)
      SELECT ${ws}, 'e1', 'run-' || lpad(i::text, 7, '0'), k.key,
             CASE k.key WHEN 'optimizer' THEN (ARRAY['adam','sgd','lion'])[1 + i % 3]
                        WHEN 'lr' THEN (ARRAY['0.1','0.01','0.001','0.0001'])[1 + i % 4]
                        ELSE (i % 64)::text END
      FROM generate_series(1, ${BENCH_RUNS}::int) AS i, (VALUES ('optimizer'), ('lr'), ('batch')) AS k(key)`.execute(
      db,
    );
    await sql`
      INSERT INTO run_tags (workspace_id, experiment_id, run_id, key, value)
      SELECT ${ws}, 'e1', 'run-' || lpad(i::text, 7, '0'), k.key,
             CASE k.key WHEN 'team' THEN (ARRAY['vision','nlp','speech','rl','infra'])[1 + i % 5] ELSE 'user' || (i % 20) END
      FROM generate_series(1, ${BENCH_RUNS}::int) AS i, (VALUES ('team'), ('mlflow.user')) AS k(key)`.execute(
      db,
    );
    for (const table of ['runs', 'run_latest_metrics', 'run_params', 'run_tags']) {
      await sql`VACUUM ANALYZE ${sql.table(table)}`.execute(db);
    }
  }, 300_000);

  const FILTER = "metrics.loss < 0.5 AND params.optimizer = 'adam' AND tags.team = 'vision'";

  async function explain(
    label: string,
    o: SearchOptions & { first: number },
    after: string | null = null,
  ) {
    const orderBy = parseRunOrderBy(o.orderBy);
    const order = compileOrder(orderBy, ws, ['e1']);
    const decoded = decodeRunCursor(after, orderBy, order.columns);
    const { page, count } = buildRunSearch(ws, {
      experimentIds: ['e1'],
      lifecycleStage: 'active',
      filter: parseRunFilter(o.filter),
      order,
      limit: o.first + 1,
      after: decoded,
    });
    const lines: string[] = [];
    for (const [name, query] of [
      ['page', page],
      ['count', count],
    ] as const) {
      const plan = await sql<{
        'QUERY PLAN': string;
      }>`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${query}`.execute(db);
      const text = plan.rows.map((r) => r['QUERY PLAN']);
      const time = text.find((l) => l.startsWith('Execution Time'));
      lines.push(`${label} [${name}] ${time}`);
      if (process.env.CAIRN_SEARCH_PLANS === '1') lines.push(...text.map((l) => `    ${l}`));
      // The latest-value read models only: never the metric history.
      expect(text.join('\n')).not.toMatch(/metric_points/u);
      expect(text.join('\n')).toMatch(/on runs r/u);
    }
    // End to end through listRuns (page + count in parallel), 20 repetitions.
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      await search(ws, { ...o, after });
      times.push(performance.now() - t0);
    }
    times.sort((x, y) => x - y);
    lines.push(`${label} listRuns p50 ${times[9]!.toFixed(1)} ms, p95 ${times[18]!.toFixed(1)} ms`);
    console.log(lines.join('\n'));
  }

  it('filter on a metric, a param and a tag, ordered by a metric: right rows, right count', async () => {
    const page = await search(ws, { filter: FILTER, orderBy: ['metrics.loss ASC'], first: 100 });
    const reference = await sql<{ run_id: string }>`
      SELECT r.run_id FROM runs r
      JOIN run_latest_metrics m ON m.workspace_id = r.workspace_id AND m.run_id = r.run_id AND m.key = 'loss'
      JOIN run_params p ON p.workspace_id = r.workspace_id AND p.run_id = r.run_id AND p.key = 'optimizer'
      JOIN run_tags t ON t.workspace_id = r.workspace_id AND t.run_id = r.run_id AND t.key = 'team'
      WHERE r.workspace_id = ${ws} AND m.value < 0.5 AND p.value = 'adam' AND t.value = 'vision'
      ORDER BY m.value ASC, r.start_time DESC, r.run_id ASC`.execute(db);
    expect(page.totalCount).toBe(reference.rows.length);
    expect(idsOf(page)).toEqual(reference.rows.slice(0, 100).map((r) => r.run_id));
    const second = await search(ws, {
      filter: FILTER,
      orderBy: ['metrics.loss ASC'],
      first: 100,
      after: page.edges.at(-1)!.cursor,
    });
    expect(idsOf(second)).toEqual(reference.rows.slice(100, 200).map((r) => r.run_id));
  });

  it('explains the typical searches (figures printed, not asserted)', async () => {
    await explain('3 filters, order by metric, first 100', {
      filter: FILTER,
      orderBy: ['metrics.loss ASC'],
      first: 100,
    });
    const page1 = await search(ws, { filter: FILTER, orderBy: ['metrics.loss ASC'], first: 100 });
    await explain(
      'same, page 2',
      { filter: FILTER, orderBy: ['metrics.loss ASC'], first: 100 },
      page1.edges.at(-1)!.cursor,
    );
    await explain('no filter, default order, first 100', { first: 100 });
    const deep = await search(ws, { first: 1000 });
    await explain(
      'no filter, default order, after 1000 runs',
      { first: 100 },
      deep.edges.at(-1)!.cursor,
    );
    await explain('no filter, order by metric DESC', {
      orderBy: ['metrics.val_loss DESC'],
      first: 100,
    });
    await explain('OR filter, order by param', {
      filter: "metrics.loss < 0.05 OR tags.team = 'nlp' OR params.lr IN ('0.1', '0.01')",
      orderBy: ['params.lr DESC'],
      first: 100,
    });
    await explain('selective param, order by start_time', {
      filter: "params.batch = '7' AND attributes.status = 'FAILED'",
      orderBy: ['attributes.start_time DESC'],
      first: 100,
    });
  }, 120_000);
});
