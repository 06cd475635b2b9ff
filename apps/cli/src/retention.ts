/**
 * `cairn retention apply` (docs/governance.md, "Retention"): one retention pass now, for one
 * workspace or every workspace with a policy. Own flags, parsed here; the database flags
 * (--home, --database-url, --verbose) are the server's.
 */
import { parseArgs } from 'node:util';
import {
  applyRetention,
  ChangeListener,
  runRetentionPass,
  type Caller,
  type ServiceDeps,
} from '@cairn/api';
import { createDb, migrateToLatest } from '@cairn/db';
import { uuidv7 } from '@cairn/events';
import { consoleLogger, findProjection, startProjector, type Logger } from '@cairn/projector';
import { parseConfig, UsageError } from './config.ts';
import { openDatabase } from './database.ts';

export const RETENTION_USAGE = `Usage:
  cairn retention apply [--home <dir> | --database-url <url>] [--workspace <id>]
      One retention pass now: purges the traces and drops the metric points older than the
      workspace's policy allows (TracesPurged / MetricPointsPurged events), for --workspace or
      every workspace with a policy. With --database-url the server's projectors apply the events
      (the command waits up to 10 s for them); on the embedded database it applies them itself.`;

/** The projections that apply the retention events. */
const RETENTION_PROJECTIONS = ['traces', 'runs', 'retention'] as const;

type Out = { log: (line: string) => void; err: (line: string) => void };

const consoleOut: Out = {
  log: (line) => console.log(line),
  err: (line) => console.error(line),
};

/** Exit codes: 0 done, 2 usage, 3 failure (database, a refused pass). */
export async function retentionCommand(argv: string[], out: Out = consoleOut): Promise<number> {
  try {
    return await retention(argv, out);
  } catch (error) {
    if (error instanceof UsageError) {
      out.err(error.message);
      return 2;
    }
    out.err(`cairn retention failed: ${error instanceof Error ? error.message : String(error)}`);
    return 3;
  }
}

async function retention(argv: string[], out: Out): Promise<number> {
  let values;
  let positionals;
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        home: { type: 'string' },
        'database-url': { type: 'string' },
        verbose: { type: 'boolean' },
        workspace: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    out.err(error instanceof Error ? error.message : String(error));
    out.err(RETENTION_USAGE);
    return 2;
  }
  if (values.help || positionals[1] !== 'apply') {
    (values.help ? out.log : out.err)(RETENTION_USAGE);
    return values.help ? 0 : 2;
  }
  const logger: Logger = {
    info: (m) => out.err(`[cairn] ${m}`),
    error: (m, e) => consoleLogger('cairn').error(m, e),
  };
  const shared = [
    'migrate',
    ...(values.home ? ['--home', values.home] : []),
    ...(values['database-url'] ? ['--database-url', values['database-url']] : []),
    ...(values.verbose ? ['--verbose'] : []),
  ];
  const cfg = parseConfig(shared);
  if (cfg === 'help') return 2;
  const database = await openDatabase(cfg, logger);
  const handle = createDb(database.url, { maxConnections: 4 });
  const changes = new ChangeListener(database.url, handle.db);
  let projector: Awaited<ReturnType<typeof startProjector>> | null = null;
  try {
    await migrateToLatest(handle.db);
    await changes.start();
    // The embedded database is the CLI's own (no server runs on it): apply the events here.
    if (cfg.databaseUrl === null)
      projector = await startProjector({
        db: handle.db,
        transport: { kind: 'postgres' },
        logger,
        projections: RETENTION_PROJECTIONS.map((name) => findProjection(name)!),
        auditChain: false,
      });
    const deps: ServiceDeps = {
      db: handle.db,
      changes,
      decideContext: { now: () => new Date(), newId: uuidv7 },
      onAppended: () => projector?.wake(),
      readYourWritesTimeoutMs: 10_000,
    };
    if (values.workspace) {
      const user = process.env.USER ?? process.env.LOGNAME ?? 'unknown';
      const caller: Caller = {
        workspaceId: values.workspace,
        metadata: { actor: `cli:${user}`, correlationId: uuidv7(), causationId: null },
      };
      const r = await applyRetention(deps, caller);
      out.log(
        `workspace ${values.workspace}: purged ${r.tracesPurged} trace(s), dropped ${r.metricPointsPurged} metric point(s), ${r.events} event(s)`,
      );
      return 0;
    }
    const events = await runRetentionPass(deps, logger);
    out.log(`retention pass: ${events} event(s) appended`);
    return 0;
  } finally {
    await projector?.stop();
    await changes.stop();
    await handle.destroy();
    await database.stop();
  }
}
