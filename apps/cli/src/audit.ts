/**
 * `cairn audit verify` and `cairn audit export` (docs/governance.md). Own flags, parsed here;
 * the database flags (--home, --database-url, --verbose) are the server's.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import type { Kysely } from 'kysely';
import { CairnError, exportAuditLog, exportFilter, parseExportFormat } from '@cairn/api';
import { createDb, migrateToLatest, type DB } from '@cairn/db';
import { consoleLogger, verifyAuditChain, type Logger } from '@cairn/projector';
import { parseConfig, UsageError } from './config.ts';
import { openDatabase } from './database.ts';

export const AUDIT_USAGE = `Usage:
  cairn audit verify [--home <dir> | --database-url <url>] [--from <position>] [--workspace <id>]
      Recompute the hash chain over the event log from the events as stored; exit 0 when every
      sealed event matches, 1 naming the first broken position.
  cairn audit export [--home <dir> | --database-url <url>] --workspace <id> [--format jsonl|csv]
      [--out <file>] [--actor <a>] [--type <T>]… [--domain <d>] [--stream <id>]
      [--since <ISO time>] [--until <ISO time>]
      The workspace's audit log, newest first, as JSON lines (default) or CSV, to stdout or a file.`;

type Out = { log: (line: string) => void; err: (line: string) => void };

function positiveInt(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`--${name} must be a position ≥ 0`);
  return n;
}

/** Exit codes: 0 clean (or exported), 1 broken chain, 2 usage, 3 failure (database, I/O). */
export async function auditCommand(argv: string[], out: Out = consoleOut): Promise<number> {
  try {
    return await audit(argv, out);
  } catch (error) {
    if (error instanceof UsageError) {
      out.err(error.message);
      return 2;
    }
    out.err(`cairn audit failed: ${error instanceof Error ? error.message : String(error)}`);
    return 3;
  }
}

async function audit(argv: string[], out: Out): Promise<number> {
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
        from: { type: 'string' },
        workspace: { type: 'string' },
        format: { type: 'string' },
        out: { type: 'string' },
        actor: { type: 'string' },
        type: { type: 'string', multiple: true },
        domain: { type: 'string' },
        stream: { type: 'string' },
        since: { type: 'string' },
        until: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    out.err(error instanceof Error ? error.message : String(error));
    out.err(AUDIT_USAGE);
    return 2;
  }
  const sub = positionals[1];
  if (values.help || (sub !== 'verify' && sub !== 'export')) {
    (values.help ? out.log : out.err)(AUDIT_USAGE);
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
  try {
    await migrateToLatest(handle.db);
    if (sub === 'verify') {
      const started = performance.now();
      const result = await verifyAuditChain(handle.db, {
        from: positiveInt('from', values.from),
        workspaceId: values.workspace,
        onProgress: (n, p) => out.err(`  verified ${n} events… (position ${p})`),
      });
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      if (result.broken) {
        const b = result.broken;
        const what = {
          changed: 'its stored bytes differ from what was sealed',
          missing: 'the sealed event is gone from the log',
          unsealed: 'the event is behind the sealed boundary but not in the chain (inserted later)',
          'out-of-sequence': 'the chain itself has a gap or was rewritten',
        }[b.reason];
        out.log(
          `audit chain BROKEN at position ${b.globalPosition} (workspace ${b.workspaceId}, stream ${b.streamId}, type ${b.type}): ${what}`,
        );
        out.log(`verified ${result.verified} events before the break`);
        return 1;
      }
      out.log(
        `verified ${result.verified} events up to position ${result.lastPosition} (${result.heads.length} workspace chains, ${seconds} s)`,
      );
      for (const h of result.heads) out.log(`  head ${h.workspaceId} #${h.seq} ${h.hash}`);
      return 0;
    }
    return await exportCommand(handle.db, values, out);
  } finally {
    await handle.destroy();
    await database.stop();
  }
}

const consoleOut: Out = {
  log: (line) => console.log(line),
  err: (line) => console.error(line),
};

/** `cairn audit export`: the workspace's audit log to stdout or --out, in keyset pages. */
async function exportCommand(
  db: Kysely<DB>,
  values: {
    workspace?: string;
    format?: string;
    out?: string;
    actor?: string;
    type?: string[];
    domain?: string;
    stream?: string;
    since?: string;
    until?: string;
  },
  out: Out,
): Promise<number> {
  if (!values.workspace) throw new UsageError('cairn audit export needs --workspace <id>');
  let format;
  let filter;
  try {
    format = parseExportFormat(values.format);
    filter = exportFilter({
      actor: values.actor,
      types: values.type,
      domain: values.domain,
      streamId: values.stream,
      from: values.since,
      to: values.until,
    });
  } catch (error) {
    if (error instanceof CairnError) throw new UsageError(error.message);
    throw error;
  }
  const target: Writable = values.out ? createWriteStream(values.out) : process.stdout;
  let entries = 0;
  try {
    const chunks = exportAuditLog(db, values.workspace, filter, format, {
      onEntries: (n) => (entries += n),
    });
    for await (const chunk of chunks) {
      if (!target.write(chunk)) await once(target, 'drain');
    }
  } catch (error) {
    if (error instanceof CairnError) throw new UsageError(error.message);
    throw error;
  } finally {
    if (values.out) await new Promise<void>((resolve) => target.end(resolve));
  }
  out.err(
    `exported ${entries} entries of workspace ${values.workspace}${values.out ? ` to ${values.out}` : ''}`,
  );
  return 0;
}
