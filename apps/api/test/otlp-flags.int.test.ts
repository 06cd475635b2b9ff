/**
 * The trace-ingest flags of `cairn` (apps/cli/src/config.ts): `--max-otlp-body-bytes` and
 * `--trace-mask-rules FILE` / `CAIRN_TRACE_MASK_RULES`, and that an invalid rules file refuses to
 * start the real binary with a clear message. Then both options at work in a running app.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type DbHandle } from '@cairn/db';
import { createTestDatabase, randomWorkspaceId } from '@cairn/testing';
import { parseConfig, type CliConfig } from '../../cli/src/config.ts';
import { projectorRuntime } from '@cairn/projector';
import { maskRules, startCairnApp, type CairnApp } from '../src/index.ts';

const CAIRN_BIN = fileURLToPath(new URL('../../cli/bin/cairn.js', import.meta.url));

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'cairn-otlp-flags-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function parse(argv: string[], env: NodeJS.ProcessEnv = {}): CliConfig {
  const cfg = parseConfig(['server', ...argv], env);
  if (cfg === 'help') throw new Error('help');
  return cfg;
}

function runCairn(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CAIRN_BIN, ...args],
      { timeout: 60_000, env: { ...process.env, CAIRN_HOME: dir } },
      (error, _stdout, stderr) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stderr });
      },
    );
  });
}

describe('cairn trace-ingest flags', () => {
  it('defaults to 16 MiB and no extra rules; reads both from flags and from the environment', async () => {
    const defaults = parse([]);
    expect(defaults.maxOtlpBodyBytes).toBe(16 * 1024 * 1024);
    expect(defaults.traceMaskRules).toEqual([]);

    const file = path.join(dir, 'rules.json');
    await writeFile(file, JSON.stringify([{ pattern: 'acme-\\d+', replacement: '<acme>' }]));
    const fromFlags = parse(['--max-otlp-body-bytes', '1000', '--trace-mask-rules', file]);
    expect(fromFlags.maxOtlpBodyBytes).toBe(1000);
    expect(fromFlags.traceMaskRules.map((r) => [r.source, r.replacement])).toEqual([
      ['acme-\\d+', '<acme>'],
    ]);
    const fromEnv = parse([], { CAIRN_MAX_OTLP_BODY_BYTES: '2000', CAIRN_TRACE_MASK_RULES: file });
    expect(fromEnv.maxOtlpBodyBytes).toBe(2000);
    expect(fromEnv.traceMaskRules).toHaveLength(1);
    expect(() => parse(['--max-otlp-body-bytes', '0'])).toThrow(
      'Invalid --max-otlp-body-bytes "0"',
    );
  });

  it('refuses to start with an invalid rules file, naming the file, the rule and the reason', async () => {
    const bad = path.join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify([{ pattern: 'ok' }, { pattern: '([a-z' }]));
    const result = await runCairn(['server', '--trace-mask-rules', bad, '--port', '0']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `--trace-mask-rules ${bad}: rule 1: invalid regular expression "([a-z"`,
    );
    const missing = await runCairn(['server', '--trace-mask-rules', path.join(dir, 'nope.json')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('Cannot read --trace-mask-rules file');
  });
});

describe('a running app with its own body limit and masking rules', () => {
  let app: CairnApp;
  let handle: DbHandle;
  let dropDb: () => Promise<void>;

  beforeAll(async () => {
    const database = await createTestDatabase();
    dropDb = database.drop;
    handle = createDb(database.url, { maxConnections: 5 });
    const file = path.join(dir, 'app-rules.json');
    await writeFile(file, JSON.stringify([{ pattern: 'acme-\\d+', replacement: '<acme>' }]));
    const cfg = parse(['--max-otlp-body-bytes', '4096', '--trace-mask-rules', file]);
    app = await startCairnApp({
      handle,
      databaseUrl: database.url,
      kafka: null,
      logger: { info: () => undefined, error: () => undefined },
      projectorRuntime,
      withProjector: false,
      withRelay: false,
      port: 0,
      host: '127.0.0.1',
      otlp: { maxBodyBytes: cfg.maxOtlpBodyBytes, maskRules: maskRules(cfg.traceMaskRules) },
    });
  });

  afterAll(async () => {
    await app?.stop();
    await handle?.destroy();
    await dropDb?.();
  });

  function body(value: string): string {
    return JSON.stringify({
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                {
                  traceId: '0af7651916cd43dd8448eb211c80319c',
                  spanId: 'b7ad6b7169203331',
                  name: 'flags',
                  attributes: [{ key: 'v', value: { stringValue: value } }],
                },
              ],
            },
          ],
        },
      ],
    });
  }

  it('applies the rules file after the defaults and the body limit', async () => {
    const ws = randomWorkspaceId();
    const post = (text: string) =>
      fetch(`${app.url}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-cairn-workspace': ws },
        body: text,
      });
    expect((await post(body('order acme-123 with sk-abcdefghijklmnopqrstuvwx'))).status).toBe(200);
    const tooLarge = await post(body('x'.repeat(5000)));
    expect(tooLarge.status).toBe(413);
    expect(((await tooLarge.json()) as { message: string }).message).toContain(
      'larger than 4096 bytes',
    );
    const rows = await handle.db
      .selectFrom('events')
      .select('data')
      .where('workspace_id', '=', ws)
      .execute();
    expect(rows).toHaveLength(1);
    const data = rows[0]!.data as { spans: { attributes: Record<string, unknown> }[] };
    expect(data.spans[0]!.attributes).toEqual({ v: 'order <acme> with [REDACTED]' });
  });
});
