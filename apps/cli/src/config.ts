import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

export interface CliConfig {
  command: string[];
  port: number;
  host: string;
  home: string;
  databaseUrl: string | null;
  kafkaBrokers: string[] | null;
  verbose: boolean;
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const USAGE = `Usage: cairn <command> [options]

Commands:
  server                       Local mode: API + projector + web on one port, embedded PostgreSQL
                               (or an external one with --database-url; Kafka with --kafka-brokers)
  api                          Scale mode: the GraphQL API only (needs --database-url)
  projector                    Scale mode: the projectors only (Kafka consumer groups with
                               --kafka-brokers, else tailing the Postgres log)
  relay                        Scale mode: publish the event log to Kafka (needs both URLs)
  migrate                      Apply database migrations and exit
  projections rebuild [name]   Rebuild read models from the event log (all, or one projection)
  projections status           Show each projection's lag and dead letters

Options:
  --port <n>             HTTP port (default 4680, env CAIRN_PORT)
  --host <addr>          Address to bind (default 127.0.0.1, env CAIRN_HOST)
  --home <dir>           Data directory for local mode (default ~/.cairn, env CAIRN_HOME)
  --database-url <url>   External PostgreSQL (env CAIRN_DATABASE_URL)
  --kafka-brokers <list> Comma-separated Kafka brokers (env CAIRN_KAFKA_BROKERS)
  --verbose              More logs
  -h, --help             This help`;

export function parseConfig(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): CliConfig | 'help' {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      home: { type: 'string' },
      'database-url': { type: 'string' },
      'kafka-brokers': { type: 'string' },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help || positionals.length === 0) return 'help';
  const portText = values.port ?? env.CAIRN_PORT ?? '4680';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`Invalid port "${portText}"`);
  const brokers = values['kafka-brokers'] ?? env.CAIRN_KAFKA_BROKERS ?? null;
  return {
    command: positionals,
    port,
    host: values.host ?? env.CAIRN_HOST ?? '127.0.0.1',
    home: path.resolve(values.home ?? env.CAIRN_HOME ?? path.join(os.homedir(), '.cairn')),
    databaseUrl: values['database-url'] ?? env.CAIRN_DATABASE_URL ?? null,
    kafkaBrokers: brokers
      ? brokers
          .split(',')
          .map((b) => b.trim())
          .filter(Boolean)
      : null,
    verbose: values.verbose ?? false,
  };
}
