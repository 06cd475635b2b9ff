/**
 * A real S3-compatible server for tests: SeaweedFS (`weed server -s3`, master + volume + filer +
 * S3 gateway in one process) built from the Go module proxy by infra/s3/fetch.sh, started on free
 * loopback ports with a fresh data directory and one access key. Not a mock: the AWS SDK talks
 * HTTP to it, it stores bytes on disk, and it implements S3 multipart uploads itself.
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

export interface S3TestServer {
  /** `http://127.0.0.1:<port>`; path-style addressing. */
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** A bucket created for the caller. */
  bucket: string;
  /** The server's log so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** Builds (once, cached by version) and returns the path of the `weed` binary. */
export async function seaweedBinary(): Promise<string> {
  const { stdout } = await promisify(execFile)('bash', [path.join(repoRoot, 'infra/s3/fetch.sh')], {
    maxBuffer: 16 * 1024 * 1024,
    timeout: 15 * 60_000,
  });
  const bin = stdout.trim().split('\n').at(-1);
  if (!bin) throw new Error('infra/s3/fetch.sh printed no binary path');
  return bin;
}

async function freePort(taken: Set<number>): Promise<number> {
  for (;;) {
    const server = net.createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as net.AddressInfo;
    server.close();
    await once(server, 'close');
    // Every port is given explicitly (weed would otherwise derive gRPC ports as port + 10000).
    if (!taken.has(port)) {
      taken.add(port);
      return port;
    }
  }
}

export async function startS3Server(
  opts: { bucket?: string; startTimeoutMs?: number } = {},
): Promise<S3TestServer> {
  const bin = await seaweedBinary();
  const dir = await mkdtemp(path.join(tmpdir(), 'cairn-s3-'));
  const taken = new Set<number>();
  const port = async () => freePort(taken);
  const [master, masterGrpc, volume, volumeGrpc, filer, filerGrpc, s3, s3Grpc] = [
    await port(),
    await port(),
    await port(),
    await port(),
    await port(),
    await port(),
    await port(),
    await port(),
  ];
  const accessKeyId = `cairn${Math.random().toString(36).slice(2, 10)}`;
  const secretAccessKey = `secret-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
  const config = path.join(dir, 's3.json');
  await writeFile(
    config,
    JSON.stringify({
      identities: [
        {
          name: 'cairn-tests',
          credentials: [{ accessKey: accessKeyId, secretKey: secretAccessKey }],
          actions: ['Admin', 'Read', 'Write', 'List', 'Tagging'],
        },
      ],
    }),
  );
  const args = [
    'server',
    `-dir=${path.join(dir, 'data')}`,
    '-ip=127.0.0.1',
    '-ip.bind=127.0.0.1',
    `-master.port=${master}`,
    `-master.port.grpc=${masterGrpc}`,
    '-master.volumeSizeLimitMB=1024',
    `-volume.port=${volume}`,
    `-volume.port.grpc=${volumeGrpc}`,
    '-volume.max=0',
    '-filer',
    `-filer.port=${filer}`,
    `-filer.port.grpc=${filerGrpc}`,
    `-filer.localSocket=${path.join(dir, 'filer.sock')}`,
    '-s3',
    `-s3.port=${s3}`,
    `-s3.port.grpc=${s3Grpc}`,
    '-s3.port.iceberg=0',
    '-s3.port.lance=0',
    `-s3.config=${config}`,
    '-s3.iam=false',
    '-webdav=false',
  ];
  await mkdir(path.join(dir, 'data'), { recursive: true });
  const child = spawn(bin, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-64 * 1024);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = once(child, 'exit');

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };

  const endpoint = `http://127.0.0.1:${s3}`;
  const region = 'us-east-1';
  const bucket = opts.bucket ?? `cairn-test-${Math.random().toString(36).slice(2, 10)}`;
  const client = new S3Client({
    endpoint,
    region,
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
    maxAttempts: 1,
  });
  const deadline = Date.now() + (opts.startTimeoutMs ?? 90_000);
  try {
    for (;;) {
      if (child.exitCode !== null)
        throw new Error(`SeaweedFS exited with code ${child.exitCode}:\n${output.slice(-4000)}`);
      try {
        await client.send(new CreateBucketCommand({ Bucket: bucket }));
        break;
      } catch (error) {
        if (Date.now() > deadline)
          throw new Error(
            `SeaweedFS S3 was not ready after ${opts.startTimeoutMs ?? 90_000} ms (${String(error)}):\n${output.slice(-4000)}`,
          );
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  } catch (error) {
    client.destroy();
    await stop();
    throw error;
  }
  client.destroy();
  return {
    endpoint,
    region,
    accessKeyId,
    secretAccessKey,
    bucket,
    log: () => output,
    stop,
  };
}
