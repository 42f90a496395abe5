import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { isPublicKey, PUBLIC_KEY_PATTERNS } from '../keys.js';
import { PUBLIC_KEYS_VCL, publicKeysRegex, renderPublicKeysVcl } from './public-keys.js';

const T = 'tn_1';
const SET = 'a'.repeat(64);

describe('public-keys.vcl, the edge copy of the public key patterns', () => {
  it('is what the code marks public now (regenerate with `npx tsx cdn/varnish/public-keys.ts`)', async () => {
    expect(await readFile(PUBLIC_KEYS_VCL, 'utf8')).toBe(renderPublicKeysVcl());
  });

  it('accepts exactly the keys isPublicKey accepts', () => {
    const regex = new RegExp(publicKeysRegex());
    const keys = [
      `t/${T}/r/${SET}/320.avif`,
      `t/${T}/r/${SET}/1280.jpg`,
      `t/${T}/assets/ast_1/manifest.json`,
      `t/${T}/assets/ast_1/latest/640.webp`,
      `t/${T}/assets/ast_1/latest/square/640.webp`,
      `t/${T}/sku/SKU.1-a/640.jpg`,
      `t/${T}/sku/SKU.1-a/manifest.json`,
      `t/${T}/sku/SKU-1/square/640.jpg`,
      // Never public:
      `t/${T}/originals/${'b'.repeat(64)}.jpg`,
      `t/${T}/assets/ast_1/asset.json`,
      `t/${T}/r/${SET}/set.json`,
      `t/${T}/work/${SET}.png`,
      `t/${T}/`,
      '',
      'metrics',
      'openapi.json',
      `t/${T}/assets/ast_1/manifest.json.bak`,
      `t/${T}/assets/../manifest.json`,
      `t/${T}/r/${SET}/0320.avif`,
      `x/t/${T}/r/${SET}/320.avif`,
      `t/${T}/r/${SET}/320.avif/`,
    ];
    for (const key of keys) expect(regex.test(key), key).toBe(isPublicKey(key));
    expect(keys.filter(isPublicKey)).toHaveLength(8);
  });

  it('refuses a pattern that is not anchored or would end the VCL string', () => {
    expect(() => publicKeysRegex([/t\/x/])).toThrow(/anchored/);
    expect(() => publicKeysRegex([/^"$/])).toThrow(/double quote/);
    expect(() => publicKeysRegex([/^x$/i])).toThrow(/flags/);
    expect(publicKeysRegex(PUBLIC_KEY_PATTERNS.slice(0, 1))).toBe(`^(?:${PUBLIC_KEY_PATTERNS[0]!.source.slice(1, -1)})$`);
  });
});
