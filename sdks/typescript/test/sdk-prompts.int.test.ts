/**
 * @cairn/sdk loadPrompt / PromptVersion.format against a real Cairn API (embedded PostgreSQL):
 * URIs, aliases moved by another client seen within the TTL, allowMissing, typed errors, the
 * last good copy while the server is down, and the trace → prompt version link read back
 * through GraphQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, randomWorkspaceId } from '@cairn/testing';
import { startApiHarness, type ApiHarness } from '../../../apps/api/test/helpers/api-harness.ts';
import {
  PromptError,
  PromptFormatError,
  clearPromptCache,
  configure,
  getLastActiveTraceId,
  getTrace,
  loadPrompt,
  shutdown,
  trace,
  withSpan,
  type CairnLogger,
} from '../src/index.ts';

let api: ApiHarness;
let dropDb: () => Promise<void>;
let workspace: string;
let stopped = false;

function capture(): CairnLogger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, warn: (m) => lines.push(m), error: (m) => lines.push(m) };
}

async function gql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await api.gql<T>(query, variables, { 'x-cairn-workspace': workspace });
  expect(res.errors).toBeUndefined();
  return res.data as T;
}

async function createVersion(name: string, fields: Record<string, unknown>): Promise<number> {
  const data = await gql<{ createPromptVersion: { version: number } }>(
    `mutation($name: String!, $template: String, $messages: [PromptMessageInput!], $modelConfig: JSON) {
      createPromptVersion(name: $name, template: $template, messages: $messages,
        modelConfig: $modelConfig, createPromptIfMissing: true) { version } }`,
    { name, ...fields },
  );
  return data.createPromptVersion.version;
}

async function setAlias(name: string, alias: string, version: number): Promise<void> {
  await gql(
    `mutation($n: String!, $a: String!, $v: Int!) { setPromptAlias(name: $n, alias: $a, version: $v) { version } }`,
    { n: name, a: alias, v: version },
  );
}

beforeAll(async () => {
  const database = await createTestDatabase();
  dropDb = database.drop;
  workspace = randomWorkspaceId();
  api = await startApiHarness({ databaseUrl: database.url, workspaceId: workspace });
  configure({ trackingUri: api.url, workspace, intervalMs: 50 });
});

afterAll(async () => {
  await shutdown();
  if (!stopped) await api?.stop();
  await dropDb?.();
});

const opts = () => ({ trackingUri: api.url, workspace });

describe('loadPrompt', () => {
  it('resolves names and URIs and formats text and chat templates', async () => {
    clearPromptCache();
    await createVersion('greet', {
      template: 'Hello {{ name }}, {{greeting}}!',
      modelConfig: { model: 'm1', temperature: 0.1 },
    });
    await createVersion('greet', {
      messages: [
        { role: 'system', content: 'You are {{ tone }}.' },
        { role: 'user', content: '{{question}}' },
      ],
    });
    await setAlias('greet', 'production', 1);

    const prod = await loadPrompt('prompts:/greet@production', opts());
    expect(prod.version).toBe(1);
    expect(prod.uri).toBe('prompts:/greet/1');
    expect(prod.aliases).toEqual(['production']);
    expect(prod.variables).toEqual(['name', 'greeting']);
    expect(prod.modelConfig).toEqual({ model: 'm1', temperature: 0.1 });
    expect(prod.format({ name: 'Ada', greeting: 'welcome' })).toBe('Hello Ada, welcome!');
    expect(prod.toSingleBraceFormat()).toBe('Hello {name}, {greeting}!');
    const error = (() => {
      try {
        prod.format({ name: 'Ada' });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(PromptFormatError);
    expect((error as PromptFormatError).missing).toEqual(['greeting']);
    expect((error as PromptFormatError).message).toContain('"greeting"');

    const latest = await loadPrompt('greet', opts());
    expect(latest.version).toBe(2);
    expect(latest.templateType).toBe('CHAT');
    expect(latest.formatMessages({ tone: 'terse', question: 'Why?' })).toEqual([
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'Why?' },
    ]);
    expect((await loadPrompt('prompts:/greet@latest', opts())).version).toBe(2);
    expect((await loadPrompt('greet', { ...opts(), version: 1 })).version).toBe(1);
    expect((await loadPrompt('prompts:/greet/1', opts())).template).toBe(
      'Hello {{ name }}, {{greeting}}!',
    );
  });

  it('answers null with allowMissing and typed errors otherwise', async () => {
    expect(await loadPrompt('nothing-here', { ...opts(), allowMissing: true })).toBeNull();
    expect(await loadPrompt('prompts:/greet/99', { ...opts(), allowMissing: true })).toBeNull();
    await expect(loadPrompt('nothing-here', opts())).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(loadPrompt('prompts:/greet', opts())).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      details: { reason: 'SHAPE' },
    });
    await expect(loadPrompt('prompts:/greet', opts())).rejects.toBeInstanceOf(PromptError);
  });

  it('sees an alias moved by another client within the TTL', async () => {
    for (let i = 1; i <= 3; i++) await createVersion('moving', { template: `v${i} {{ x }}` });
    await setAlias('moving', 'production', 2);
    const ttl = { ...opts(), cacheTtlMs: 500 };
    expect((await loadPrompt('prompts:/moving@production', ttl)).version).toBe(2);
    await setAlias('moving', 'production', 3);
    expect((await loadPrompt('prompts:/moving@production', ttl)).version).toBe(2); // cached
    const movedAt = Date.now();
    let seen = 2;
    while (Date.now() - movedAt < 5000 && seen !== 3) {
      seen = (await loadPrompt('prompts:/moving@production', ttl)).version;
      if (seen !== 3) await new Promise((r) => setTimeout(r, 20));
    }
    expect(seen).toBe(3);
    expect(Date.now() - movedAt).toBeLessThan(2500);
  });

  it('links the trace to the formatted version (read back through GraphQL)', async () => {
    await createVersion('linked', { template: 'one {{ q }}' });
    await createVersion('linked', { template: 'two {{ q }}' });
    await createVersion('linked', { template: 'three {{ q }}' });
    await setAlias('linked', 'production', 3);
    const answer = trace(
      async (question: string) => {
        const prompt = await loadPrompt('prompts:/linked@production', opts());
        return withSpan('inner', () => {
          prompt.format({ q: question });
          return prompt.formatText({ q: question });
        });
      },
      { name: 'answer' },
    );
    expect(await answer('why?')).toBe('three why?');
    const traceId = getLastActiveTraceId()!;
    const view = await getTrace(traceId, 30_000);
    expect(view?.promptVersions).toEqual(['prompts:/linked/3']);
    const data = await gql<{
      promptVersion: { traces: { totalCount: number; edges: { node: { id: string } }[] } };
    }>(
      `query { promptVersion(name: "linked", version: 3) { traces { totalCount edges { node { id } } } } }`,
    );
    expect(data.promptVersion.traces.edges.map((e) => e.node.id)).toEqual([traceId]);
  });

  it('keeps answering the last good copy while the server is down', async () => {
    await createVersion('outage', { template: 'a {{ x }}' });
    await createVersion('outage', { template: 'b {{ x }}' });
    await setAlias('outage', 'production', 2);
    const logger = capture();
    const ttl = { ...opts(), cacheTtlMs: 100, requestTimeoutMs: 1000, logger };
    expect((await loadPrompt('prompts:/outage@production', ttl)).version).toBe(2);
    await api.stop();
    stopped = true;
    await new Promise((r) => setTimeout(r, 150));
    const started = Date.now();
    expect((await loadPrompt('prompts:/outage@production', ttl)).version).toBe(2); // stale, at once
    expect(Date.now() - started).toBeLessThan(100);
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && !logger.lines.some((l) => l.startsWith('serving '))) {
      const prompt = await loadPrompt('prompts:/outage@production', ttl);
      expect(prompt.format({ x: 1 })).toBe('b 1');
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(
      logger.lines.some((l) => l.startsWith('serving prompts:/outage@production as version 2')),
    ).toBe(true);
    // no cache: asks the server, falls back on the last good copy
    expect(
      (await loadPrompt('prompts:/outage@production', { ...ttl, cacheTtlMs: 0 })).version,
    ).toBe(2);
    // nothing cached for this URI: the outage surfaces
    await expect(loadPrompt('prompts:/outage/1', ttl)).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    });
  });
});
