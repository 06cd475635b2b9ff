import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, randomWorkspaceId } from '@cairn/testing';
import { mlflowTraceFilter } from '../src/mlflow/traces.handlers.ts';
import { startApiHarness, type ApiHarness } from './helpers/api-harness.ts';

/**
 * MLflow's traces endpoints over HTTP as the `mlflow` 3.x client calls them
 * (mlflow/store/tracking/rest_store.py): spans over OTLP to /v1/traces, then StartTraceV3 with
 * the trace info; get, batch get, search with filter/order/page tokens, tags, delete.
 */

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

type Json = Record<string, unknown>;

async function call(workspace: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${api.url}${path}`, {
    method,
    headers: {
      'x-cairn-workspace': workspace,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Json };
}

async function newExperiment(workspace: string): Promise<string> {
  const r = await call(workspace, 'POST', '/api/2.0/mlflow/experiments/create', {
    name: `traces-${Math.random().toString(36).slice(2)}`,
  });
  expect(r.status).toBe(200);
  return r.json.experiment_id as string;
}

const str = (value: string) => ({ stringValue: value });

/** One MLflow trace as the client sends it: a root span and a child, then the trace info. */
async function logTrace(
  workspace: string,
  experimentId: string,
  opts: { name: string; startMs: number; output: number; failed?: boolean },
): Promise<string> {
  const traceHex = randomBytes(16).toString('hex');
  const mlflowId = `tr-${traceHex}`;
  const root = randomBytes(8).toString('hex');
  const child = randomBytes(8).toString('hex');
  const ns = (ms: number) => `${BigInt(ms) * 1_000_000n}`;
  const common = [{ key: 'mlflow.traceRequestId', value: str(JSON.stringify(mlflowId)) }];
  const otlp = {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: str('mlflow') }] },
        scopeSpans: [
          {
            scope: { name: 'mlflow' },
            spans: [
              {
                traceId: traceHex,
                spanId: child,
                parentSpanId: root,
                name: 'add',
                kind: 1,
                startTimeUnixNano: ns(opts.startMs + 1),
                endTimeUnixNano: ns(opts.startMs + 5),
                attributes: [
                  ...common,
                  { key: 'mlflow.spanType', value: str('"TOOL"') },
                  { key: 'mlflow.spanInputs', value: str('{"a": 3, "b": 1}') },
                  { key: 'mlflow.spanOutputs', value: str('4') },
                ],
                status: { code: 1 },
              },
              {
                traceId: traceHex,
                spanId: root,
                name: opts.name,
                kind: 1,
                startTimeUnixNano: ns(opts.startMs),
                endTimeUnixNano: ns(opts.startMs + 10),
                attributes: [
                  ...common,
                  { key: 'mlflow.spanType', value: str('"CHAIN"') },
                  { key: 'mlflow.spanInputs', value: str('{"x": 3}') },
                  { key: 'mlflow.spanOutputs', value: str(String(opts.output)) },
                ],
                status: opts.failed ? { code: 2, message: 'boom' } : { code: 1 },
              },
            ],
          },
        ],
      },
    ],
  };
  const sent = await fetch(`${api.url}/v1/traces`, {
    method: 'POST',
    headers: {
      'x-cairn-workspace': workspace,
      'content-type': 'application/json',
      'x-mlflow-experiment-id': experimentId,
    },
    body: JSON.stringify(otlp),
  });
  expect(sent.status).toBe(200);
  const started = await call(workspace, 'POST', '/api/3.0/mlflow/traces', {
    trace: {
      trace_info: {
        trace_id: mlflowId,
        trace_location: {
          type: 'MLFLOW_EXPERIMENT',
          mlflow_experiment: { experiment_id: experimentId },
        },
        request_time: new Date(opts.startMs).toISOString(),
        execution_duration: '0.010s',
        state: opts.failed ? 'ERROR' : 'OK',
        trace_metadata: {
          'mlflow.trace_schema.version': '3',
          'mlflow.traceInputs': '{"x": 3}',
          'mlflow.traceOutputs': String(opts.output),
        },
        tags: { 'mlflow.traceName': opts.name, 'mlflow.artifactLocation': 'ignored' },
      },
    },
  });
  expect(started.status, JSON.stringify(started.json)).toBe(200);
  return mlflowId;
}

describe('MLflow traces endpoints', () => {
  it('stores the trace info of OTLP spans and reads it back with its spans', async () => {
    const workspace = randomWorkspaceId();
    const experimentId = await newExperiment(workspace);
    const startMs = Date.now() - 60_000;
    const id = await logTrace(workspace, experimentId, { name: 'pipeline', startMs, output: 8 });

    const info = await call(workspace, 'GET', `/api/3.0/mlflow/traces/${id}`);
    expect(info.status).toBe(200);
    const traceInfo = (info.json.trace as Json).trace_info as Json;
    expect(traceInfo).toMatchObject({
      trace_id: id,
      trace_location: {
        type: 'MLFLOW_EXPERIMENT',
        mlflow_experiment: { experiment_id: experimentId },
      },
      request_preview: '{"x": 3}',
      response_preview: '8',
      request_time: new Date(startMs).toISOString(),
      execution_duration: '0.010000s',
      state: 'OK',
      trace_metadata: { 'mlflow.trace_schema.version': '3' },
      tags: { 'mlflow.traceName': 'pipeline', 'mlflow.trace.spansLocation': 'TRACKING_STORE' },
    });
    expect(traceInfo.trace_metadata).not.toHaveProperty('mlflow.experimentId');

    const full = await call(workspace, 'GET', `/api/3.0/mlflow/traces/get?trace_id=${id}`);
    expect(full.status).toBe(200);
    const spans = (full.json.trace as Json).spans as Json[];
    expect(spans.map((s) => s.name)).toEqual(['pipeline', 'add']);
    const hex = id.slice(3);
    expect(Buffer.from(spans[0]!.trace_id as string, 'base64').toString('hex')).toBe(hex);
    expect(spans[1]!.parent_span_id).toBe(spans[0]!.span_id);
    expect(spans[1]).toMatchObject({
      kind: 'SPAN_KIND_INTERNAL',
      status: { code: 'STATUS_CODE_OK' },
      start_time_unix_nano: `${BigInt(startMs + 1) * 1_000_000n}`,
    });
    expect(spans[1]!.attributes).toContainEqual({
      key: 'mlflow.spanInputs',
      value: { string_value: '{"a": 3, "b": 1}' },
    });

    const batch = await call(
      workspace,
      'GET',
      `/api/3.0/mlflow/traces/batchGet?trace_ids=${id}&trace_ids=tr-${'0'.repeat(32)}`,
    );
    expect(batch.status).toBe(200);
    expect((batch.json.traces as Json[]).map((t) => (t.trace_info as Json).trace_id)).toEqual([id]);
    const infos = await call(workspace, 'POST', '/api/3.0/mlflow/traces/batchGetInfos', {
      trace_ids: [id],
    });
    expect((infos.json.trace_infos as Json[]).map((t) => t.trace_id)).toEqual([id]);

    // Another workspace sees nothing of it.
    const other = await call(randomWorkspaceId(), 'GET', `/api/3.0/mlflow/traces/${id}`);
    expect(other).toMatchObject({ status: 404, json: { error_code: 'RESOURCE_DOES_NOT_EXIST' } });
  });

  it('searches an experiment with MLflow filters, order and page tokens', async () => {
    const workspace = randomWorkspaceId();
    const experimentId = await newExperiment(workspace);
    const otherExperiment = await newExperiment(workspace);
    const base = Date.now() - 120_000;
    const ids = [];
    for (let i = 0; i < 3; i++)
      ids.push(
        await logTrace(workspace, experimentId, {
          name: `t${i}`,
          startMs: base + i * 1000,
          output: i,
          failed: i === 1,
        }),
      );
    await logTrace(workspace, otherExperiment, { name: 'elsewhere', startMs: base, output: 0 });
    const search = (body: Json) =>
      call(workspace, 'POST', '/api/3.0/mlflow/traces/search', {
        locations: [
          { type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: experimentId } },
        ],
        ...body,
      });

    const all = await search({});
    expect(all.status).toBe(200);
    expect((all.json.traces as Json[]).map((t) => t.trace_id)).toEqual([ids[2], ids[1], ids[0]]);
    expect(all.json.next_page_token).toBeUndefined();

    const first = await search({ max_results: 2, order_by: ['timestamp_ms ASC'] });
    expect((first.json.traces as Json[]).map((t) => t.trace_id)).toEqual([ids[0], ids[1]]);
    const rest = await search({
      max_results: 2,
      order_by: ['timestamp_ms ASC'],
      page_token: first.json.next_page_token,
    });
    expect((rest.json.traces as Json[]).map((t) => t.trace_id)).toEqual([ids[2]]);

    const failed = await search({ filter: "attributes.status = 'ERROR'" });
    expect((failed.json.traces as Json[]).map((t) => t.trace_id)).toEqual([ids[1]]);
    expect((failed.json.traces as Json[])[0]!.state).toBe('ERROR');
    const byTag = await search({ filter: "tags.`mlflow.traceName` = 't2'" });
    expect((byTag.json.traces as Json[]).map((t) => t.trace_id)).toEqual([ids[2]]);

    const bad = await search({ filter: 'attributes.status = ' });
    expect(bad).toMatchObject({ status: 400, json: { error_code: 'INVALID_PARAMETER_VALUE' } });
    const unknown = await call(workspace, 'POST', '/api/3.0/mlflow/traces/search', {
      locations: [{ mlflow_experiment: { experiment_id: '0'.repeat(32) } }],
    });
    expect(unknown).toMatchObject({ status: 404, json: { error_code: 'RESOURCE_DOES_NOT_EXIST' } });
  });

  it('sets and deletes tags, deletes traces by id and by time', async () => {
    const workspace = randomWorkspaceId();
    const experimentId = await newExperiment(workspace);
    const base = Date.now() - 300_000;
    const a = await logTrace(workspace, experimentId, { name: 'a', startMs: base, output: 1 });
    const b = await logTrace(workspace, experimentId, {
      name: 'b',
      startMs: base + 1000,
      output: 2,
    });
    const c = await logTrace(workspace, experimentId, {
      name: 'c',
      startMs: base + 2000,
      output: 3,
    });

    const tagPath = `/api/2.0/mlflow/traces/${a}/tags`;
    expect(
      (await call(workspace, 'PATCH', tagPath, { key: 'reviewed', value: 'yes' })).status,
    ).toBe(200);
    let info = await call(workspace, 'GET', `/api/3.0/mlflow/traces/${a}`);
    expect(((info.json.trace as Json).trace_info as Json).tags).toMatchObject({ reviewed: 'yes' });
    expect((await call(workspace, 'DELETE', tagPath, { key: 'reviewed' })).status).toBe(200);
    info = await call(workspace, 'GET', `/api/3.0/mlflow/traces/${a}`);
    expect(((info.json.trace as Json).trace_info as Json).tags).not.toHaveProperty('reviewed');
    const missingKey = await call(workspace, 'PATCH', tagPath, { value: 'x' });
    expect(missingKey).toMatchObject({
      status: 400,
      json: { error_code: 'INVALID_PARAMETER_VALUE' },
    });

    const byId = await call(workspace, 'POST', '/api/2.0/mlflow/traces/delete-traces', {
      experiment_id: experimentId,
      request_ids: [a],
    });
    expect(byId).toMatchObject({ status: 200, json: { traces_deleted: 1 } });
    expect((await call(workspace, 'GET', `/api/3.0/mlflow/traces/${a}`)).status).toBe(404);

    const byTime = await call(workspace, 'POST', '/api/2.0/mlflow/traces/delete-traces', {
      experiment_id: experimentId,
      max_timestamp_millis: base + 1500,
      max_traces: 10,
    });
    expect(byTime).toMatchObject({ status: 200, json: { traces_deleted: 1 } });
    expect((await call(workspace, 'GET', `/api/3.0/mlflow/traces/${b}`)).status).toBe(404);
    expect((await call(workspace, 'GET', `/api/3.0/mlflow/traces/${c}`)).status).toBe(200);
    const neither = await call(workspace, 'POST', '/api/2.0/mlflow/traces/delete-traces', {
      experiment_id: experimentId,
    });
    expect(neither).toMatchObject({ status: 400, json: { error_code: 'INVALID_PARAMETER_VALUE' } });
  });

  it('answers MLflow errors for unknown traces and bad trace infos', async () => {
    const workspace = randomWorkspaceId();
    const experimentId = await newExperiment(workspace);
    for (const id of ['tr-' + '1'.repeat(32), 'not-a-trace'])
      expect(await call(workspace, 'GET', `/api/3.0/mlflow/traces/${id}`)).toMatchObject({
        status: 404,
        json: { error_code: 'RESOURCE_DOES_NOT_EXIST' },
      });
    const noInfo = await call(workspace, 'POST', '/api/3.0/mlflow/traces', { trace: {} });
    expect(noInfo).toMatchObject({ status: 400, json: { error_code: 'INVALID_PARAMETER_VALUE' } });
    const noExperiment = await call(workspace, 'POST', '/api/3.0/mlflow/traces', {
      trace: {
        trace_info: {
          trace_id: 'tr-' + '2'.repeat(32),
          trace_location: {
            type: 'MLFLOW_EXPERIMENT',
            mlflow_experiment: { experiment_id: '0'.repeat(32) },
          },
        },
      },
    });
    expect(noExperiment).toMatchObject({
      status: 404,
      json: { error_code: 'RESOURCE_DOES_NOT_EXIST' },
    });
    const badTags = await call(workspace, 'POST', '/api/3.0/mlflow/traces', {
      trace: {
        trace_info: {
          trace_id: 'tr-' + '3'.repeat(32),
          trace_location: { mlflow_experiment: { experiment_id: experimentId } },
          tags: { k: 1 },
        },
      },
    });
    expect(badTags).toMatchObject({ status: 400, json: { error_code: 'INVALID_PARAMETER_VALUE' } });
  });
});

describe('mlflowTraceFilter', () => {
  it("rewrites MLflow's trace field names outside quotes only", () => {
    expect(mlflowTraceFilter("attributes.status = 'OK' AND trace.execution_time_ms > 5")).toBe(
      "status = 'OK' AND duration_ms > 5",
    );
    expect(mlflowTraceFilter("request_metadata.`mlflow.user` = 'attributes.status'")).toBe(
      "metadata.`mlflow.user` = 'attributes.status'",
    );
    expect(mlflowTraceFilter("tags.status = 'x'")).toBe("tags.status = 'x'");
  });
});
