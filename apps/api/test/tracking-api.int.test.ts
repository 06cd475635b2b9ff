import { createClient } from 'graphql-ws';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { allProjections } from '@cairn/projector';
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

function ws(workspace: string) {
  return { 'x-cairn-workspace': workspace };
}

function ok<T>(response: GqlResponse<T>): T {
  expect(response.errors).toBeUndefined();
  return response.data!;
}

function errorCode(response: GqlResponse<unknown>): string | undefined {
  return response.errors?.[0]?.extensions?.code;
}

async function newExperiment(
  workspace: string,
  name = `exp-${Math.random().toString(36).slice(2)}`,
) {
  const data = ok(
    await api.gql<{ createExperiment: { id: string } }>(
      'mutation($n:String!){createExperiment(name:$n){id}}',
      { n: name },
      ws(workspace),
    ),
  );
  return data.createExperiment.id;
}

async function newRun(workspace: string, experimentId: string, extra = '') {
  const data = ok(
    await api.gql<{ createRun: { id: string } }>(
      `mutation($e:String!){createRun(experimentId:$e ${extra}){id}}`,
      { e: experimentId },
      ws(workspace),
    ),
  );
  return data.createRun.id;
}

describe('tracking API', () => {
  it('answers mutations with their own effect (read-your-writes)', async () => {
    const w = randomWorkspaceId();
    const exp = ok(
      await api.gql<{
        createExperiment: { id: string; name: string; tags: { key: string; value: string }[] };
      }>(
        'mutation{createExperiment(name:"ryw", tags:[{key:"team",value:"ml"}]){id name tags{key value}}}',
        {},
        ws(w),
      ),
    );
    expect(exp.createExperiment).toMatchObject({
      name: 'ryw',
      tags: [{ key: 'team', value: 'ml' }],
    });
    const runId = await newRun(
      w,
      exp.createExperiment.id,
      'name:"first" tags:[{key:"a",value:"1"}]',
    );
    const logged = ok(
      await api.gql<{
        logBatch: {
          params: unknown[];
          tags: unknown[];
          latestMetrics: { key: string; value: number; step: number }[];
        };
      }>(
        `mutation($r:String!){logBatch(runId:$r, params:[{key:"lr",value:"0.01"}], tags:[{key:"b",value:"2"}],
          metrics:[{key:"loss",value:0.5,step:1,timestamp:1},{key:"loss",value:0.25,step:2,timestamp:2}]){params{key value} tags{key value} latestMetrics{key value step}}}`,
        { r: runId },
        ws(w),
      ),
    );
    expect(logged.logBatch.params).toEqual([{ key: 'lr', value: '0.01' }]);
    expect(logged.logBatch.tags).toEqual([
      { key: 'a', value: '1' },
      { key: 'b', value: '2' },
    ]);
    expect(logged.logBatch.latestMetrics).toEqual([{ key: 'loss', value: 0.25, step: 2 }]);
    const updated = ok(
      await api.gql<{ updateRun: { status: string; endTime: number | null; name: string } }>(
        'mutation($r:String!){updateRun(runId:$r, status:FINISHED, name:"renamed"){status endTime name}}',
        { r: runId },
        ws(w),
      ),
    );
    expect(updated.updateRun.status).toBe('FINISHED');
    expect(updated.updateRun.name).toBe('renamed');
    expect(updated.updateRun.endTime).toBeGreaterThan(0);
  });

  it('gives typed errors and changes nothing on bad input', async () => {
    const w = randomWorkspaceId();
    const expId = await newExperiment(w, 'dupe');
    expect(errorCode(await api.gql('mutation{createExperiment(name:"dupe"){id}}', {}, ws(w)))).toBe(
      'ALREADY_EXISTS',
    );
    expect(errorCode(await api.gql('mutation{createExperiment(name:"   "){id}}', {}, ws(w)))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(
      errorCode(await api.gql('mutation{createRun(experimentId:"nope"){id}}', {}, ws(w))),
    ).toBe('NOT_FOUND');
    expect(
      errorCode(
        await api.gql(
          'mutation{logParam(runId:"0123456789abcdef0123456789abcdef",key:"a",value:"b"){id}}',
          {},
          ws(w),
        ),
      ),
    ).toBe('NOT_FOUND');
    const runId = await newRun(w, expId);
    ok(
      await api.gql(
        'mutation($r:String!){logParam(runId:$r,key:"alpha",value:"1"){id}}',
        { r: runId },
        ws(w),
      ),
    );
    // Same value again is fine; a different value names the param.
    ok(
      await api.gql(
        'mutation($r:String!){logParam(runId:$r,key:"alpha",value:"1"){id}}',
        { r: runId },
        ws(w),
      ),
    );
    const changed = await api.gql(
      'mutation($r:String!){logParam(runId:$r,key:"alpha",value:"2"){id}}',
      { r: runId },
      ws(w),
    );
    expect(errorCode(changed)).toBe('INVALID_ARGUMENT');
    expect(changed.errors?.[0]?.message).toContain('"alpha"');
    expect(changed.errors?.[0]?.extensions?.key).toBe('alpha');
    // A batch with a bad key is rejected whole: the good metric in it is not logged either.
    const bad = await api.gql(
      'mutation($r:String!){logBatch(runId:$r, metrics:[{key:"good",value:1},{key:"../evil",value:2}]){id}}',
      { r: runId },
      ws(w),
    );
    expect(errorCode(bad)).toBe('INVALID_ARGUMENT');
    expect(
      errorCode(
        await api.gql(
          'mutation($r:String!){logMetric(runId:$r,key:"x",value:"abc"){id}}',
          { r: runId },
          ws(w),
        ),
      ),
    ).toBe('INVALID_ARGUMENT');
    expect(
      errorCode(
        await api.gql(
          'mutation($r:String!){logMetric(runId:$r,key:"x",value:1,step:1.5){id}}',
          { r: runId },
          ws(w),
        ),
      ),
    ).toBe('INVALID_ARGUMENT');
    const run = ok(
      await api.gql<{ run: { params: unknown[]; metricKeys: string[] } }>(
        'query($r:String!){run(id:$r){params{key value} metricKeys}}',
        { r: runId },
        ws(w),
      ),
    );
    expect(run.run).toEqual({ params: [{ key: 'alpha', value: '1' }], metricKeys: [] });
    expect(
      errorCode(
        await api.gql('{experiments{totalCount}}', {}, { 'x-cairn-workspace': 'bad workspace!' }),
      ),
    ).toBe('INVALID_ARGUMENT');
  });

  it('metric-only batches (appended without a stream read) refuse missing and deleted runs, in either sync mode, and an id-only answer reads nothing back', async () => {
    const w = randomWorkspaceId();
    const runId = await newRun(w, await newExperiment(w));
    const log = (r: string, sync: boolean, fields = 'id') =>
      api.gql<{ logBatch: { id: string; latestMetrics?: { value: number }[] } }>(
        `mutation($r:String!,$s:Boolean){logBatch(runId:$r, sync:$s, metrics:[{key:"m",value:1,step:1,timestamp:1}]){${fields}}}`,
        { r, s: sync },
        ws(w),
      );
    for (const sync of [true, false]) {
      expect(errorCode(await log('0123456789abcdef0123456789abcdef', sync))).toBe('NOT_FOUND');
      expect(ok(await log(runId, sync)).logBatch).toEqual({ id: runId });
    }
    ok(await api.gql('mutation($r:String!){deleteRun(runId:$r){id}}', { r: runId }, ws(w)));
    for (const sync of [true, false])
      expect(errorCode(await log(runId, sync))).toBe('INVALID_ARGUMENT');
    ok(await api.gql('mutation($r:String!){restoreRun(runId:$r){id}}', { r: runId }, ws(w)));
    expect(ok(await log(runId, true, 'id latestMetrics{value}')).logBatch).toEqual({
      id: runId,
      latestMetrics: [{ value: 1 }],
    });
    // Three accepted batches (two before the delete, one after the restore): the refused calls
    // wrote nothing.
    const stream = await api.db
      .selectFrom('events')
      .select('type')
      .where('workspace_id', '=', w)
      .where('type', '=', 'RunMetricsLogged')
      .execute();
    expect(stream).toHaveLength(3);
  });

  it('group commit: a burst of metric-only batches shares commits, each call answered with its own outcome, none lost or doubled', async () => {
    const w = randomWorkspaceId();
    const exp = await newExperiment(w);
    const runs = await Promise.all(Array.from({ length: 24 }, () => newRun(w, exp)));
    const gone = await newRun(w, exp);
    ok(await api.gql('mutation($r:String!){deleteRun(runId:$r){id}}', { r: gone }, ws(w)));
    const log = (r: string, key: string | null) =>
      api.gql<{ logBatch: { id: string } }>(
        'mutation($r:String!,$k:String){logBatch(runId:$r, sync:false, idempotencyKey:$k, metrics:[{key:"m",value:1,step:1,timestamp:1},{key:"m",value:2,step:2,timestamp:2}]){id}}',
        { r, k: key },
        ws(w),
      );
    ok(await log(runs[0]!, 'k-0'));
    const answers = await Promise.all([
      ...runs.map((r) => log(r, null)),
      log(gone, null),
      log(runs[0]!, 'k-0'), // a retry of the first call, inside the burst
    ]);
    answers.slice(0, 24).forEach((a, i) => expect(ok(a).logBatch.id).toBe(runs[i]));
    expect(errorCode(answers[24]!)).toBe('INVALID_ARGUMENT');
    expect(ok(answers[25]!).logBatch.id).toBe(runs[0]);
    const events = await api.db
      .selectFrom('events')
      .select(['stream_id', sql<string>`transaction_id::text`.as('tx')])
      .where('workspace_id', '=', w)
      .where('type', '=', 'RunMetricsLogged')
      .execute();
    // The 24 calls, plus the first keyed call once; nothing for the deleted run.
    expect(events).toHaveLength(25);
    expect(events.filter((e) => e.stream_id === `run-${runs[0]}`)).toHaveLength(2);
    expect(events.some((e) => e.stream_id === `run-${gone}`)).toBe(false);
    // Grouped: fewer transactions than calls.
    expect(new Set(events.map((e) => e.tx)).size).toBeLessThan(25);
  });

  it('concurrent params on one run (grouped appends at a version): one value per key wins, the rest get their typed error; distinct keys all land', async () => {
    const w = randomWorkspaceId();
    const runId = await newRun(w, await newExperiment(w));
    const param = (key: string, value: string) =>
      api.gql(
        'mutation($r:String!,$k:String!,$v:String!){logParam(runId:$r,key:$k,value:$v){id}}',
        { r: runId, k: key, v: value },
        ws(w),
      );
    const same = await Promise.all(Array.from({ length: 10 }, (_, i) => param('lr', String(i))));
    expect(same.filter((a) => !a.errors)).toHaveLength(1);
    expect(same.filter((a) => errorCode(a) === 'INVALID_ARGUMENT')).toHaveLength(9);
    const distinct = await Promise.all(Array.from({ length: 10 }, (_, i) => param(`k${i}`, 'v')));
    distinct.forEach((a) => ok(a));
    const run = ok(
      await api.gql<{ run: { params: { key: string }[] } }>(
        'query($r:String!){run(id:$r){params{key}}}',
        { r: runId },
        ws(w),
      ),
    );
    expect(run.run.params).toHaveLength(11);
  });

  it('masks unexpected errors and never leaks internals', async () => {
    const response = await api.gql('{experiments(first: 0){totalCount}}');
    expect(errorCode(response)).toBe('INVALID_ARGUMENT');
    const syntax = await api.gql('{experiments(');
    expect(syntax.errors?.[0]?.message).toMatch(/Syntax Error/);
  });

  it('stores and returns NaN and ±Infinity faithfully', async () => {
    const w = randomWorkspaceId();
    const runId = await newRun(w, await newExperiment(w));
    ok(
      await api.gql(
        'mutation($r:String!){logBatch(runId:$r, metrics:[{key:"m",value:"NaN",step:0},{key:"m",value:"Infinity",step:1},{key:"m",value:"-Infinity",step:2},{key:"m",value:1.5,step:3}]){id}}',
        { r: runId },
        ws(w),
      ),
    );
    const data = ok(
      await api.gql<{
        run: {
          metricHistory: { step: number; value: number | string }[];
          latestMetrics: { value: number }[];
        };
      }>(
        'query($r:String!){run(id:$r){metricHistory(key:"m"){step value} latestMetrics{value}}}',
        { r: runId },
        ws(w),
      ),
    );
    expect(data.run.metricHistory).toEqual([
      { step: 0, value: 'NaN' },
      { step: 1, value: 'Infinity' },
      { step: 2, value: '-Infinity' },
      { step: 3, value: 1.5 },
    ]);
    expect(data.run.latestMetrics).toEqual([{ value: 1.5 }]);
  });

  it('keeps a run in workspace A invisible from workspace B', async () => {
    const a = randomWorkspaceId();
    const b = randomWorkspaceId();
    const expId = await newExperiment(a, 'shared-name');
    const runId = await newRun(a, expId);
    // The same experiment name is free in B.
    await newExperiment(b, 'shared-name');
    expect(
      ok(await api.gql<{ run: unknown }>('query($r:String!){run(id:$r){id}}', { r: runId }, ws(b)))
        .run,
    ).toBeNull();
    expect(
      ok(
        await api.gql<{ experiment: unknown }>(
          'query($e:String!){experiment(id:$e){id}}',
          { e: expId },
          ws(b),
        ),
      ).experiment,
    ).toBeNull();
    expect(
      errorCode(
        await api.gql(
          'mutation($r:String!){logParam(runId:$r,key:"k",value:"v"){id}}',
          { r: runId },
          ws(b),
        ),
      ),
    ).toBe('NOT_FOUND');
    expect(
      errorCode(
        await api.gql('mutation($e:String!){createRun(experimentId:$e){id}}', { e: expId }, ws(b)),
      ),
    ).toBe('NOT_FOUND');
    const listB = ok(
      await api.gql<{ runs: { totalCount: number } }>(
        'query($e:String!){runs(experimentIds:[$e]){totalCount}}',
        { e: expId },
        ws(b),
      ),
    );
    expect(listB.runs.totalCount).toBe(0);
    const listA = ok(
      await api.gql<{ runs: { totalCount: number } }>(
        'query($e:String!){runs(experimentIds:[$e]){totalCount}}',
        { e: expId },
        ws(a),
      ),
    );
    expect(listA.runs.totalCount).toBe(1);
  });

  it('lets exactly one of many concurrent creates of one experiment name succeed', async () => {
    const w = randomWorkspaceId();
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        api.gql<{ createExperiment: { id: string } }>(
          'mutation{createExperiment(name:"race"){id}}',
          {},
          ws(w),
        ),
      ),
    );
    expect(results.filter((r) => !r.errors)).toHaveLength(1);
    expect(results.filter((r) => errorCode(r) === 'ALREADY_EXISTS')).toHaveLength(7);
    const list = ok(
      await api.gql<{ experiments: { totalCount: number } }>(
        '{experiments{totalCount}}',
        {},
        ws(w),
      ),
    );
    expect(list.experiments.totalCount).toBe(1);
  });

  it('renames, deletes and restores experiments and runs; names are freed by renames', async () => {
    const w = randomWorkspaceId();
    const expId = await newExperiment(w, 'old');
    ok(
      await api.gql(
        'mutation($e:String!){renameExperiment(id:$e,name:"new"){id}}',
        { e: expId },
        ws(w),
      ),
    );
    await newExperiment(w, 'old');
    expect(
      ok(
        await api.gql<{ experimentByName: { id: string } }>(
          '{experimentByName(name:"new"){id}}',
          {},
          ws(w),
        ),
      ).experimentByName.id,
    ).toBe(expId);
    const deleted = ok(
      await api.gql<{ deleteExperiment: { lifecycleStage: string } }>(
        'mutation($e:String!){deleteExperiment(id:$e){lifecycleStage}}',
        { e: expId },
        ws(w),
      ),
    );
    expect(deleted.deleteExperiment.lifecycleStage).toBe('DELETED');
    expect(
      errorCode(
        await api.gql('mutation($e:String!){createRun(experimentId:$e){id}}', { e: expId }, ws(w)),
      ),
    ).toBe('INVALID_ARGUMENT');
    ok(await api.gql('mutation($e:String!){restoreExperiment(id:$e){id}}', { e: expId }, ws(w)));
    const runId = await newRun(w, expId);
    const parentChild = await newRun(w, expId, `parentRunId:"${runId}"`);
    const tree = ok(
      await api.gql<{ run: { childRuns: { id: string; parentRun: { id: string } }[] } }>(
        'query($r:String!){run(id:$r){childRuns{id parentRun{id}}}}',
        { r: runId },
        ws(w),
      ),
    );
    expect(tree.run.childRuns).toEqual([{ id: parentChild, parentRun: { id: runId } }]);
    ok(await api.gql('mutation($r:String!){deleteRun(runId:$r){id}}', { r: runId }, ws(w)));
    expect(
      errorCode(
        await api.gql(
          'mutation($r:String!){logParam(runId:$r,key:"k",value:"v"){id}}',
          { r: runId },
          ws(w),
        ),
      ),
    ).toBe('INVALID_ARGUMENT');
    const restored = ok(
      await api.gql<{ restoreRun: { lifecycleStage: string } }>(
        'mutation($r:String!){restoreRun(runId:$r){lifecycleStage}}',
        { r: runId },
        ws(w),
      ),
    );
    expect(restored.restoreRun.lifecycleStage).toBe('ACTIVE');
    ok(
      await api.gql(
        'mutation($r:String!){setTag(runId:$r,key:"t",value:"v"){id}}',
        { r: runId },
        ws(w),
      ),
    );
    const afterDelete = ok(
      await api.gql<{ deleteTag: { tags: unknown[] } }>(
        'mutation($r:String!){deleteTag(runId:$r,key:"t"){tags{key}}}',
        { r: runId },
        ws(w),
      ),
    );
    expect(afterDelete.deleteTag.tags).toEqual([]);
    expect(
      errorCode(
        await api.gql('mutation($r:String!){deleteTag(runId:$r,key:"t"){id}}', { r: runId }, ws(w)),
      ),
    ).toBe('NOT_FOUND');
  });

  it('downsamples a long history, keeping a spike and the last point', async () => {
    const w = randomWorkspaceId();
    const runId = await newRun(w, await newExperiment(w));
    const metrics = Array.from({ length: 10_000 }, (_, i) => ({
      key: 'loss',
      value: i === 7777 ? 1e6 : Math.cos(i / 100),
      step: i,
      timestamp: i,
    }));
    ok(
      await api.gql(
        'mutation($r:String!,$m:[MetricInput!]){logBatch(runId:$r, metrics:$m){id}}',
        { r: runId, m: metrics },
        ws(w),
      ),
    );
    const data = ok(
      await api.gql<{
        run: { metricHistory: { step: number; value: number }[] };
        metricHistories: { runId: string; key: string; points: unknown[] }[];
      }>(
        'query($r:String!){run(id:$r){metricHistory(key:"loss", maxPoints:200){step value}} metricHistories(runIds:[$r], keys:["loss","missing"], maxPoints:50){runId key points{step}}}',
        { r: runId },
        ws(w),
      ),
    );
    const points = data.run.metricHistory;
    expect(points.length).toBeLessThanOrEqual(200);
    expect(points.length).toBeGreaterThan(150);
    expect(points.find((p) => p.step === 7777)?.value).toBe(1e6);
    expect(points.at(-1)?.step).toBe(9999);
    expect(points[0]?.step).toBe(0);
    expect(points.map((p) => p.step)).toEqual([...points.map((p) => p.step)].sort((x, y) => x - y));
    expect(data.metricHistories).toHaveLength(1);
    expect(data.metricHistories[0]?.points.length).toBeLessThanOrEqual(50);
    const window = ok(
      await api.gql<{ run: { metricHistory: { step: number }[] } }>(
        'query($r:String!){run(id:$r){metricHistory(key:"loss", maxPoints:1000, startStep:100, endStep:199){step}}}',
        { r: runId },
        ws(w),
      ),
    );
    expect(window.run.metricHistory.map((p) => p.step)).toEqual(
      Array.from({ length: 100 }, (_, i) => 100 + i),
    );
  });

  it('pushes metricsLogged to a subscriber within a second of another client logging', async () => {
    const w = randomWorkspaceId();
    const runId = await newRun(w, await newExperiment(w));
    const client = createClient({
      url: `${api.url.replace('http', 'ws')}/graphql`,
      webSocketImpl: class extends WebSocket {
        constructor(address: string, protocols?: string | string[]) {
          super(address, protocols, { headers: ws(w) });
        }
      },
    });
    try {
      const received: { key: string; step: number; value: number }[] = [];
      // step → when it reached the subscriber, and when the call that logged it was sent
      const arrivedAt = new Map<number, number>();
      const loggedAt = new Map<number, number>();
      let resolveDone!: () => void;
      const done = new Promise<void>((resolve) => (resolveDone = resolve));
      const changed: string[] = [];
      const unsubscribeMetrics = client.subscribe<{
        metricsLogged: { points: { key: string; step: number; value: number }[] };
      }>(
        {
          query: `subscription{metricsLogged(runId:"${runId}", keys:["acc"]){points{key step value}}}`,
        },
        {
          next: (msg) => {
            const points = msg.data?.metricsLogged.points ?? [];
            received.push(...points);
            for (const p of points) arrivedAt.set(p.step, performance.now());
            if (received.length >= 3) resolveDone();
          },
          error: (e) => {
            throw e;
          },
          complete: () => undefined,
        },
      );
      const unsubscribeRun = client.subscribe<{ runChanged: { status: string } }>(
        { query: `subscription{runChanged(runId:"${runId}"){status}}` },
        {
          next: (msg) => changed.push(msg.data?.runChanged.status ?? '?'),
          error: () => undefined,
          complete: () => undefined,
        },
      );
      // Give the subscriptions a moment to be registered on the server.
      await new Promise((resolve) => setTimeout(resolve, 300));
      loggedAt.set(1, performance.now()).set(2, performance.now());
      ok(
        await api.gql(
          'mutation($r:String!){logBatch(runId:$r, sync:false, metrics:[{key:"acc",value:0.1,step:1},{key:"other",value:5,step:1},{key:"acc",value:0.2,step:2}]){id}}',
          { r: runId },
          ws(w),
        ),
      );
      loggedAt.set(3, performance.now());
      ok(
        await api.gql(
          'mutation($r:String!){logMetric(runId:$r, key:"acc", value:0.3, step:3){id}}',
          { r: runId },
          ws(w),
        ),
      );
      await Promise.race([
        done,
        new Promise((_, reject) => setTimeout(() => reject(new Error('no push within 5 s')), 5000)),
      ]);
      // Each point reaches the subscriber within a second of the call that logged it.
      for (const step of [1, 2, 3]) {
        expect(arrivedAt.get(step)! - loggedAt.get(step)!).toBeLessThan(1000);
      }
      expect(received).toEqual([
        { key: 'acc', step: 1, value: 0.1 },
        { key: 'acc', step: 2, value: 0.2 },
        { key: 'acc', step: 3, value: 0.3 },
      ]);
      // runChanged follows the runs projection (metricsLogged leaves with the append, before it):
      // it comes once the projector has applied the batch.
      const deadline = performance.now() + 5000;
      while (changed.length === 0 && performance.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 20));
      expect(changed.length).toBeGreaterThan(0);
      unsubscribeMetrics();
      unsubscribeRun();
    } finally {
      await client.dispose();
    }
  });

  it('enforces depth, alias and size limits on queries', async () => {
    const deep = `{run(id:"x"){${'parentRun{'.repeat(12)}id${'}'.repeat(12)}}}`;
    const deepResponse = await api.gql(deep);
    expect(errorCode(deepResponse)).toBe('INVALID_ARGUMENT');
    expect(deepResponse.errors?.[0]?.message).toMatch(/deeper than 12/);
    const aliases = `{${Array.from({ length: 31 }, (_, i) => `a${i}: experiments{totalCount}`).join(' ')}}`;
    expect(errorCode(await api.gql(aliases))).toBe('INVALID_ARGUMENT');
    const huge = `{experiments{totalCount}}${' '.repeat(60_000)}`;
    expect(errorCode(await api.gql(huge))).toBe('INVALID_ARGUMENT');
    // Within the limits, the same shapes work.
    expect(
      (
        await api.gql(
          `{${Array.from({ length: 5 }, (_, i) => `a${i}: experiments{totalCount}`).join(' ')}}`,
        )
      ).errors,
    ).toBeUndefined();
  });

  it('takes the workspace of a subscription from connectionParams (browsers cannot set WS headers)', async () => {
    const w = randomWorkspaceId();
    const runId = await newRun(w, await newExperiment(w));
    const client = createClient({
      url: `${api.url.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { 'x-cairn-workspace': w },
    });
    try {
      const statuses: string[] = [];
      const pushed = new Promise<void>((resolve, reject) => {
        client.subscribe<{ runChanged: { status: string } | null }>(
          { query: `subscription{runChanged(runId:"${runId}"){status}}` },
          {
            next: (msg) => {
              statuses.push(msg.data?.runChanged?.status ?? 'null');
              resolve();
            },
            error: reject,
            complete: () => undefined,
          },
        );
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      ok(
        await api.gql(
          'mutation($r:String!){updateRun(runId:$r, status:FINISHED){id}}',
          { r: runId },
          ws(w),
        ),
      );
      await Promise.race([
        pushed,
        new Promise((_, reject) => setTimeout(() => reject(new Error('no push within 5 s')), 5000)),
      ]);
      // The run is found in the workspace named in connectionParams (the default one has no such run).
      expect(statuses[0]).toBe('FINISHED');
    } finally {
      await client.dispose();
    }
  });

  it('rejects oversized bodies with 413', async () => {
    const response = await fetch(`${api.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: '{experiments{totalCount}}',
        padding: 'x'.repeat(33 * 1024 * 1024),
      }),
    });
    expect(response.status).toBe(413);
  });

  it('reports health and readiness with projector lag', async () => {
    const health = await api.getJson<{ status: string }>('/healthz');
    expect(health).toEqual({ status: 200, body: { status: 'ok' } });
    const ready = await api.getJson<{
      ready: boolean;
      projections: { projection: string; events: number }[];
    }>('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.projections.map((p) => p.projection).sort()).toEqual(
      allProjections.map((p) => p.name).sort(),
    );
  });
});

describe('read-your-writes past the deadline', () => {
  it('answers a create with the committed state when the projection is late', async () => {
    const database = await createTestDatabase();
    // A 0 ms deadline: the mutation cannot wait for the projection at all.
    const late = await startApiHarness({ databaseUrl: database.url, readYourWritesTimeoutMs: 0 });
    try {
      const w = { 'x-cairn-workspace': randomWorkspaceId() };
      for (let i = 0; i < 5; i++) {
        const created = await late.gql<{
          createExperiment: { id: string; name: string; lifecycleStage: string };
        }>(`mutation{createExperiment(name:"late-${i}"){id name lifecycleStage}}`, {}, w);
        expect(created.errors).toBeUndefined();
        expect(created.data!.createExperiment).toMatchObject({
          name: `late-${i}`,
          lifecycleStage: 'ACTIVE',
        });
        const run = await late.gql<{
          createRun: { id: string; experimentId: string; status: string };
        }>(
          'mutation($e:String!){createRun(experimentId:$e, name:"r"){id experimentId status}}',
          { e: created.data!.createExperiment.id },
          w,
        );
        expect(run.errors).toBeUndefined();
        expect(run.data!.createRun).toMatchObject({
          experimentId: created.data!.createExperiment.id,
          status: 'RUNNING',
        });
      }
    } finally {
      await late.stop();
      await database.drop();
    }
  });
});
