import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createArtifactStore, LocalArtifactStore, S3ArtifactStore } from '@cairn/artifacts';
import { parseConfig, UsageError, type CliConfig } from '../src/config.ts';

function parse(argv: string[], env: NodeJS.ProcessEnv = {}): CliConfig {
  const cfg = parseConfig(['server', ...argv], env);
  if (cfg === 'help') throw new Error('help');
  return cfg;
}

describe('artifact store configuration', () => {
  it('defaults to the local filesystem under the home directory, 5 GiB uploads', () => {
    const cfg = parse(['--home', '/tmp/cairn-home']);
    expect(cfg.artifacts.url).toBe(`file://${path.join('/tmp/cairn-home', 'artifacts')}`);
    expect(cfg.maxUploadBytes).toBe(5 * 1024 ** 3);
    const store = createArtifactStore(cfg.artifacts);
    expect(store).toBeInstanceOf(LocalArtifactStore);
    expect(store.description).toBe('file:///tmp/cairn-home/artifacts');
  });

  it('takes S3 settings from flags over the environment', () => {
    const env = {
      CAIRN_ARTIFACT_STORE: 's3://env-bucket/p',
      CAIRN_S3_ENDPOINT: 'http://127.0.0.1:1',
      AWS_ACCESS_KEY_ID: 'id',
      AWS_SECRET_ACCESS_KEY: 'secret',
      AWS_REGION: 'eu-west-1',
      CAIRN_MAX_UPLOAD_BYTES: '1000',
    };
    const fromEnv = parse([], env);
    expect(fromEnv.artifacts).toEqual({
      url: 's3://env-bucket/p',
      s3Endpoint: 'http://127.0.0.1:1',
      s3PathStyle: undefined,
      s3Region: 'eu-west-1',
      s3Credentials: { accessKeyId: 'id', secretAccessKey: 'secret' },
    });
    expect(fromEnv.maxUploadBytes).toBe(1000);
    const fromFlags = parse(
      [
        '--artifact-store',
        's3://flag-bucket/x/y',
        '--s3-endpoint',
        'http://h:2',
        '--s3-path-style',
      ],
      env,
    );
    expect(fromFlags.artifacts.url).toBe('s3://flag-bucket/x/y');
    expect(fromFlags.artifacts.s3Endpoint).toBe('http://h:2');
    expect(fromFlags.artifacts.s3PathStyle).toBe(true);
    const store = createArtifactStore(fromFlags.artifacts);
    expect(store).toBeInstanceOf(S3ArtifactStore);
    expect(store.description).toBe('s3://flag-bucket/x/y at http://h:2');
  });

  it('aborts abandoned multipart uploads after 24 h, or the hours given', () => {
    expect(parse([]).artifactUploadTtlMs).toBe(24 * 3_600_000);
    expect(parse(['--artifact-upload-ttl-hours', '0.5']).artifactUploadTtlMs).toBe(1_800_000);
    expect(parse([], { CAIRN_ARTIFACT_UPLOAD_TTL_HOURS: '48' }).artifactUploadTtlMs).toBe(
      48 * 3_600_000,
    );
    for (const bad of ['0', '-1', 'soon', '9000'])
      expect(() => parse(['--artifact-upload-ttl-hours', bad])).toThrow(
        /--artifact-upload-ttl-hours/,
      );
  });

  it('refuses bad settings with a clear message', () => {
    expect(() => parse(['--max-upload-bytes', 'lots'])).toThrow(UsageError);
    expect(() => parse(['--max-upload-bytes=0'])).toThrow(UsageError);
    expect(() => createArtifactStore({ url: 'relative/dir' })).toThrow(/file:\/\/\/absolute/);
    expect(() => createArtifactStore({ url: 's3://Bad_Bucket/x' })).toThrow(/bucket name/);
  });
});
