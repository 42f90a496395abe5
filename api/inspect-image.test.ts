import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../lib/errors.js';
import { decodeMemory, inspectImage } from './inspect-image.js';
import { UploadCheckPool } from './upload-checks.js';

const LIMITS = { maxPixels: 100_000_000, maxFrames: 1000, decodeTimeoutSeconds: 30 };
const MiB = 1024 * 1024;

/** A 16-bit RGBA PNG, Adam7-interlaced or not: the costliest PNG to check per pixel, or among the cheapest. */
const png16 = (size: number, interlaced: boolean) =>
  sharp({ create: { width: size, height: size, channels: 4, background: { r: 10, g: 200, b: 30, alpha: 0.5 } } })
    .toColourspace('rgb16')
    .png({ progressive: interlaced, compressionLevel: 9 })
    .toBuffer();

describe('inspectImage: cheap checks first, the decode within a memory budget', () => {
  let dir: string;
  const file = async (name: string, bytes: Buffer) => {
    const p = path.join(dir, name);
    await writeFile(p, bytes);
    return p;
  };
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'inspect-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('estimates decode memory from the header: an interlaced 16-bit PNG holds every pixel, a plain one a window of rows', () => {
    const header = { width: 10_000, height: 10_000, channels: 4 as const, depth: 'ushort' as const };
    expect(decodeMemory('png', { ...header, isProgressive: true })).toBe(800_000_000);
    expect(decodeMemory('png', { ...header, isProgressive: false })).toBeLessThan(25 * MiB);
    expect(decodeMemory('jpeg', { width: 10_000, height: 10_000, channels: 3, depth: 'uchar', isProgressive: true })).toBe(600_000_000);
  });

  it('hands the header to `beforeDecode` before decoding, so a refused recipe never costs a decode', async () => {
    const whole = await readFile(new URL('../test/fixtures/coffee.png', import.meta.url));
    const truncated = await file('truncated.png', whole.subarray(0, Math.floor(whole.length * 0.6)));
    const refusal = new AppError('IMAGE_TOO_LARGE', 'recipe refused');
    let seen: unknown;
    const err = await inspectImage(truncated, LIMITS, (image) => {
      seen = image;
      throw refusal;
    }).catch((e: unknown) => e);
    expect(err).toBe(refusal); // not CORRUPT_IMAGE: the decode that would find the truncation never ran
    const meta = await sharp(whole).metadata();
    expect(seen).toEqual({ format: 'png', width: meta.width, height: meta.height });
    // Without a refusal the same file is found corrupt by the decode.
    await expect(inspectImage(truncated, LIMITS)).rejects.toMatchObject({ code: 'CORRUPT_IMAGE' });
  });

  it('refuses, without decoding, an interlaced PNG whose decode would pass the memory budget; the plain one passes', async () => {
    const pool = new UploadCheckPool({ concurrency: 1, memoryBytes: 4 * MiB, maxWaiting: 0 });
    const interlaced = await file('interlaced.png', await png16(1024, true));
    const plain = await file('plain.png', await png16(1024, false));
    const err = await inspectImage(interlaced, LIMITS, undefined, pool).catch((e: unknown) => e);
    expect([(err as AppError).status, (err as AppError).code, (err as AppError).details]).toEqual([
      422,
      'IMAGE_TOO_LARGE',
      { decodeBytes: 1024 * 1024 * 8, maxDecodeBytes: 4 * MiB },
    ]);
    await expect(inspectImage(plain, LIMITS, undefined, pool)).resolves.toEqual({ format: 'png', width: 1024, height: 1024 });
  });
});
