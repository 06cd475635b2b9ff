import { fileURLToPath } from 'node:url';
import { maskRules, startCairnApp } from '@cairn/api';
import { createDb, migrateToLatest, type DbHandle } from '@cairn/db';
import { createKafkaTransport, type KafkaTransport } from '@cairn/kafka';
import {
  allProjections,
  consoleLogger,
  findProjection,
  KafkaRelay,
  projectionLags,
  projectorRuntime,
  rebuildProjection,
  startProjector,
  type Logger,
} from '@cairn/projector';
import { parseConfig, USAGE, UsageError, type CliConfig } from './config.ts';
import { isLoopbackHost } from './security-flags.ts';
import { openDatabase, type OpenedDatabase } from './database.ts';
import { landingPage } from './landing-page.ts';
import { createStaticHandler } from './web-static.ts';
import { webhookOptions } from './webhooks.ts';
import { accessCommand } from './access.ts';
import { auditCommand } from './audit.ts';
import { retentionCommand } from './retention.ts';
import { createArtifactStore } from '@cairn/artifacts';
import { HistoricalStateReader } from '@cairn/projector';
import { healthPortFromEnv, startHealthServer } from './health-server.ts';

type Cleanup = () => Promise<void>;

/** The dashboard's static export: CAIRN_WEB_ROOT, else apps/web/out of this checkout. */
function webRoot(): string {
  return process.env.CAIRN_WEB_ROOT ?? fileURLToPath(new URL('../../web/out', import.meta.url));
}

/** Runs cleanups in reverse order on SIGINT/SIGTERM; a second signal forces the exit. */
function onShutdown(logger: Logger, cleanups: Cleanup[]): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      logger.info('forced exit');
      process.exit(130);
    }
    stopping = true;
    logger.info(`${signal} received, shutting down…`);
    void (async () => {
      for (const cleanup of [...cleanups].reverse()) {
        try {
          await cleanup();
        } catch (error) {
          logger.error('error during shutdown', error);
        }
      }
      logger.info('stopped');
      process.exit(0);
    })();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

async function connect(
  cfg: CliConfig,
  logger: Logger,
  cleanups: Cleanup[],
): Promise<{ database: OpenedDatabase; handle: DbHandle }> {
  const database = await openDatabase(cfg, logger);
  cleanups.push(database.stop);
  const handle = createDb(database.url, { maxConnections: 20 });
  cleanups.push(() => handle.destroy());
  const applied = await migrateToLatest(handle.db);
  if (applied.length > 0) logger.info(`applied migrations: ${applied.join(', ')}`);
  return { database, handle };
}

function kafkaFor(cfg: CliConfig, cleanups: Cleanup[]): KafkaTransport | null {
  if (!cfg.kafkaBrokers) return null;
  const kafka = createKafkaTransport({ brokers: cfg.kafkaBrokers, clientId: 'cairn' });
  cleanups.push(() => kafka.close());
  return kafka;
}

/**
 * `--auth` (docs/auth.md, "Running a server"). parseConfig already refused auth off on a
 * non-loopback host without --insecure-no-auth; here the warning for that case.
 */
function authPreflight(cfg: CliConfig): void {
  if (cfg.auth.mode === 'off' && !isLoopbackHost(cfg.host))
    console.error(
      `WARNING: serving ${cfg.host} WITHOUT AUTHENTICATION (--insecure-no-auth): anyone who can reach this address can read and change every workspace. Use --auth required unless a proxy in front authenticates every request.`,
    );
}

async function startApp(
  cfg: CliConfig,
  database: OpenedDatabase,
  handle: DbHandle,
  kafka: KafkaTransport | null,
  logger: Logger,
  cleanups: Cleanup[],
  role: { withProjector: boolean; withRelay: boolean },
): Promise<string> {
  authPreflight(cfg);
  const store = createArtifactStore(cfg.artifacts);
  cleanups.push(() => store.close());
  const app = await startCairnApp({
    handle,
    databaseUrl: database.url,
    kafka,
    logger,
    // The CLI composes the apps: the API gets the read side through its port.
    projectorRuntime,
    history: new HistoricalStateReader(handle.db),
    ...role,
    port: cfg.port,
    host: cfg.host,
    fallback: createStaticHandler(webRoot(), { whenMissing: landingPage }),
    webhooks: webhookOptions(cfg.home, logger, {
      scaleRole: cfg.databaseUrl !== null,
      host: cfg.host,
    }),
    artifacts: {
      store,
      maxUploadBytes: cfg.maxUploadBytes,
      uploadTtlMs: cfg.artifactUploadTtlMs,
    },
    otlp: { maxBodyBytes: cfg.maxOtlpBodyBytes, maskRules: maskRules(cfg.traceMaskRules) },
    security: cfg.security,
    auth: { mode: cfg.auth.mode },
    ...(cfg.oidc ? { sessions: { oidc: cfg.oidc } } : {}),
  });
  if (cfg.oidc)
    logger.info(
      `OIDC login: issuer ${cfg.oidc.issuer}, client ${cfg.oidc.clientId}${cfg.oidc.clientSecret ? ' (with a client secret)' : ' (public client)'}`,
    );
  cleanups.push(() => app.stop());
  logger.info(`artifacts: ${store.description}`);
  return app.url;
}

async function server(cfg: CliConfig, logger: Logger, cleanups: Cleanup[]): Promise<void> {
  const started = performance.now();
  const { database, handle } = await connect(cfg, logger, cleanups);
  const kafka = kafkaFor(cfg, cleanups);
  const url = await startApp(cfg, database, handle, kafka, logger, cleanups, {
    withProjector: true,
    withRelay: kafka !== null,
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  logger.info(`${kafka ? 'scale' : 'local'} mode, data ${database.description}`);
  console.log(
    `Cairn is running at ${url} (ready in ${seconds} s). GraphQL: ${url}/graphql. Press Ctrl-C to stop.`,
  );
}

/**
 * The projector's and the relay's probes (they serve no HTTP otherwise): CAIRN_HEALTH_PORT
 * opens /healthz and /readyz (ready: the database answers; health-server.ts, infra/k8s).
 */
async function healthPort(
  role: string,
  handle: DbHandle,
  cleanups: Cleanup[],
  details: () => Record<string, unknown>,
): Promise<void> {
  const port = healthPortFromEnv();
  if (port === null) return;
  const health = await startHealthServer({
    port,
    role,
    check: async () => {
      await handle.pool.query('SELECT 1');
      return { database: 'ok', ...details() };
    },
  });
  cleanups.push(() => health.stop());
  console.log(`health: /healthz and /readyz on port ${health.port}`);
}

async function projectionsCommand(
  cfg: CliConfig,
  logger: Logger,
  cleanups: Cleanup[],
): Promise<void> {
  const [, sub, name] = cfg.command;
  const { handle } = await connect(cfg, logger, cleanups);
  if (sub === 'rebuild') {
    const targets = name ? [findProjection(name)] : allProjections;
    if (targets.some((p) => p === undefined)) {
      throw new UsageError(
        `Unknown projection "${name}". Known: ${allProjections.map((p) => p.name).join(', ')}`,
      );
    }
    for (const projection of targets) {
      const t0 = performance.now();
      let last = 0;
      const result = await rebuildProjection(handle.db, projection!, {
        onProgress: ({ events }) => {
          if (events - last >= 20_000) {
            last = events;
            console.log(`  ${projection!.name}: ${events} events…`);
          }
        },
      });
      console.log(
        `rebuilt ${result.projection}: ${result.events} events in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      );
    }
    return;
  }
  if (sub === 'status') {
    const lags = await projectionLags(handle.db);
    const dead = await handle.db
      .selectFrom('dead_letters')
      .select(['projection', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('projection')
      .execute();
    for (const lag of lags) {
      const d = dead.find((x) => x.projection === lag.projection)?.n ?? 0;
      console.log(
        `${lag.projection.padEnd(16)} lag ${lag.events} events (${lag.seconds.toFixed(1)} s), ${d} dead letters`,
      );
    }
    return;
  }
  throw new UsageError('Usage: cairn projections rebuild [name] | cairn projections status');
}

export async function main(argv: string[]): Promise<void> {
  // `cairn models serve`: the ONNX scoring server, with its own flags (models-serve.ts)
  if (argv[0] === 'models') {
    const { modelsCommand } = await import('./models-serve.ts');
    process.exit(await modelsCommand(argv.slice(1)));
  }
  if (argv[0] === 'audit') process.exit(await auditCommand(argv));
  if (argv[0] === 'retention') process.exit(await retentionCommand(argv));
  let cfg: CliConfig | 'help';
  try {
    cfg = parseConfig(argv);
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    console.error(USAGE);
    process.exit(2);
  }
  if (cfg === 'help') {
    console.log(USAGE);
    return;
  }
  const base = consoleLogger('cairn');
  // Commands whose stdout is their answer (a new key, a user id) log on stderr only.
  const logger: Logger = ['keys', 'users', 'workspaces'].includes(cfg.command[0] ?? '')
    ? {
        info: (message) => console.error(`[cairn] ${message}`),
        error: (message, error) => base.error(message, error),
      }
    : base;
  const cleanups: Cleanup[] = [];
  const finish = async () => {
    for (const cleanup of [...cleanups].reverse()) await cleanup().catch(() => undefined);
  };
  try {
    switch (cfg.command[0]) {
      case 'server':
        onShutdown(logger, cleanups);
        await server(cfg, logger, cleanups);
        return;
      case 'api': {
        if (!cfg.databaseUrl)
          throw new UsageError('cairn api needs --database-url (or CAIRN_DATABASE_URL)');
        onShutdown(logger, cleanups);
        const { database, handle } = await connect(cfg, logger, cleanups);
        const url = await startApp(
          cfg,
          database,
          handle,
          kafkaFor(cfg, cleanups),
          logger,
          cleanups,
          {
            withProjector: false,
            withRelay: false,
          },
        );
        console.log(`Cairn API at ${url}/graphql`);
        return;
      }
      case 'projector': {
        if (!cfg.databaseUrl)
          throw new UsageError('cairn projector needs --database-url (or CAIRN_DATABASE_URL)');
        onShutdown(logger, cleanups);
        const { handle } = await connect(cfg, logger, cleanups);
        const kafka = kafkaFor(cfg, cleanups);
        const webhooks = webhookOptions(cfg.home, logger, { scaleRole: true, host: cfg.host });
        const projector = await startProjector({
          db: handle.db,
          transport: kafka ? { kind: 'kafka', kafka } : { kind: 'postgres' },
          logger,
          webhooks: { ...webhooks, pool: handle.pool },
        });
        cleanups.push(() => projector.stop());
        await healthPort('projector', handle, cleanups, () => ({
          transport: kafka ? 'kafka' : 'postgres',
        }));
        console.log(`Cairn projector running (${kafka ? 'kafka' : 'postgres'} transport)`);
        return;
      }
      case 'relay': {
        if (!cfg.databaseUrl || !cfg.kafkaBrokers)
          throw new UsageError('cairn relay needs --database-url and --kafka-brokers');
        onShutdown(logger, cleanups);
        const { handle } = await connect(cfg, logger, cleanups);
        const relay = new KafkaRelay(handle.db, handle.pool, kafkaFor(cfg, cleanups)!, { logger });
        relay.start();
        cleanups.push(() => relay.stop());
        await healthPort('relay', handle, cleanups, () => ({ active: relay.active }));
        console.log('Cairn relay running (active when it holds the relay lock; standby otherwise)');
        return;
      }
      case 'migrate': {
        await connect(cfg, logger, cleanups);
        console.log('database is migrated');
        await finish();
        return;
      }
      case 'projections':
        await projectionsCommand(cfg, logger, cleanups);
        await finish();
        return;
      case 'keys':
      case 'users':
      case 'workspaces': {
        const { database, handle } = await connect(cfg, logger, cleanups);
        await accessCommand(
          cfg.command,
          cfg.access,
          { handle, url: database.url, owns: cfg.databaseUrl === null },
          logger,
        );
        await finish();
        return;
      }
      default:
        throw new UsageError(`Unknown command "${cfg.command.join(' ')}"`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(error.message);
      console.error(USAGE);
    } else {
      logger.error('failed', error);
    }
    await finish();
    process.exit(error instanceof UsageError ? 2 : 1);
  }
}
