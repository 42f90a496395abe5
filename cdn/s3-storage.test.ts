import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3rver, type S3rverHandle } from '../test/s3rver.js';
import { S3Client, type ListObjectsV2Command } from '@aws-sdk/client-s3';
import { AppError } from '../lib/errors.js';
import { s3Storage } from './s3-storage.js';
import type { ObjectStorage } from './storage.js';
import { describeStorageConformance } from './storage.conformance.js';

const storageFor = (s3: S3rverHandle, bucket: string, endpoint = s3.endpoint) =>
  s3Storage({ bucket, region: s3.region, endpoint, forcePathStyle: true, credentials: s3.credentials });

describeStorageConformance(
  's3 (s3rver)',
  async () => {
    const s3 = await startS3rver();
    const storage = storageFor(s3, await s3.bucket());
    return { storage, cleanup: () => s3.stop() };
  },
  {
    // s3rver 3.7.1 streams a PUT straight into the final file: concurrent PUTs to one key
    // interleave bytes and pair metadata from another writer. AWS S3 replaces objects atomically.
    atomicWrites: 's3rver writes objects in place',
  },
);

describe('s3Storage failures', () => {
  let s3: S3rverHandle;
  let deadEndpoint: string;
  let dead: Server;

  beforeAll(async () => {
    s3 = await startS3rver();
    // A port that accepts and immediately drops connections: a network fault, fast.
    dead = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
    const addr = dead.address();
    deadEndpoint = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  });
  afterAll(async () => {
    await s3?.stop();
    await new Promise((resolve) => dead?.close(resolve));
  });

  const expectStorageError = async (p: Promise<unknown>) => {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).status).toBe(503);
    expect((err as AppError).code).toBe('STORAGE_ERROR');
    expect((err as AppError).cause).toBeDefined();
    // The SDK's message and request ids stay in `cause`, out of the client-facing body.
    expect(Object.keys((err as AppError).toJSON().error)).toEqual(['code', 'message', 'details']);
  };

  it('turns network faults into a retryable STORAGE_ERROR', async () => {
    const storage: ObjectStorage = storageFor(s3, 'whatever-bucket', deadEndpoint);
    await expectStorageError(storage.get('a/b.txt'));
    await expectStorageError(storage.head('a/b.txt'));
    await expectStorageError(storage.put('a/b.txt', Buffer.from('x'), { contentType: 'text/plain' }));
    await expectStorageError(storage.copy('a/b.txt', 'a/c.txt'));
    await expectStorageError(storage.ping());
  });

  it('does not mistake a missing bucket for a missing object', async () => {
    const storage = storageFor(s3, `missing-${Date.now()}`);
    await expectStorageError(storage.get('a/b.txt'));
    await expectStorageError(storage.ping());
  });

  it('lists across pages, following continuation tokens', async () => {
    // s3rver cannot page: its ListObjectsV2 tokens use DES, which Node's OpenSSL 3 refuses
    // (500 InternalError), and it walks directories unsorted. So the paging loop is checked
    // against a scripted client.
    const pages: Record<string, { Contents: { Key: string }[]; IsTruncated: boolean; NextContinuationToken?: string }> = {
      start: { Contents: [{ Key: 'p/2' }, { Key: 'p/1' }, { Key: 'p/../x' }], IsTruncated: true, NextContinuationToken: 'second' },
      second: { Contents: [{ Key: 'p/3' }, { Key: 'p/dir/' }], IsTruncated: true, NextContinuationToken: 'third' },
      third: { Contents: [{ Key: 'p/4' }], IsTruncated: false },
    };
    const seen: unknown[] = [];
    const client = {
      send: async (command: ListObjectsV2Command) => {
        seen.push(command.input);
        return pages[command.input.ContinuationToken ?? 'start'];
      },
    } as unknown as S3Client;
    const storage = s3Storage({ bucket: 'b', region: 'us-east-1', client });
    const listed: string[] = [];
    for await (const k of storage.list('p/')) listed.push(k);
    // Each page sorted; keys our rules refuse ("..", "dir/" markers) skipped.
    expect(listed).toEqual(['p/1', 'p/2', 'p/3', 'p/4']);
    expect(seen).toEqual([
      { Bucket: 'b', Prefix: 'p/' },
      { Bucket: 'b', Prefix: 'p/', ContinuationToken: 'second' },
      { Bucket: 'b', Prefix: 'p/', ContinuationToken: 'third' },
    ]);
  });

  it('streams a copy CopyObject refuses for its size (over 5 GiB), and fails other refusals', async () => {
    // CopyObject's 5 GiB limit cannot be reached on s3rver: a client that refuses the copy as S3
    // does, and reports the source that large, in front of the real server.
    const tooLarge = Object.assign(new Error('The specified copy source is larger than the maximum allowable size'), {
      name: 'InvalidRequest',
      $metadata: { httpStatusCode: 400 },
    });
    const refusing = (reportedSize: number) => {
      const client = new S3Client({ region: s3.region, endpoint: s3.endpoint, forcePathStyle: true, credentials: s3.credentials });
      const send = client.send.bind(client) as (command: unknown) => Promise<Record<string, unknown>>;
      client.send = (async (command: { constructor: { name: string } }) => {
        if (command.constructor.name === 'CopyObjectCommand') throw tooLarge;
        const out = await send(command);
        return command.constructor.name === 'HeadObjectCommand' ? { ...out, ContentLength: reportedSize } : out;
      }) as never;
      return client;
    };
    const bucket = await s3.bucket();
    const real = storageFor(s3, bucket);
    await real.put('t/x/inbox/huge.jpg', Buffer.from('huge bytes'), { contentType: 'image/jpeg', metadata: { source: 'inbox' } });
    const big = s3Storage({ bucket, client: refusing(6 * 1024 ** 3) });
    expect(await big.copy('t/x/inbox/huge.jpg', 't/x/inbox-failed/huge.jpg')).toBe(true);
    expect((await real.get('t/x/inbox-failed/huge.jpg'))?.toString()).toBe('huge bytes');
    expect(await real.head('t/x/inbox-failed/huge.jpg')).toMatchObject({ contentType: 'image/jpeg', metadata: { source: 'inbox' } });
    // The same refusal of a small object is a fault, not a reason to stream.
    await expectStorageError(s3Storage({ bucket, client: refusing(1024) }).copy('t/x/inbox/huge.jpg', 't/x/b.jpg'));
    expect(await real.head('t/x/b.jpg')).toBeUndefined();
  });
});
