import path from 'node:path';
import { startEmbeddedPostgres } from '@cairn/embedded-pg';
import type { Logger } from '@cairn/projector';
import type { CliConfig } from './config.ts';

export interface OpenedDatabase {
  url: string;
  description: string;
  stop: () => Promise<void>;
}

/** An external PostgreSQL when configured, else the embedded one under CAIRN_HOME. */
export async function openDatabase(cfg: CliConfig, logger: Logger): Promise<OpenedDatabase> {
  if (cfg.databaseUrl) {
    return {
      url: cfg.databaseUrl,
      description: 'in external PostgreSQL',
      stop: () => Promise.resolve(),
    };
  }
  const dataDir = path.join(cfg.home, 'postgres');
  const pg = await startEmbeddedPostgres({
    dataDir,
    log: cfg.verbose ? (line) => logger.info(`postgres: ${line}`) : undefined,
  });
  await pg.ensureDatabase('cairn');
  return {
    url: pg.connectionString('cairn'),
    description: `in ${dataDir} (embedded PostgreSQL)`,
    stop: () => pg.stop(),
  };
}
