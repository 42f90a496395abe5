import { describe, expect, it } from 'vitest';
import { AppError } from '../lib/errors.js';
import {
  assetRecordKey,
  IMMUTABLE_CACHE_CONTROL,
  isPublicKey,
  isTenantKey,
  manifestKey,
  MUTABLE_CACHE_CONTROL,
  originalKey,
  renditionKey,
  renditionSetId,
  renditionSetMarkerKey,
  tenantPrefix,
} from './keys.js';
import { assertObjectKey } from './storage-guard.js';

const SHA = 'a'.repeat(64);
const SHA2 = 'b'.repeat(64);

const expect400 = (fn: () => unknown) => {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(AppError);
  expect((err as AppError).status).toBe(400);
  expect((err as AppError).code).toBe('BAD_REQUEST');
};

describe('key scheme', () => {
  it('puts every key under the tenant prefix', () => {
    const setId = renditionSetId({ sourceSha256: SHA, recipe: { widths: [320] }, encoderVersion: 1 });
    const keys = [
      originalKey('tn_1', SHA, 'jpg'),
      assetRecordKey('tn_1', 'ast_1'),
      manifestKey('tn_1', 'ast_1'),
      renditionKey('tn_1', setId, 640, 'webp'),
      renditionSetMarkerKey('tn_1', setId),
    ];
    expect(keys).toEqual([
      `t/tn_1/originals/${SHA}.jpg`,
      't/tn_1/assets/ast_1/asset.json',
      't/tn_1/assets/ast_1/manifest.json',
      `t/tn_1/r/${setId}/640.webp`,
      `t/tn_1/r/${setId}/set.json`,
    ]);
    for (const k of keys) {
      expect(k.startsWith(tenantPrefix('tn_1'))).toBe(true);
      expect(isTenantKey('tn_1', k)).toBe(true);
      expect(isTenantKey('tn_2', k)).toBe(false);
      expect(() => assertObjectKey(k)).not.toThrow();
    }
  });

  it('maps formats to file extensions', () => {
    expect(renditionKey('t1', SHA, 320, 'jpeg')).toMatch(/\/320\.jpg$/);
    expect(renditionKey('t1', SHA, 320, 'avif')).toMatch(/\/320\.avif$/);
  });

  it('rejects ids that could reach another prefix', () => {
    for (const bad of ['', '..', '../tn_2', 'tn_1/../tn_2', 'a/b', '.hidden', '-x', 'a b', 'a\0', 'é', 'x'.repeat(65), 'a.b']) {
      expect400(() => tenantPrefix(bad));
      expect400(() => manifestKey(bad, 'ast_1'));
      expect400(() => manifestKey('tn_1', bad));
      expect400(() => originalKey(bad, SHA, 'jpg'));
    }
    expect(isTenantKey('tn_1', 't/tn_10/assets/a/manifest.json')).toBe(false);
    expect(isTenantKey('../x', 't/../x/a')).toBe(false);
  });

  it('rejects malformed hashes, extensions, widths and formats', () => {
    expect400(() => originalKey('t1', 'A'.repeat(64), 'jpg'));
    expect400(() => originalKey('t1', SHA.slice(1), 'jpg'));
    expect400(() => originalKey('t1', SHA, 'jp/g'));
    expect400(() => originalKey('t1', SHA, ''));
    expect400(() => renditionKey('t1', 'not-a-set', 320, 'webp'));
    expect400(() => renditionKey('t1', SHA, 0, 'webp'));
    expect400(() => renditionKey('t1', SHA, 1.5, 'webp'));
    expect400(() => renditionKey('t1', SHA, 320, 'gif' as 'webp'));
    expect400(() => renditionSetId({ sourceSha256: 'x', recipe: {}, encoderVersion: 1 }));
  });

  it('marks only renditions and manifests public', () => {
    expect(isPublicKey(renditionKey('tn_1', SHA, 640, 'avif'))).toBe(true);
    expect(isPublicKey(manifestKey('tn_1', 'ast_1'))).toBe(true);
    expect(isPublicKey(originalKey('tn_1', SHA, 'jpg'))).toBe(false);
    expect(isPublicKey(assetRecordKey('tn_1', 'ast_1'))).toBe(false);
    expect(isPublicKey(renditionSetMarkerKey('tn_1', SHA))).toBe(false);
    expect(isPublicKey(`t/tn_1/r/${SHA}/640.avif/../../../originals/${SHA}.jpg`)).toBe(false);
  });

  it('has the cache policies of immutable and mutable objects', () => {
    expect(IMMUTABLE_CACHE_CONTROL).toBe('public, max-age=31536000, immutable');
    expect(MUTABLE_CACHE_CONTROL).toMatch(/max-age=\d{1,3}\b/);
  });
});

describe('renditionSetId', () => {
  const base = {
    sourceSha256: SHA,
    recipe: { widths: [320, 640], formats: ['avif', 'jpeg'], bg: { color: '#fff', blur: 2 } },
    encoderVersion: 3,
  };

  it('is a stable hex hash', () => {
    const id = renditionSetId(base);
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(renditionSetId(structuredClone(base))).toBe(id);
    // Pinned (sha256 of the sorted JSON, computed independently): a change here would silently
    // re-render every set and orphan every published rendition.
    expect(id).toBe('31cb365bb86db46a2b03f8f226b5be7a7f79cfc87b46ac921827a879e66c62c7');
  });

  it('ignores key order at every depth but not array order', () => {
    const reordered = { ...base, recipe: { bg: { blur: 2, color: '#fff' }, formats: ['avif', 'jpeg'], widths: [320, 640] } };
    expect(renditionSetId(reordered)).toBe(renditionSetId(base));
    expect(renditionSetId({ ...base, recipe: { ...base.recipe, widths: [640, 320] } })).not.toBe(renditionSetId(base));
  });

  it('changes with any input', () => {
    const id = renditionSetId(base);
    const variants = [
      { ...base, sourceSha256: SHA2 },
      { ...base, encoderVersion: 4 },
      { ...base, encoderVersion: '3' },
      { ...base, templateVersion: 1 },
      { ...base, recipe: { ...base.recipe, bg: { color: '#fff', blur: 3 } } },
      { ...base, recipe: null },
    ];
    const ids = variants.map(renditionSetId);
    expect(ids).not.toContain(id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('treats an absent templateVersion like an undefined one', () => {
    expect(renditionSetId({ ...base, templateVersion: undefined })).toBe(renditionSetId(base));
  });
});
