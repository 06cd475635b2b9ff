/** The multipart checks (sha256 on complete, upload expiry) on the local filesystem store. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalArtifactStore } from '@cairn/artifacts';
import { afterAll, beforeAll } from 'vitest';
import { createTestDatabase } from '@cairn/testing';
import { startApiHarness, type ApiHarness } from '../helpers/api-harness.ts';
import { uploadChecksSuite } from './upload-checks-suite.ts';

let api: ApiHarness;
let store: LocalArtifactStore;
let root: string;
let dropDb: () => Promise<void>;

beforeAll(async () => {
  const database = await createTestDatabase();
  dropDb = database.drop;
  root = await mkdtemp(path.join(tmpdir(), 'cairn-upload-checks-'));
  store = new LocalArtifactStore(root);
  api = await startApiHarness({ databaseUrl: database.url, artifactStore: store });
});

afterAll(async () => {
  await api?.stop();
  await dropDb?.();
  if (root) await rm(root, { recursive: true, force: true });
});

uploadChecksSuite('local filesystem', () => ({ store, api, root }));
