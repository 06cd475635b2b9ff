import { describe, expect, it } from 'vitest';
import { decodeEvent, type NewEvent } from '@cairn/events';
import { CairnError } from '../src/errors.ts';
import {
  retentionPolicyDecider,
  retentionPurgeDecider,
  type RetentionPolicyCommand,
} from '../src/governance/retention.decider.ts';
import type { DecideContext } from '../src/write/decider.ts';

function context(): DecideContext {
  let n = 0;
  return {
    now: () => new Date('2026-12-07T12:00:00.000Z'),
    newId: () => `0190000000007000800000000000${String(++n).padStart(4, '0')}`,
  };
}

/** given events → state → when command → then events (or the error). */
function when(given: NewEvent[], command: RetentionPolicyCommand) {
  let state = retentionPolicyDecider.initialState();
  given.forEach((e, i) => {
    const stored = decodeEvent({
      ...e,
      eventId: e.id,
      streamId: 'retention-policy',
      streamPosition: i + 1,
      globalPosition: i + 1,
      workspaceId: 'w',
      recordedAt: e.occurredAt,
      metadata: { actor: 't', correlationId: 'c', causationId: null },
    } as never);
    state = retentionPolicyDecider.evolve(state, stored);
  });
  return retentionPolicyDecider.decide(command, state, context());
}

const set = (traceDays: number | null, metricDays: number | null): RetentionPolicyCommand => ({
  type: 'SetRetentionPolicy',
  policy: { traceDays, metricDays },
});

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (error) {
    return error instanceof CairnError ? error.code : 'not a CairnError';
  }
  return undefined;
}

describe('retention policy decider', () => {
  it('sets a policy, and setting the same one again appends nothing', () => {
    const first = when([], set(30, null));
    expect(first.map((e) => [e.type, e.data])).toEqual([
      ['RetentionPolicySet', { traceDays: 30, metricDays: null }],
    ]);
    expect(when(first, set(30, null))).toEqual([]);
    expect(when(first, set(30, 90)).map((e) => e.data)).toEqual([
      { traceDays: 30, metricDays: 90 },
    ]);
  });

  it('refuses days outside 1–36500, fractions, and a policy that keeps everything', () => {
    for (const [t, m] of [
      [0, null],
      [null, -1],
      [1.5, null],
      [36_501, null],
      [null, null],
    ] as const)
      expect(
        codeOf(() => when([], set(t, m))),
        `${t}/${m}`,
      ).toBe('INVALID_ARGUMENT');
    expect(when([], set(1, 36_500))).toHaveLength(1);
  });

  it('removes a policy once; without one it is NOT_FOUND', () => {
    expect(codeOf(() => when([], { type: 'RemoveRetentionPolicy' }))).toBe('NOT_FOUND');
    const given = when([], set(7, 7));
    const removed = when(given, { type: 'RemoveRetentionPolicy' });
    expect(removed.map((e) => e.type)).toEqual(['RetentionPolicyRemoved']);
    expect(codeOf(() => when([...given, ...removed], { type: 'RemoveRetentionPolicy' }))).toBe(
      'NOT_FOUND',
    );
  });
});

describe('retention purge decider', () => {
  const before = '2026-11-30T12:00:00.000Z';
  it('records a purge only when something goes', () => {
    const decide = (c: Parameters<typeof retentionPurgeDecider.decide>[0]) =>
      retentionPurgeDecider.decide(c, null, context());
    expect(decide({ type: 'RecordTracesPurge', purge: { before, days: 7, traceIds: [] } })).toEqual(
      [],
    );
    expect(
      decide({
        type: 'RecordMetricPointsPurge',
        purge: { before, days: 7, points: 0, seriesCount: 0, series: [] },
      }),
    ).toEqual([]);
    const t = decide({
      type: 'RecordTracesPurge',
      purge: { before, days: 7, traceIds: ['0af7651916cd43dd8448eb211c80319c'] },
    });
    expect(t.map((e) => e.type)).toEqual(['TracesPurged']);
    expect(
      codeOf(() =>
        decide({
          type: 'RecordTracesPurge',
          purge: {
            before,
            days: 7,
            traceIds: Array.from({ length: 501 }, () => '0af7651916cd43dd8448eb211c80319c'),
          },
        }),
      ),
    ).toBe('INVALID_ARGUMENT');
  });
});
