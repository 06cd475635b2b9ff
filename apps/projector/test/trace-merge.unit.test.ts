import { describe, expect, it } from 'vitest';
import { anIngestedSpan, seededRandom, testSeed, type Rand } from '@cairn/testing';
import {
  canonicalJson,
  canonicalSpan,
  compareVersions,
  mergeSpans,
  spanRecordOf,
  type SpanRecord,
} from '../src/index.ts';

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const SPAN = 'b7ad6b7169203331';

function version(o: Partial<SpanRecord> = {}): SpanRecord {
  const { resourceIndex: _r, ...span } = anIngestedSpan({
    traceId: TRACE,
    spanId: SPAN,
    startTimeUnixNano: '1000',
    endTimeUnixNano: '2000',
  });
  return canonicalSpan({ ...span, resource: {}, ...o });
}

/** A random version of the one span: ends, statuses, attributes, events and links vary. */
function randomVersion(rand: Rand): SpanRecord {
  const attributes: Record<string, unknown> = {};
  for (const k of ['a', 'b', 'c', 'd']) {
    if (rand.chance(0.6)) attributes[k] = rand.pick([1, 2, 'x', 'y', true, null, [1], { z: 1 }]);
  }
  const events = [];
  for (let i = rand.int(0, 2); i > 0; i--) {
    events.push({
      name: rand.pick(['e1', 'e2']),
      timeUnixNano: String(rand.int(1, 3)),
      attributes: {},
    });
  }
  const links = [];
  if (rand.chance(0.3))
    links.push({
      traceId: TRACE,
      spanId: rand.pick(['1111111111111111', '2222222222222222']),
      attributes: {},
    });
  return version({
    name: rand.pick(['a', 'b']),
    parentSpanId: rand.pick([null, 'cccccccccccccccc']),
    startTimeUnixNano: rand.pick(['1000', '1001']),
    endTimeUnixNano: rand.pick(['0', '2000', '3000', '18446744073709551615']),
    status: rand.pick([
      { code: 'UNSET' as const, message: null },
      { code: 'OK' as const, message: null },
      { code: 'ERROR' as const, message: 'boom' },
    ]),
    attributes,
    resource: rand.chance(0.5) ? { 'service.name': rand.pick(['s1', 's2']) } : {},
    events,
    links,
    droppedAttributesCount: rand.int(0, 1),
  });
}

const same = (a: SpanRecord, b: SpanRecord) => expect(canonicalJson(a)).toBe(canonicalJson(b));

describe('mergeSpans', () => {
  it('prefers the version with an end, then the later end; attributes and events united', () => {
    const open = version({
      endTimeUnixNano: '0',
      name: 'open',
      attributes: { only: 'open', both: 'a' },
      events: [{ name: 'start', timeUnixNano: '1000', attributes: {} }],
    });
    const done = version({
      endTimeUnixNano: '5000',
      name: 'done',
      status: { code: 'OK', message: null },
      attributes: { both: 'b', extra: 1 },
      events: [{ name: 'end', timeUnixNano: '4000', attributes: {} }],
    });
    const merged = mergeSpans(open, done);
    expect(merged).toEqual({
      ...done,
      attributes: { only: 'open', both: 'b', extra: 1 },
      events: [
        { name: 'start', timeUnixNano: '1000', attributes: {} },
        { name: 'end', timeUnixNano: '4000', attributes: {} },
      ],
    });
    expect(mergeSpans(done, open)).toEqual(merged);
    const later = version({ endTimeUnixNano: '6000', name: 'later' });
    expect(mergeSpans(done, later).name).toBe('later');
    expect(mergeSpans(later, done).name).toBe('later');
    // End times compare as integers, not as strings ("10000" > "9000").
    expect(
      mergeSpans(
        version({ endTimeUnixNano: '10000', name: 'x' }),
        version({ endTimeUnixNano: '9000', name: 'y' }),
      ).name,
    ).toBe('x');
  });

  it('breaks ties between versions with the same end by their content, deterministically', () => {
    const a = version({ name: 'a' });
    const b = version({ name: 'b' });
    expect(compareVersions(a, b)).toBeLessThan(0);
    expect(mergeSpans(a, b).name).toBe('b');
    expect(mergeSpans(b, a).name).toBe('b');
    // A conflicting attribute keeps the greater value (canonical JSON), whichever version wins.
    const x = version({ name: 'a', attributes: { k: 'zzz' } });
    const y = version({ name: 'b', attributes: { k: 'aaa' } });
    expect(mergeSpans(x, y).attributes).toEqual({ k: 'zzz' });
    expect(mergeSpans(y, x).attributes).toEqual({ k: 'zzz' });
  });

  it('never changes identity fields: merging two different spans throws', () => {
    expect(() => mergeSpans(version(), version({ spanId: 'aaaaaaaaaaaaaaaa' }))).toThrow(
      /different spans/,
    );
    expect(() => mergeSpans(version(), version({ traceId: 'f'.repeat(32) }))).toThrow(
      /different spans/,
    );
  });

  it('deduplicates events and links and orders them canonically (stored alike once or twice)', () => {
    const e1 = { name: 'b', timeUnixNano: '20', attributes: {} };
    const e2 = { name: 'a', timeUnixNano: '100', attributes: {} };
    const raw = anIngestedSpan({ traceId: TRACE, spanId: SPAN, events: [e2, e1, e2] });
    const record = spanRecordOf(raw, [{ 'service.name': 'svc' }]);
    expect(record.events).toEqual([e1, e2]);
    expect(record.resource).toEqual({ 'service.name': 'svc' });
    expect(record).not.toHaveProperty('resourceIndex');
    same(mergeSpans(record, record), record);
  });

  it('is commutative, associative and idempotent over random versions', () => {
    const seed = testSeed();
    const rand = seededRandom(seed);
    const versions = Array.from({ length: 11 }, () => randomVersion(rand));
    versions.push(versions[0]!); // an exact duplicate too
    for (const a of versions) {
      same(mergeSpans(a, a), a);
      for (const b of versions) {
        same(mergeSpans(a, b), mergeSpans(b, a));
        const ab = mergeSpans(a, b);
        same(mergeSpans(ab, b), ab);
        same(mergeSpans(ab, a), ab);
        for (const c of versions) {
          same(mergeSpans(ab, c), mergeSpans(a, mergeSpans(b, c)));
        }
      }
    }
    // Any order of folding all of them gives one result.
    const folded = versions.reduce((acc, v) => mergeSpans(acc, v));
    const reversed = [...versions].reverse().reduce((acc, v) => mergeSpans(acc, v));
    same(folded, reversed);
    for (let i = 0; i < 20; i++) {
      const shuffled = [...versions].sort(() => rand.next() - 0.5);
      same(
        shuffled.reduce((acc, v) => mergeSpans(acc, v)),
        folded,
      );
    }
    // The winner is the greatest version: an ended one whenever there is one.
    const best = [...versions].sort(compareVersions).at(-1)!;
    expect(folded.endTimeUnixNano, `seed ${seed}`).toBe(best.endTimeUnixNano);
    expect(folded.name).toBe(best.name);
    // Attributes: every key of every version.
    const keys = new Set(versions.flatMap((v) => Object.keys(v.attributes)));
    expect(new Set(Object.keys(folded.attributes))).toEqual(keys);
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every depth and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 1], c: null } })).toBe(
      '{"a":{"c":null,"d":[2,1]},"b":1}',
    );
    expect(canonicalJson({ a: undefined, b: 'x' })).toBe('{"b":"x"}');
    expect(canonicalJson('s')).toBe('"s"');
  });
});
