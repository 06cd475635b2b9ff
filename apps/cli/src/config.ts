import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { artifactStoreConfigFromEnv, type ArtifactStoreConfig } from '@cairn/artifacts';
import {
  DEFAULT_MAX_OTLP_BODY_BYTES,
  MaskRuleError,
  parseMaskRules,
  type HttpSecurityOptions,
  type MaskRule,
} from '@cairn/api';
import {
  authConfig,
  SECURITY_OPTIONS,
  SECURITY_USAGE,
  securityConfig,
  type AuthConfig,
} from './security-flags.ts';
import { ACCESS_OPTIONS, ACCESS_USAGE, accessFlags, type AccessFlags } from './access.ts';
import { OIDC_OPTIONS, OIDC_USAGE, oidcConfig } from './oidc-flags.ts';
import type { OidcConfig } from '@cairn/api';

export interface CliConfig {
  command: string[];
  port: number;
  host: string;
  home: string;
  databaseUrl: string | null;
  kafkaBrokers: string[] | null;
  /** Where artifact bytes go (default file://<home>/artifacts). */
  artifacts: ArtifactStoreConfig;
  /** Largest artifact upload request (one file, or one part of a multipart upload). */
  maxUploadBytes: number;
  /** Multipart uploads not completed within this time are aborted (default 24 h). */
  artifactUploadTtlMs: number;
  /** Largest OTLP/HTTP trace request body, counted after decompression. */
  maxOtlpBodyBytes: number;
  /** Masking rules from --trace-mask-rules (applied after the default rules). */
  traceMaskRules: MaskRule[];
  /** --allowed-hosts, --cors-allowed-origins, --ws-max-payload-bytes (security-flags.ts). */
  security: HttpSecurityOptions;
  /** --auth (CAIRN_AUTH) and --insecure-no-auth (security-flags.ts, docs/auth.md). */
  auth: AuthConfig;
  /** --oidc-* (oidc-flags.ts, docs/auth.md "OIDC login"); null: password login only. */
  oidc: OidcConfig | null;
  /** Flags of `cairn keys|users|workspaces …` (access.ts). */
  access: AccessFlags;
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
  models serve -m <uri>        Serve an ONNX model over MLflow's scoring protocol, no Python
                               (cairn models serve --help; docs/deployment.md, "ONNX")
  audit verify | audit export  Check the log's hash chain; export the audit log (cairn audit -h)
  retention apply              One retention pass now (cairn retention -h; docs/governance.md)
${ACCESS_USAGE}

Options:
  --port <n>             HTTP port (default 4680, env CAIRN_PORT)
  --host <addr>          Address to bind (default 127.0.0.1, env CAIRN_HOST)
  --home <dir>           Data directory for local mode (default ~/.cairn, env CAIRN_HOME)
  --database-url <url>   External PostgreSQL (env CAIRN_DATABASE_URL)
  --kafka-brokers <list> Comma-separated Kafka brokers (env CAIRN_KAFKA_BROKERS)
  --artifact-store <url> Artifact storage: file:///dir or s3://bucket/prefix
                         (default file://<home>/artifacts, env CAIRN_ARTIFACT_STORE; S3 keys from
                         AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_REGION or the AWS chain)
  --s3-endpoint <url>    S3-compatible endpoint, e.g. http://127.0.0.1:8333 (env CAIRN_S3_ENDPOINT)
  --s3-path-style        Path-style S3 addressing (default on with --s3-endpoint; env
                         CAIRN_S3_PATH_STYLE=1|0)
  --max-upload-bytes <n> Largest artifact upload request, default 5368709120 (5 GiB)
  --artifact-upload-ttl-hours <n>
                         Multipart uploads not completed within this many hours are aborted and
                         their parts deleted, default 24 (env CAIRN_ARTIFACT_UPLOAD_TTL_HOURS)
                         (env CAIRN_MAX_UPLOAD_BYTES)
  --max-otlp-body-bytes <n>
                         Largest OTLP trace request (POST /v1/traces) after decompression,
                         default 16777216 (16 MiB) (env CAIRN_MAX_OTLP_BODY_BYTES)
  --trace-mask-rules <file>
                         JSON list of {"pattern", "replacement"} masking rules applied to span
                         attributes before storage, after the defaults (API keys, Bearer tokens,
                         AWS key ids) (env CAIRN_TRACE_MASK_RULES)
${SECURITY_USAGE}
${OIDC_USAGE}
  --verbose              More logs
  -h, --help             This help

Probes of cairn projector and cairn relay (docs/scale-mode.md), environment only:
  CAIRN_HEALTH_PORT            Serve GET /healthz and /readyz on this port (default: none)
  CAIRN_HEALTH_HOST            Its bind address (default 0.0.0.0)

Webhooks (docs/webhooks.md), environment only:
  CAIRN_SECRET_KEY             Server key sealing webhook secrets: base64 of 32 bytes (default:
                               <home>/secret.key, created once, mode 0600; scale mode: set it,
                               the same on every api and projector process)
  CAIRN_WEBHOOK_ALLOWED_HOSTS  Comma-separated hosts webhooks may target (*.example.com allowed)
  CAIRN_WEBHOOK_MAX_ATTEMPTS, CAIRN_WEBHOOK_RETRY_BASE_MS, CAIRN_WEBHOOK_TIMEOUT_MS
                               Retry schedule (8 attempts, 10 s doubling) and POST deadline (10 s)
  CAIRN_WEBHOOK_DELIVERY_RETENTION_DAYS
                               Finished deliveries older than this are deleted (default 30)`;

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
      'artifact-store': { type: 'string' },
      's3-endpoint': { type: 'string' },
      's3-path-style': { type: 'boolean' },
      'max-upload-bytes': { type: 'string' },
      'artifact-upload-ttl-hours': { type: 'string' },
      'max-otlp-body-bytes': { type: 'string' },
      'trace-mask-rules': { type: 'string' },
      ...SECURITY_OPTIONS,
      ...OIDC_OPTIONS,
      ...ACCESS_OPTIONS,
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
  const home = path.resolve(values.home ?? env.CAIRN_HOME ?? path.join(os.homedir(), '.cairn'));
  const artifacts = artifactStoreConfigFromEnv(env, home);
  if (values['artifact-store']) artifacts.url = values['artifact-store'];
  if (values['s3-endpoint']) artifacts.s3Endpoint = values['s3-endpoint'];
  if (values['s3-path-style'] !== undefined) artifacts.s3PathStyle = values['s3-path-style'];
  const maxUploadText = values['max-upload-bytes'] ?? env.CAIRN_MAX_UPLOAD_BYTES ?? '5368709120';
  const maxUploadBytes = Number(maxUploadText);
  if (!Number.isSafeInteger(maxUploadBytes) || maxUploadBytes < 1)
    throw new UsageError(`Invalid --max-upload-bytes "${maxUploadText}"`);
  const ttlText =
    values['artifact-upload-ttl-hours'] ?? env.CAIRN_ARTIFACT_UPLOAD_TTL_HOURS ?? '24';
  const ttlHours = Number(ttlText);
  if (!Number.isFinite(ttlHours) || ttlHours <= 0 || ttlHours > 24 * 365)
    throw new UsageError(
      `Invalid --artifact-upload-ttl-hours "${ttlText}": give a number of hours above 0, at most 8760`,
    );
  const maxOtlpText =
    values['max-otlp-body-bytes'] ??
    env.CAIRN_MAX_OTLP_BODY_BYTES ??
    String(DEFAULT_MAX_OTLP_BODY_BYTES);
  const maxOtlpBodyBytes = Number(maxOtlpText);
  if (!Number.isSafeInteger(maxOtlpBodyBytes) || maxOtlpBodyBytes < 1)
    throw new UsageError(`Invalid --max-otlp-body-bytes "${maxOtlpText}"`);
  const maskRulesFile = values['trace-mask-rules'] ?? env.CAIRN_TRACE_MASK_RULES;
  const traceMaskRules = maskRulesFile ? loadMaskRules(maskRulesFile) : [];
  const host = values.host ?? (env.CAIRN_HOST?.trim() || '127.0.0.1');
  const serves = positionals[0] === 'server' || positionals[0] === 'api';
  const auth = authConfig(values, env, { host, serves }, (message) => new UsageError(message));
  return {
    command: positionals,
    access: accessFlags(values),
    port,
    host,
    home,
    databaseUrl: values['database-url'] ?? env.CAIRN_DATABASE_URL ?? null,
    kafkaBrokers: brokers
      ? brokers
          .split(',')
          .map((b) => b.trim())
          .filter(Boolean)
      : null,
    artifacts,
    maxUploadBytes,
    artifactUploadTtlMs: Math.round(ttlHours * 3_600_000),
    maxOtlpBodyBytes,
    traceMaskRules,
    security: securityConfig(values, env, (message) => new UsageError(message)),
    auth,
    oidc: serves ? oidcConfig(values, env, (message) => new UsageError(message)) : null,
    verbose: values.verbose ?? false,
  };
}

/** Reads and compiles a --trace-mask-rules file; any problem refuses to start (UsageError). */
function loadMaskRules(file: string): MaskRule[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(
      `Cannot read --trace-mask-rules file ${file}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  try {
    return parseMaskRules(text, `--trace-mask-rules ${file}`);
  } catch (error) {
    if (error instanceof MaskRuleError) throw new UsageError(error.message);
    throw error;
  }
}
