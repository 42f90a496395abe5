import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, fixture, keyedFetch, startTestService, upload, waitForRun, type TestService } from '../harness.js';
import { launchChromium } from './chromium.js';

// Browser globals for the callbacks that run in chromium (see dashboard.test.ts for why loosely typed).
declare const window: any, document: any;

interface Manifest {
  picture: string;
  layout: { loading: string };
  renditions: Array<{ url: string; width: number; format: string }>;
}

/** Enough widths that each case below has a right answer and a wrong neighbour. */
const WIDTHS = [320, 640, 960, 1280, 1920, 2560];
/** Runs take seconds; this only bounds a hang on a loaded machine. */
const RUN_DONE_MS = 180_000;

/**
 * The manifest's `<picture>` snippet pasted verbatim into a bare page (no CSS of ours) in Debian's
 * chromium: at phone and desktop widths, DPR 1 and 2, the browser must fetch the smallest AVIF at
 * least as wide as the image is laid out (CSS px × DPR), and the page must never scroll sideways.
 */
describe('the <picture> snippet, pasted as is, in a real browser', () => {
  let service: TestService;
  let browser: Browser;
  let page: Server;
  let pageUrl: string;
  let html = '';
  let manifest: Manifest;
  let perRequest: string;

  beforeAll(async () => {
    browser = await launchChromium();
    service = await startTestService();
    const { key } = await createTenant(service, 'Picture shop');
    // A 2560 px photo, so the widest case has its exact candidate.
    const photo = await sharp(new URL(fixture('coffee.png')).pathname)
      .resize({ width: 2560 })
      .jpeg({ quality: 85 })
      .toBuffer();
    // A hero: the run asks for an eager snippet.
    const recipe = { steps: [{ name: 'render', options: { widths: WIDTHS, formats: ['avif', 'jpeg'] } }], picture: { loading: 'eager' } };
    const res = await upload(service, key, photo, { recipe, filename: 'coffee.jpg' });
    expect(res.status).toBe(202);
    const { asset, run } = (await res.json()) as { asset: { id: string }; run: { id: string } };
    expect((await waitForRun(service, key, run.id, RUN_DONE_MS)).state).toBe('completed');
    const api = keyedFetch(
      () => service,
      () => key,
    );
    manifest = ((await (await api(`/v1/assets/${asset.id}`)).json()) as { manifest: Manifest }).manifest;
    const snippet = await api(`/v1/assets/${asset.id}/picture?alt=Coffee`);
    expect(snippet.status).toBe(200);
    expect(snippet.headers.get('content-type')).toMatch(/^text\/html/);
    perRequest = await snippet.text();

    // The merchant's page: an HTML5 document with the snippet and nothing else of ours.
    page = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html));
    await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve));
    pageUrl = `http://127.0.0.1:${(page.address() as AddressInfo).port}/`;
  }, RUN_DONE_MS + 60_000);
  afterAll(async () => {
    await browser?.close();
    await service?.stop();
    await new Promise((resolve) => page?.close(resolve));
  });

  const paste = (snippet: string) =>
    `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Shop</title></head>` +
    `<body><h1>Coffee</h1>${snippet}<p>In stock.</p></body></html>`;

  /** Open the page in a fresh context (an empty cache: no earlier, larger download can be reused). */
  async function load(snippet: string, width: number, dpr: number) {
    html = paste(snippet);
    const context = await browser.newContext({ viewport: { width, height: 900 }, deviceScaleFactor: dpr });
    try {
      const tab = await context.newPage();
      const images: Array<{ url: string; type: string | undefined }> = [];
      tab.on('response', (r) => {
        if (r.url().includes('/files/')) images.push({ url: r.url(), type: r.headers()['content-type'] });
      });
      await tab.goto(pageUrl);
      await tab.waitForFunction(
        () => {
          const img = document.querySelector('img');
          return img.complete && img.naturalWidth > 0;
        },
        undefined,
        { timeout: 30_000 },
      );
      const seen = await tab.evaluate(() => {
        const img = document.querySelector('img');
        return {
          currentSrc: img.currentSrc as string,
          layoutWidth: img.getBoundingClientRect().width as number,
          dpr: window.devicePixelRatio as number,
          scrollWidth: document.documentElement.scrollWidth as number,
          innerWidth: window.innerWidth as number,
          loading: img.loading as string,
          fetchPriority: img.fetchPriority as string,
        };
      });
      return { ...seen, images };
    } finally {
      await context.close();
    }
  }

  const cases = [
    { width: 375, dpr: 1 },
    { width: 375, dpr: 2 },
    { width: 1440, dpr: 1 },
    { width: 1440, dpr: 2 },
  ];
  for (const snippetKind of ['manifest (eager, per run)', 'per request (lazy)'] as const) {
    for (const { width, dpr } of cases) {
      it(`${snippetKind}: at ${width} px, DPR ${dpr}, fetches the smallest AVIF that is sharp and never scrolls sideways`, async () => {
        const snippet = snippetKind === 'per request (lazy)' ? perRequest : manifest.picture;
        const seen = await load(snippet, width, dpr);
        const avif = manifest.renditions
          .filter((r) => r.format === 'avif')
          .map((r) => r.width)
          .sort((a, b) => a - b);
        expect(avif).toEqual(WIDTHS);
        const needed = seen.layoutWidth * seen.dpr;
        const expected = avif.find((w) => w >= needed) ?? avif[avif.length - 1]!;
        const chosen = manifest.renditions.find((r) => r.url === seen.currentSrc);
        expect(chosen, `currentSrc ${seen.currentSrc}`).toMatchObject({ format: 'avif', width: expected });
        // Exactly one image went over the wire, and it is that AVIF.
        expect(seen.images).toEqual([{ url: seen.currentSrc, type: 'image/avif' }]);
        expect(seen.scrollWidth, 'the page scrolls horizontally').toBeLessThanOrEqual(seen.innerWidth);
        expect(seen.layoutWidth).toBeLessThanOrEqual(seen.innerWidth);
        if (snippetKind === 'per request (lazy)') {
          expect(seen).toMatchObject({ loading: 'lazy' });
        } else {
          expect(seen).toMatchObject({ loading: 'eager', fetchPriority: 'high' });
        }
      });
    }
  }

  it('the manifest records the choice, and the per-request snippet differs only in loading and alt', () => {
    expect(manifest.layout.loading).toBe('eager');
    expect(perRequest).toContain('alt="Coffee"');
    expect(perRequest.replace('alt="Coffee" loading="lazy" decoding="async"', 'alt="" loading="eager" fetchpriority="high"')).toBe(
      manifest.picture,
    );
  });
});
