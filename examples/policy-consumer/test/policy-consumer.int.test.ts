/**
 * The example policy consumer end to end: a real API (auth required; the consumer reads with a
 * viewer key), the Postgres event log, a local webhook receiver. Moving `production` (alias or
 * stage) to a version without a passing evaluation sends one alert naming model and version; to
 * a version with one sends none.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newEntityId, spanBatchStreamId } from '@cairn/events';
import { aNewEvent, appendEvents, createTestDatabase, randomWorkspaceId } from '@cairn/testing';
import { createApiKey } from '../../../apps/api/src/auth/access.commands.ts';
import {
  startApiHarness,
  type ApiHarness,
  type GqlResponse,
} from '../../../apps/api/test/helpers/api-harness.ts';
import { startPolicyConsumer, type PolicyAlert, type RunningPolicy } from '../src/policy.ts';

let api: ApiHarness;
let dropDb: () => Promise<void>;
let receiver: Server;
let policy: RunningPolicy;
const ws = randomWorkspaceId();
const model = `fraud-${newEntityId().slice(0, 8)}`;
let owner: string;
const alerts: { eventId: string | undefined; body: PolicyAlert }[] = [];
const alertWaiters: (() => void)[] = [];

function ok<T>(response: GqlResponse<T>): T {
  expect(response.errors).toBeUndefined();
  return response.data!;
}

const gql = <T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}) =>
  api.gql<T>(query, variables, { authorization: `Bearer ${owner}` }).then(ok);

const hex = (n: number) =>
  Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join('');

/** Traces the evaluation rows can point at (evaluation needs existing traces), in one batch. */
async function newTraces(count: number): Promise<string[]> {
  const traceIds = Array.from({ length: count }, () => hex(32));
  const batchId = newEntityId();
  const streamId = spanBatchStreamId(batchId);
  const start = BigInt(Date.now()) * 1_000_000n;
  await appendEvents(
    api.db,
    ws,
    streamId,
    'span-batch',
    [
      aNewEvent('SpansIngested', {
        batchId,
        resources: [{ 'service.name': 'svc' }],
        spans: traceIds.map((traceId) => ({
          traceId,
          spanId: hex(16),
          parentSpanId: null,
          traceState: null,
          name: 'score',
          kind: 'INTERNAL',
          startTimeUnixNano: `${start}`,
          endTimeUnixNano: `${start + 1_000_000n}`,
          status: { code: 'OK', message: null },
          attributes: {},
          events: [],
          links: [],
          resourceIndex: 0,
          scope: { name: 'test', version: null },
          droppedAttributesCount: 0,
          droppedEventsCount: 0,
          droppedLinksCount: 0,
        })),
      }),
    ],
    'no_stream',
  );
  return traceIds;
}

/** An evaluation run of `version` whose one scorer `correct` scored `values`. */
async function evaluate(version: number, values: boolean[]): Promise<void> {
  const experimentId = (
    await gql<{ createExperiment: { id: string } }>(
      'mutation($n:String!){createExperiment(name:$n){id}}',
      { n: `eval-${hex(8)}` },
    )
  ).createExperiment.id;
  const runId = (
    await gql<{ createRun: { id: string } }>(
      'mutation($e:String!){createRun(experimentId:$e, name:"eval"){id}}',
      { e: experimentId },
    )
  ).createRun.id;
  await gql('mutation($i:RegisterEvaluationRunInput!){registerEvaluationRun(input:$i){runId}}', {
    i: { runId, scorers: ['correct'], modelId: `models:/${model}/${version}` },
  });
  const traceIds = await newTraces(values.length);
  const rows = [];
  for (const [i, value] of values.entries()) {
    rows.push({
      rowKey: `row-${i}`,
      traceId: traceIds[i]!,
      inputs: { i },
      outputs: { ok: value },
      scores: [{ name: 'correct', value, source: { type: 'CODE', id: 'exact' } }],
    });
  }
  await gql('mutation($i:RecordEvaluationRowsInput!){recordEvaluationRows(input:$i)}', {
    i: { runId, rows },
  });
}

async function untilAlerts(count: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (alerts.length < count) {
    if (Date.now() > deadline) throw new Error(`${alerts.length} of ${count} alerts arrived`);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 1_000);
      alertWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

beforeAll(async () => {
  const database = await createTestDatabase();
  dropDb = database.drop;
  api = await startApiHarness({ databaseUrl: database.url, auth: { mode: 'required' } });
  owner = (
    await createApiKey(
      api.deps,
      { workspaceId: ws, metadata: { actor: 'test', correlationId: 'c', causationId: null } },
      { name: 'owner', role: 'owner' },
      null,
    )
  ).secret;
  const viewer = (
    await gql<{ createApiKey: { secret: string } }>(
      'mutation { createApiKey(input: { name: "policy", role: "viewer" }) { secret } }',
    )
  ).createApiKey.secret;

  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      alerts.push({
        eventId: req.headers['x-cairn-event-id'] as string | undefined,
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as PolicyAlert,
      });
      res.writeHead(204).end();
      for (const wake of alertWaiters.splice(0)) wake();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const port = (receiver.address() as AddressInfo).port;

  for (let v = 1; v <= 3; v++) {
    await gql(
      'mutation($n:String!){createModelVersion(name:$n, source:"s3://b/m", createModelIfMissing:true){version}}',
      { n: model },
    );
  }
  await evaluate(2, [true, true, true]); // passes: mean 1
  await evaluate(3, [true, false, false]); // fails: mean 1/3 < 0.8

  policy = await startPolicyConsumer({
    source: { postgres: database.url },
    workspaceId: ws,
    cairnUrl: api.url,
    apiKey: viewer,
    webhookUrl: `http://127.0.0.1:${port}/alerts`,
    name: `policy-${newEntityId().slice(0, 8)}`,
    startAt: 'end',
    idleMs: 20,
  });
});

afterAll(async () => {
  await policy?.stop();
  await new Promise((resolve) => receiver?.close(resolve));
  await api?.stop();
  await dropDb?.();
});

const setAlias = (alias: string, version: number) =>
  gql(
    'mutation($n:String!,$a:String!,$v:Int!){setModelAlias(name:$n, alias:$a, version:$v){version}}',
    {
      n: model,
      a: alias,
      v: version,
    },
  );

const transition = (version: number, stage: string) =>
  gql(
    'mutation($n:String!,$v:Int!,$s:ModelStage!){transitionModelVersionStage(name:$n, version:$v, stage:$s){stage}}',
    {
      n: model,
      v: version,
      s: stage,
    },
  );

describe('policy consumer', () => {
  it('alerts when the production alias moves to a version without a passing evaluation, not with one', async () => {
    await setAlias('staging', 1); // not production: nothing to check
    await setAlias('production', 1); // no evaluation at all: alert
    await setAlias('production', 2); // passing evaluation: no alert
    await setAlias('production', 3); // failing evaluation: alert
    await untilAlerts(2);
    // Events are handled in stream order: v2's check finished before v3's alert was sent.
    expect(alerts.map((a) => [a.body.trigger, a.body.model, a.body.version, a.body.alias])).toEqual(
      [
        ['ModelAliasSet', model, 1, 'production'],
        ['ModelAliasSet', model, 3, 'production'],
      ],
    );
    expect(alerts[0]!.body.reason).toBe(`no evaluation run for models:/${model}/1`);
    expect(alerts[1]!.body.reason).toMatch(
      /scorer correct of run [0-9a-f]{32} has mean 0\.33\d* < 0\.8/,
    );
    expect(alerts[0]!.body.workspaceId).toBe(ws);
    expect(alerts[0]!.eventId).toBe(alerts[0]!.body.eventId);
    expect(alerts[0]!.body.actor).toMatch(/^key:/);
  });

  it('alerts when a version without a passing evaluation reaches the Production stage', async () => {
    const before = alerts.length;
    await transition(3, 'STAGING'); // not Production
    await transition(2, 'PRODUCTION'); // passing evaluation
    await transition(1, 'PRODUCTION'); // none: alert
    await untilAlerts(before + 1);
    expect(alerts.slice(before).map((a) => [a.body.trigger, a.body.version, a.body.stage])).toEqual(
      [['ModelVersionStageTransitioned', 1, 'PRODUCTION']],
    );
    expect(alerts.at(-1)!.body.model).toBe(model);
  });
});
