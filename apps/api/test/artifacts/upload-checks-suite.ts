/**
 * Multipart uploads, exactly once, for one store backend: `complete` checks `x-cairn-sha256` (a
 * mismatch records nothing and leaves nothing visible under the path), and abandoned uploads
 * expire (the sweeper aborts them and deletes their parts). Every case goes through a real API
 * server; run by upload-checks-local.int.test.ts and upload-checks-s3.int.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { UploadNotFoundError, type ArtifactStore } from '@cairn/artifacts';
import { readStream } from '@cairn/db';
import { runStreamId } from '@cairn/events';
import { randomWorkspaceId } from '@cairn/testing';
import { startUploadSweeper } from '../../src/artifacts/upload-sweeper.ts';
import type { ApiHarness } from '../helpers/api-harness.ts';
import { artifactClient, sha256, type ApiBody } from './artifact-suite.ts';

const MiB = 1024 * 1024;

export interface UploadChecksBackend {
  store: ArtifactStore;
  api: ApiHarness;
  /** Local only: the store's root directory, to look at the part directories. */
  root?: string;
}

export function uploadChecksSuite(name: string, backend: () => UploadChecksBackend): void {
  describe(`multipart checks (${name})`, () => {
    const client = () => artifactClient(() => backend().api, randomWorkspaceId());

    async function upload(c: ReturnType<typeof client>, runId: string, file: string, data: Buffer) {
      const created = await c.call('POST', `/api/runs/${runId}/artifact-uploads`, { path: file });
      expect(created.status).toBe(201);
      const uploadId = created.body!.uploadId as string;
      for (let i = 0, n = 1; i < data.length; i += 5 * MiB, n += 1)
        expect((await c.putPart(runId, uploadId, n, data.subarray(i, i + 5 * MiB))).status).toBe(
          200,
        );
      return uploadId;
    }

    function complete(c: ReturnType<typeof client>, runId: string, id: string, sha?: string) {
      return fetch(`${backend().api.url}/api/runs/${runId}/artifact-uploads/${id}/complete`, {
        method: 'POST',
        headers: { ...c.headers, ...(sha === undefined ? {} : { 'x-cairn-sha256': sha }) },
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as ApiBody }));
    }

    it('complete with a wrong x-cairn-sha256 answers 400 naming both hashes and records nothing', async () => {
      const c = client();
      const runId = await c.newRun();
      const data = randomBytes(5 * MiB + 1234);
      const wrong = sha256(randomBytes(10));
      const id = await upload(c, runId, 'model/weights.bin', data);
      const refused = await complete(c, runId, id, wrong);
      expect(refused.status).toBe(400);
      expect(refused.body.error.code).toBe('INVALID_ARGUMENT');
      expect(refused.body.error.message).toContain(wrong);
      expect(refused.body.error.message).toContain(sha256(data));
      // Nothing recorded, nothing visible, the upload discarded.
      expect(await c.list(runId)).toEqual([]);
      expect((await c.get(runId, 'model/weights.bin')).response.status).toBe(404);
      expect(
        await backend().store.stat({ workspaceId: c.workspace, runId }, 'model/weights.bin'),
      ).toBeNull();
      expect((await c.call('GET', `/api/runs/${runId}/artifact-uploads/${id}`)).status).toBe(404);
      const stream = await readStream(backend().api.db, c.workspace, runStreamId(runId));
      expect(stream.events.map((e) => e.type)).not.toContain('RunArtifactLogged');

      // Not 64 hex digits: refused before anything is joined; the upload stays.
      const id2 = await upload(c, runId, 'model/weights.bin', data);
      const malformed = await complete(c, runId, id2, 'abc');
      expect(malformed.status).toBe(400);
      expect(malformed.body.error.message).toContain('64 hex digits');
      expect((await c.call('GET', `/api/runs/${runId}/artifact-uploads/${id2}`)).status).toBe(200);
      // The right digest (any case) completes it.
      const done = await complete(c, runId, id2, sha256(data).toUpperCase());
      expect(done).toEqual({
        status: 201,
        body: { path: 'model/weights.bin', size: data.length, sha256: sha256(data) },
      });
      expect((await c.get(runId, 'model/weights.bin')).bytes.equals(data)).toBe(true);
    });

    it('a mismatching upload over an existing artifact leaves the previous bytes in place', async () => {
      const c = client();
      const runId = await c.newRun();
      const before = randomBytes(3000);
      expect((await c.put(runId, 'data.bin', before)).status).toBe(201);
      const id = await upload(c, runId, 'data.bin', randomBytes(4000));
      const refused = await complete(c, runId, id, sha256(before));
      expect(refused.status).toBe(400);
      const { response, bytes } = await c.get(runId, 'data.bin');
      expect(response.status).toBe(200);
      expect(bytes.equals(before)).toBe(true);
      expect((await c.list(runId)).map((e) => [e.path, e.sha256])).toEqual([
        ['data.bin', sha256(before)],
      ]);
    });

    it('abandoned uploads expire: the sweeper aborts them and deletes their parts', async () => {
      const c = client();
      const runId = await c.newRun();
      const scope = { workspaceId: c.workspace, runId };
      const id = await upload(c, runId, 'late.bin', randomBytes(2000));
      // A cutoff before the upload started leaves it alone.
      expect(await backend().store.expireUploads(new Date(Date.now() - 60_000))).toBe(0);
      expect((await backend().store.getUpload(scope, id)).parts).toEqual([{ part: 1, size: 2000 }]);

      const lines: string[] = [];
      const stop = startUploadSweeper(
        backend().store,
        { info: (m) => lines.push(m), error: (m, e) => lines.push(`ERROR ${m} ${String(e)}`) },
        { ttlMs: 300, intervalMs: 100 },
      );
      try {
        await expect
          .poll(() => lines.find((l) => l.includes('aborted')), { timeout: 10_000, interval: 100 })
          .toMatch(/aborted 1 abandoned multipart upload/);
      } finally {
        await stop();
      }
      expect(lines.filter((l) => l.startsWith('ERROR'))).toEqual([]);
      await expect(backend().store.getUpload(scope, id)).rejects.toBeInstanceOf(
        UploadNotFoundError,
      );
      expect((await c.call('GET', `/api/runs/${runId}/artifact-uploads/${id}`)).status).toBe(404);
      expect((await complete(c, runId, id)).status).toBe(404);
      // Nothing of it is left: no part directory, no S3 multipart upload (any age).
      const root = backend().root;
      if (root) expect(await readdir(path.join(root, '.uploads', c.workspace, runId))).toEqual([]);
      expect(await backend().store.expireUploads(new Date(Date.now() + 3_600_000))).toBe(0);
      expect(await c.list(runId)).toEqual([]);
    });
  });
}
