import { randomBytes } from 'node:crypto';

/**
 * uuidv7 (RFC 9562): 48-bit unix millisecond timestamp, then random bits. Monotonic within
 * one process: a counter in rand_a breaks ties inside one millisecond.
 */
export function createUuidV7Generator(now: () => number = Date.now): () => string {
  let lastMs = -1;
  let counter = 0;
  return () => {
    let ms = now();
    if (ms <= lastMs) {
      ms = lastMs;
      counter += 1;
      if (counter > 0xfff) {
        ms = lastMs + 1;
        counter = 0;
      }
    } else {
      counter = 0;
    }
    lastMs = ms;
    const bytes = randomBytes(16);
    bytes.writeUIntBE(ms, 0, 6);
    bytes[6] = 0x70 | ((counter >> 8) & 0x0f);
    bytes[7] = counter & 0xff;
    bytes[8] = 0x80 | ((bytes[8] ?? 0) & 0x3f);
    const hex = bytes.toString('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  };
}

export const uuidv7: () => string = createUuidV7Generator();

/** Entity ids (experiments, runs) are uuidv7 without dashes: 32 hex characters, like MLflow run ids. */
export function newEntityId(generate: () => string = uuidv7): string {
  return generate().replaceAll('-', '');
}

export const ENTITY_ID_PATTERN = /^[0-9a-f]{32}$/;
