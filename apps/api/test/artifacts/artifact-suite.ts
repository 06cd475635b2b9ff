/**
 * The artifact API's behaviour, run against each store backend (local filesystem, and S3 on a
 * real S3-compatible server): every case goes through the HTTP routes of a real API server.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { randomWorkspaceId } from '@cairn/testing';
import type { ApiHarness, GqlResponse } from '../helpers/api-harness.ts';

export const SUITE_MAX_UPLOAD_BYTES = 12 * 1024 * 1024;
const MiB = 1024 * 1024;

export const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

function ok<T>(response: GqlResponse<T>): T {
  expect(response.errors).toBeUndefined();
  return response.data!;
}

/** A JSON answer of the artifact routes: a result, or `{ error: { code, message } }`. */
export interface ApiBody {
  error: { code: string; message: string };
  [key: string]: unknown;
}

export interface ArtifactEntry {
  path: string;
  name: string;
  isDir: boolean;
  size: number | null;
  sha256: string | null;
  loggedAt: number | null;
  downloadUrl: string;
}

export function artifactClient(api: () => ApiHarness, workspace: string) {
  const headers = { 'x-cairn-workspace': workspace };
  const client = {
    workspace,
    headers,
    async newRun(): Promise<string> {
      const exp = ok(
        await api().gql<{ createExperiment: { id: string } }>(
          'mutation($n:String!){createExperiment(name:$n){id}}',
          { n: `exp-${Math.random().toString(36).slice(2)}` },
          headers,
        ),
      );
      const run = ok(
        await api().gql<{ createRun: { id: string } }>(
          'mutation($e:String!){createRun(experimentId:$e){id}}',
          { e: exp.createExperiment.id },
          headers,
        ),
      );
      return run.createRun.id;
    },
    url(runId: string, encodedPath: string): string {
      return `${api().url}/api/runs/${runId}/artifacts/${encodedPath}`;
    },
    async put(
      runId: string,
      encodedPath: string,
      body: Buffer | ReadableStream<Uint8Array>,
      extra: Record<string, string> = {},
    ) {
      const response = await fetch(client.url(runId, encodedPath), {
        method: 'PUT',
        headers: { ...headers, ...extra },
        body,
        duplex: 'half',
      } as RequestInit);
      return { status: response.status, body: (await response.json()) as ApiBody };
    },
    async get(runId: string, encodedPath: string, extra: Record<string, string> = {}) {
      const response = await fetch(client.url(runId, encodedPath), {
        headers: { ...headers, ...extra },
      });
      return { response, bytes: Buffer.from(await response.arrayBuffer()) };
    },
    async list(runId: string, dir = ''): Promise<ArtifactEntry[]> {
      const data = ok(
        await api().gql<{ run: { artifacts: ArtifactEntry[] } | null }>(
          'query($id:String!,$p:String){run(id:$id){artifacts(path:$p){path name isDir size sha256 loggedAt downloadUrl}}}',
          { id: runId, p: dir },
          headers,
        ),
      );
      return data.run?.artifacts ?? [];
    },
    async call(method: string, pathname: string, body?: unknown) {
      const response = await fetch(`${api().url}${pathname}`, {
        method,
        headers: { ...headers, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return {
        status: response.status,
        body: text ? (JSON.parse(text) as ApiBody) : null,
      };
    },
    /** A PUT with the request target exactly as given (fetch would normalise "..", "%2e"). */
    raw(method: string, runId: string, rawPath: string, data = Buffer.alloc(0)) {
      const { hostname, port } = new URL(api().url);
      return new Promise<{ status: number; body: ApiBody }>((resolve, reject) => {
        const req = http.request(
          {
            host: hostname,
            port,
            method,
            path: `/api/runs/${runId}/artifacts/${rawPath}`,
            headers: { ...headers, 'content-length': data.length },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('end', () =>
              resolve({
                status: res.statusCode ?? 0,
                body: JSON.parse(Buffer.concat(chunks).toString()) as ApiBody,
              }),
            );
          },
        );
        req.on('error', reject);
        req.end(data);
      });
    },
    async putPart(runId: string, uploadId: string, n: number | string, data: Buffer) {
      const response = await fetch(
        `${api().url}/api/runs/${runId}/artifact-uploads/${uploadId}/parts/${n}`,
        { method: 'PUT', headers, body: data } as RequestInit,
      );
      return { status: response.status, body: (await response.json()) as ApiBody };
    },
  };
  return client;
}

/** A body streamed in chunks with no content-length (chunked transfer encoding). */
export function chunkedBody(data: Buffer, chunk = 64 * 1024): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= data.length) return controller.close();
      controller.enqueue(data.subarray(offset, offset + chunk));
      offset += chunk;
    },
  });
}

/** Unpacks a tar.gz with the system's tar and returns every file's bytes by relative path. */
async function untar(archive: Buffer): Promise<Map<string, Buffer>> {
  const dir = await mkdtemp(path.join(tmpdir(), 'cairn-untar-'));
  try {
    execFileSync('tar', ['-xzf', '-', '-C', dir], { input: archive });
    const files = new Map<string, Buffer>();
    const walk = async (rel: string) => {
      for (const entry of await readdir(path.join(dir, rel), { withFileTypes: true })) {
        const child = rel ? `${rel}/${entry.name}` : entry.name;
        if (entry.isDirectory()) await walk(child);
        else files.set(child, await readFile(path.join(dir, child)));
      }
    };
    await walk('');
    return files;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The core cases; `api` must have been started with maxUploadBytes = SUITE_MAX_UPLOAD_BYTES. */
export function artifactSuite(name: string, api: () => ApiHarness): void {
  describe(`artifacts (${name})`, () => {
    it('uploads, lists and downloads a file with its sha256, size and content type', async () => {
      const c = artifactClient(api, randomWorkspaceId());
      const runId = await c.newRun();
      const data = randomBytes(300_000);
      const put = await c.put(runId, 'model/weights%20v1.bin', data);
      expect(put).toEqual({
        status: 201,
        body: { path: 'model/weights v1.bin', size: data.length, sha256: sha256(data) },
      });
      const text = Buffer.from('{"a": 1}');
      expect(
        (await c.put(runId, 'metrics.json', text, { 'x-cairn-sha256': sha256(text) })).status,
      ).toBe(201);

      const { response, bytes } = await c.get(runId, 'model/weights%20v1.bin');
      expect(response.status).toBe(200);
      expect(bytes.equals(data)).toBe(true);
      expect(response.headers.get('content-length')).toBe(String(data.length));
      expect(response.headers.get('x-cairn-sha256')).toBe(sha256(data));
      expect(response.headers.get('content-type')).toBe('application/octet-stream');
      const json = await c.get(runId, 'metrics.json');
      expect(json.response.headers.get('content-type')).toBe('application/json');
      expect(json.bytes.toString()).toBe('{"a": 1}');

      const root = await c.list(runId);
      expect(root.map((e) => [e.path, e.isDir, e.size])).toEqual([
        ['model', true, null],
        ['metrics.json', false, text.length],
      ]);
      expect(root[0]!.downloadUrl).toBe(`/api/runs/${runId}/artifacts/model?archive=tar.gz`);
      const model = await c.list(runId, 'model');
      expect(model).toHaveLength(1);
      expect(model[0]).toMatchObject({
        path: 'model/weights v1.bin',
        name: 'weights v1.bin',
        isDir: false,
        size: data.length,
        sha256: sha256(data),
        downloadUrl: `/api/runs/${runId}/artifacts/model/weights%20v1.bin`,
      });
      expect(model[0]!.loggedAt).toBeGreaterThan(Date.now() - 60_000);
      // The downloadUrl works as given.
      const viaUrl = await fetch(`${api().url}${model[0]!.downloadUrl}`, { headers: c.headers });
      expect(Buffer.from(await viaUrl.arrayBuffer()).equals(data)).toBe(true);
    });

    it('streams a body without content-length, and replaces a path logged again', async () => {
      const c = artifactClient(api, randomWorkspaceId());
      const runId = await c.newRun();
      const first = randomBytes(3 * MiB + 17);
      const put = await c.put(runId, 'data/blob', chunkedBody(first));
      expect(put.body).toEqual({ path: 'data/blob', size: first.length, sha256: sha256(first) });
      const second = randomBytes(1000);
      expect((await c.put(runId, 'data/blob', second)).status).toBe(201);
      const { bytes, response } = await c.get(runId, 'data/blob');
      expect(bytes.equals(second)).toBe(true);
      expect(response.headers.get('x-cairn-sha256')).toBe(sha256(second));
      expect((await c.list(runId, 'data')).map((e) => [e.name, e.size])).toEqual([['blob', 1000]]);
    });

    it('keeps bytes and record together when one path is uploaded concurrently', async () => {
      const c = artifactClient(api, randomWorkspaceId());
      const runId = await c.newRun();
      const bodies = Array.from({ length: 8 }, () => randomBytes(200_000));
      const answers = await Promise.all(bodies.map((b) => c.put(runId, 'same.bin', b)));
      expect(answers.map((a) => a.status)).toEqual(bodies.map(() => 201));
      const { response, bytes } = await c.get(runId, 'same.bin');
      const listed = await c.list(runId);
      expect(listed.map((e) => e.sha256)).toEqual([sha256(bytes)]);
      expect(response.headers.get('x-cairn-sha256')).toBe(sha256(bytes));
      expect(bodies.map(sha256)).toContain(sha256(bytes));
    });

    it('serves byte ranges with 206 and refuses unsatisfiable ones with 416', async () => {
      const c = artifactClient(api, randomWorkspaceId());
      const runId = await c.newRun();
      const data = randomBytes(100_000);
      await c.put(runId, 'r.bin', data);
      const mid = await c.get(runId, 'r.bin', { range: 'bytes=1000-1999' });
      expect(mid.response.status).toBe(206);
      expect(mid.response.headers.get('content-range')).toBe(`bytes 1000-1999/${data.length}`);
      expect(mid.bytes.equals(data.subarray(1000, 2000))).toBe(true);
      const tail = await c.get(runId, 'r.bin', { range: 'bytes=-10' });
      expect(tail.bytes.equals(data.subarray(data.length - 10))).toBe(true);
      const open = await c.get(runId, 'r.bin', { range: 'bytes=99990-' });
      expect(open.bytes.equals(data.subarray(99_990))).toBe(true);
      const bad = await c.get(runId, 'r.bin', { range: 'bytes=200000-' });
      expect(bad.response.status).toBe(416);
      expect(bad.response.headers.get('content-range')).toBe(`bytes */${data.length}`);
    });

    it('downloads a directory (or the whole run) as tar.gz, and refuses a directory without ?archive', async () => {
      const c = artifactClient(api, randomWorkspaceId());
      const runId = await c.newRun();
      const files = new Map<string, Buffer>([
        ['model/MLmodel', Buffer.from('flavors: {}\n')],
        ['model/data/model.pkl', randomBytes(70_000)],
        [`model/${'long-name-'.repeat(12)}.txt`, Buffer.from('long')],
        ['model/empty.txt', Buffer.alloc(0)],
        ['other.txt', Buffer.from('x')],
      ]);
      for (const [p, data] of files) {
        expect(
          (await c.put(runId, p.split('/').map(encodeURIComponent).join('/'), data)).status,
        ).toBe(201);
      }
      const dir = await c.get(runId, 'model?archive=tar.gz');
      expect(dir.response.status).toBe(200);
      expect(dir.response.headers.get('content-type')).toBe('application/gzip');
      const unpacked = await untar(dir.bytes);
      const expected = [...files].filter(([p]) => p.startsWith('model/'));
      expect([...unpacked.keys()].sort()).toEqual(
        expected.map(([p]) => p.slice('model/'.length)).sort(),
      );
      for (const [p, data] of expected)
        expect(unpacked.get(p.slice('model/'.length))?.equals(data)).toBe(true);

      const whole = await untar((await c.get(runId, '?archive=tar.gz')).bytes);
      expect(whole.size).toBe(files.size);

      const noArchive = await c.get(runId, 'model');
      expect(noArchive.response.status).toBe(400);
      expect(JSON.parse(noArchive.bytes.toString())).toMatchObject({
        error: { code: 'INVALID_ARGUMENT' },
      });
      expect((await c.get(runId, 'nothing-here?archive=tar.gz')).response.status).toBe(404);
      expect((await c.get(runId, 'other.txt?archive=tar.gz')).response.status).toBe(400);
    });

    it('assembles a resumable multipart upload', async () => {
      const c = artifactClient(api, randomWorkspaceId());
      const runId = await c.newRun();
      const data = randomBytes(11 * MiB + 123);
      const created = await c.call('POST', `/api/runs/${runId}/artifact-uploads`, {
        path: 'big/file.bin',
      });
      expect(created.status).toBe(201);
      const uploadId = created.body!.uploadId as string;
      expect(created.body).toEqual({ uploadId, path: 'big/file.bin' });
      const p1 = data.subarray(0, 5 * MiB);
      const p2 = data.subarray(5 * MiB, 10 * MiB);
      const p3 = data.subarray(10 * MiB);
      // Part 2 first, and a wrong part 1 that is sent again (a resumed client).
      expect((await c.putPart(runId, uploadId, 2, p2)).body).toEqual({
        part: 2,
        size: p2.length,
        sha256: sha256(p2),
      });
      expect((await c.putPart(runId, uploadId, 1, randomBytes(5 * MiB))).status).toBe(200);
      const state = await c.call('GET', `/api/runs/${runId}/artifact-uploads/${uploadId}`);
      expect(state).toEqual({
        status: 200,
        body: {
          path: 'big/file.bin',
          parts: [
            { part: 1, size: 5 * MiB },
            { part: 2, size: 5 * MiB },
          ],
        },
      });
      // Not joinable yet? It is (1..2), but part 3 is still to come: send the rest.
      expect((await c.putPart(runId, uploadId, 1, p1)).status).toBe(200);
      expect((await c.putPart(runId, uploadId, 3, p3)).status).toBe(200);
      expect((await c.putPart(runId, uploadId, 0, p3)).status).toBe(400);
      expect((await c.putPart(runId, uploadId, 10_001, p3)).status).toBe(400);
      // Nothing is listed before completion.
      expect(await c.list(runId)).toEqual([]);
      const done = await c.call('POST', `/api/runs/${runId}/artifact-uploads/${uploadId}/complete`);
      expect(done).toEqual({
        status: 201,
        body: { path: 'big/file.bin', size: data.length, sha256: sha256(data) },
      });
      const { bytes } = await c.get(runId, 'big/file.bin');
      expect(bytes.equals(data)).toBe(true);
      expect((await c.call('GET', `/api/runs/${runId}/artifact-uploads/${uploadId}`)).status).toBe(
        404,
      );

      // Gaps and short parts are refused; an aborted upload is gone.
      const second = await c.call('POST', `/api/runs/${runId}/artifact-uploads`, {
        path: 'big/other.bin',
      });
      const id2 = second.body!.uploadId as string;
      await c.putPart(runId, id2, 1, randomBytes(1000));
      await c.putPart(runId, id2, 2, randomBytes(1000));
      const short = await c.call('POST', `/api/runs/${runId}/artifact-uploads/${id2}/complete`);
      expect(short.status).toBe(400);
      expect(short.body).toMatchObject({ error: { code: 'INVALID_ARGUMENT' } });
      expect((await c.call('DELETE', `/api/runs/${runId}/artifact-uploads/${id2}`)).status).toBe(
        204,
      );
      expect((await c.call('GET', `/api/runs/${runId}/artifact-uploads/${id2}`)).status).toBe(404);
      expect(
        (await c.call('POST', `/api/runs/${runId}/artifact-uploads/${id2}/complete`)).status,
      ).toBe(404);
      expect((await c.list(runId, 'big')).map((e) => e.name)).toEqual(['file.bin']);
      expect(
        (await c.call('POST', `/api/runs/${runId}/artifact-uploads`, { path: '../x' })).status,
      ).toBe(400);
      expect((await c.call('GET', `/api/runs/${runId}/artifact-uploads/not-an-id`)).status).toBe(
        404,
      );
    });

    it('rejects traversal, absolute, backslash, control-character and over-long paths with 400', async () => {
      const c = artifactClient(api, randomWorkspaceId());
      const runId = await c.newRun();
      const bad = [
        '..%2Fescape.txt',
        'a/../../escape.txt',
        '%2e%2e/escape.txt',
        '%252e%252e%252fescape.txt',
        '%2Fetc%2Fpasswd',
        '%2F%2Fhost%2Fshare',
        'a%5C..%5Cescape.txt',
        'a%00b',
        'a%0Ab',
        'a//b',
        './a',
        'dir/',
        'bad%E0%A4%A',
        'x'.repeat(256),
        `${'abcdefgh/'.repeat(114)}z`,
      ];
      for (const p of bad) {
        const put = await c.raw('PUT', runId, p, Buffer.from('evil'));
        expect(put.status, p).toBe(400);
        expect(put.body, p).toMatchObject({ error: { code: 'INVALID_ARGUMENT' } });
        expect(typeof put.body.error.message).toBe('string');
      }
      expect(await c.list(runId)).toEqual([]);
      const listBad = await api().gql(
        'query($id:String!){run(id:$id){artifacts(path:"../x"){path}}}',
        { id: runId },
        c.headers,
      );
      expect(listBad.errors?.[0]?.extensions?.code).toBe('INVALID_ARGUMENT');
      // Reads are validated the same way.
      for (const p of ['%2e%2e/%2e%2e/etc/passwd', '../../etc/passwd', 'a%5Cb', '%2Fetc'])
        expect((await c.raw('GET', runId, p)).status, p).toBe(400);
    });

    it('refuses an oversized upload with 413 and records nothing', async () => {
      const c = artifactClient(api, randomWorkspaceId());
      const runId = await c.newRun();
      const big = randomBytes(SUITE_MAX_UPLOAD_BYTES + 1);
      const declared = await c.put(runId, 'too-big.bin', big);
      expect(declared.status).toBe(413);
      expect(declared.body).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } });
      const streamed = await c
        .put(runId, 'too-big.bin', chunkedBody(big))
        .catch((error: unknown) => ({
          status: 413, // the server may close the connection while the client still sends
          body: { error: { code: 'PAYLOAD_TOO_LARGE', cause: String(error) } },
        }));
      expect(streamed.status).toBe(413);
      expect(await c.list(runId)).toEqual([]);
      expect((await c.get(runId, 'too-big.bin')).response.status).toBe(404);
      expect(
        await api().artifactStore.stat({ workspaceId: c.workspace, runId }, 'too-big.bin'),
      ).toBeNull();
    });

    it('refuses a sha256 mismatch with 400, records nothing and keeps the previous file', async () => {
      const c = artifactClient(api, randomWorkspaceId());
      const runId = await c.newRun();
      const v1 = Buffer.from('version 1');
      await c.put(runId, 'f.txt', v1);
      const v2 = randomBytes(9 * MiB); // two S3 parts, below the limit
      const mismatch = await c.put(runId, 'f.txt', v2, { 'x-cairn-sha256': sha256(v1) });
      expect(mismatch.status).toBe(400);
      expect(mismatch.body.error.message).toContain('sha256');
      const fresh = await c.put(runId, 'g.txt', v1, { 'x-cairn-sha256': 'ab'.repeat(32) });
      expect(fresh.status).toBe(400);
      expect((await c.put(runId, 'g.txt', v1, { 'x-cairn-sha256': 'nope' })).status).toBe(400);
      expect((await c.get(runId, 'f.txt')).bytes.equals(v1)).toBe(true);
      expect((await c.list(runId)).map((e) => [e.name, e.sha256])).toEqual([['f.txt', sha256(v1)]]);
      expect(
        await api().artifactStore.stat({ workspaceId: c.workspace, runId }, 'g.txt'),
      ).toBeNull();
    });

    it('keeps workspaces apart and refuses unknown and deleted runs', async () => {
      const a = artifactClient(api, randomWorkspaceId());
      const b = artifactClient(api, randomWorkspaceId());
      const runId = await a.newRun();
      await a.put(runId, 'secret.txt', Buffer.from('a only'));
      expect((await b.get(runId, 'secret.txt')).response.status).toBe(404);
      expect((await b.put(runId, 'x.txt', Buffer.from('b'))).status).toBe(404);
      expect(
        (await b.call('POST', `/api/runs/${runId}/artifact-uploads`, { path: 'x' })).status,
      ).toBe(404);
      expect(await b.list(runId)).toEqual([]);
      expect((await a.list(runId)).map((e) => e.name)).toEqual(['secret.txt']);
      expect((await a.get('0'.repeat(32), 'secret.txt')).response.status).toBe(404);
      expect((await a.get('not-a-run', 'secret.txt')).response.status).toBe(404);
      const invalidWs = await fetch(a.url(runId, 'secret.txt'), {
        headers: { 'x-cairn-workspace': '../etc' },
      });
      expect(invalidWs.status).toBe(400);

      const upload = await a.call('POST', `/api/runs/${runId}/artifact-uploads`, {
        path: 'late.bin',
      });
      await a.putPart(runId, upload.body!.uploadId as string, 1, Buffer.from('late'));
      ok(
        await api().gql(
          'mutation($id:String!){deleteRun(runId:$id){id}}',
          { id: runId },
          a.headers,
        ),
      );
      const put = await a.put(runId, 'after-delete.txt', Buffer.from('no'));
      expect(put.status).toBe(400);
      expect(put.body.error.message).toContain('deleted');
      const complete = await a.call(
        'POST',
        `/api/runs/${runId}/artifact-uploads/${upload.body!.uploadId as string}/complete`,
      );
      expect(complete.status).toBe(400);
      // What was logged before the deletion stays readable.
      expect((await a.get(runId, 'secret.txt')).bytes.toString()).toBe('a only');
      expect((await a.list(runId)).map((e) => e.name)).toEqual(['secret.txt']);
    });

    it('refuses a file where a directory is, and the reverse, with 409', async () => {
      const c = artifactClient(api, randomWorkspaceId());
      const runId = await c.newRun();
      await c.put(runId, 'a/b.txt', Buffer.from('1'));
      const asFile = await c.put(runId, 'a', Buffer.from('2'));
      expect(asFile.status).toBe(409);
      expect(asFile.body).toMatchObject({ error: { code: 'CONFLICT' } });
      expect((await c.put(runId, 'a/b.txt/c', Buffer.from('3'))).status).toBe(409);
      expect((await c.list(runId)).map((e) => e.path)).toEqual(['a']);
    });
  });
}
