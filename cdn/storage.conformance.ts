import { randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../lib/errors.js';
import type { ObjectStorage } from './storage.js';
import { compareKeys } from './storage-guard.js';

/** What a driver's test file hands the suite: a fresh storage and how to tear it down. */
export interface ConformanceSubject {
  storage: ObjectStorage;
  cleanup(): Promise<void>;
}

const collect = async (it: AsyncIterable<string>) => {
  const out: string[] = [];
  for await (const k of it) out.push(k);
  return out;
};

const readAll = async (body: Readable) => {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
};

const expectBadRequest = async (p: Promise<unknown>) => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  expect((err as AppError).status).toBe(400);
  expect((err as AppError).code).toBe('BAD_REQUEST');
};

/**
 * Guarantees a *test server* (not the driver) is known to lack, each with the reason. Only for
 * stand-ins such as s3rver; a production backend must pass everything.
 */
export interface ServerLimitations {
  /** The server writes objects in place, so concurrent or overlapping writes can interleave. */
  atomicWrites?: string;
}

/**
 * The shared behaviour every `ObjectStorage` driver must have (imgproxy's storage/testsuite).
 * Each test works under its own UUID prefix, so tests never see each other's objects.
 */
export function describeStorageConformance(
  name: string,
  factory: () => Promise<ConformanceSubject>,
  limitations: ServerLimitations = {},
): void {
  describe(`ObjectStorage conformance: ${name}`, () => {
    let subject: ConformanceSubject | undefined;
    const storage = () => {
      if (!subject) throw new Error('storage factory did not run');
      return subject.storage;
    };
    const prefix = () => `conformance/${randomUUID()}/`;

    beforeAll(async () => {
      subject = await factory();
    });
    afterAll(async () => {
      await subject?.cleanup();
    });

    it('round-trips a Buffer body with get and getStream', async () => {
      const key = `${prefix()}hello.txt`;
      await storage().put(key, Buffer.from('hello world'), { contentType: 'text/plain' });
      expect((await storage().get(key))?.toString()).toBe('hello world');
      const stored = await storage().getStream(key);
      expect(stored).toBeDefined();
      expect(stored!.meta.contentType).toBe('text/plain');
      expect(stored!.meta.size).toBe(11);
      expect((await readAll(stored!.body)).toString()).toBe('hello world');
    });

    it('round-trips a stream body', async () => {
      const key = `${prefix()}streamed.bin`;
      const parts = [randomBytes(70_000), randomBytes(1), randomBytes(130_000)];
      await storage().put(key, Readable.from(parts), { contentType: 'application/octet-stream' });
      expect((await storage().get(key))?.equals(Buffer.concat(parts))).toBe(true);
      expect((await storage().head(key))?.size).toBe(200_001);
    });

    it("rejects with the body stream's own error and stores nothing when the stream fails", async () => {
      const key = `${prefix()}aborted.bin`;
      const failure = new AppError('UPLOAD_TOO_LARGE', 'too big');
      async function* body() {
        yield randomBytes(64 * 1024);
        throw failure;
      }
      await expect(storage().put(key, Readable.from(body()), { contentType: 'application/octet-stream' })).rejects.toBe(failure);
      expect(await storage().head(key)).toBeUndefined();
      expect(await collect(storage().list(key))).toEqual([]);
    });

    it('round-trips a stream larger than an S3 multipart part, and stores nothing when one fails past a part', async () => {
      // 12 MiB in 64 KiB reads: three 5 MiB parts on S3 (cdn/s3-storage.ts), one file on disk.
      const key = `${prefix()}large.bin`;
      const parts = Array.from({ length: 12 * 16 }, () => randomBytes(64 * 1024));
      await storage().put(key, Readable.from(parts), { contentType: 'application/octet-stream' });
      expect((await storage().get(key))?.equals(Buffer.concat(parts))).toBe(true);
      expect((await storage().head(key))?.size).toBe(12 << 20);

      const failedKey = `${prefix()}large-failed.bin`;
      const failure = new AppError('UPLOAD_TOO_LARGE', 'too big');
      async function* failing() {
        yield* parts.slice(0, 7 * 16);
        throw failure;
      }
      await expect(storage().put(failedKey, Readable.from(failing()), { contentType: 'application/octet-stream' })).rejects.toBe(failure);
      expect(await storage().head(failedKey)).toBeUndefined();
    });

    it('round-trips an empty object', async () => {
      const key = `${prefix()}empty`;
      await storage().put(key, Buffer.alloc(0), { contentType: 'application/octet-stream' });
      expect((await storage().get(key))?.length).toBe(0);
      expect((await storage().head(key))?.size).toBe(0);
    });

    it('returns the stored metadata from head and getStream', async () => {
      const key = `${prefix()}image.avif`;
      const before = Date.now();
      await storage().put(key, Buffer.alloc(1234, 7), {
        contentType: 'image/avif',
        cacheControl: 'public, max-age=31536000, immutable',
        metadata: { 'surrogate-key': 'asset-1 tenant-2', run: 'r1' },
      });
      const meta = await storage().head(key);
      expect(meta).toMatchObject({
        contentType: 'image/avif',
        cacheControl: 'public, max-age=31536000, immutable',
        size: 1234,
        metadata: { 'surrogate-key': 'asset-1 tenant-2', run: 'r1' },
      });
      expect(meta!.lastModified).toBeInstanceOf(Date);
      // Second resolution on some servers; allow a little clock skew.
      expect(meta!.lastModified!.getTime()).toBeGreaterThan(before - 5_000);
      const stored = await storage().getStream(key);
      expect(stored!.meta).toMatchObject({ contentType: 'image/avif', size: 1234, metadata: { run: 'r1' } });
      stored!.body.destroy();
    });

    it('answers undefined for a missing object', async () => {
      const key = `${prefix()}nothing/here.txt`;
      expect(await storage().get(key)).toBeUndefined();
      expect(await storage().getStream(key)).toBeUndefined();
      expect(await storage().head(key)).toBeUndefined();
    });

    it('deletes idempotently', async () => {
      const key = `${prefix()}doomed.txt`;
      await storage().put(key, Buffer.from('x'), { contentType: 'text/plain' });
      await storage().delete(key);
      expect(await storage().get(key)).toBeUndefined();
      expect(await storage().head(key)).toBeUndefined();
      await storage().delete(key);
      await storage().delete(`${prefix()}never/existed.txt`);
    });

    it('replaces body and metadata on overwrite', async () => {
      const key = `${prefix()}manifest.json`;
      await storage().put(key, Buffer.from('{"v":1,"long":"xxxxxxxxxxxxxxxx"}'), {
        contentType: 'application/json',
        cacheControl: 'public, max-age=60',
        metadata: { old: 'yes' },
      });
      await storage().put(key, Buffer.from('{"v":2}'), { contentType: 'text/plain', metadata: { fresh: '1' } });
      expect((await storage().get(key))?.toString()).toBe('{"v":2}');
      const meta = await storage().head(key);
      expect(meta?.contentType).toBe('text/plain');
      expect(meta?.size).toBe(7);
      expect(meta?.cacheControl).toBeUndefined();
      expect(meta?.metadata).toEqual({ fresh: '1' });
    });

    it('copies an object with its metadata, or with new metadata and a later time', async () => {
      const p = prefix();
      const immutable = { contentType: 'image/webp', cacheControl: 'public, max-age=31536000, immutable', metadata: { kind: 'rendition' } };
      await storage().put(`${p}r/640.webp`, Buffer.from('rendition bytes'), immutable);
      const source = await storage().head(`${p}r/640.webp`);
      // Last-Modified has one-second resolution: a stable URL copied a second later must say so.
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      const mutable = { contentType: 'image/webp', cacheControl: 'public, max-age=60', metadata: { 'surrogate-key': 'asset-1' } };
      expect(await storage().copy(`${p}r/640.webp`, `${p}latest/640.webp`, mutable)).toBe(true);
      expect(await storage().copy(`${p}latest/640.webp`, `${p}sku/A-1/640.webp`)).toBe(true);
      for (const key of [`${p}latest/640.webp`, `${p}sku/A-1/640.webp`]) {
        expect((await storage().get(key))?.toString()).toBe('rendition bytes');
        const meta = await storage().head(key);
        expect(meta).toMatchObject({ ...mutable, size: 15 });
        expect(Math.floor(meta!.lastModified!.getTime() / 1000)).toBeGreaterThan(Math.floor(source!.lastModified!.getTime() / 1000));
      }
      // The source is unchanged, and later writes on either side stay on their side.
      expect(await storage().head(`${p}r/640.webp`)).toEqual(source);
      await storage().put(`${p}latest/640.webp`, Buffer.from('newer'), mutable);
      await storage().delete(`${p}sku/A-1/640.webp`);
      expect((await storage().get(`${p}r/640.webp`))?.toString()).toBe('rendition bytes');
      expect((await storage().get(`${p}latest/640.webp`))?.toString()).toBe('newer');
      await storage().put(`${p}r/640.webp`, Buffer.from('replaced'), immutable);
      expect((await storage().get(`${p}latest/640.webp`))?.toString()).toBe('newer');
    });

    it('copies over an existing object whole, and answers false for a missing source', async () => {
      const p = prefix();
      await storage().put(`${p}from.txt`, Buffer.from('from'), { contentType: 'text/plain' });
      await storage().put(`${p}to.txt`, Buffer.from('the old object'), { contentType: 'application/json', metadata: { old: 'yes' } });
      expect(await storage().copy(`${p}from.txt`, `${p}to.txt`)).toBe(true);
      expect((await storage().get(`${p}to.txt`))?.toString()).toBe('from');
      const meta = await storage().head(`${p}to.txt`);
      expect(meta).toMatchObject({ contentType: 'text/plain', size: 4 });
      expect(meta?.metadata).toBeUndefined();
      expect(await storage().copy(`${p}to.txt`, `${p}to.txt`)).toBe(true);
      expect((await storage().get(`${p}to.txt`))?.toString()).toBe('from');
      expect(await storage().copy(`${p}absent.txt`, `${p}absent.txt`)).toBe(false);
      expect(await storage().copy(`${p}absent.txt`, `${p}new/to.txt`)).toBe(false);
      expect(await storage().head(`${p}new/to.txt`)).toBeUndefined();
      await expectBadRequest(storage().copy(`${p}from.txt`, `${p}../escape`));
      await expectBadRequest(storage().copy(`${p}from.txt`, `${p}to.txt`, { contentType: 'text/plain', metadata: { Upper: 'x' } }));
    });

    it('lists keys under a prefix, nested ones included, in byte order', async () => {
      const p = prefix();
      const keys = ['b/x', 'a/2.txt', 'ab', 'a.txt', 'a/b/c.txt', 'a/1.txt', 'Z', 'a/b/a-b', 'é', 'a/b0'];
      // Distractors: a sibling prefix sharing leading characters must not leak in.
      await storage().put(`${p.slice(0, -1)}x/a/1.txt`, Buffer.from('-'), { contentType: 'text/plain' });
      await Promise.all(keys.map((k) => storage().put(p + k, Buffer.from(k), { contentType: 'text/plain' })));

      const all = keys.map((k) => p + k).sort(compareKeys);
      expect(await collect(storage().list(p))).toEqual(all);
      expect(await collect(storage().list(`${p}a/`))).toEqual([`${p}a/1.txt`, `${p}a/2.txt`, `${p}a/b/a-b`, `${p}a/b/c.txt`, `${p}a/b0`]);
      // A prefix that ends inside a segment matches files and directories alike.
      expect(await collect(storage().list(`${p}a`))).toEqual(all.filter((k) => k.startsWith(`${p}a`)));
      expect(await collect(storage().list(`${p}nope/`))).toEqual([]);
      expect(await collect(storage().list(`${p}a/1.txt`))).toEqual([`${p}a/1.txt`]);
    });

    it('keeps every byte value intact', async () => {
      const key = `${prefix()}binary.bin`;
      const body = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(1 << 20)]);
      await storage().put(key, body, { contentType: 'application/octet-stream' });
      expect((await storage().get(key))?.equals(body)).toBe(true);
      expect((await readAll((await storage().getStream(key))!.body)).equals(body)).toBe(true);
    });

    it('handles keys with spaces, unicode and URL-special characters', async () => {
      const p = prefix();
      const names = ['with space/file name.txt', 'ünïcødé/日本語 😀.webp', "punct/a+b=c&d;e,f@g$h!i'(j)*~.txt", 'pct/100%25 #1?.bin'];
      for (const n of names) await storage().put(p + n, Buffer.from(n), { contentType: 'text/plain' });
      for (const n of names) expect((await storage().get(p + n))?.toString()).toBe(n);
      expect(await collect(storage().list(p))).toEqual(names.map((n) => p + n).sort(compareKeys));
      for (const n of names) await storage().delete(p + n);
      expect(await collect(storage().list(p))).toEqual([]);
    });

    it.skipIf(limitations.atomicWrites !== undefined)(
      'leaves one whole object after concurrent writes, and readers never see a partial one',
      async () => {
        const key = `${prefix()}contended.bin`;
        const size = 512 * 1024;
        const writers = 8;
        const seen: (Buffer | undefined)[] = [];
        let writing = true;
        const reader = (async () => {
          while (writing) seen.push(await storage().get(key));
        })();
        await Promise.all(
          Array.from({ length: writers }, (_, i) =>
            storage().put(key, Buffer.alloc(size, i + 1), { contentType: 'application/octet-stream', metadata: { writer: String(i + 1) } }),
          ),
        );
        writing = false;
        await reader;
        const isWhole = (b: Buffer) => b.length === size && b.every((x) => x === b[0]) && b[0]! >= 1 && b[0]! <= writers;
        for (const b of seen) if (b) expect(isWhole(b)).toBe(true);
        const final = await storage().get(key);
        expect(final && isWhole(final)).toBe(true);
        const meta = await storage().head(key);
        expect(meta?.size).toBe(size);
        expect(meta?.metadata?.writer).toBe(String(final![0]));
      },
    );

    it('refuses keys that could escape the storage root', async () => {
      const bad = ['', '../x', 'a/../../x', '/etc/passwd', 'a\\..\\b', 'a\0b', 'a//b', 'a/', '.meta/x.json', 'a/./b', 'a/\nb'];
      for (const key of bad) {
        await expectBadRequest(storage().put(key, Buffer.from('x'), { contentType: 'text/plain' }));
        await expectBadRequest(storage().get(key));
        await expectBadRequest(storage().getStream(key));
        await expectBadRequest(storage().head(key));
        await expectBadRequest(storage().delete(key));
      }
      for (const p of ['../', '/abs/', 'a/../', 'a\\b', '.meta/']) await expectBadRequest(collect(storage().list(p)));
    });

    it('refuses metadata S3 could not carry', async () => {
      const key = `${prefix()}meta.txt`;
      await expectBadRequest(storage().put(key, Buffer.from('x'), { contentType: 'text/plain', metadata: { Upper: 'x' } }));
      await expectBadRequest(storage().put(key, Buffer.from('x'), { contentType: 'text/plain', metadata: { ok: 'naïve' } }));
      expect(await storage().head(key)).toBeUndefined();
    });

    it('pings', async () => {
      await expect(storage().ping()).resolves.toBeUndefined();
    });
  });
}
