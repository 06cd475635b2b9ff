import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const KEY_BYTES = 32;
const IV_BYTES = 12;
const KEY_FILE = 'secret.key';

/** A sealed value cannot be opened: wrong server key, or the value was tampered with. */
export class SecretBoxError extends Error {
  override readonly name = 'SecretBoxError';
}

/**
 * Seals short secrets (webhook signing secrets) with the server key, AES-256-GCM. Sealed form:
 * `v1.<key id>.<iv>.<tag>.<ciphertext>` (base64url parts); the key id (first 16 hex digits of
 * the key's SHA-256) makes "sealed with another key" a clear error instead of a garbled secret.
 * The associated data binds a sealed value to its owner (`webhook:<id>`), so it cannot be
 * copied onto another webhook.
 */
export class SecretBox {
  readonly keyId: string;

  constructor(private readonly key: Buffer) {
    if (key.length !== KEY_BYTES)
      throw new SecretBoxError(`the server secret key must be ${KEY_BYTES} bytes`);
    this.keyId = createHash('sha256').update(key).digest('hex').slice(0, 16);
  }

  seal(plaintext: string, associatedData: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(associatedData, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return ['v1', this.keyId, iv, tag, ciphertext]
      .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
      .join('.');
  }

  open(sealed: string, associatedData: string): string {
    const [version, keyId, iv, tag, ciphertext] = sealed.split('.');
    if (version !== 'v1' || !keyId || !iv || !tag || ciphertext === undefined)
      throw new SecretBoxError('not a sealed secret');
    if (keyId !== this.keyId)
      throw new SecretBoxError(
        `secret was sealed with another server key (key id ${keyId}, this server has ${this.keyId})`,
      );
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(associatedData, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([
        decipher.update(Buffer.from(ciphertext, 'base64url')),
        decipher.final(),
      ]).toString('utf8');
    } catch {
      throw new SecretBoxError('sealed secret failed authentication');
    }
  }
}

/** A base64 (or base64url) encoding of exactly 32 bytes. */
export function parseSecretKey(text: string, source = 'CAIRN_SECRET_KEY'): Buffer {
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed))
    throw new SecretBoxError(`${source} is not base64`);
  const key = Buffer.from(trimmed.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (key.length !== KEY_BYTES)
    throw new SecretBoxError(`${source} must encode ${KEY_BYTES} bytes, got ${key.length}`);
  return key;
}

export function generateSecretKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

export interface ResolvedSecretKey {
  key: Buffer;
  /** Where it came from, for the logs (never the key itself). */
  source: string;
}

/**
 * The server key: `CAIRN_SECRET_KEY` (base64 of 32 bytes) when set; otherwise the key file
 * `<home>/secret.key`, created once with mode 0600 (local mode). Processes that share a database
 * must share the key (scale mode: set CAIRN_SECRET_KEY on every api and projector process).
 */
export function resolveSecretKey(opts: {
  envValue: string | undefined;
  home: string;
}): ResolvedSecretKey {
  if (opts.envValue !== undefined && opts.envValue.trim() !== '')
    return { key: parseSecretKey(opts.envValue), source: 'CAIRN_SECRET_KEY' };
  const file = path.join(opts.home, KEY_FILE);
  fs.mkdirSync(opts.home, { recursive: true, mode: 0o700 });
  try {
    // 'wx': exactly one of several processes starting at once creates it.
    fs.writeFileSync(file, `${generateSecretKey().toString('base64')}\n`, {
      mode: 0o600,
      flag: 'wx',
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const stat = fs.statSync(file);
  if ((stat.mode & 0o077) !== 0) fs.chmodSync(file, 0o600);
  return { key: parseSecretKey(fs.readFileSync(file, 'utf8'), file), source: file };
}

/** A new webhook signing secret: 32 random bytes, base64url, with a recognisable prefix. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

/** The associated data that binds a sealed signing secret to its webhook. */
export function webhookSecretContext(webhookId: string): string {
  return `webhook:${webhookId}`;
}
