/**
 * The shared SDK test vectors (sdks/test-vectors/*.json, rules in its README) run through
 * CairnClient against a real Cairn API (embedded PostgreSQL, the local artifact store).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, randomWorkspaceId } from '@cairn/testing';
import { startApiHarness, type ApiHarness } from '../../../apps/api/test/helpers/api-harness.ts';
import { CairnClient, CairnError } from '../src/index.ts';

interface Step {
  op: string;
  args?: Record<string, unknown>;
  save?: string;
  expect?: unknown;
  expectError?: string;
}
interface VectorFile {
  version: number;
  cases: { name: string; steps: Step[] }[];
}

const VECTORS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test-vectors');
const FILES = ['tracking.json', 'registry.json', 'prompts.json'];

let api: ApiHarness;
let dropDb: () => Promise<void>;
let workspace: string;

beforeAll(async () => {
  const database = await createTestDatabase();
  dropDb = database.drop;
  workspace = randomWorkspaceId();
  api = await startApiHarness({ databaseUrl: database.url, workspaceId: workspace });
});

afterAll(async () => {
  await api?.stop();
  await dropDb?.();
});

/** `$uniq` and saved `$names` replaced in every string, at any depth (longest name first). */
function substitute(value: unknown, vars: Map<string, string>): unknown {
  if (typeof value === 'string') {
    const names = [...vars.keys()].sort((a, b) => b.length - a.length);
    let out = value;
    for (const name of names) out = out.split(`$${name}`).join(vars.get(name) ?? '');
    return out;
  }
  if (Array.isArray(value)) return value.map((v) => substitute(v, vars));
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, substitute(v, vars)]),
    );
  return value;
}

/** The README's subset match: a list of mismatches (empty when it matches). */
export function mismatches(actual: unknown, expected: unknown, at = '$'): string[] {
  if (typeof expected === 'number') {
    const ok =
      typeof actual === 'number' &&
      (actual === expected ||
        Math.abs(actual - expected) <= 1e-9 * Math.max(Math.abs(actual), Math.abs(expected)));
    return ok ? [] : [`${at}: expected ${expected}, got ${JSON.stringify(actual)}`];
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return [`${at}: expected an array, got ${JSON.stringify(actual)}`];
    if (actual.length !== expected.length)
      return [`${at}: expected ${expected.length} elements, got ${actual.length}`];
    return expected.flatMap((e, i) => mismatches(actual[i], e, `${at}[${i}]`));
  }
  if (expected && typeof expected === 'object') {
    if (!actual || typeof actual !== 'object')
      return [`${at}: expected an object, got ${JSON.stringify(actual)}`];
    return Object.entries(expected as Record<string, unknown>).flatMap(([k, e]) =>
      mismatches((actual as Record<string, unknown>)[k], e, `${at}.${k}`),
    );
  }
  return actual === expected
    ? []
    : [`${at}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`];
}

type Args = Record<string, unknown>;
const str = (a: Args, k: string) => a[k] as string;

async function run(client: CairnClient, op: string, a: Args): Promise<unknown> {
  switch (op) {
    case 'createExperiment':
      return client.createExperiment(str(a, 'name'));
    case 'createRun':
      return client.createRun({
        experimentId: str(a, 'experimentId'),
        name: a.name as string | undefined,
        tags: a.tags as Record<string, string> | undefined,
      });
    case 'logParam':
      return client.logParam(str(a, 'runId'), str(a, 'key'), str(a, 'value'));
    case 'logMetric':
      return client.logMetric(str(a, 'runId'), str(a, 'key'), a.value as number, {
        step: a.step as number | undefined,
        timestamp: a.timestamp as number | undefined,
      });
    case 'setTag':
      return client.setTag(str(a, 'runId'), str(a, 'key'), str(a, 'value'));
    case 'flush':
      return client.flush();
    case 'getRun':
      return client.getRun(str(a, 'runId'));
    case 'getMetricHistory':
      return client.getMetricHistory(str(a, 'runId'), str(a, 'key'));
    case 'searchRuns':
      return client.searchRuns({
        experimentIds: a.experimentIds as string[],
        filter: a.filter as string | undefined,
        orderBy: a.orderBy as string[] | undefined,
        maxResults: a.maxResults as number | undefined,
      });
    case 'logArtifact':
      return client.logArtifact(
        str(a, 'runId'),
        str(a, 'path'),
        new TextEncoder().encode(str(a, 'content')),
      );
    case 'createRegisteredModel':
      return client.createRegisteredModel(str(a, 'name'));
    case 'createModelVersion':
      return client.createModelVersion({
        name: str(a, 'name'),
        source: str(a, 'source'),
        runId: a.runId as string | undefined,
      });
    case 'getModelVersion':
      return client.getModelVersion(str(a, 'name'), a.version as number);
    case 'setModelAlias':
      return client.setModelAlias(str(a, 'name'), str(a, 'alias'), a.version as number);
    case 'resolveModelUri':
      return client.resolveModelUri(str(a, 'uri'));
    case 'createPromptVersion':
      return client.createPromptVersion({
        name: str(a, 'name'),
        template: a.template as string | undefined,
        createPromptIfMissing: a.createPromptIfMissing as boolean | undefined,
      });
    case 'loadPrompt':
      return client.loadPrompt(str(a, 'nameOrUri'), { cacheTtlMs: 0 });
    default:
      throw new Error(`unknown op ${op}`);
  }
}

for (const file of FILES) {
  const vectors = JSON.parse(readFileSync(path.join(VECTORS, file), 'utf8')) as VectorFile;
  describe(`test vectors: ${file}`, () => {
    it('is version 1', () => expect(vectors.version).toBe(1));
    for (const testCase of vectors.cases) {
      it(testCase.name, async () => {
        const client = new CairnClient({ trackingUri: api.url, workspace, flushIntervalMs: 50 });
        const vars = new Map<string, string>([
          ['uniq', `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`],
        ]);
        for (const [index, step] of testCase.steps.entries()) {
          const where = `${testCase.name}, step ${index} (${step.op})`;
          const args = substitute(step.args ?? {}, vars) as Args;
          let result: unknown;
          try {
            result = await run(client, step.op, args);
          } catch (error) {
            if (step.expectError === undefined) throw error;
            expect(error, where).toBeInstanceOf(CairnError);
            expect((error as CairnError).code, where).toBe(step.expectError);
            continue;
          }
          expect(step.expectError, `${where}: expected an error`).toBeUndefined();
          if (step.expect !== undefined)
            expect(mismatches(result, substitute(step.expect, vars)), where).toEqual([]);
          if (step.save) {
            const id = (result as { id?: unknown } | null)?.id;
            expect(typeof id, `${where}: save needs an id`).toBe('string');
            vars.set(step.save, id as string);
          }
        }
        await client.close();
      });
    }
  });
}
