import type { CairnWebhookOptions } from '@cairn/api';
import { parseAllowedHosts, resolveSecretKey, type Logger } from '@cairn/projector';
import { isLoopbackHost } from './security-flags.ts';

function positiveInt(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const text = env[name];
  if (text === undefined || text.trim() === '') return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer`);
  return n;
}

const days = (n: number | undefined) => (n === undefined ? undefined : n * 86_400_000);

/**
 * Webhook settings from the environment (docs/webhooks.md): the server key that seals signing
 * secrets (`CAIRN_SECRET_KEY`, else `<home>/secret.key`, created once with mode 0600), the target
 * allow-list and the retry schedule. `host`: the bound address (`--host`); beyond loopback,
 * loopback and private-network targets are refused unless the allow-list names them.
 */
export function webhookOptions(
  home: string,
  logger: Logger,
  opts: { scaleRole: boolean; host: string },
  env: NodeJS.ProcessEnv = process.env,
): Required<Pick<CairnWebhookOptions, 'secretKey'>> & CairnWebhookOptions {
  const { key, source } = resolveSecretKey({ envValue: env.CAIRN_SECRET_KEY, home });
  if (opts.scaleRole && source !== 'CAIRN_SECRET_KEY') {
    logger.info(
      `webhooks: CAIRN_SECRET_KEY is not set; using the key file ${source}. Every api and projector process must use the same key: set CAIRN_SECRET_KEY on all of them.`,
    );
  }
  return {
    secretKey: key,
    hostPolicy: {
      allowedHosts: parseAllowedHosts(env.CAIRN_WEBHOOK_ALLOWED_HOSTS),
      refusePrivate: !isLoopbackHost(opts.host),
    },
    retry: {
      maxAttempts: positiveInt(env, 'CAIRN_WEBHOOK_MAX_ATTEMPTS'),
      baseDelayMs: positiveInt(env, 'CAIRN_WEBHOOK_RETRY_BASE_MS'),
    },
    timeoutMs: positiveInt(env, 'CAIRN_WEBHOOK_TIMEOUT_MS'),
    deliveryRetentionMs: days(positiveInt(env, 'CAIRN_WEBHOOK_DELIVERY_RETENTION_DAYS')),
  };
}
