/**
 * The multipart checks (sha256 on complete, upload expiry) with the S3 store, against a real
 * S3-compatible server (SeaweedFS, started by @cairn/testing/s3-server).
 */
import { createArtifactStore, type ArtifactStore } from '@cairn/artifacts';
import { startS3Server, type S3TestServer } from '@cairn/testing/s3-server';
import { afterAll, beforeAll } from 'vitest';
import { createTestDatabase } from '@cairn/testing';
import { startApiHarness, type ApiHarness } from '../helpers/api-harness.ts';
import { uploadChecksSuite } from './upload-checks-suite.ts';

let s3: S3TestServer;
let store: ArtifactStore;
let api: ApiHarness;
let dropDb: () => Promise<void>;

beforeAll(async () => {
  s3 = await startS3Server();
  store = createArtifactStore({
    url: `s3://${s3.bucket}/upload-checks`,
    s3Endpoint: s3.endpoint,
    s3Region: s3.region,
    s3Credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
  const database = await createTestDatabase();
  dropDb = database.drop;
  api = await startApiHarness({ databaseUrl: database.url, artifactStore: store });
}, 15 * 60_000);

afterAll(async () => {
  await api?.stop();
  await store?.close();
  await dropDb?.();
  await s3?.stop();
});

uploadChecksSuite('S3 on SeaweedFS', () => ({ store, api }));
