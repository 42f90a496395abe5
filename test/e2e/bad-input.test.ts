import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Queue } from 'bullmq';
import sharp from 'sharp';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countKeys, createTenant, fixture, REDIS_URL, startTestService, upload, type TestService } from '../harness.js';

/** Upload limit for this suite: small, so the over-limit case needs no big file. */
const MAX_UPLOAD_BYTES = 200_000;

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

describe('bad input gets a 4xx JSON error with a stable code, and nothing is stored or enqueued', () => {
  let service: TestService;
  let key: string;

  beforeAll(async () => {
    service = await startTestService({ MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES), MAX_INPUT_FRAMES: '2' });
    ({ key } = await createTenant(service));
  });
  afterAll(async () => service?.stop());

  const post = (body: string | undefined, headers: Record<string, string> = {}) =>
    fetch(`${service.url}/v1/assets`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, ...headers },
      ...(body !== undefined ? { body } : {}),
    });

  const cases: Array<[string, () => Promise<Response>, number, string]> = [
    ['an empty body', () => post(undefined, { 'content-length': '0' }), 400, 'EMPTY_UPLOAD'],
    ['a multipart body with an empty file', async () => upload(service, key, Buffer.alloc(0)), 400, 'EMPTY_UPLOAD'],
    ['a body that is not multipart', () => post('hello', { 'content-type': 'text/plain' }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
    [
      'a non-image file',
      async () => upload(service, key, Buffer.from('just some text, not pixels\n'.repeat(20))),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    [
      'an SVG',
      async () =>
        upload(service, key, Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'), { type: 'image/svg+xml' }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    [
      'a truncated JPEG',
      async () => {
        const jpeg = await readFile(fixture('HappyFish.jpg'));
        return upload(service, key, jpeg.subarray(0, Math.floor(jpeg.length / 2)), { type: 'image/jpeg' });
      },
      422,
      'CORRUPT_IMAGE',
    ],
    [
      'an animated GIF with more frames than allowed',
      async () => {
        const frame = (colour: string) =>
          sharp({ create: { width: 8, height: 8, channels: 3, background: colour } })
            .png()
            .toBuffer();
        const gif = await sharp(await Promise.all(['#f00', '#0f0', '#00f'].map(frame)), { join: { animated: true } })
          .gif()
          .toBuffer();
        return upload(service, key, gif, { type: 'image/gif' });
      },
      422,
      'IMAGE_TOO_LARGE',
    ],
    ['a file over the upload limit', async () => upload(service, key, await readFile(fixture('coffee.png'))), 413, 'UPLOAD_TOO_LARGE'],
    [
      'a recipe naming a template that does not exist',
      async () =>
        upload(service, key, await readFile(fixture('HappyFish.jpg')), {
          recipe: { steps: [{ name: 'generate', options: { template: 'no-such-template' } }, { name: 'render' }] },
        }),
      422,
      'UNKNOWN_TEMPLATE',
    ],
    [
      'a recipe that is not JSON',
      async () => {
        const form = new FormData();
        form.append('recipe', '{not json');
        form.append('file', new Blob([await readFile(fixture('HappyFish.jpg'))]), 'fish.jpg');
        return fetch(`${service.url}/v1/assets`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form });
      },
      422,
      'INVALID_RECIPE',
    ],
  ];

  it.each(cases)('%s', async (_name, send, status, code) => {
    const res = await send();
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe(code);
    expect(body.error.message.length).toBeGreaterThan(5);
  });

  it('stored no object and enqueued no job for any of them', async () => {
    expect(await filesUnder(path.join(service.dataDir, 'objects'))).toEqual([]);
    expect(await countKeys(`${service.prefix}:run:*`)).toBe(0);
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    try {
      for (const kind of ['render', 'publish']) {
        const queue = new Queue(kind, { connection: redis, prefix: service.prefix });
        const counts = await queue.getJobCounts();
        expect(
          Object.values(counts).reduce((a, b) => a + b, 0),
          kind,
        ).toBe(0);
        await queue.close();
      }
    } finally {
      redis.disconnect();
    }
  });

  it('refuses requests without a valid key', async () => {
    const none = await fetch(`${service.url}/v1/assets/ast_0`, {});
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
    const wrong = await fetch(`${service.url}/v1/runs/run_x`, { headers: { authorization: 'Bearer ipk_wrong' } });
    expect(wrong.status).toBe(401);
    const notAdmin = await fetch(`${service.url}/v1/tenants`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: '{"name":"x"}',
    });
    expect(notAdmin.status).toBe(403);
  });
});
