import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { assetManifestSchema, buildManifest, type BuildManifestInput } from './manifest.js';
import { escapeHtmlAttr } from './picture.js';

const SET = 'c'.repeat(64);
const MASTER = `t/tn_1/r/${'d'.repeat(64)}/master.png`;
const rendition = (width: number, format: 'avif' | 'webp' | 'jpeg') => ({
  key: `t/tn_1/r/${SET}/${width}.${format === 'jpeg' ? 'jpg' : format}`,
  width,
  height: Math.round((width * 2) / 3),
  format,
  bytes: width * 10,
});
const widths = [1920, 320, 1280, 640];

const input = (over: Partial<BuildManifestInput> = {}): BuildManifestInput => ({
  assetId: 'ast_1',
  tenantId: 'tn_1',
  runId: 'run_1',
  source: { sha256: 'd'.repeat(64), width: 2400, height: 1600, format: 'jpeg', bytes: 123_456 },
  renditions: (['jpeg', 'avif', 'webp'] as const).flatMap((f) => widths.map((w) => rendition(w, f))),
  thumbhash: 'YJqGPQw7sFlslqhFafSE+Q6oJ1h2iHB2Rw==',
  dominantColor: '#a1b2c3',
  urlFor: (key) => `https://cdn.example.com/${key}`,
  createdAt: new Date('2024-01-02T03:04:05Z'),
  ...over,
});

const url = (w: number, ext: string) => `https://cdn.example.com/t/tn_1/r/${SET}/${w}.${ext}`;

describe('buildManifest', () => {
  it('lists every rendition with its URL and content type, best format first, widths ascending', () => {
    const m = buildManifest(input());
    expect(m.version).toBe(1);
    expect(m.renditions.map((r) => `${r.format}:${r.width}`)).toEqual([
      'avif:320',
      'avif:640',
      'avif:1280',
      'avif:1920',
      'webp:320',
      'webp:640',
      'webp:1280',
      'webp:1920',
      'jpeg:320',
      'jpeg:640',
      'jpeg:1280',
      'jpeg:1920',
    ]);
    expect(m.renditions[0]).toEqual({
      key: `t/tn_1/r/${SET}/320.avif`,
      url: url(320, 'avif'),
      width: 320,
      height: 213,
      format: 'avif',
      contentType: 'image/avif',
      bytes: 3200,
    });
    expect(m.renditions.find((r) => r.format === 'jpeg')?.contentType).toBe('image/jpeg');
    expect(m.placeholder).toEqual({ thumbhash: 'YJqGPQw7sFlslqhFafSE+Q6oJ1h2iHB2Rw==' });
    expect(m.dominantColor).toBe('#a1b2c3');
    expect(m.createdAt).toBe('2024-01-02T03:04:05.000Z');
    expect(() => assetManifestSchema.parse(JSON.parse(JSON.stringify(m)))).not.toThrow();
  });

  it('builds one srcset per format', () => {
    const m = buildManifest(input());
    expect(m.srcset.jpeg).toBe(`${url(320, 'jpg')} 320w, ${url(640, 'jpg')} 640w, ${url(1280, 'jpg')} 1280w, ${url(1920, 'jpg')} 1920w`);
    expect(m.srcset.avif).toBe(
      `${url(320, 'avif')} 320w, ${url(640, 'avif')} 640w, ${url(1280, 'avif')} 1280w, ${url(1920, 'avif')} 1920w`,
    );
    expect(m.srcset.webp?.split(', ')).toHaveLength(4);
  });

  it('writes a <picture> with avif, then webp, then a lazy JPEG <img> of at most 1280px whose sizes match its layout', () => {
    const m = buildManifest(input());
    expect(m.fallback).toEqual({ url: url(1280, 'jpg'), width: 1280, height: 853, format: 'jpeg' });
    // At most 1280 CSS px wide, shrinking with its container: sizes says exactly that.
    const sizes = '(max-width: 1280px) 100vw, 1280px';
    expect(m.sizes).toBe(sizes);
    expect(m.picture).toBe(
      '<picture>' +
        `<source type="image/avif" srcset="${m.srcset.avif}" sizes="${sizes}">` +
        `<source type="image/webp" srcset="${m.srcset.webp}" sizes="${sizes}">` +
        `<img src="${url(1280, 'jpg')}" srcset="${m.srcset.jpeg}" sizes="${sizes}" width="1280" height="853" alt="" ` +
        'loading="lazy" decoding="async" style="max-width:100%;height:auto;background:#a1b2c3">' +
        '</picture>',
    );
    expect(m.layout).toMatchObject({ width: 1280, sizes, style: 'max-width:100%;height:auto', loading: 'lazy' });
    // The manifest says how to override the layout and the loading, per run and per request.
    expect(m.layout.override).toMatch(/sizes/);
    expect(m.layout.override).toMatch(/recipe's `picture`/);
    expect(m.layout.override).toContain('/v1/assets/{id}/picture');
  });

  it('declares the layout of a narrow set by its own width, and of each channel by its own', () => {
    const narrow = buildManifest(input({ renditions: [rendition(320, 'jpeg'), rendition(640, 'jpeg'), rendition(640, 'avif')] }));
    expect(narrow.sizes).toBe('(max-width: 640px) 100vw, 640px');
    expect(narrow.picture).toContain('width="640"');
    const channels = buildManifest(
      input({
        channels: [
          {
            channel: 'square',
            width: 800,
            height: 800,
            renditions: [rendition(400, 'jpeg'), rendition(800, 'jpeg')],
            thumbhash: 'x',
            dominantColor: '#000000',
            latest: 'https://cdn.example.com/l/',
          },
        ],
      }),
    );
    expect(channels.channels!.square!.sizes).toBe('(max-width: 800px) 100vw, 800px');
  });

  it('makes a hero snippet when the run asks for eager loading, and takes its sizes override', () => {
    const hero = buildManifest(input({ picture: { loading: 'eager', sizes: '(max-width: 768px) 50vw, 400px' } }));
    expect(hero.picture).toContain('loading="eager" fetchpriority="high"');
    expect(hero.picture).not.toContain('lazy');
    expect(hero.picture.match(/sizes="\(max-width: 768px\) 50vw, 400px"/g)).toHaveLength(3);
    expect(hero.layout).toMatchObject({ loading: 'eager', sizes: '(max-width: 768px) 50vw, 400px' });
  });

  it('falls back to the largest JPEG when all are wider than 1280px, and to webp without JPEG', () => {
    const wide = buildManifest(input({ renditions: [rendition(2560, 'jpeg'), rendition(1600, 'jpeg'), rendition(1600, 'avif')] }));
    expect(wide.fallback.width).toBe(2560);
    const noJpeg = buildManifest(input({ renditions: [rendition(640, 'webp'), rendition(640, 'avif')] }));
    expect(noJpeg.fallback).toMatchObject({ format: 'webp', width: 640 });
    expect(noJpeg.picture).toContain('<source type="image/avif"');
    expect(noJpeg.picture).not.toContain('<source type="image/webp"');
    expect(noJpeg.srcset.jpeg).toBeUndefined();
  });

  it('HTML-escapes every attribute of the snippet', () => {
    const m = buildManifest(
      input({
        urlFor: (key) => `https://cdn.example.com/${key}?a=1&b="2"<x>`,
        picture: { sizes: '(max-width: 600px) 100vw, "50vw"' },
        alt: `Tom's "best" <shoe> & sock`,
      }),
    );
    expect(m.picture).not.toMatch(/"2"|<x>|<shoe>|& /);
    expect(m.picture).toContain('alt="Tom&#39;s &#34;best&#34; &#60;shoe&#62; &#38; sock"');
    expect(m.picture).toContain('sizes="(max-width: 600px) 100vw, &#34;50vw&#34;"');
    expect(m.picture).toContain('?a=1&#38;b=&#34;2&#34;&#60;x&#62;');
    // The srcset in the JSON stays raw: only the HTML is escaped.
    expect(m.srcset.jpeg).toContain('?a=1&b="2"<x>');
    expect(escapeHtmlAttr(`<>&"'`)).toBe('&#60;&#62;&#38;&#34;&#39;');
  });

  it('has no imgix block unless imgix is configured', () => {
    expect(buildManifest(input()).imgix).toBeUndefined();
    expect('imgix' in buildManifest(input())).toBe(false);
  });

  it('adds unsigned imgix URLs at the same widths as our renditions', () => {
    const m = buildManifest(input({ imgix: { domain: 'shop.imgix.net', masterKey: MASTER } }));
    expect(m.imgix?.url).toBe(`https://shop.imgix.net/${MASTER}?auto=format%2Ccompress&w=1280`);
    const entries = m.imgix!.srcset.split(',').map((s) => s.trim());
    expect(entries).toEqual([320, 640, 1280, 1920].map((w) => `https://shop.imgix.net/${MASTER}?auto=format%2Ccompress&w=${w} ${w}w`));
    expect(m.imgix!.srcset).not.toContain('s=');
    expect(m.imgix!.srcset).not.toContain('ixlib=');
  });

  it('signs imgix URLs with s= when a secure token is given', () => {
    const token = 'sEcReT';
    const m = buildManifest(input({ imgix: { domain: 'shop.imgix.net', secureToken: token, masterKey: MASTER } }));
    const md5 = (s: string) => createHash('md5').update(s).digest('hex');
    const query = 'auto=format%2Ccompress&w=1280';
    expect(m.imgix?.url).toBe(`https://shop.imgix.net/${MASTER}?${query}&s=${md5(`${token}/${MASTER}?${query}`)}`);
    const entries = m.imgix!.srcset.split(',').map((s) => s.trim());
    expect(entries).toHaveLength(4);
    for (const [i, w] of [320, 640, 1280, 1920].entries()) {
      const q = `auto=format%2Ccompress&w=${w}`;
      expect(entries[i]).toBe(`https://shop.imgix.net/${MASTER}?${q}&s=${md5(`${token}/${MASTER}?${q}`)} ${w}w`);
    }
  });

  it('refuses an empty rendition list and a malformed colour', () => {
    expect(() => buildManifest(input({ renditions: [] }))).toThrow(/without renditions/);
    expect(() => buildManifest(input({ dominantColor: 'red;x:url(evil)' }))).toThrow();
  });
});
