import { connect } from 'node:net';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countKeys, createTenant, fixture, startTestService, upload, waitForRun, type TestService } from '../harness.js';
import { multipartHead, rawExchange } from '../raw-http.js';
import { blackPng, heicClaimingSize, manyFrameGif, sidewaysJpegWithGps, slowDecodePng } from './hostile-images.js';

type ErrorBody = { error: { code: string; message: string; details?: Record<string, unknown> } };

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

describe('hostile input is refused with a stable code before anything is stored or enqueued', () => {
  let service: TestService;
  let key: string;
  let tenantId: string;
  let bomb: Buffer;
  let spool: string;

  beforeAll(async () => {
    spool = await mkdtemp(path.join(tmpdir(), 'upload-spool-'));
    service = await startTestService({ BODY_IDLE_TIMEOUT_MS: '1000', UPLOAD_TMP_DIR: spool, WORKER_QUEUES: 'publish' });
    ({ key, tenantId } = await createTenant(service));
    bomb = await blackPng(20000);
  });
  afterAll(async () => {
    await service?.stop();
    await rm(spool, { recursive: true, force: true });
  });

  const fishPart = async () => new Blob([await readFile(fixture('HappyFish.jpg'))]);
  const form = async (fields: Array<[string, string]>, files = 1) => {
    const body = new FormData();
    for (const [name, value] of fields) body.append(name, value);
    for (let i = 0; i < files; i++) body.append('file', await fishPart(), 'fish.jpg');
    return fetch(`${service.url}/v1/assets`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body });
  };
  const send = (bytes: Buffer, type = 'application/octet-stream') => upload(service, key, bytes, { type });

  const cases: Array<[string, () => Promise<Response>, number, string]> = [
    ['zero bytes', () => send(Buffer.alloc(0)), 400, 'EMPTY_UPLOAD'],
    [
      'wrong magic: a PDF sent as image/png',
      () => send(Buffer.from('%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n'.repeat(20)), 'image/png'),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    [
      'PNG magic followed by garbage',
      () => send(Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(500, 0x41)])),
      422,
      'CORRUPT_IMAGE',
    ],
    [
      'a polyglot: JPEG magic then an HTML page with script',
      () =>
        send(
          Buffer.concat([
            Buffer.from([0xff, 0xd8, 0xff, 0xe0]),
            Buffer.from('<html><script>alert(document.cookie)</script></html>'.repeat(10)),
          ]),
          'image/jpeg',
        ),
      422,
      'CORRUPT_IMAGE',
    ],
    ['a 20000x20000 PNG of 390 KB (refused from its header)', () => send(bomb, 'image/png'), 422, 'IMAGE_TOO_LARGE'],
    [
      'a truncated PNG',
      async () => {
        const png = await readFile(fixture('coffee.png'));
        return send(png.subarray(0, Math.floor(png.length * 0.6)), 'image/png');
      },
      422,
      'CORRUPT_IMAGE',
    ],
    [
      'a truncated WebP',
      async () => {
        const webp = await sharp(await readFile(fixture('HappyFish.jpg')))
          .webp()
          .toBuffer();
        return send(webp.subarray(0, Math.floor(webp.length / 2)), 'image/webp');
      },
      422,
      'CORRUPT_IMAGE',
    ],
    [
      'an AVIF header with garbage after it',
      () => send(Buffer.concat([Buffer.from('\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf', 'latin1'), Buffer.alloc(800, 0x33)]), 'image/avif'),
      422,
      'CORRUPT_IMAGE',
    ],
    ['a GIF of 5000 frames (limit 1000)', () => send(manyFrameGif(5000), 'image/gif'), 422, 'IMAGE_TOO_LARGE'],
    [
      'an SVG with a script',
      () =>
        send(
          Buffer.from(
            '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script><rect width="10" height="10"/></svg>',
          ),
          'image/svg+xml',
        ),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    [
      'a HEIC whose header claims 20000x20000 (refused from its header)',
      async () => send(heicClaimingSize(await readFile(fixture('heic/coffee.heic')), 20000, 20000), 'image/heic'),
      422,
      'IMAGE_TOO_LARGE',
    ],
    [
      'a truncated HEIC',
      async () => {
        const heic = await readFile(fixture('heic/coffee.heic'));
        return send(heic.subarray(0, Math.floor(heic.length * 0.6)), 'image/heic');
      },
      422,
      'CORRUPT_IMAGE',
    ],
    [
      'a HEIC header with garbage after it',
      () => send(Buffer.concat([Buffer.from('\0\0\0\x18ftypheic\0\0\0\0mif1heic', 'latin1'), Buffer.alloc(2000, 0x11)]), 'image/heic'),
      422,
      'CORRUPT_IMAGE',
    ],
    [
      'multipart with too many parts (11 fields)',
      () => form(Array.from({ length: 11 }, (_, i) => [`f${i}`, 'x'] as [string, string])),
      400,
      'BAD_REQUEST',
    ],
    ['multipart with two files', () => form([], 2), 400, 'BAD_REQUEST'],
    ['a __proto__ field name', () => form([['__proto__', '{"polluted":true}']]), 400, 'BAD_REQUEST'],
    ['a constructor field name', () => form([['constructor', 'x']]), 400, 'BAD_REQUEST'],
    [
      'multipart without a boundary',
      () =>
        fetch(`${service.url}/v1/assets`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'multipart/form-data' },
          body: 'x',
        }),
      400,
      'BAD_REQUEST',
    ],
    ['a SKU with a path in it', () => form([['sku', '../../other-tenant/x']]), 422, 'INVALID_REQUEST'],
    [
      'a recipe width of 0',
      () => form([['recipe', JSON.stringify({ steps: [{ name: 'render', options: { widths: [0] } }] })]]),
      422,
      'INVALID_RECIPE',
    ],
    [
      'a recipe of 17 widths',
      () =>
        form([
          ['recipe', JSON.stringify({ steps: [{ name: 'render', options: { widths: Array.from({ length: 17 }, (_, i) => 100 + i) } }] })],
        ]),
      422,
      'INVALID_RECIPE',
    ],
  ];

  it.each(cases)('%s', async (_name, request, status, code) => {
    const res = await request();
    const body = (await res.json()) as ErrorBody;
    expect({ status: res.status, code: body.error.code }).toEqual({ status, code });
    expect(body.error.message.length).toBeGreaterThan(5);
  });

  it('reports the oversized PNG with its dimensions, read from the header', async () => {
    const body = (await (await send(bomb, 'image/png')).json()) as ErrorBody;
    expect(body.error.details).toMatchObject({ width: 20000, height: 20000, maxPixels: 100_000_000 });
  });

  it('reports the HEIC bomb with the dimensions its header claims', async () => {
    const bytes = heicClaimingSize(await readFile(fixture('heic/coffee.heic')), 20000, 20000);
    const body = (await (await send(bytes, 'image/heic')).json()) as ErrorBody;
    expect(body.error.details).toEqual({ width: 20000, height: 20000, maxPixels: 100_000_000 });
  });

  it('cuts off a slow-loris upload with 408 UPLOAD_TIMEOUT and closes the connection', async () => {
    const boundary = 'slowloris';
    const jpeg = await readFile(fixture('HappyFish.jpg'));
    // Declares the whole body, sends a tenth of the file, then goes silent.
    const answer = await rawExchange(service.url, [
      multipartHead(boundary, key, service.url, jpeg.length + 500),
      jpeg.subarray(0, jpeg.length / 10),
    ]);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(answer).toContain('"UPLOAD_TIMEOUT"');
    expect(answer.toLowerCase()).toContain('connection: close');
  });

  it('drops an upload whose client disconnects mid-body, and its spooled file', async () => {
    const jpeg = await readFile(fixture('HappyFish.jpg'));
    const socket = connect(Number(new URL(service.url).port), '127.0.0.1');
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(multipartHead('gone', key, service.url, jpeg.length + 500));
    socket.write(jpeg.subarray(0, jpeg.length / 2));
    await waitUntil('the upload to be spooled', async () => (await readdir(spool)).length === 1);
    socket.destroy();
    await waitUntil('the spooled file to be removed', async () => (await readdir(spool)).length === 0);
  });

  it('stored no object and made no run for any of them', async () => {
    expect(await filesUnder(path.join(service.dataDir, 'objects', 't', tenantId))).toEqual([]);
    expect(await countKeys(`${service.prefix}:run:*`)).toBe(0);
  });
});

async function waitUntil(what: string, probe: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('the decode time limit (DECODE_TIMEOUT_SECONDS)', () => {
  let service: TestService;
  let key: string;

  beforeAll(async () => {
    // The pixel limit is raised so only the time limit can refuse this 180-megapixel PNG.
    service = await startTestService({ DECODE_TIMEOUT_SECONDS: '1', MAX_INPUT_PIXELS: '500000000', WORKER_QUEUES: 'publish' });
    ({ key } = await createTenant(service));
  });
  afterAll(async () => service?.stop());

  it('refuses an input that takes longer to decode, with 422 IMAGE_TOO_LARGE', async () => {
    // 20000x9000 16-bit RGBA in 1.4 MB: 1.44 GB of samples to inflate and convert, seconds anywhere.
    // 180 MP stays within the render step's memory budget (about 188 MP), which is checked first.
    const res = await upload(service, key, await slowDecodePng(9000), { type: 'image/png' });
    const body = (await res.json()) as ErrorBody;
    expect({ status: res.status, code: body.error.code }).toEqual({ status: 422, code: 'IMAGE_TOO_LARGE' });
    expect(body.error.details).toEqual({ decodeTimeoutSeconds: 1 });
  }, 120_000);
});
