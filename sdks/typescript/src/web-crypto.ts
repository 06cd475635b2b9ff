/**
 * The Web Crypto API as both runtimes offer it (`globalThis.crypto`: Node 20+, browsers), typed
 * structurally so that neither DOM nor Node typings are needed: random UUIDs and sha256.
 */
import { FailedPreconditionError } from './errors.ts';

interface WebCrypto {
  randomUUID?: () => string;
  getRandomValues<T extends Uint8Array>(array: T): T;
  subtle?: { digest(algorithm: string, data: Uint8Array<ArrayBuffer>): Promise<ArrayBuffer> };
}

function webCrypto(): WebCrypto {
  const crypto = (globalThis as { crypto?: WebCrypto }).crypto;
  if (!crypto)
    throw new FailedPreconditionError(
      'The Web Crypto API (globalThis.crypto) is not available',
      'FAILED_PRECONDITION',
    );
  return crypto;
}

/** A random UUID (v4): `crypto.randomUUID` where it exists (Node, secure browser contexts), else
 * from `crypto.getRandomValues` (plain-http pages). */
export function uuid(): string {
  const c = webCrypto();
  if (typeof c.randomUUID === 'function') return c.randomUUID();
  const b = c.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The lower-case hex sha256 of `bytes`. */
export async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const subtle = webCrypto().subtle;
  if (!subtle)
    throw new FailedPreconditionError(
      'crypto.subtle is not available: browsers offer it only in secure contexts (https:// or http://localhost)',
      'FAILED_PRECONDITION',
    );
  const digest = new Uint8Array(await subtle.digest('SHA-256', bytes));
  let hex = '';
  for (const b of digest) hex += b.toString(16).padStart(2, '0');
  return hex;
}
