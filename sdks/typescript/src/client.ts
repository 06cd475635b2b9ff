/**
 * `CairnClient` for Node.js: everything of CairnClientBase (experiments, runs, params, batched
 * metrics, tags, search, the model registry, prompts) plus artifacts from local files (streamed,
 * multipart from 64 MiB), Node streams and async iterables, downloads to a file, and the
 * `beforeExit` flush of queued metric points (docs/typescript-sdk.md, "Tracking").
 *
 * ```ts
 * const client = new CairnClient({ trackingUri: 'http://127.0.0.1:4680' });
 * const exp = await client.createExperiment('demo');
 * const run = await client.createRun({ experimentId: exp.id, name: 'first' });
 * for (let step = 0; step < 100; step++) client.logMetric(run.id, 'loss', 1 / (step + 1), { step });
 * await client.flush();
 * ```
 */
import { ArtifactClient, type ArtifactSource, type LoggedArtifact } from './artifacts.ts';
import { CairnClientBase, type CairnClientBaseOptions } from './client-base.ts';
import { envInt, envSeconds } from './config.ts';
import { checkId } from './tracking.ts';

export type {
  CreateModelVersionOptions,
  CreatePromptVersionOptions,
  CreateRunOptions,
  LogBatchInput,
  LogMetricOptions,
  MetricHistoryOptions,
  UpdateRunOptions,
} from './client-base.ts';

export interface CairnClientOptions extends CairnClientBaseOptions {
  /** How long the `beforeExit` flush may retry (env `CAIRN_BATCH_EXIT_TIMEOUT`, seconds;
   * default 10 s). */
  exitTimeoutMs?: number;
  /** Local files of this many bytes or more are uploaded in parts (env
   * `CAIRN_ARTIFACT_MULTIPART_THRESHOLD`, default 64 MiB). */
  multipartThresholdBytes?: number;
  /** Part size of those uploads (env `CAIRN_ARTIFACT_PART_SIZE`, default 32 MiB, at least
   * 5 MiB). */
  partSizeBytes?: number;
}

export class CairnClient extends CairnClientBase {
  private readonly artifacts: ArtifactClient;

  constructor(opts: CairnClientOptions = {}) {
    super(opts, {
      exitTimeoutMs: opts.exitTimeoutMs ?? envSeconds('CAIRN_BATCH_EXIT_TIMEOUT', 10_000),
    });
    this.artifacts = new ArtifactClient(this.transport, {
      multipartThresholdBytes:
        opts.multipartThresholdBytes ??
        envInt('CAIRN_ARTIFACT_MULTIPART_THRESHOLD', 64 * 1024 * 1024),
      partSizeBytes: opts.partSizeBytes ?? envInt('CAIRN_ARTIFACT_PART_SIZE', 32 * 1024 * 1024),
    });
  }

  /** Uploads a local file (by path), bytes or a stream to `path` under the run's artifacts. */
  logArtifact(runId: string, path: string, source: ArtifactSource): Promise<LoggedArtifact> {
    return this.artifacts.upload(checkId('runId', runId), path, source);
  }

  /** Downloads one artifact file to `localPath` (sha256 checked); resolves to its path. */
  downloadArtifact(runId: string, path: string, localPath: string): Promise<string> {
    return this.artifacts.download(checkId('runId', runId), path, localPath);
  }
}
