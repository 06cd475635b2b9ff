import { describe, expect, it } from 'vitest';
import { ALL_EVENT_TYPES, currentSchemas, eventCatalogueJsonSchema } from '../src/index.ts';

type Node = null | boolean | number | string | Node[] | { [key: string]: Node };

function refsOf(node: Node, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const child of node) refsOf(child, out);
  else if (node && typeof node === 'object')
    for (const [key, child] of Object.entries(node)) {
      if (key === '$ref' && typeof child === 'string') out.push(child);
      else refsOf(child, out);
    }
  return out;
}

describe('event catalogue as JSON Schema', () => {
  const catalogue = eventCatalogueJsonSchema() as { $defs: Record<string, Node>; oneOf: Node[] };

  it('has one definition per event type at its current version, with its topic', () => {
    expect(catalogue.oneOf).toHaveLength(ALL_EVENT_TYPES.length);
    for (const type of ALL_EVENT_TYPES) {
      const def = catalogue.$defs[type] as {
        properties: { type: { const: string }; schemaVersion: { const: number } };
        'x-cairn-topic': string;
      };
      expect(def.properties.type.const).toBe(type);
      expect(def.properties.schemaVersion.const).toBe(currentSchemas[type].version);
      expect(def['x-cairn-topic']).toBe(`${currentSchemas[type].domain}.events.v1`);
    }
  });

  it('resolves every $ref inside the document (hoisted definitions included)', () => {
    const refs = refsOf(catalogue);
    expect(refs.length).toBeGreaterThan(ALL_EVENT_TYPES.length);
    for (const ref of refs) {
      expect(ref.startsWith('#/$defs/')).toBe(true);
      expect(Object.hasOwn(catalogue.$defs, ref.slice('#/$defs/'.length))).toBe(true);
    }
  });

  it('describes data as the zod schema does (ModelAliasSet)', () => {
    const data = (
      catalogue.$defs.ModelAliasSet as {
        properties: { data: { required: string[]; additionalProperties: boolean } };
      }
    ).properties.data;
    expect(data.required).toEqual(['modelId', 'name', 'alias', 'version', 'previousVersion']);
    expect(data.additionalProperties).toBe(false);
  });
});
