/**
 * The body of the projector worker thread (local mode): the Postgres log tailers of the
 * projections named in `workerData`, on their own connection pool, driven by messages from the
 * thread that started them (src/projector-thread.ts has the protocol).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createDb } from '@cairn/db';
import type { Logger } from './logger.ts';
import { LogTailer } from './postgres-source.ts';
import { findProjection } from './projections/index.ts';
import type { ToWorker, FromWorker, ProjectorWorkerData } from './projector-thread.ts';

const port = parentPort;
if (!port) throw new Error('projector-worker.ts runs as a worker thread only');
const data = workerData as ProjectorWorkerData;
const post = (message: FromWorker) => port.postMessage(message);

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === 'string' ? error : JSON.stringify(error);
}

const logger: Logger = {
  info: (message) => post({ type: 'log', level: 'info', message }),
  error: (message, error) =>
    post({
      type: 'log',
      level: 'error',
      message,
      error: error === undefined ? undefined : describe(error),
    }),
};

const handle = createDb(data.databaseUrl, {
  maxConnections: data.projections.length + 1,
  applicationName: 'cairn-projector',
});
const tailers = data.projections.map((name) => {
  const projection = findProjection(name);
  if (!projection) throw new Error(`projector worker: unknown projection ${name}`);
  return new LogTailer(handle.db, projection, { logger, batchSize: data.batchSize });
});
for (const tailer of tailers) tailer.start();

port.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'wake':
      for (const tailer of tailers) tailer.wake();
      return;
    case 'stop':
      void (async () => {
        await Promise.all(tailers.map((t) => t.stop()));
        await handle.destroy();
        post({ type: 'stopped' });
        port.close();
      })();
      return;
  }
});
post({ type: 'started' });
