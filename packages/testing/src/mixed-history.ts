/**
 * Building blocks for seeded mixed histories: a PRNG that replays a failing history from its seed
 * (CAIRN_TEST_SEED), the shape of one stream of a history, and the random chunking writers append
 * it in. What a history holds is each test's own (its generator knows what it checks).
 */
import type { NewEvent } from '@cairn/events';

/** The seed of a seeded test: CAIRN_TEST_SEED when set (to replay a failure), else the clock. */
export function testSeed(): number {
  return Number(process.env['CAIRN_TEST_SEED'] ?? Date.now() % 2 ** 31);
}

/** mulberry32: a small seeded PRNG, so a failing history can be replayed from its seed. */
export function seededRandom(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    /** An integer in [lo, hi], both included. */
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!,
    chance: (p: number) => next() < p,
  };
}
export type Rand = ReturnType<typeof seededRandom>;

/** One stream of a history: its events in the order they are appended. */
export interface HistoryStream {
  workspaceId: string;
  streamId: string;
  streamType: 'experiment' | 'run';
  events: NewEvent[];
}

/** A stream's events cut into consecutive chunks of 1–8 events, each chunk one append. */
export function randomChunks(rand: Rand, events: readonly NewEvent[]): NewEvent[][] {
  const chunks: NewEvent[][] = [];
  for (let i = 0; i < events.length;) {
    const size = rand.int(1, 8);
    chunks.push(events.slice(i, i + size));
    i += size;
  }
  return chunks;
}
