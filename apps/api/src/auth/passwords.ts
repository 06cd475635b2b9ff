import { randomBytes } from 'node:crypto';
import { argon2id, argon2Verify } from 'hash-wasm';
import { CairnError } from '../errors.ts';

/**
 * Argon2id with OWASP's minimum parameters (Password Storage Cheat Sheet: m = 19 MiB, t = 2,
 * p = 1), a 16-byte random salt and a 32-byte hash, stored as a PHC string
 * (`$argon2id$v=19$m=19456,t=2,p=1$…`), so parameters can be raised later and old hashes still
 * verify. hash-wasm runs Argon2 in WebAssembly: no native build, no install script.
 */
export const ARGON2_PARAMS = { memorySize: 19_456, iterations: 2, parallelism: 1, hashLength: 32 };

/** Password length bounds (bytes of UTF-8): long passphrases yes, megabyte inputs no. */
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 256;

export function validatePassword(password: string): void {
  const bytes = Buffer.byteLength(password, 'utf8');
  if (bytes < PASSWORD_MIN_LENGTH || bytes > PASSWORD_MAX_LENGTH)
    throw new CairnError(
      'INVALID_ARGUMENT',
      `A password must be ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} bytes long`,
      { field: 'password' },
    );
  if (password.includes('\0'))
    throw new CairnError('INVALID_ARGUMENT', 'A password must not contain NUL', {
      field: 'password',
    });
}

export async function hashPassword(password: string): Promise<string> {
  return argon2id({
    password,
    salt: randomBytes(16),
    ...ARGON2_PARAMS,
    outputType: 'encoded',
  });
}

export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  try {
    return await argon2Verify({ password, hash });
  } catch {
    return false;
  }
}

let dummy: Promise<string> | null = null;
/**
 * A hash to verify against when the user is unknown or has no password, so that a failed login
 * costs the same time whatever the reason.
 */
export function dummyPasswordHash(): Promise<string> {
  dummy ??= hashPassword(randomBytes(24).toString('base64url'));
  return dummy;
}
