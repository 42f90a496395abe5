import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fsStorage } from '../../cdn/fs-storage.js';
import { assetRecordKey, manifestKey, publicationPrefix } from '../../cdn/keys.js';
import type { ObjectStorage } from '../../cdn/storage.js';
import { AppError } from '../../lib/errors.js';
import { resolveSource } from './resolve-source.js';

const T = 'tn_1';
const A = `ast_${'1'.repeat(32)}`;
const MAIN = 'a'.repeat(64);
const SCENE = 'b'.repeat(64);
const SHA = 'c'.repeat(64);
const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const put = { contentType: 'application/json' };

/** Which stored image each on-demand URL names, on a real disk bucket. */
describe('resolveSource', () => {
  let root: string;
  let storage: ObjectStorage;
  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'on-demand-source-'));
    storage = fsStorage({ root });
    const rendition = (set: string) => ({ renditions: [{ key: `t/${T}/r/${set}/640.webp` }] });
    await storage.put(manifestKey(T, A), json({ ...rendition(MAIN), channels: { marketplace: rendition(SCENE) } }), put);
    await storage.put(
      assetRecordKey(T, A),
      json({ id: A, tenantId: T, original: { key: `t/${T}/originals/${SHA}.jpg`, sha256: SHA } }),
      put,
    );
    await storage.put(`${publicationPrefix(T, A)}set/${SCENE}`, Buffer.alloc(0), put);
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('follows the manifest for cutout and channels, and the record for the original', async () => {
    expect(await resolveSource(storage, { tenantId: T, assetId: A, source: 'cutout' })).toEqual({
      key: `t/${T}/r/${MAIN}/master.png`,
      version: MAIN,
      owner: { setId: MAIN },
    });
    expect((await resolveSource(storage, { tenantId: T, assetId: A, source: 'marketplace' })).version).toBe(SCENE);
    expect(await resolveSource(storage, { tenantId: T, assetId: A, source: 'original', version: SHA })).toEqual({
      key: `t/${T}/originals/${SHA}.jpg`,
      version: SHA,
      owner: { assetId: A },
    });
  });

  it('pins only versions the asset published, and 404s what it does not have', async () => {
    expect((await resolveSource(storage, { tenantId: T, assetId: A, source: 'marketplace', version: SCENE })).key).toContain(SCENE);
    const missing = (target: Parameters<typeof resolveSource>[1]) =>
      resolveSource(storage, target).then(
        () => undefined,
        (e: AppError) => e.status,
      );
    // MAIN has no publication marker here: as if it were another asset's set.
    expect(await missing({ tenantId: T, assetId: A, source: 'cutout', version: MAIN })).toBe(404);
    expect(await missing({ tenantId: T, assetId: A, source: 'original', version: MAIN })).toBe(404);
    expect(await missing({ tenantId: T, assetId: A, source: 'instagram' })).toBe(404);
    expect(await missing({ tenantId: T, assetId: `ast_${'2'.repeat(32)}`, source: 'cutout' })).toBe(404);
  });
});
