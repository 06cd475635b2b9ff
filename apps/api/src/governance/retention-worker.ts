import { uuidv7 } from '@cairn/events';
import type { Logger } from '@cairn/logging';
import type { Caller } from '../write/command-handler.ts';
import type { ServiceDeps } from '../write/services.ts';
import { applyRetention } from './retention.commands.ts';

/** Time between retention passes unless CAIRN_RETENTION_INTERVAL_MS says otherwise (1 h). */
export const DEFAULT_RETENTION_INTERVAL_MS = 3_600_000;

/** `CAIRN_RETENTION_INTERVAL_MS`: milliseconds between passes; 0 turns the worker off. */
export function retentionIntervalFromEnv(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return DEFAULT_RETENTION_INTERVAL_MS;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new Error(
      `CAIRN_RETENTION_INTERVAL_MS must be a whole number of milliseconds (0: off), not "${value}"`,
    );
  return n;
}

/** The actor of the worker's events (the audit log shows it). */
export const RETENTION_ACTOR = 'system:retention';

/** One pass over every workspace with a policy; returns the events appended. */
export async function runRetentionPass(deps: ServiceDeps, logger: Logger): Promise<number> {
  const rows = await deps.db.selectFrom('retention_policies').select('workspace_id').execute();
  let events = 0;
  for (const { workspace_id: workspaceId } of rows) {
    const caller: Caller = {
      workspaceId,
      metadata: { actor: RETENTION_ACTOR, correlationId: uuidv7(), causationId: null },
    };
    try {
      const r = await applyRetention(deps, caller);
      events += r.events;
      if (r.events > 0)
        logger.info(
          `retention: workspace ${workspaceId}: purged ${r.tracesPurged} trace(s), dropped ${r.metricPointsPurged} metric point(s)`,
        );
    } catch (error) {
      logger.error(`retention: workspace ${workspaceId} failed`, error);
    }
  }
  return events;
}

/**
 * The API process's retention worker (docs/governance.md, "Retention"), started by
 * startCairnApp where the projectors run: every interval, one pass over the workspaces with a
 * policy (passes never overlap). Returns the stop function, which waits for a pass in progress.
 */
export function startRetentionWorker(
  deps: ServiceDeps,
  logger: Logger,
  intervalMs: number,
): () => Promise<void> {
  let running: Promise<void> | null = null;
  const timer = setInterval(() => {
    running ??= runRetentionPass(deps, logger)
      .then(() => undefined)
      .catch((error: unknown) => logger.error('retention pass failed', error))
      .finally(() => {
        running = null;
      });
  }, intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
