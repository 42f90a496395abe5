import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { assetManifestSchema, buildManifest, type BuildManifestInput } from './manifest.js';
import { srcsetWidths } from './on-demand-manifest.js';
import { parseOnDemandPath } from './on-demand-url.js';

const SET = 'c'.repeat(64);
const MASTER_SET = 'd'.repeat(64);
const SCENE_SET = 'e'.repeat(64);
const SHA = 'f'.repeat(64);
const LADDER = [100, 320, 640, 1280, 1920, 2560, 3840];
const rendition = (width: number, format: 'avif' | 'webp' | 'jpeg') => ({
  key: `t/tn_1/r/${SET}/${width}.${format === 'jpeg' ? 'jpg' : format}`,
  width,
  height: Math.round((width * 2) / 3),
  format,
  bytes: width * 10,
});

const input = (over: Partial<BuildManifestInput> = {}): BuildManifestInput => ({
  assetId: 'ast_1',
  tenantId: 'tn_1',
  runId: 'run_1',
  source: { sha256: SHA, width: 3000, height: 2000, format: 'jpeg', bytes: 123_456 },
  renditions: (['jpeg', 'webp'] as const).flatMap((f) => [320, 1280].map((w) => rendition(w, f))),
  thumbhash: 'YJqGPQw7sFlslqhFafSE+Q6oJ1h2iHB2Rw==',
  dominantColor: '#a1b2c3',
  urlFor: (key) => `https://cdn.example.com/${key}`,
  createdAt: new Date('2024-01-02T03:04:05Z'),
  ...over,
});
const onDemand = (over: Partial<NonNullable<BuildManifestInput['onDemand']>> = {}): BuildManifestInput['onDemand'] => ({
  baseUrl: 'https://img.example.com',
  widths: LADDER,
  master: { key: `t/tn_1/r/${MASTER_SET}/master.png`, width: 2400, height: 1600 },
  ...over,
});

/** `url 640w, url 1280w` → [[url, 640], …] */
const candidates = (srcset: string) =>
  srcset.split(', ').map((c) => {
    const [u, w] = c.split(' ');
    return [new URL(u!), Number(w!.slice(0, -1))] as const;
  });
/** Every URL in a `<picture>` snippet (src and srcset attributes, HTML entities undone). */
const pictureUrls = (html: string) =>
  [...html.matchAll(/(?:src|srcset)="([^"]*)"/g)]
    .flatMap((m) => m[1]!.replace(/&#38;/g, '&').split(', '))
    .map((c) => new URL(c.split(' ')[0]!));

describe('on-demand URLs in manifests', () => {
  it('adds nothing when the endpoint is not offered: the existing shape is unchanged', () => {
    const m = buildManifest(input());
    expect('onDemand' in m).toBe(false);
    expect('onDemand' in m.source).toBe(false);
    expect(Object.keys(m.source)).toEqual(['sha256', 'width', 'height', 'format', 'bytes']);
  });

  it('offers the result pinned to its set: an auto=format srcset over the ladder up to the master width', () => {
    const m = buildManifest(input({ onDemand: onDemand() }));
    const od = m.onDemand!;
    expect(od.base).toBe(`https://img.example.com/img/tn_1/ast_1/cutout@${MASTER_SET}`);
    expect(od.widths).toEqual([100, 320, 640, 1280, 1920]);
    const list = candidates(od.srcset);
    expect(list.map(([, w]) => w)).toEqual(od.widths);
    for (const [u, w] of list) {
      expect(parseOnDemandPath(u.pathname)).toEqual({ tenantId: 'tn_1', assetId: 'ast_1', source: 'cutout', version: MASTER_SET });
      expect(Object.fromEntries(u.searchParams)).toEqual({ auto: 'format', w: String(w) });
    }
    expect(od.url).toBe(`${od.base}?auto=format&w=1280`);
    // The pre-rendered fields are untouched beside it.
    expect(m.fallback.url).toBe(`https://cdn.example.com/t/tn_1/r/${SET}/1280.jpg`);
    expect(() => assetManifestSchema.parse(JSON.parse(JSON.stringify(m)))).not.toThrow();
  });

  it('builds a <picture> on them: one explicit format per <source>, a JPEG <img> laid out like the pre-rendered one', () => {
    const m = buildManifest(input({ onDemand: onDemand(), picture: { loading: 'eager' }, alt: 'Red mug' }));
    const html = m.onDemand!.picture;
    expect(html).toMatch(/^<picture><source type="image\/avif" [^>]*><source type="image\/webp" [^>]*><img [^>]*><\/picture>$/);
    expect(html).toContain(`src="${m.onDemand!.base}?fm=jpg&#38;w=1280"`);
    // 2400×1600 master: the 1280 px fallback is 853 px high, and sizes describe that layout as the pre-rendered snippet does.
    expect(html).toContain('width="1280" height="853"');
    expect(html).toContain(`sizes="${m.sizes}"`);
    expect(html).toContain('alt="Red mug" loading="eager" fetchpriority="high"');
    const formats = pictureUrls(html).map((u) => u.searchParams.get('fm'));
    expect(new Set(formats)).toEqual(new Set(['avif', 'webp', 'jpg']));
    expect(pictureUrls(html).every((u) => u.pathname === new URL(m.onDemand!.base).pathname)).toBe(true);
    // The parts it is built of are in the manifest too, for a snippet with other choices (GET /v1/assets/:id/picture).
    const { formatSrcset, fallback } = m.onDemand!;
    expect(fallback).toEqual({ url: `${m.onDemand!.base}?fm=jpg&w=1280`, width: 1280, height: 853, format: 'jpeg' });
    for (const [format, fm] of [
      ['avif', 'avif'],
      ['webp', 'webp'],
      ['jpeg', 'jpg'],
    ] as const) {
      const list = candidates(formatSrcset[format]);
      expect(list.map(([, w]) => w)).toEqual(m.onDemand!.widths);
      expect(list.every(([u, w]) => u.searchParams.get('fm') === fm && u.searchParams.get('w') === String(w))).toBe(true);
      expect(html).toContain(formatSrcset[format].replace(/&/g, '&#38;'));
    }
  });

  it('offers the original pinned to its sha256, and each channel pinned to its own scene', () => {
    const channel = {
      channel: 'marketplace',
      width: 2000,
      height: 2000,
      renditions: [rendition(640, 'webp')],
      thumbhash: 'x',
      dominantColor: '#ffffff',
      latest: 'https://cdn.example.com/t/tn_1/a/ast_1/latest/marketplace/',
      masterKey: `t/tn_1/r/${SCENE_SET}/master.png`,
    };
    const bare = { ...channel, channel: 'thumbnail', masterKey: undefined } as Omit<typeof channel, 'masterKey'>;
    const m = buildManifest(input({ onDemand: onDemand({ master: undefined }), channels: [channel, bare] }));
    expect(m.source.onDemand).toBe(`https://img.example.com/img/tn_1/ast_1/original@${SHA}`);
    expect(m.onDemand).toBeUndefined();
    const od = m.channels!.marketplace!.onDemand!;
    expect(od.base).toBe(`https://img.example.com/img/tn_1/ast_1/marketplace@${SCENE_SET}`);
    expect(od.widths).toEqual([100, 320, 640, 1280, 1920]);
    expect(od.picture).toContain('width="1280" height="1280"');
    expect(m.channels!.thumbnail!.onDemand).toBeUndefined();
  });

  it('signs every URL with the tenant token exactly as imgix does (md5 of token, path and query)', () => {
    const token = 'tenant-token-123';
    const m = buildManifest(input({ onDemand: onDemand({ token, baseUrl: 'http://localhost:3000/' }) }));
    const urls = [new URL(m.onDemand!.url), ...candidates(m.onDemand!.srcset).map(([u]) => u), ...pictureUrls(m.onDemand!.picture)];
    expect(urls.length).toBeGreaterThan(15);
    for (const u of urls) {
      expect(u.origin).toBe('http://localhost:3000');
      const query = u.search.slice(1).replace(/&s=[0-9a-f]{32}$/, '');
      const expected = createHash('md5').update(`${token}${u.pathname}?${query}`).digest('hex');
      expect(u.searchParams.get('s')).toBe(expected);
    }
    // The base stays unsigned: a client adds its own parameters and signs them.
    expect(m.onDemand!.base).toBe(`http://localhost:3000/img/tn_1/ast_1/cutout@${MASTER_SET}`);
  });

  it('never lists a width the source cannot fill, and falls back to the source width below the ladder', () => {
    expect(srcsetWidths(LADDER, 1000)).toEqual([100, 320, 640]);
    expect(srcsetWidths([640, 320, 640], 5000)).toEqual([320, 640]);
    expect(srcsetWidths([320, 640], 200)).toEqual([200]);
    const small = buildManifest(
      input({ onDemand: onDemand({ widths: [320], master: { key: `t/tn_1/r/${MASTER_SET}/m.png`, width: 150, height: 100 } }) }),
    );
    expect(small.onDemand!.widths).toEqual([150]);
    expect(small.onDemand!.picture).toContain('width="150" height="100"');
  });

  it('refuses a master key that names no rendition set (it could not be pinned)', () => {
    expect(() => buildManifest(input({ onDemand: onDemand({ master: { key: 'elsewhere/master.png', width: 10, height: 10 } }) }))).toThrow(
      /not a rendition set key/,
    );
  });
});
