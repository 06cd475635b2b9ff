/**
 * Local mode runs the projections' log tailers in a worker thread of the `cairn server` process:
 * the API's thread then spends its time on requests (parsing, GraphQL, appends) while the
 * projections read the log and write the read models on the other core. Still one process and one
 * port; the worker has its own small connection pool, and everything between the two threads is
 * the messages below. Read models and checkpoints stay in PostgreSQL, so nothing is lost when the
 * worker dies: a crashed worker is restarted and its tailers resume from their checkpoints.
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from './logger.ts';
import type { RunningProjector } from './projector.ts';

export interface ProjectorWorkerData {
  databaseUrl: string;
  /** Names of projections in `allProjections`. */
  projections: string[];
  batchSize?: number;
}

export type ToWorker = { type: 'wake' } | { type: 'stop' };

export type FromWorker =
  | { type: 'started' }
  | { type: 'stopped' }
  | { type: 'log'; level: 'info' | 'error'; message: string; error?: string };

// From the sources (tsx) the worker registers tsx itself (bin/projector-worker.js); in the
// compiled server (apps/cli/dist, scripts/build-server.mjs) its bundle sits next to this code.
const ENTRY = import.meta.url.endsWith('.js')
  ? new URL('./projector-worker.js', import.meta.url)
  : new URL('../bin/projector-worker.js', import.meta.url);
const RESTART_DELAY_MS = 1000;
const STOP_TIMEOUT_MS = 15_000;

export interface ProjectorThreadOptions extends ProjectorWorkerData {
  logger: Logger;
}

export interface ProjectorThread extends RunningProjector {
  /** The worker now running (null while it restarts or after stop): for tests and diagnostics. */
  currentWorker(): Worker | null;
}

/** Starts the worker and resolves once its tailers run (rejects when it cannot start). */
export async function startProjectorThread(opts: ProjectorThreadOptions): Promise<ProjectorThread> {
  const { logger } = opts;
  const data: ProjectorWorkerData = {
    databaseUrl: opts.databaseUrl,
    projections: opts.projections,
    batchSize: opts.batchSize,
  };
  let worker: Worker | null = null;
  let stopping = false;
  let wakePending = false;
  let restartTimer: NodeJS.Timeout | null = null;

  const spawn = (): Promise<void> =>
    new Promise((resolve, reject) => {
      let started = false;
      const w = new Worker(ENTRY, { workerData: data, name: 'cairn-projector' });
      worker = w;
      w.on('message', (message: FromWorker) => {
        switch (message.type) {
          case 'started':
            started = true;
            resolve();
            return;
          case 'stopped':
            // Tailers stopped and pool closed: nothing left to finish in the thread.
            void w.terminate();
            return;
          case 'log':
            if (message.level === 'info') logger.info(message.message);
            else
              logger.error(
                message.message,
                message.error === undefined ? undefined : new Error(message.error),
              );
            return;
        }
      });
      w.on('error', (error) => {
        if (!started) reject(error);
        else logger.error('projector thread failed', error);
      });
      w.on('exit', (code) => {
        if (worker === w) worker = null;
        if (!started) {
          reject(new Error(`projector thread exited with code ${code} before it started`));
          return;
        }
        if (stopping) return;
        logger.error(
          `projector thread exited (code ${code}); restarting in ${RESTART_DELAY_MS} ms`,
        );
        restartTimer = setTimeout(() => {
          restartTimer = null;
          if (!stopping)
            spawn().catch((error: unknown) =>
              logger.error('projector thread restart failed', error),
            );
        }, RESTART_DELAY_MS);
      });
    });

  await spawn();
  return {
    currentWorker: () => worker,
    wake() {
      // One message per burst of appends: the tailers read everything new at each step anyway.
      if (wakePending) return;
      wakePending = true;
      queueMicrotask(() => {
        wakePending = false;
        worker?.postMessage({ type: 'wake' } satisfies ToWorker);
      });
    },
    async stop() {
      stopping = true;
      if (restartTimer) clearTimeout(restartTimer);
      const w = worker;
      if (!w) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          logger.error(
            `projector thread did not stop within ${STOP_TIMEOUT_MS} ms; terminating it`,
          );
          void w.terminate();
        }, STOP_TIMEOUT_MS);
        w.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        w.postMessage({ type: 'stop' } satisfies ToWorker);
      });
    },
  };
}
