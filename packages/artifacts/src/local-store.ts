import { randomUUID } from 'node:crypto';
import { constants, createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HashingCounter } from './hashing.ts';
import {
  ArtifactConflictError,
  ArtifactNotFoundError,
  InvalidUploadError,
  UploadNotFoundError,
  checkPartsJoinable,
  type ArtifactScope,
  type ArtifactStore,
  type ByteRange,
  type CompleteOptions,
  type PutOptions,
  type StoredObject,
  type UploadInfo,
  type UploadPart,
} from './store.ts';

const UPLOAD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const PART_FILE = /^part-(\d{5})$/;

function isErrno(error: unknown, ...codes: string[]): boolean {
  return error instanceof Error && codes.includes((error as NodeJS.ErrnoException).code ?? '');
}

/**
 * Artifacts on the local filesystem (default `CAIRN_HOME/artifacts`):
 *
 *   <root>/<workspace>/<runId>/<path>                   the files, as logged
 *   <root>/.tmp/<uuid>                                   writes in progress (renamed into place)
 *   <root>/.uploads/<workspace>/<runId>/<uploadId>/      multipart uploads: upload.json, part-NNNNN
 *
 * Paths come validated (paths.ts); workspace and run ids are validated by the API. Writes go to a
 * temporary file first and are renamed into place, so a reader never sees half a file and a
 * failed write leaves the previous file untouched. Symlinks are never followed when reading.
 */
export class LocalArtifactStore implements ArtifactStore {
  readonly description: string;
  private readonly tmpDir: string;

  constructor(private readonly root: string) {
    this.description = `file://${root}`;
    this.tmpDir = path.join(root, '.tmp');
  }

  private file(scope: ArtifactScope, artifactPath: string): string {
    return path.join(this.root, scope.workspaceId, scope.runId, ...artifactPath.split('/'));
  }

  private uploadDir(scope: ArtifactScope, uploadId: string): string {
    if (!UPLOAD_ID.test(uploadId)) throw new UploadNotFoundError(uploadId);
    return path.join(this.root, '.uploads', scope.workspaceId, scope.runId, uploadId);
  }

  private async tempFile(): Promise<string> {
    await fs.mkdir(this.tmpDir, { recursive: true });
    return path.join(this.tmpDir, randomUUID());
  }

  /** Streams `source` into a fresh temporary file through `counter`; returns its name. */
  private async spool(
    source: AsyncIterable<Buffer | string>,
    counter: HashingCounter,
  ): Promise<string> {
    const tmp = await this.tempFile();
    try {
      await pipeline(counter.through(source), createWriteStream(tmp, { flags: 'wx' }));
      return tmp;
    } catch (error) {
      await fs.rm(tmp, { force: true });
      throw error;
    }
  }

  /** Renames a finished temporary file into place; a file/directory clash is a conflict. */
  private async place(tmp: string, target: string, artifactPath: string): Promise<void> {
    try {
      await fs.mkdir(path.dirname(target), { recursive: true });
      const existing = await fs.lstat(target).catch(() => null);
      if (existing?.isDirectory())
        throw new ArtifactConflictError(
          `Artifact path "${artifactPath}" is a directory of this run's artifacts`,
        );
      await fs.rename(tmp, target);
    } catch (error) {
      await fs.rm(tmp, { force: true });
      if (isErrno(error, 'ENOTDIR', 'EEXIST', 'EISDIR'))
        throw new ArtifactConflictError(
          `Artifact path "${artifactPath}" runs through a file of this run's artifacts`,
        );
      throw error;
    }
  }

  async put(
    scope: ArtifactScope,
    artifactPath: string,
    body: Readable,
    opts: PutOptions,
  ): Promise<StoredObject> {
    const counter = new HashingCounter(opts.maxBytes);
    const tmp = await this.spool(body, counter);
    let result: StoredObject;
    try {
      result = counter.result(opts.expectedSha256);
    } catch (error) {
      await fs.rm(tmp, { force: true });
      throw error;
    }
    await this.place(tmp, this.file(scope, artifactPath), artifactPath);
    return result;
  }

  async stat(scope: ArtifactScope, artifactPath: string): Promise<{ size: number } | null> {
    const st = await fs.lstat(this.file(scope, artifactPath)).catch(() => null);
    return st?.isFile() ? { size: st.size } : null;
  }

  async get(scope: ArtifactScope, artifactPath: string, range?: ByteRange): Promise<Readable> {
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(
        this.file(scope, artifactPath),
        constants.O_RDONLY | constants.O_NOFOLLOW,
      );
    } catch (error) {
      if (isErrno(error, 'ENOENT', 'ENOTDIR', 'ELOOP', 'EISDIR'))
        throw new ArtifactNotFoundError(artifactPath);
      throw error;
    }
    const st = await handle.stat();
    if (!st.isFile()) {
      await handle.close();
      throw new ArtifactNotFoundError(artifactPath);
    }
    // The stream owns the handle from here on and closes it when it ends or is destroyed.
    return handle.createReadStream({ autoClose: true, start: range?.start, end: range?.end });
  }

  async delete(scope: ArtifactScope, artifactPath: string): Promise<void> {
    await fs.rm(this.file(scope, artifactPath), { force: true });
  }

  async createUpload(scope: ArtifactScope, artifactPath: string): Promise<string> {
    const uploadId = randomUUID();
    const dir = this.uploadDir(scope, uploadId);
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, 'upload.json'), JSON.stringify({ path: artifactPath }));
    return uploadId;
  }

  private async readUpload(scope: ArtifactScope, uploadId: string): Promise<string> {
    const dir = this.uploadDir(scope, uploadId);
    try {
      const meta = JSON.parse(await fs.readFile(path.join(dir, 'upload.json'), 'utf8')) as {
        path: string;
      };
      return meta.path;
    } catch (error) {
      if (isErrno(error, 'ENOENT')) throw new UploadNotFoundError(uploadId);
      throw error;
    }
  }

  async putPart(
    scope: ArtifactScope,
    uploadId: string,
    part: number,
    body: Readable,
    size: number,
  ): Promise<StoredObject> {
    await this.readUpload(scope, uploadId);
    const counter = new HashingCounter(size);
    const tmp = await this.spool(body, counter);
    const result = counter.result();
    if (result.size !== size) {
      await fs.rm(tmp, { force: true });
      throw new InvalidUploadError(`Part ${part} ended after ${result.size} of ${size} bytes`);
    }
    const target = path.join(
      this.uploadDir(scope, uploadId),
      `part-${String(part).padStart(5, '0')}`,
    );
    try {
      await fs.rename(tmp, target);
    } catch (error) {
      await fs.rm(tmp, { force: true });
      // Aborted or completed meanwhile.
      if (isErrno(error, 'ENOENT')) throw new UploadNotFoundError(uploadId);
      throw error;
    }
    return result;
  }

  private async listParts(dir: string): Promise<UploadPart[]> {
    const parts: UploadPart[] = [];
    for (const name of await fs.readdir(dir)) {
      const match = PART_FILE.exec(name);
      if (!match) continue;
      const st = await fs.stat(path.join(dir, name));
      parts.push({ part: Number(match[1]), size: st.size });
    }
    return parts.sort((a, b) => a.part - b.part);
  }

  async getUpload(scope: ArtifactScope, uploadId: string): Promise<UploadInfo> {
    const artifactPath = await this.readUpload(scope, uploadId);
    return { path: artifactPath, parts: await this.listParts(this.uploadDir(scope, uploadId)) };
  }

  async completeUpload(
    scope: ArtifactScope,
    uploadId: string,
    opts: CompleteOptions = {},
  ): Promise<StoredObject & { path: string }> {
    const artifactPath = await this.readUpload(scope, uploadId);
    const dir = this.uploadDir(scope, uploadId);
    const parts = await this.listParts(dir);
    checkPartsJoinable(parts);
    const counter = new HashingCounter();
    async function* joined(): AsyncGenerator<Buffer> {
      for (const p of parts) {
        const name = path.join(dir, `part-${String(p.part).padStart(5, '0')}`);
        for await (const chunk of createReadStream(name)) yield chunk as Buffer;
      }
    }
    const tmp = await this.spool(joined(), counter);
    let result: StoredObject;
    try {
      result = counter.result(opts.expectedSha256);
    } catch (error) {
      // Discarded: the joined bytes are not what the client meant to send.
      await fs.rm(tmp, { force: true });
      await fs.rm(dir, { recursive: true, force: true });
      throw error;
    }
    await this.place(tmp, this.file(scope, artifactPath), artifactPath);
    await fs.rm(dir, { recursive: true, force: true });
    return { ...result, path: artifactPath };
  }

  async abortUpload(scope: ArtifactScope, uploadId: string): Promise<void> {
    await this.readUpload(scope, uploadId);
    await fs.rm(this.uploadDir(scope, uploadId), { recursive: true, force: true });
  }

  async expireUploads(cutoff: Date): Promise<number> {
    const base = path.join(this.root, '.uploads');
    const list = async (dir: string): Promise<string[]> =>
      fs.readdir(dir).catch((error: unknown) => {
        if (isErrno(error, 'ENOENT', 'ENOTDIR')) return [];
        throw error;
      });
    let expired = 0;
    for (const ws of await list(base))
      for (const run of await list(path.join(base, ws)))
        for (const id of await list(path.join(base, ws, run))) {
          if (!UPLOAD_ID.test(id)) continue;
          const dir = path.join(base, ws, run, id);
          // Started when its upload.json was written (never rewritten afterwards).
          const st = await fs.stat(path.join(dir, 'upload.json')).catch(() => null);
          const started = st ?? (await fs.stat(dir).catch(() => null));
          if (!started || started.mtimeMs >= cutoff.getTime()) continue;
          await fs.rm(dir, { recursive: true, force: true });
          expired += 1;
        }
    return expired;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
