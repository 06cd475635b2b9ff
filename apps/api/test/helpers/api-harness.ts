/**
 * Starts the API in-process for tests through startCairnApp, the composition `cairn server`
 * uses: the projector (postgres log tailers, or Kafka consumer groups fed by an in-process
 * KafkaRelay), the change listener and the HTTP server on a free port.
 *
 * Not a stand-in for anything: real Postgres (createTestDatabase), real broker (startKafkaBroker).
 */
import type { Kysely } from 'kysely';
import { createDb, type DB, type DbHandle } from '@cairn/db';
import { createKafkaTransport, type KafkaConfig, type KafkaTransport } from '@cairn/kafka';
import { projectorRuntime, type Logger } from '@cairn/projector';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalArtifactStore, type ArtifactStore } from '@cairn/artifacts';
import { HistoricalStateReader } from '@cairn/projector';
import {
  startCairnApp,
  type BackgroundComponent,
  type CairnSessionOptions,
  type ServiceDeps,
  type CairnWebhookOptions,
  type HttpSecurityOptions,
} from '../../src/index.ts';

export interface GqlError {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: string; [key: string]: unknown };
}

export interface GqlResponse<T> {
  data?: T | null;
  errors?: GqlError[];
}

export interface ApiHarnessOptions {
  /** A migrated database, e.g. `createTestDatabase().url`. */
  databaseUrl: string;
  /** Default 'postgres' (local mode). 'kafka' needs `kafkaBrokers`. */
  transport?: 'postgres' | 'kafka';
  kafkaBrokers?: string[];
  /** Overrides for the Kafka transport (retry bounds, logger). */
  kafkaConfig?: Partial<KafkaConfig>;
  /** Sent as `x-cairn-workspace` unless a call passes its own headers. */
  workspaceId?: string;
  /** Default 5000 ms, as in `cairn server`. */
  readYourWritesTimeoutMs?: number;
  /** Default: a capturing logger (see `errors`). */
  logger?: Logger;
  maxConnections?: number;
  /** Called with the SQL of every query the API's DB handle runs. */
  onQuery?: (sql: string) => void;
  /** Default: a local-filesystem store in a fresh temporary directory (removed on stop). */
  artifactStore?: ArtifactStore;
  /** Largest artifact upload request (default as in `cairn server`, 5 GiB). */
  maxUploadBytes?: number;
  /** Webhook key, target policy and retry schedule (tests use short delays). */
  webhooks?: CairnWebhookOptions;
  /** Allowed hosts and origins, graphql-ws limits (default as in `cairn server`). */
  security?: HttpSecurityOptions;
  /** Session lifetimes and failed-login backoff (docs/auth.md). */
  sessions?: CairnSessionOptions;
  /** Authentication mode (docs/auth.md); default off. */
  auth?: { mode: 'off' | 'required' };
  /** Points / spans per second quotas (docs/auth.md); default as in `cairn server`. */
  quotas?: { pointsPerSecond?: number; spansPerSecond?: number; burstSeconds?: number };
  /** Artifact bytes per workspace (CAIRN_QUOTA_STORAGE_BYTES); default none. */
  storageQuotaBytes?: number;
}

export interface ApiHarness {
  url: string;
  db: Kysely<DB>;
  handle: DbHandle;
  kafka: KafkaTransport | null;
  relay: BackgroundComponent | null;
  artifactStore: ArtifactStore;
  /** The app's command services (create users, …). */
  deps: ServiceDeps;
  /** Error lines the components reported (when the default logger is used). */
  errors: string[];
  gql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    headers?: Record<string, string>,
  ): Promise<GqlResponse<T>>;
  /** GET a path of the server (e.g. /readyz) and parse its JSON. */
  getJson<T = unknown>(path: string): Promise<{ status: number; body: T }>;
  stop(): Promise<void>;
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `: ${error.name}: ${error.message}`;
  const text = String(error);
  return error ? `: ${text}` : '';
}

function capturingLogger(errors: string[]): Logger {
  return {
    info: () => undefined,
    error: (message, error) => errors.push(`${message}${describeError(error)}`),
  };
}

export async function startApiHarness(opts: ApiHarnessOptions): Promise<ApiHarness> {
  const errors: string[] = [];
  const logger = opts.logger ?? capturingLogger(errors);
  const cleanups: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      await cleanup().catch((error: unknown) => logger.error('harness: error during stop', error));
    }
  };
  try {
    const handle = createDb(opts.databaseUrl, {
      maxConnections: opts.maxConnections ?? 20,
      applicationName: 'cairn-api-harness',
      onQuery: opts.onQuery,
    });
    cleanups.push(() => handle.destroy());

    let kafka: KafkaTransport | null = null;
    if ((opts.transport ?? 'postgres') === 'kafka') {
      if (!opts.kafkaBrokers?.length)
        throw new Error('startApiHarness: the kafka transport needs kafkaBrokers');
      const k = createKafkaTransport({
        clientId: 'cairn-api-harness',
        ...opts.kafkaConfig,
        brokers: opts.kafkaBrokers,
      });
      cleanups.push(() => k.close());
      kafka = k;
    }
    let artifactStore = opts.artifactStore;
    if (!artifactStore) {
      const dir = await mkdtemp(path.join(tmpdir(), 'cairn-artifacts-'));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      artifactStore = new LocalArtifactStore(dir);
    }
    // Wired exactly as `cairn server` wires it.
    const app = await startCairnApp({
      handle,
      databaseUrl: opts.databaseUrl,
      kafka,
      logger,
      projectorRuntime,
      withProjector: true,
      withRelay: kafka !== null,
      history: new HistoricalStateReader(handle.db),
      port: 0,
      host: '127.0.0.1',
      readYourWritesTimeoutMs: opts.readYourWritesTimeoutMs,
      artifacts: { store: artifactStore, maxUploadBytes: opts.maxUploadBytes },
      webhooks: opts.webhooks,
      security: opts.security,
      sessions: opts.sessions,
      ...(opts.auth ? { auth: opts.auth } : {}),
      ...(opts.quotas ? { quotas: opts.quotas } : {}),
      ...(opts.storageQuotaBytes !== undefined
        ? { storageQuotaBytes: opts.storageQuotaBytes }
        : {}),
    });
    cleanups.push(() => app.stop());
    const { url, relay } = app;

    const defaultHeaders: Record<string, string> = opts.workspaceId
      ? { 'x-cairn-workspace': opts.workspaceId }
      : {};

    return {
      url,
      db: handle.db,
      handle,
      kafka,
      relay,
      artifactStore,
      deps: app.deps,
      errors,
      async gql<T>(
        query: string,
        variables: Record<string, unknown> = {},
        headers?: Record<string, string>,
      ) {
        const response = await fetch(`${url}/graphql`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json',
            ...(headers ?? defaultHeaders),
          },
          body: JSON.stringify({ query, variables }),
        });
        const text = await response.text();
        try {
          return JSON.parse(text) as GqlResponse<T>;
        } catch {
          return {
            errors: [
              {
                message: `HTTP ${response.status}: ${text.slice(0, 500)}`,
                extensions: { code: 'TRANSPORT' },
              },
            ],
          };
        }
      },
      async getJson<T>(path: string) {
        const response = await fetch(`${url}${path}`);
        return { status: response.status, body: (await response.json()) as T };
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
