import { createHash } from 'node:crypto';
import { ArtifactTooLargeError, ChecksumMismatchError, type StoredObject } from './store.ts';

/**
 * Counts and hashes bytes as they stream through; more than `limit` bytes make the stream fail
 * with ArtifactTooLargeError as soon as the limit is crossed.
 */
export class HashingCounter {
  private readonly hash = createHash('sha256');
  size = 0;
  constructor(private readonly limit = Number.POSITIVE_INFINITY) {}

  update(chunk: Buffer): void {
    this.size += chunk.length;
    if (this.size > this.limit) throw new ArtifactTooLargeError(this.limit);
    this.hash.update(chunk);
  }

  /** Wraps a source so that everything read from it is counted and hashed. */
  async *through(source: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer> {
    for await (const raw of source) {
      const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
      this.update(chunk);
      yield chunk;
    }
  }

  /** The digest; ChecksumMismatchError when it differs from `expectedSha256`. Call once. */
  result(expectedSha256?: string): StoredObject {
    const sha256 = this.hash.digest('hex');
    if (expectedSha256 !== undefined && expectedSha256.toLowerCase() !== sha256)
      throw new ChecksumMismatchError(expectedSha256.toLowerCase(), sha256);
    return { size: this.size, sha256 };
  }
}
