import { describe, expect, it } from 'vitest';
import { stepOutputId } from '../cdn/keys.js';
import { builtinTemplates } from '../templates/builtin.js';
import { templateVersion } from '../templates/schema.js';
import { canonicalJson } from './canonical-json.js';

describe('canonicalJson', () => {
  it('sorts keys, drops undefined members, keeps arrays', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: undefined }, é: 'x' })).toBe(
      '{"a":{"d":[3,{"y":2,"z":1}]},"b":1,"é":"x"}',
    );
    expect(canonicalJson([undefined, null, true, 'a"b'])).toBe('[null,null,true,"a\\"b"]');
    expect(canonicalJson(new Date(0))).toBe('"1970-01-01T00:00:00.000Z"');
  });

  it('refuses what JSON cannot carry faithfully', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const bad of [NaN, Infinity, 1n, () => 1, Symbol('x'), new Map(), cyclic, undefined]) {
      expect(() => canonicalJson(bad)).toThrow(TypeError);
    }
  });

  it('allows the same object twice when it is not a cycle', () => {
    const shared = { a: 1 };
    expect(canonicalJson({ x: shared, y: shared })).toBe('{"x":{"a":1},"y":{"a":1}}');
  });
});

/**
 * Template versions and step output ids hashed two canonical-JSON implementations until they
 * became one: pinned here as they were, so neither a template's version (which names its
 * renditions) nor a stored intermediate's id changed with it.
 */
describe('ids hashed from canonical JSON stay as they were', () => {
  it('keeps every built-in template version', () => {
    const versions = Object.fromEntries([...builtinTemplates()].map(([id, v]) => [id, templateVersion(v.template)]));
    expect(versions).toEqual({
      backplate: '2aa28fc6aa1a9fb9ddd2af56b832dcb00a6fda3790ab9a06b0afb3d80ab3869d',
      'brand-colour': '5fa13ae155cbb16e5b78aad52eff57c4477a3d95e07383c81b18acd9f50dedc2',
      gradient: '277f754788fd73468cd34152caf508d49f0c6b06eb1e7a31f8b07a4d6d2dcd54',
      'marketplace-white': '5e2bf60e91f985679c749201c4d6651265148d8ec34821ae92cf4e0237de8d1e',
      studio: '86da05390bc92286101523bfd04d98f354eae421bee4ee8645f604cda4f4b8f3',
    });
  });

  it('keeps a step output id', () => {
    const options = { factor: 2, model: 'esrgan', nested: { z: [1, { b: 2, a: 'é' }], a: null } };
    expect(stepOutputId({ inputId: 'a'.repeat(64), step: 'upscale@1', options, modelSha256: 'b'.repeat(64) })).toBe(
      '4ca7cb06eef589c65ef9526b0faab22572d9da1f6eed0ac1dfb937ed84ddc9b3',
    );
  });
});
