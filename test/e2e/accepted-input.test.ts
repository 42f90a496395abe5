import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assetIdFor } from '../../records/asset-store.js';
import { createTenant, fixture, startTestService, upload, waitForRun, type TestService } from '../harness.js';
import { sidewaysJpegWithGps } from './hostile-images.js';

const RECIPE = { steps: [{ name: 'render', options: { widths: [100, 200], formats: ['avif', 'webp', 'jpeg'] } }] };

/**
 * Unusual but legitimate input is accepted and normalised: EXIF orientation applied, CMYK and
 * 16-bit converted to 8-bit sRGB, metadata (GPS above all) and trailing payloads never reach an
 * output. Originals are kept as uploaded, private (never served by /files, never in a manifest).
 */
describe('unusual input that is accepted and normalised', () => {
  let service: TestService;
  let shop: { tenantId: string; key: string };

  beforeAll(async () => {
    service = await startTestService();
    shop = await createTenant(service);
  });
  afterAll(async () => service?.stop());

  /** Upload, wait for the run, and return every object the run wrote outside `originals/`. */
  async function publish(bytes: Buffer): Promise<{ assetId: string; outputs: Map<string, Buffer> }> {
    const res = await upload(service, shop.key, bytes, { recipe: RECIPE });
    expect(res.status, await res.clone().text()).toBe(202);
    const { run, asset } = (await res.json()) as { run: { id: string }; asset: { id: string } };
    expect((await waitForRun(service, shop.key, run.id)).state).toBe('completed');
    const root = path.join(service.dataDir, 'objects', 't', shop.tenantId);
    const files = (await readdir(root, { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
    const outputs = new Map<string, Buffer>();
    for (const f of files) {
      const key = path.relative(root, path.join(f.parentPath, f.name));
      if (!key.startsWith('originals/') && !key.endsWith('asset.json') && !key.startsWith('.'))
        outputs.set(key, await readFile(path.join(root, key)));
    }
    return { assetId: asset.id, outputs };
  }
  const images = (outputs: Map<string, Buffer>) => [...outputs].filter(([k]) => /\.(avif|webp|jpg)$/.test(k));

  it('applies EXIF orientation and strips GPS from every output, renditions and stable URLs alike', async () => {
    const input = await sidewaysJpegWithGps();
    const inputMeta = await sharp(input).metadata();
    expect(inputMeta.orientation).toBe(6);
    // The GPS IFD pointer (tag 0x8825) is in the input's EXIF.
    expect(inputMeta.exif!.includes(Buffer.from([0x88, 0x25])) || inputMeta.exif!.includes(Buffer.from([0x25, 0x88]))).toBe(true);
    const { assetId, outputs } = await publish(input);
    const mine = [...outputs].filter(([k]) => k.includes(assetId) || k.startsWith('r/'));
    expect(images(new Map(mine)).length).toBe(12); // 6 renditions + 6 stable URLs
    for (const [key, bytes] of mine) {
      const text = bytes.toString('latin1');
      expect(text.includes('TestCam') || text.includes('Exif\0'), `${key} carries EXIF`).toBe(false);
      if (!/\.(avif|webp|jpg)$/.test(key)) continue;
      const meta = await sharp(bytes).metadata();
      expect(meta.exif, key).toBeUndefined();
      expect(meta.orientation ?? 1, key).toBe(1);
      // Stored 300x200 sideways; displayed (and published) 200x300, red on top.
      expect(meta.height! / meta.width!, key).toBeCloseTo(1.5, 1);
      const { data } = await sharp(bytes).removeAlpha().resize(2, 2, { fit: 'fill' }).raw().toBuffer({ resolveWithObject: true });
      expect(data[0]! > 150 && data[2]! < 100, `${key}: top is red`).toBe(true);
      expect(data[6]! < 100 && data[8]! > 150, `${key}: bottom is blue`).toBe(true);
    }
  });

  it('converts a CMYK JPEG to sRGB', async () => {
    const cmyk = await sharp({ create: { width: 240, height: 160, channels: 3, background: '#ff8000' } })
      .toColourspace('cmyk')
      .jpeg()
      .toBuffer();
    expect((await sharp(cmyk).metadata()).space).toBe('cmyk');
    const { assetId, outputs } = await publish(cmyk);
    const mine = images(outputs).filter(([k]) => k.includes(assetId));
    expect(mine.length).toBe(6);
    for (const [key, bytes] of mine) {
      const meta = await sharp(bytes).metadata();
      expect([meta.space, meta.channels], key).toEqual(['srgb', 3]);
      const { dominant } = await sharp(bytes).stats();
      expect(Math.abs(dominant.r - 255) + Math.abs(dominant.g - 128) + dominant.b, `${key} keeps its orange`).toBeLessThan(90);
    }
  });

  it('accepts a HEIC cut-out (the iPhone format), keeps it as .heic and publishes its transparency', async () => {
    const heic = await readFile(fixture('heic/mug-alpha.heic'));
    const { assetId, outputs } = await publish(heic);
    const sha = createHash('sha256').update(heic).digest('hex');
    const original = path.join(service.dataDir, 'objects', 't', shop.tenantId, 'originals', `${sha}.heic`);
    expect((await readFile(original)).equals(heic)).toBe(true);
    const mine = images(outputs).filter(([k]) => k.includes(assetId));
    expect(mine.length).toBe(6);
    for (const [key, bytes] of mine) {
      const meta = await sharp(bytes).metadata();
      expect([100, 200], key).toContain(meta.width); // 640x640 in, square renditions out
      expect(meta.height, key).toBe(meta.width);
      if (key.endsWith('.jpg')) continue; // JPEG has no alpha: flattened
      const { data } = await sharp(bytes).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
      expect(data[3], `${key}: the corner is transparent`).toBeLessThan(10);
    }
  });

  it('converts a 16-bit PNG to 8 bits per channel', async () => {
    const png16 = await sharp({ create: { width: 240, height: 160, channels: 3, background: '#2060a0' } })
      .toColourspace('rgb16')
      .png()
      .toBuffer();
    expect((await sharp(png16).metadata()).depth).toBe('ushort');
    const { assetId, outputs } = await publish(png16);
    for (const [key, bytes] of images(outputs).filter(([k]) => k.includes(assetId))) {
      expect((await sharp(bytes).metadata()).depth, key).toBe('uchar');
    }
  });

  it('accepts a PNG with a script and a ZIP appended, and re-encodes the payload away', async () => {
    const png = await sharp({ create: { width: 240, height: 160, channels: 3, background: '#336699' } })
      .png()
      .toBuffer();
    const marker = 'payload-marker-5517';
    const polyglot = Buffer.concat([png, Buffer.from(`<script>alert(1)</script>PK\x03\x04${marker}`, 'latin1')]);
    const { assetId, outputs } = await publish(polyglot);
    const mine = [...outputs].filter(([k]) => k.includes(assetId));
    expect(mine.length).toBeGreaterThan(0);
    for (const [key, bytes] of mine) expect(bytes.includes(marker), key).toBe(false);
    // The original is kept byte for byte (its key is its sha256) but is never served.
    const sha = createHash('sha256').update(polyglot).digest('hex');
    expect((await fetch(`${service.url}/files/t/${shop.tenantId}/originals/${sha}.png`)).status).toBe(404);
  });
});

/** One tenant guessing another's ids gets 404s, never data, and never triggers work on them. */
describe('tenant isolation against guessed ids', () => {
  let service: TestService;
  let a: { tenantId: string; key: string };
  let b: { tenantId: string; key: string };

  beforeAll(async () => {
    service = await startTestService();
    [a, b] = [await createTenant(service, 'A'), await createTenant(service, 'B')];
  });
  afterAll(async () => service?.stop());

  it('cannot read, re-run or replay what belongs to another tenant', async () => {
    const bytes = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#abcdef' } })
      .png()
      .toBuffer();
    const headers = (key: string, extra: Record<string, string> = {}) => ({ authorization: `Bearer ${key}`, ...extra });
    const sendA = await upload(service, a.key, bytes, { recipe: RECIPE });
    const { run, asset } = (await sendA.json()) as { run: { id: string }; asset: { id: string } };
    // Asset ids are derivable by anyone who knows A's tenant id (it is in public URLs) and the bytes.
    expect(assetIdFor(a.tenantId, createHash('sha256').update(bytes).digest('hex'))).toBe(asset.id);
    await waitForRun(service, a.key, run.id);

    expect((await fetch(`${service.url}/v1/assets/${asset.id}`, { headers: headers(b.key) })).status).toBe(404);
    expect((await fetch(`${service.url}/v1/runs/${run.id}`, { headers: headers(b.key) })).status).toBe(404);
    const rerun = await fetch(`${service.url}/v1/assets/${asset.id}/runs`, {
      method: 'POST',
      headers: headers(b.key, { 'content-type': 'application/json' }),
      body: JSON.stringify(RECIPE),
    });
    expect(rerun.status).toBe(404);
    // The same bytes uploaded by B make B's own asset, not a handle on A's.
    const sendB = await upload(service, b.key, bytes, { recipe: RECIPE });
    const mineB = (await sendB.json()) as { asset: { id: string }; reused: boolean };
    expect(mineB.asset.id).not.toBe(asset.id);
    expect(mineB.reused).toBe(false);
    // An Idempotency-Key A used replays nothing of A's for B.
    const form = () => {
      const f = new FormData();
      f.append('file', new Blob([bytes]), 'x.png');
      return f;
    };
    const first = await fetch(`${service.url}/v1/assets`, {
      method: 'POST',
      headers: headers(a.key, { 'idempotency-key': 'shared-key-1' }),
      body: form(),
    });
    const replayB = await fetch(`${service.url}/v1/assets`, {
      method: 'POST',
      headers: headers(b.key, { 'idempotency-key': 'shared-key-1' }),
      body: form(),
    });
    expect(first.status).toBe(202);
    expect(replayB.headers.get('idempotent-replayed')).toBeNull();
    expect(((await replayB.json()) as { asset: { id: string } }).asset.id).toBe(mineB.asset.id);
    // A's run record still lists only A's runs, and none was started by B's attempts.
    const assetA = (await (await fetch(`${service.url}/v1/assets/${asset.id}`, { headers: headers(a.key) })).json()) as {
      runIds: string[];
    };
    expect(assetA.runIds.length).toBe(2); // the first upload and A's idempotent upload
  });
});
