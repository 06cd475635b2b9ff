/**
 * `cairn retention apply` (docs/governance.md, "Retention") against a real database whose
 * projectors run beside it (as a server's would): the pass appends the purge events as the CLI's
 * actor, the projectors drop the old points, the second pass appends nothing; usage errors exit 2.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type DbHandle } from '@cairn/db';
import { newEntityId } from '@cairn/events';
import { findProjection, silentLogger, startProjector } from '@cairn/projector';
import {
  aNewEvent,
  aRunMetricsLogged,
  aRunStarted,
  appendEvents,
  createTestDatabase,
  randomWorkspaceId,
} from '@cairn/testing';
import { retentionCommand } from '../src/retention.ts';

let handle: DbHandle;
let url: string;
let dropDb: () => Promise<void>;
let stopProjector: () => Promise<void>;

beforeAll(async () => {
  const database = await createTestDatabase();
  dropDb = database.drop;
  url = database.url;
  handle = createDb(url, { maxConnections: 6 });
  const p = await startProjector({
    db: handle.db,
    transport: { kind: 'postgres' },
    logger: silentLogger,
    projections: ['runs', 'traces', 'retention'].map((n) => findProjection(n)!),
    auditChain: false,
  });
  stopProjector = () => p.stop();
});

afterAll(async () => {
  await stopProjector?.();
  await handle?.destroy();
  await dropDb?.();
});

async function cli(args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await retentionCommand(['retention', ...args], {
    log: (l) => (stdout += `${l}\n`),
    err: (l) => (stderr += `${l}\n`),
  });
  return { code, stdout, stderr };
}

async function points(w: string): Promise<number> {
  const rows = await handle.db
    .selectFrom('metric_points')
    .select('step')
    .where('workspace_id', '=', w)
    .execute();
  return rows.length;
}

async function until(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('timed out');
}

describe('cairn retention apply', () => {
  it('drops the old metric points of the workspace, once', async () => {
    const w = randomWorkspaceId();
    const runId = newEntityId();
    const old = Date.now() - 30 * 86_400_000;
    await appendEvents(handle.db, w, `run-${runId}`, 'run', [
      aRunStarted({ runId }),
      aRunMetricsLogged({
        runId,
        metrics: [
          { step: 0, timestamp: old },
          { step: 1, timestamp: old },
          { step: 2, timestamp: Date.now() },
        ],
      }),
    ]);
    await appendEvents(handle.db, w, 'retention-policy', 'retention', [
      aNewEvent('RetentionPolicySet', { traceDays: null, metricDays: 7 }),
    ]);
    await until(async () => (await points(w)) === 3);
    await until(
      async () =>
        (await handle.db
          .selectFrom('retention_policies')
          .select('workspace_id')
          .where('workspace_id', '=', w)
          .executeTakeFirst()) !== undefined,
    );

    const first = await cli(['apply', '--database-url', url, '--workspace', w]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('dropped 2 metric point(s), 1 event(s)');
    expect(await points(w)).toBe(1);
    const events = await handle.db
      .selectFrom('events')
      .select(['type', 'actor'])
      .where('workspace_id', '=', w)
      .where('type', '=', 'MetricPointsPurged')
      .execute();
    expect(events).toHaveLength(1);
    expect(events[0]!.actor).toMatch(/^cli:/);

    const second = await cli(['apply', '--database-url', url, '--workspace', w]);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('0 event(s)');
  });

  it('usage errors exit 2', async () => {
    expect((await cli(['purge'])).code).toBe(2);
    expect((await cli(['apply', '--bogus'])).code).toBe(2);
    expect((await cli(['--help'])).code).toBe(0);
  });
});
