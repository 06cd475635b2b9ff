import type { ArtifactStore } from '@cairn/artifacts';
import type { Logger } from '@cairn/logging';

/** Abandoned multipart uploads are aborted this long after they started (24 h). */
export const DEFAULT_ARTIFACT_UPLOAD_TTL_MS = 24 * 60 * 60 * 1000;

export interface UploadSweeperOptions {
  /** Age past which an upload is abandoned (default DEFAULT_ARTIFACT_UPLOAD_TTL_MS). */
  ttlMs?: number;
  /** Time between sweeps (default: a tenth of the TTL, between 1 s and 1 h). */
  intervalMs?: number;
}

/**
 * The API process's sweeper of abandoned multipart uploads (docs/artifacts.md): every interval
 * it aborts the uploads older than the TTL and deletes their parts (local: the part directories;
 * S3: AbortMultipartUpload), logging how many. Returns the stop function, which waits for a
 * sweep in progress.
 */
export function startUploadSweeper(
  store: ArtifactStore,
  logger: Logger,
  opts: UploadSweeperOptions = {},
): () => Promise<void> {
  const ttlMs = opts.ttlMs ?? DEFAULT_ARTIFACT_UPLOAD_TTL_MS;
  if (!Number.isFinite(ttlMs) || ttlMs <= 0)
    throw new RangeError(`Artifact upload TTL must be a positive number of ms, got ${ttlMs}`);
  const intervalMs = opts.intervalMs ?? Math.min(3_600_000, Math.max(1000, ttlMs / 10));
  let running: Promise<void> | null = null;
  const sweep = async () => {
    try {
      const expired = await store.expireUploads(new Date(Date.now() - ttlMs));
      if (expired > 0)
        logger.info(
          `artifact uploads: aborted ${expired} abandoned multipart upload(s) older than ${Math.round(ttlMs / 1000)} s`,
        );
    } catch (error) {
      logger.error('artifact upload sweep failed', error);
    }
  };
  const timer = setInterval(() => {
    running ??= sweep().finally(() => {
      running = null;
    });
  }, intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
