import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fsStorage } from '../../cdn/fs-storage.js';
import { isPublicKey } from '../../cdn/keys.js';
import type { ObjectStorage } from '../../cdn/storage.js';
import { SURROGATE_KEY_METADATA } from '../../cdn/surrogate-keys.js';
import { processRender } from './render.js';

/** The render step on a real disk bucket: what every rendition is tagged with, and the imgix master. */
describe('render writes renditions a takedown can purge', () => {
  let dir: string;
  let storage: ObjectStorage;
  const T = 'tn_render';
  const sha = 'c'.repeat(64);
  const source = `t/${T}/originals/${sha}.png`;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'render-test-'));
    storage = fsStorage({ root: dir });
    // EXIF that must not reach the master: the master is built from decoded pixels.
    const png = await sharp({ create: { width: 320, height: 200, channels: 4, background: { r: 200, g: 30, b: 30, alpha: 0.5 } } })
      .withExif({ IFD0: { Artist: 'secret-gps-owner' } })
      .png()
      .toBuffer();
    await storage.put(source, png, { contentType: 'image/png' });
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  const render = (assetId: string, writeMaster: boolean) =>
    processRender(
      {
        tenantId: T,
        assetId,
        runId: 'run_1',
        stepIndex: 0,
        source: { key: source, sha256: sha },
        options: { widths: [100, 200], formats: ['webp', 'jpeg'] },
      },
      { key: source, id: sha },
      { storage, decodeLimits: { maxPixels: 1e8 }, writeMaster },
      async () => undefined,
    );

  it('tags each rendition and the set marker with the tenant and asset surrogate keys', async () => {
    const result = await render('ast_r1', false);
    expect(result.master).toBeUndefined();
    for (const r of result.renditions) {
      const meta = await storage.head(r.key);
      expect(meta?.metadata?.[SURROGATE_KEY_METADATA]?.split(' ')).toEqual([`tenant:${T}`, `asset:${T}/ast_r1`]);
      expect(meta?.cacheControl).toContain('immutable');
    }
  });

  it('writes a public, immutable, lossless master without the original metadata when asked (imgix)', async () => {
    const result = await render('ast_r1', true);
    expect(result.master).toMatchObject({ width: 320, height: 200 });
    const key = result.master!.key;
    expect(key).toMatch(/\/r\/[0-9a-f]{64}\/master\.png$/);
    expect(isPublicKey(key)).toBe(true);
    const meta = await storage.head(key);
    expect(meta).toMatchObject({ contentType: 'image/png', cacheControl: expect.stringContaining('immutable') });
    expect(meta?.metadata?.[SURROGATE_KEY_METADATA]).toContain(`asset:${T}/ast_r1`);
    const info = await sharp((await storage.get(key))!).metadata();
    expect(info).toMatchObject({ format: 'png', width: 320, height: 200, hasAlpha: true });
    expect(info.exif).toBeUndefined();
    // The marker now names the master: the next render of the set finds it.
    expect((await render('ast_r1', true)).master?.key).toBe(key);
  });
});
