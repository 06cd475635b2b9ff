// Entry of the projector worker thread (see src/projector-thread.ts). A worker starts without the
// parent's module hooks, so it registers tsx's loader itself, as bin/cairn.js does.
import { register } from 'tsx/esm/api';

register();
await import('../src/projector-worker.ts');
