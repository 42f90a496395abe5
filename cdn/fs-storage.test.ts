import { linkSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { AppError } from '../lib/errors.js';
import { fsStorage } from './fs-storage.js';
import { describeStorageConformance } from './storage.conformance.js';

const tempRoot = () => mkdtemp(path.join(tmpdir(), 'fs-storage-'));

describeStorageConformance('fs', async () => {
  const root = await tempRoot();
  return { storage: fsStorage({ root }), cleanup: () => rm(root, { recursive: true, force: true }) };
});

describe('fsStorage specifics', () => {
  const roots: string[] = [];
  const fresh = async () => {
    const root = await tempRoot();
    roots.push(root);
    return { root, storage: fsStorage({ root }) };
  };
  afterEach(async () => {
    await Promise.all(roots.splice(0).map((r) => rm(r, { recursive: true, force: true })));
  });

  it('stores plain files under the key and metadata in a hidden sidecar', async () => {
    const { root, storage } = await fresh();
    await storage.put('t/a/x.txt', Buffer.from('hi'), { contentType: 'text/plain', metadata: { k: 'v' } });
    expect((await stat(path.join(root, 't/a/x.txt'))).size).toBe(2);
    expect(await readdir(path.join(root, '.meta/t/a'))).toEqual(['x.txt.json']);
    // No temp files are left behind next to the object.
    expect(await readdir(path.join(root, 't/a'))).toEqual(['x.txt']);
  });

  it('removes its temp files when a body stream fails', async () => {
    const { root, storage } = await fresh();
    async function* body() {
      yield Buffer.alloc(1000);
      throw new Error('client went away');
    }
    await expect(storage.put('t/a/x.bin', Readable.from(body()), { contentType: 'application/octet-stream' })).rejects.toThrow(
      'client went away',
    );
    expect(await readdir(path.join(root, 't/a'))).toEqual([]);
    expect(await readdir(path.join(root, '.meta/t/a')).catch(() => [])).toEqual([]);
  });

  it('makes a directory again when it was removed after the first put into it', async () => {
    const { root, storage } = await fresh();
    await storage.put('t/a/x.txt', Buffer.from('one'), { contentType: 'text/plain' });
    await rm(path.join(root, 't'), { recursive: true });
    await rm(path.join(root, '.meta'), { recursive: true });
    await storage.put('t/a/y.txt', Buffer.from('two'), { contentType: 'text/plain', cacheControl: 'no-store' });
    expect((await storage.get('t/a/y.txt'))?.toString()).toBe('two');
    expect(await storage.head('t/a/y.txt')).toMatchObject({ contentType: 'text/plain', cacheControl: 'no-store' });
  });

  it('copies by hard link: no new data file, and no temp file left', async () => {
    const { root, storage } = await fresh();
    await storage.put('t/r/a.webp', Buffer.from('bytes'), { contentType: 'image/webp' });
    expect(await storage.copy('t/r/a.webp', 't/latest/a.webp', { contentType: 'image/webp', cacheControl: 'public, max-age=60' })).toBe(
      true,
    );
    const [source, copy] = await Promise.all([stat(path.join(root, 't/r/a.webp')), stat(path.join(root, 't/latest/a.webp'))]);
    expect(copy.ino).toBe(source.ino);
    expect(copy.nlink).toBe(2);
    expect(await readdir(path.join(root, 't/latest'))).toEqual(['a.webp']);
    expect(await readdir(path.join(root, '.meta/t/latest'))).toEqual(['a.webp.json']);
  });

  it('refuses a copy whose key would need a file to be a directory, and keeps the source', async () => {
    const { storage } = await fresh();
    await storage.put('t/a/file', Buffer.from('x'), { contentType: 'text/plain' });
    await storage.put('t/r/src', Buffer.from('src'), { contentType: 'text/plain' });
    for (const to of ['t/a/file/below', 't/a']) {
      const err = await storage.copy('t/r/src', to).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).status).toBe(400);
    }
    expect((await storage.get('t/r/src'))?.toString()).toBe('src');
  });

  it('copies the bytes where the filesystem refuses another link to the source (EMLINK)', async () => {
    const { root, storage } = await fresh();
    await storage.put('t/r/popular.webp', Buffer.from('shared by many'), { contentType: 'image/webp' });
    // ext4 allows 65,000 links to a file; other filesystems allow more, and the case cannot arise there.
    const source = path.join(root, 't/r/popular.webp');
    await mkdir(path.join(root, 'links'));
    let refused = false;
    for (let i = 0; i < 70_000 && !refused; i++) {
      try {
        linkSync(source, path.join(root, 'links', String(i)));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EMLINK') throw err;
        refused = true;
      }
    }
    if (!refused) return; // no link limit this low here (not ext4): nothing to fall back from
    expect(await storage.copy('t/r/popular.webp', 't/latest/popular.webp', { contentType: 'image/webp' })).toBe(true);
    expect((await storage.get('t/latest/popular.webp'))?.toString()).toBe('shared by many');
    expect((await stat(path.join(root, 't/latest/popular.webp'))).nlink).toBe(1);
    expect(await readdir(path.join(root, 't/latest'))).toEqual(['popular.webp']);
  }, 60_000);

  it('serves a file dropped in by hand as opaque bytes', async () => {
    const { root, storage } = await fresh();
    await writeFile(path.join(root, 'manual.bin'), 'abc');
    expect(await storage.head('manual.bin')).toMatchObject({ contentType: 'application/octet-stream', size: 3 });
  });

  it('treats a directory as no object', async () => {
    const { storage } = await fresh();
    await storage.put('d/inner.txt', Buffer.from('x'), { contentType: 'text/plain' });
    expect(await storage.get('d')).toBeUndefined();
    expect(await storage.head('d')).toBeUndefined();
    expect(await storage.getStream('d')).toBeUndefined();
    await storage.delete('d');
    expect(await storage.get('d/inner.txt')).toBeDefined();
  });

  it('refuses a key that would need a file to be a directory', async () => {
    const { storage } = await fresh();
    await storage.put('f', Buffer.from('x'), { contentType: 'text/plain' });
    const err = await storage.put('f/g', Buffer.from('y'), { contentType: 'text/plain' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).status).toBe(400);
  });

  it('keeps a stream opened before an overwrite on the old bytes', async () => {
    const { storage } = await fresh();
    await storage.put('k', Buffer.alloc(100_000, 1), { contentType: 'application/octet-stream' });
    const opened = await storage.getStream('k');
    await storage.put('k', Buffer.alloc(10, 2), { contentType: 'application/octet-stream' });
    const chunks: Buffer[] = [];
    for await (const c of opened!.body) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    expect(body.length).toBe(100_000);
    expect(body.every((b) => b === 1)).toBe(true);
  });

  it('fails ping with a retryable STORAGE_ERROR when the root is unusable', async () => {
    const { root } = await fresh();
    const file = path.join(root, 'not-a-dir');
    await writeFile(file, 'x');
    const err = await fsStorage({ root: file })
      .ping()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).status).toBe(503);
    expect((err as AppError).code).toBe('STORAGE_ERROR');
    expect((err as AppError).cause).toBeDefined();
    // The client-facing body names the failure, not the path or errno.
    expect(JSON.stringify((err as AppError).toJSON())).not.toContain(root);
  });
});
