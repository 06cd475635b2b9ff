/**
 * The same artifact suite with the S3 backend, against a real S3-compatible server (SeaweedFS,
 * started by @cairn/testing/s3-server; built by infra/s3/fetch.sh, which `npm test` runs first).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { createArtifactStore, type ArtifactStore } from '@cairn/artifacts';
import { createTestDatabase } from '@cairn/testing';
import { startS3Server, type S3TestServer } from '@cairn/testing/s3-server';
import { startApiHarness, type ApiHarness } from '../helpers/api-harness.ts';
import { artifactSuite, sha256, SUITE_MAX_UPLOAD_BYTES } from './artifact-suite.ts';

let s3: S3TestServer;
let store: ArtifactStore;
let api: ApiHarness;
let dropDb: () => Promise<void>;

beforeAll(async () => {
  s3 = await startS3Server();
  // Configured the way `cairn server` configures it: a URL plus endpoint and keys.
  store = createArtifactStore({
    url: `s3://${s3.bucket}/cairn-artifacts`,
    s3Endpoint: s3.endpoint,
    s3Region: s3.region,
    s3Credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
  const database = await createTestDatabase();
  dropDb = database.drop;
  api = await startApiHarness({
    databaseUrl: database.url,
    artifactStore: store,
    maxUploadBytes: SUITE_MAX_UPLOAD_BYTES,
  });
}, 15 * 60_000);

afterAll(async () => {
  await api?.stop();
  await store?.close();
  await dropDb?.();
  await s3?.stop();
});

it('stores on the S3 server (a store with wrong keys is refused by it)', async () => {
  expect(store.description).toBe(`s3://${s3.bucket}/cairn-artifacts at ${s3.endpoint}`);
  const scope = { workspaceId: 'w', runId: 'r' };
  const data = randomBytes(1000);
  expect(await store.put(scope, 'probe.bin', Readable.from([data]), { maxBytes: 1e6 })).toEqual({
    size: 1000,
    sha256: sha256(data),
  });
  expect(await store.stat(scope, 'probe.bin')).toEqual({ size: 1000 });
  const wrong = createArtifactStore({
    url: `s3://${s3.bucket}/cairn-artifacts`,
    s3Endpoint: s3.endpoint,
    s3Credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: 'not-the-secret' },
  });
  await expect(wrong.stat(scope, 'probe.bin')).rejects.toThrow();
  await wrong.close();
  await store.delete(scope, 'probe.bin');
  expect(await store.stat(scope, 'probe.bin')).toBeNull();
});

artifactSuite('S3 on SeaweedFS', () => api);
