import path from 'node:path';
import { LocalArtifactStore } from './local-store.ts';
import { S3ArtifactStore } from './s3-store.ts';
import type { ArtifactStore } from './store.ts';

export interface ArtifactStoreConfig {
  /** `file:///abs/dir`, a plain absolute directory, or `s3://bucket/prefix`. */
  url: string;
  /** For s3: an S3-compatible endpoint (CAIRN_S3_ENDPOINT). */
  s3Endpoint?: string;
  /** For s3: path-style addressing (CAIRN_S3_PATH_STYLE; default on when an endpoint is set). */
  s3PathStyle?: boolean;
  s3Region?: string;
  /** For s3: explicit keys; otherwise the AWS SDK's default chain. */
  s3Credentials?: { accessKeyId: string; secretAccessKey: string };
}

export function defaultArtifactStoreUrl(cairnHome: string): string {
  return `file://${path.join(cairnHome, 'artifacts')}`;
}

/**
 * The store settings from the environment: CAIRN_ARTIFACT_STORE, CAIRN_S3_ENDPOINT,
 * CAIRN_S3_PATH_STYLE, AWS_REGION, AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
 */
export function artifactStoreConfigFromEnv(
  env: NodeJS.ProcessEnv,
  cairnHome: string,
): ArtifactStoreConfig {
  const pathStyle = env.CAIRN_S3_PATH_STYLE;
  return {
    url: env.CAIRN_ARTIFACT_STORE || defaultArtifactStoreUrl(cairnHome),
    s3Endpoint: env.CAIRN_S3_ENDPOINT || undefined,
    s3PathStyle:
      pathStyle === undefined || pathStyle === ''
        ? undefined
        : !['0', 'false', 'no'].includes(pathStyle.toLowerCase()),
    s3Region: env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined,
    s3Credentials:
      env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
        ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY }
        : undefined,
  };
}

/** Builds the store a URL names; a clear error for anything else. */
export function createArtifactStore(config: ArtifactStoreConfig): ArtifactStore {
  const { url } = config;
  if (url.startsWith('s3://')) {
    const rest = url.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash === -1 ? rest : rest.slice(0, slash);
    const prefix = slash === -1 ? '' : rest.slice(slash + 1);
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket))
      throw new Error(`Invalid artifact store "${url}": "${bucket}" is not a valid S3 bucket name`);
    return new S3ArtifactStore({
      bucket,
      prefix,
      endpoint: config.s3Endpoint,
      region: config.s3Region,
      forcePathStyle: config.s3PathStyle ?? config.s3Endpoint !== undefined,
      credentials: config.s3Credentials,
    });
  }
  let dir: string;
  if (url.startsWith('file://')) dir = decodeURIComponent(new URL(url).pathname);
  else if (path.isAbsolute(url)) dir = url;
  else
    throw new Error(
      `Invalid artifact store "${url}": use file:///absolute/dir, an absolute directory or s3://bucket/prefix`,
    );
  return new LocalArtifactStore(path.resolve(dir));
}
