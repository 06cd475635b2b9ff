/**
 * A projector in its own process, for projector.int.test.ts ("killed mid-batch"): the test
 * SIGKILLs it while it projects. Postgres transport, every projection.
 *   CAIRN_TEST_DATABASE_URL  database to project (required)
 *   CAIRN_TEST_BATCH_SIZE    events per batch (default 25: many small transactions to kill into)
 * Prints "ready" on stdout once the tailers run; exits when the parent goes away.
 */
import { createDb } from '@cairn/db';
import { consoleLogger, startProjector } from '../src/index.ts';

const url = process.env['CAIRN_TEST_DATABASE_URL'];
if (!url) {
  console.error('CAIRN_TEST_DATABASE_URL is not set');
  process.exit(2);
}
const batchSize = Number(process.env['CAIRN_TEST_BATCH_SIZE'] ?? 25);
const { db, destroy } = createDb(url, { applicationName: 'projector-child', maxConnections: 4 });
const projector = await startProjector({
  db,
  transport: { kind: 'postgres' },
  logger: consoleLogger('projector-child'),
  batchSize,
});

async function shutdown(): Promise<void> {
  await projector.stop();
  await destroy();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown());
// Spawned with an IPC channel: a parent that dies (or disconnects) takes the child with it.
process.on('disconnect', () => void shutdown());
console.log('ready');
