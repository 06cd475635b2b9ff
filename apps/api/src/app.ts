import type http from 'node:http';
import { createDb, type DbHandle } from '@cairn/db';
import { uuidv7 } from '@cairn/events';
import type { KafkaTransport } from '@cairn/kafka';
import { generateSecretKey, SecretBox } from '@cairn/secrets';
import { OPEN_HOST_POLICY, type WebhookHostPolicy } from '@cairn/net-policy';
import type { Logger } from '@cairn/logging';
import type { ArtifactRoutesOptions } from './artifacts/artifact-routes.ts';
import { startUploadSweeper } from './artifacts/upload-sweeper.ts';
import { OnlineEvaluator } from './evaluation/online-evaluator.ts';
import { retentionIntervalFromEnv, startRetentionWorker } from './governance/retention-worker.ts';
import {
  JudgeClient,
  judgeOptionsFromEnv,
  type JudgeClientOptions,
} from './evaluation/scorers/judge-client.ts';
import { createReadiness } from './http/readiness.ts';
import type { HttpSecurityOptions } from './http/request-guard.ts';
import { createApiServer } from './http/server.ts';
import type { AuthOptions } from './auth/principal.ts';
import { waitForAccessProjections } from './auth/access-catch-up.ts';
import {
  quotasFromEnv,
  StorageQuota,
  storageQuotaFromEnv,
  VolumeQuotas,
  type QuotaConfig,
} from './auth/quotas.ts';
import { workspaceArtifactBytes } from './artifacts/artifacts.queries.ts';
import {
  configureDeploymentTargets,
  stopDeploymentTargets,
} from './deployments/targets/registry.ts';
import type { OidcConfig } from './auth/oidc.ts';
import type { BackoffPolicy } from './auth/session-routes.ts';
import { createSessionStore, DEFAULT_SESSION_POLICY, type SessionPolicy } from './auth/sessions.ts';
import type { OtlpRouteOptions } from './tracing/otlp-route.ts';
import type {
  BackgroundComponent,
  ProjectorRuntime,
  WebhookRetryPolicy,
} from './projector-port.ts';
import { ChangeListener } from './write/projection-waiter.ts';
import type { ServiceDeps } from './write/services.ts';
import type { HistoricalReader } from './governance/time-travel.ts';

// What `cairn` needs to configure trace ingest (flags `--max-otlp-body-bytes`, `--trace-mask-rules`).
export { DEFAULT_MAX_OTLP_BODY_BYTES, type OtlpRouteOptions } from './tracing/otlp-route.ts';
export { MaskRuleError, maskRules, parseMaskRules, type MaskRule } from './tracing/masking.ts';

export interface CairnAppOptions {
  /** A migrated database. */
  handle: DbHandle;
  /** Its connection string (the change listener holds its own connection). */
  databaseUrl: string;
  /** Kafka transport (scale mode); null for the postgres transport. */
  kafka: KafkaTransport | null;
  logger: Logger;
  /**
   * The read side, through its port (the API does not import the projector app): the CLI and
   * the test harnesses pass the projector's `projectorRuntime`. Needed even without
   * `withProjector` (readiness reports the projections' lag).
   */
  projectorRuntime: ProjectorRuntime;
  /** Run the projectors in this process (`cairn server`); `cairn api` leaves them out. */
  withProjector: boolean;
  /** Run the Kafka relay in this process (needs `kafka`). */
  withRelay: boolean;
  port: number;
  host: string;
  readYourWritesTimeoutMs?: number;
  fallback?: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  /** The artifact store and upload limit; without it the artifact routes are not served. */
  artifacts?: ArtifactRoutesOptions;
  /** Webhook secrets and delivery (see docs/webhooks.md). */
  webhooks?: CairnWebhookOptions;
  /** OTLP/HTTP trace ingest: body limit, masking rules (default: the default rules). */
  otlp?: OtlpRouteOptions;
  /** Allowed hosts and origins, graphql-ws limits (the bound host is always allowed). */
  security?: HttpSecurityOptions;
  /** The online evaluation consumer (docs/evaluation.md, "Online evaluation"). */
  evaluation?: CairnEvaluationOptions;
  /** Dashboard sessions (docs/auth.md, "Users and sessions"). */
  sessions?: CairnSessionOptions;
  /** Authentication (docs/auth.md): `{ mode: 'off' | 'required' }`, default off. */
  auth?: AuthOptions;
  /** Volume quotas over CAIRN_QUOTA_* (docs/auth.md, "Rate limits and quotas"). */
  quotas?: Partial<QuotaConfig>;
  /** Artifact bytes per workspace over CAIRN_QUOTA_STORAGE_BYTES (0: none). */
  storageQuotaBytes?: number;
  /**
   * `asOf` reads (docs/governance.md, "Time travel"): `new HistoricalStateReader(handle.db)` of
   * the projector app, passed in by the CLI and the test harness; absent: `asOf` is UNAVAILABLE.
   */
  history?: HistoricalReader;
  /**
   * Milliseconds between retention passes where the projectors run (docs/governance.md,
   * "Retention"); default CAIRN_RETENTION_INTERVAL_MS, else 1 h; 0: no worker.
   */
  retentionIntervalMs?: number;
}

export interface CairnSessionOptions {
  /** `--public-url`: an https address makes the session cookie `Secure`. */
  publicUrl?: string | null;
  /** Idle and absolute session lifetimes (default 12 h / 7 d). */
  policy?: Partial<SessionPolicy>;
  /** Failed-login backoff (tests shorten it). */
  backoff?: Partial<BackoffPolicy>;
  /** OIDC login (`--oidc-issuer …`; docs/auth.md, "OIDC login"); absent: password only. */
  oidc?: OidcConfig | null;
}

export interface CairnEvaluationOptions {
  /**
   * Run the online evaluation consumer here. Default: `CAIRN_ONLINE_EVALUATION` (1/true, 0/false)
   * when set, else where the projectors run.
   */
  online?: boolean;
  /** Judge endpoint and retry policy (default from CAIRN_JUDGE_BASE_URL / OPENAI_*). */
  judge?: Partial<JudgeClientOptions>;
  /** Events per round, traces scored at once, idle sleep (see OnlineEvaluatorOptions). */
  batchSize?: number;
  maxInFlightTraces?: number;
  idleMs?: number;
}

export interface CairnWebhookOptions {
  /**
   * The server key (32 bytes) that seals webhook signing secrets; every process of one
   * deployment needs the same. Absent: a random key for this process only (tests), logged.
   */
  secretKey?: Buffer;
  hostPolicy?: WebhookHostPolicy;
  retry?: Partial<WebhookRetryPolicy>;
  /** Deadline of one POST (default 10 s). */
  timeoutMs?: number;
  /** Longest sender sleep when no new-delivery notice arrives (default 2 s). */
  idlePollMs?: number;
  /** Finished deliveries older than this are deleted (default 30 days; docs/webhooks.md). */
  deliveryRetentionMs?: number;
}

export interface CairnApp {
  url: string;
  server: http.Server;
  relay: BackgroundComponent | null;
  projector: BackgroundComponent | null;
  onlineEvaluator: OnlineEvaluator | null;
  /** The command services of this app (the CLI and tests create users through them). */
  deps: ServiceDeps;
  /** Stops what this app started, in reverse order; the handle and Kafka stay the caller's. */
  stop(): Promise<void>;
}

/** `CAIRN_ONLINE_EVALUATION`: 1/true or 0/false; unset, the consumer runs with the projectors. */
function onlineFromEnv(value: string | undefined, fallback: boolean): boolean {
  if (value === undefined || value.trim() === '') return fallback;
  const v = value.trim().toLowerCase();
  if (v === '1' || v === 'true') return true;
  if (v === '0' || v === 'false') return false;
  throw new Error(`CAIRN_ONLINE_EVALUATION must be 1, true, 0 or false, not "${value}"`);
}

/**
 * Wires one Cairn process: relay and projectors (when asked), the change listener, and the
 * HTTP server with GraphQL, subscriptions and health. `cairn server`, `cairn api` and the test
 * harness all start through here, so they cannot drift apart.
 */
export async function startCairnApp(opts: CairnAppOptions): Promise<CairnApp> {
  const { handle, kafka, logger, projectorRuntime } = opts;
  const cleanups: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      await cleanup().catch((error: unknown) => logger.error('error during shutdown', error));
    }
  };
  try {
    let relay: BackgroundComponent | null = null;
    if (opts.withRelay) {
      if (!kafka) throw new Error('startCairnApp: the relay needs a Kafka transport');
      const r = projectorRuntime.startRelay({ db: handle.db, pool: handle.pool, kafka, logger });
      cleanups.push(() => r.stop());
      relay = r;
    }
    let secretKey = opts.webhooks?.secretKey;
    if (!secretKey) {
      secretKey = generateSecretKey();
      logger.info('webhooks: no server secret key given; using a random key for this process');
    }
    const hostPolicy = opts.webhooks?.hostPolicy ?? OPEN_HOST_POLICY;
    let projector: BackgroundComponent | null = null;
    if (opts.withProjector) {
      const p = await projectorRuntime.startProjector({
        db: handle.db,
        transport: kafka ? { kind: 'kafka', kafka } : { kind: 'postgres' },
        // Local mode: the projections get a thread (and a core) of their own.
        threadDatabaseUrl: kafka ? undefined : opts.databaseUrl,
        logger,
        webhooks: {
          secretKey,
          pool: handle.pool,
          hostPolicy,
          retry: opts.webhooks?.retry,
          timeoutMs: opts.webhooks?.timeoutMs,
          idlePollMs: opts.webhooks?.idlePollMs,
          deliveryRetentionMs: opts.webhooks?.deliveryRetentionMs,
        },
      });
      cleanups.push(() => p.stop());
      projector = p;
      // Local mode: no request is answered before keys, members and users reflect the whole log.
      if (!kafka)
        await waitForAccessProjections(
          handle.db,
          (db, names) => projectorRuntime.projectionLags(db, names),
          logger,
        );
    }
    const changes = new ChangeListener(opts.databaseUrl, handle.db);
    await changes.start();
    cleanups.push(() => changes.stop());
    let onlineEvaluator: OnlineEvaluator | null = null;
    const deps: ServiceDeps = {
      db: handle.db,
      changes,
      decideContext: { now: () => new Date(), newId: uuidv7 },
      onAppended: (events) => {
        projector?.wake();
        relay?.wake();
        onlineEvaluator?.wake();
        const last = events.at(-1);
        if (last) changes.announceAppended(last.workspaceId, last.streamId, last.streamPosition);
      },
      readYourWritesTimeoutMs: opts.readYourWritesTimeoutMs ?? 5000,
      // The Kafka transport keeps no log checkpoint for the traces projection.
      tracesCheckpoint: kafka ? null : projectorRuntime.checkpointOf('traces'),
      webhooks: { secrets: new SecretBox(secretKey), hostPolicy },
      quotas: new VolumeQuotas({ ...quotasFromEnv(), ...opts.quotas }),
      storage: new StorageQuota(opts.storageQuotaBytes ?? storageQuotaFromEnv(), (ws) =>
        workspaceArtifactBytes(handle.db, ws),
      ),
      ...(opts.history ? { history: opts.history } : {}),
    };
    if (
      opts.evaluation?.online ??
      onlineFromEnv(process.env.CAIRN_ONLINE_EVALUATION, opts.withProjector)
    ) {
      // A pool of its own: scoring never takes the API's connections, and holds its lock here.
      const own = createDb(opts.databaseUrl, {
        maxConnections: 6,
        applicationName: 'cairn-online-evaluation',
      });
      cleanups.push(() => own.destroy());
      const e = new OnlineEvaluator({
        deps: { ...deps, db: own.db },
        logger,
        pool: own.pool,
        judge: new JudgeClient({ ...judgeOptionsFromEnv(), ...opts.evaluation?.judge }),
        batchSize: opts.evaluation?.batchSize,
        maxInFlightTraces: opts.evaluation?.maxInFlightTraces,
        idleMs: opts.evaluation?.idleMs,
      });
      e.start();
      cleanups.push(() => e.stop());
      onlineEvaluator = e;
    }
    const api = createApiServer({
      deps,
      logger,
      readiness: createReadiness(handle.db, kafka, projectorRuntime),
      fallback: opts.fallback,
      artifacts: opts.artifacts,
      otlp: opts.otlp,
      security: { boundHost: opts.host, ...opts.security },
      auth: opts.auth,
      sessions: {
        sessions: createSessionStore(handle.db, {
          ...DEFAULT_SESSION_POLICY,
          ...opts.sessions?.policy,
        }),
        publicUrl: opts.sessions?.publicUrl ?? null,
        ...(opts.sessions?.backoff ? { backoff: opts.sessions.backoff } : {}),
        ...(opts.sessions?.oidc ? { oidc: opts.sessions.oidc } : {}),
      },
    });
    await new Promise<void>((resolve, reject) => {
      api.server.once('error', reject);
      api.server.listen(opts.port, opts.host, () => resolve());
    });
    cleanups.push(() => api.close());
    if (opts.artifacts && opts.artifacts.uploadTtlMs !== false) {
      const ttlMs = opts.artifacts.uploadTtlMs;
      cleanups.push(
        startUploadSweeper(opts.artifacts.store, logger, ttlMs === undefined ? {} : { ttlMs }),
      );
    }
    const retentionMs =
      opts.retentionIntervalMs ?? retentionIntervalFromEnv(process.env.CAIRN_RETENTION_INTERVAL_MS);
    if (opts.withProjector && retentionMs > 0)
      cleanups.push(startRetentionWorker(deps, logger, retentionMs));
    const address = api.server.address();
    const port = typeof address === 'object' && address ? address.port : opts.port;
    const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
    // Scoring servers of the `local` deployment target reach this server at its own address and
    // are stopped with it (docs/deployment.md, "Targets").
    await configureDeploymentTargets(deps, { trackingUri: `http://${host}:${port}` });
    cleanups.push(() => stopDeploymentTargets(deps));
    return {
      url: `http://${host}:${port}`,
      server: api.server,
      relay,
      projector,
      onlineEvaluator,
      deps,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
