import { describe, expect, it } from 'vitest';
import { onDemandPath, parseOnDemandPath, setIdOfKey } from './on-demand-url.js';

const set = 'a'.repeat(64);

describe('on-demand URL paths', () => {
  it('builds and parses the unpinned and pinned shapes', () => {
    expect(onDemandPath({ tenantId: 'tn_1', assetId: 'ast_2', source: 'cutout' })).toBe('/img/tn_1/ast_2/cutout');
    const pinned = onDemandPath({ tenantId: 'tn_1', assetId: 'ast_2', source: 'marketplace', version: set });
    expect(pinned).toBe(`/img/tn_1/ast_2/marketplace@${set}`);
    expect(parseOnDemandPath(pinned)).toEqual({ tenantId: 'tn_1', assetId: 'ast_2', source: 'marketplace', version: set });
    expect(parseOnDemandPath('/img/tn_1/ast_2/original')).toEqual({ tenantId: 'tn_1', assetId: 'ast_2', source: 'original' });
  });

  it('refuses what could escape or not round-trip', () => {
    expect(() => onDemandPath({ tenantId: '../x', assetId: 'a', source: 'cutout' })).toThrow();
    expect(() => onDemandPath({ tenantId: 't', assetId: 'a', source: 'Cutout' })).toThrow();
    expect(() => onDemandPath({ tenantId: 't', assetId: 'a', source: 'cutout', version: 'abc' })).toThrow();
    expect(parseOnDemandPath('/img/t/a/cutout@abc')).toBeUndefined();
    expect(parseOnDemandPath('/img/t/a/b/cutout')).toBeUndefined();
    expect(parseOnDemandPath('/img/t/a/..')).toBeUndefined();
  });

  it('reads the set id of a rendition key', () => {
    expect(setIdOfKey(`t/tn_1/r/${set}/640.webp`)).toBe(set);
    expect(setIdOfKey('t/tn_1/originals/x.jpg')).toBeUndefined();
  });
});
