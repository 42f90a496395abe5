import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, fixture, keyedFetch, startTestService, upload, waitForBatch, waitForRun, type TestService } from '../harness.js';
import { launchChromium, SCREENSHOTS } from './chromium.js';

interface Rendition {
  url: string;
  width: number;
  height: number;
  format: string;
  bytes: number;
}
interface AssetBody {
  id: string;
  original: { bytes: number; width: number; height: number };
  manifestUrl: string;
  manifest: { renditions: Rendition[]; picture: string; srcset: Record<string, string> };
}

// Browser globals, for the callbacks that run in chromium (page.evaluate). Loosely typed here so
// that this Node-typed project need not load the DOM library, which would change every file's types.
declare const window: any, document: any, sessionStorage: any, navigator: any, Navigator: any, getComputedStyle: any;
type HTMLElement = any;
type HTMLImageElement = any;

const fixturePath = (name: string) => fileURLToPath(fixture(name));
/** Runs finish in seconds; this only bounds a hang. */
const RUN_DONE_MS = 90_000;

/**
 * The dashboard in Debian's chromium against a real service (API, Redis, workers, local disk):
 * sign in, drop photos, follow the live progress, compare, browse the renditions, copy, sign out.
 */
describe('dashboard in a real browser', () => {
  let service: TestService;
  let key: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const requests: Request[] = [];

  const card = (name: string) => page.locator(`.card[data-file="${name}"]`);
  const shot = (name: string) => path.join(SCREENSHOTS, name);
  const getAsset = async (id: string) =>
    (await (await fetch(`${service.url}/v1/assets/${id}`, { headers: { authorization: `Bearer ${key}` } })).json()) as AssetBody;

  async function signIn(target: Page, withKey: string) {
    await target.goto(`${service.url}/`);
    await target.getByLabel('API key').fill(withKey);
    await target.getByRole('button', { name: 'Sign in' }).click();
  }

  beforeAll(async () => {
    browser = await launchChromium();
    service = await startTestService();
    ({ key } = await createTenant(service, 'Browser shop'));
    context = await browser.newContext({ permissions: ['clipboard-read', 'clipboard-write'], viewport: { width: 1280, height: 900 } });
    // Any Content-Security-Policy violation is recorded, so the test sees what the console would.
    await context.addInitScript(() => {
      const w = window as unknown as { cspViolations: string[] };
      w.cspViolations = [];
      document.addEventListener('securitypolicyviolation', (e: { violatedDirective: string; blockedURI: string }) =>
        w.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`),
      );
    });
    page = await context.newPage();
    page.on('request', (r) => requests.push(r));
  });
  afterAll(async () => {
    await browser?.close();
    await service?.stop();
  });

  it('refuses a wrong key, then signs in with the right one, kept in sessionStorage', async () => {
    await signIn(page, 'not-a-real-key');
    await expect.poll(() => page.locator('#sign-in-error').textContent()).toMatch(/refused/);
    expect(await page.locator('#upload-view').isHidden()).toBe(true);

    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#upload-view').waitFor({ state: 'visible' });
    expect(await page.evaluate(() => sessionStorage.getItem('pipeline.apiKey'))).toBe(key);
    expect(await page.getByRole('navigation', { name: 'Sections' }).isVisible()).toBe(true);
    // The server lists its templates: the picker shows.
    await expect.poll(() => requests.some((r) => new URL(r.url()).pathname === '/v1/templates')).toBe(true);
    await expect.poll(() => page.locator('#template-field').isVisible()).toBe(true);
    expect(await page.getByRole('radio', { name: /Responsive set/ }).isChecked()).toBe(true);
  });

  it('uploads dropped photos and follows each run live to the end', async () => {
    // Chromium reports multipart bodies with files only to route handlers: read them there.
    const sentBodies: string[] = [];
    await page.route('**/v1/assets', async (route) => {
      sentBodies.push(route.request().postDataBuffer()?.toString('latin1') ?? '');
      await route.continue();
    });
    await page.locator('#dropzone').drop({ files: [fixturePath('coffee.png'), fixturePath('HappyFish.jpg')] });
    for (const name of ['coffee.png', 'HappyFish.jpg']) {
      await card(name).locator('.state', { hasText: 'Completed' }).waitFor({ timeout: RUN_DONE_MS });
      expect(await card(name).getByRole('progressbar').getAttribute('aria-valuenow')).toBe('100');
      expect(await card(name).locator('.steps').textContent()).toBe('render: completedpublish: completed');
    }
    await expect.poll(() => page.locator('#upload-summary').textContent()).toBe('2 of 2 done');
    expect(await page.locator('#progress-announcer').getAttribute('aria-live')).toBe('polite');
    expect(await page.locator('#progress-announcer').textContent()).toMatch(/(is ready|Completed)$/);

    // Progress came over the event stream, authenticated by header; the key is in no URL.
    const uploads = requests.filter((r) => r.method() === 'POST' && r.url().endsWith('/v1/assets'));
    expect(uploads).toHaveLength(2);
    expect(sentBodies).toHaveLength(2);
    for (const body of sentBodies) expect(body).toContain('{"steps":[{"name":"render"}]}');
    for (const upload of uploads) {
      expect((await upload.allHeaders()).authorization).toBe(`Bearer ${key}`);
    }
    const streams = requests.filter((r) => /\/v1\/runs\/[^/]+\/events$/.test(r.url()));
    expect(streams.length).toBeGreaterThanOrEqual(2);
    for (const stream of streams) expect((await stream.allHeaders()).authorization).toBe(`Bearer ${key}`);
    expect(requests.filter((r) => r.url().includes(key))).toEqual([]);
    await page.unroute('**/v1/assets');
    await page.screenshot({ path: shot('dashboard.png'), fullPage: true });
  });

  it('compares original and result with a slider that the keyboard moves', async () => {
    await card('coffee.png').getByRole('button', { name: 'Show result for coffee.png' }).click();
    await expect.poll(() => page.locator('#result-title').textContent()).toBe('Result: coffee.png');
    const slider = page.getByRole('slider', { name: 'Compare original and result' });
    expect(await slider.getAttribute('aria-valuenow')).toBe('50');
    const loaded = await page.evaluate(async () =>
      Promise.all(
        [...document.querySelectorAll('.compare img')].map(async (img) => {
          await img.decode();
          return { src: img.src.split(':')[0], width: img.naturalWidth };
        }),
      ),
    );
    expect(loaded).toEqual([
      { src: 'blob', width: 600 },
      { src: 'http', width: 600 },
    ]);

    await slider.focus();
    const value = async () => Number(await slider.getAttribute('aria-valuenow'));
    const clip = () => page.locator('.compare-after').evaluate((el) => getComputedStyle(el).clipPath);
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('ArrowLeft');
    expect(await value()).toBe(40);
    expect(await clip()).toBe('inset(0px 0px 0px 40%)');
    await page.keyboard.press('ArrowRight');
    expect(await value()).toBe(45);
    await page.keyboard.press('Shift+ArrowRight');
    expect(await value()).toBe(65);
    await page.keyboard.press('End');
    expect(await value()).toBe(100);
    expect(await slider.getAttribute('aria-valuetext')).toBe('100% original, 0% result');
    await page.keyboard.press('Home');
    expect(await value()).toBe(0);
    await page.keyboard.press('PageUp');
    expect(await value()).toBe(20);
    // The pointer drags it too: a click at three quarters of its width.
    const box = (await slider.boundingBox())!;
    await page.mouse.click(box.x + box.width * 0.75, box.y + box.height / 2);
    expect(Math.abs((await value()) - 75)).toBeLessThanOrEqual(1);
    await page.keyboard.press('Home');
    for (let i = 0; i < 10; i++) await page.keyboard.press('ArrowRight');
    expect(await value()).toBe(50);
    await slider.screenshot({ path: shot('comparison.png') });
  });

  it('shows every rendition with its format, width, bytes and savings against the original', async () => {
    const assetId = /\/assets\/([^/]+)\/manifest\.json/.exec((await page.locator('.urls code').first().textContent()) ?? '')?.[1];
    const asset = await getAsset(assetId!);
    const { renditions } = asset.manifest;
    expect(renditions).toHaveLength(6);
    const shown = await page.locator('.gallery .rendition').evaluateAll((items) =>
      items.map((li) => ({
        format: li.getAttribute('data-format'),
        width: Number(li.getAttribute('data-width')),
        text: li.querySelector('.format')!.textContent,
        size: li.querySelector('.dimensions')!.textContent,
        bytes: Number(li.querySelector('.bytes')!.getAttribute('data-bytes')),
        savings: li.querySelector('.savings')!.textContent,
      })),
    );
    expect(shown).toEqual(
      renditions.map((r) => {
        const change = Math.round((r.bytes / asset.original.bytes - 1) * 100);
        return {
          format: r.format,
          width: r.width,
          text: r.format.toUpperCase(),
          size: `${r.width}×${r.height}`,
          bytes: r.bytes,
          savings: change <= 0 ? `−${-change}%` : `+${change}%`,
        };
      }),
    );
    // Every rendition image loads from the public URL (allowed by the page's CSP) at its stated width.
    const widths = await page.locator('.gallery img').evaluateAll(async (imgs) =>
      Promise.all(
        (imgs as HTMLImageElement[]).map(async (img) => {
          img.loading = 'eager';
          await img.decode();
          return img.naturalWidth;
        }),
      ),
    );
    expect(widths).toEqual(renditions.map((r) => r.width));
    await page.locator('.gallery').screenshot({ path: shot('gallery.png') });
  });

  it('copies the <picture> snippet and URLs, with a fallback when the Clipboard API is missing', async () => {
    const assetId = /\/assets\/([^/]+)\/manifest\.json/.exec((await page.locator('.urls code').first().textContent()) ?? '')?.[1];
    const asset = await getAsset(assetId!);
    expect(await page.locator('#picture-snippet').textContent()).toBe(asset.manifest.picture);

    await page.getByRole('button', { name: 'Copy picture snippet' }).click();
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe(asset.manifest.picture);
    expect(await page.getByRole('status').textContent()).toBe('picture snippet copied');

    await page.getByRole('button', { name: 'Copy Manifest' }).click();
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe(asset.manifestUrl);

    // Without navigator.clipboard the button falls back to a selection and execCommand('copy').
    await page.evaluate(() => {
      const w = window as unknown as { savedClipboard?: PropertyDescriptor };
      w.savedClipboard = Object.getOwnPropertyDescriptor(Navigator.prototype, 'clipboard');
      Object.defineProperty(Navigator.prototype, 'clipboard', { configurable: true, get: () => undefined });
    });
    const webp = asset.manifest.renditions.find((r) => r.format === 'webp' && r.width === 320)!;
    await page.getByRole('button', { name: 'Copy WEBP 320 URL' }).click();
    await page.evaluate(() => {
      const w = window as unknown as { savedClipboard: PropertyDescriptor };
      Object.defineProperty(Navigator.prototype, 'clipboard', w.savedClipboard);
    });
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe(webp.url);
  });

  it('offers the on-demand URLs beside the pre-rendered ones, each with a copy button', async () => {
    const assetId = /\/assets\/([^/]+)\/manifest\.json/.exec((await page.locator('.urls code').first().textContent()) ?? '')?.[1];
    const { manifest } = (await getAsset(assetId!)) as unknown as {
      manifest: { onDemand: { base: string; srcset: string; picture: string }; source: { onDemand: string } };
    };
    expect(await page.locator('#on-demand-picture-snippet').textContent()).toBe(manifest.onDemand.picture);
    const shown = await page.locator('[aria-labelledby="on-demand-title"] code').allTextContents();
    expect(shown).toEqual(expect.arrayContaining([manifest.onDemand.base, manifest.onDemand.srcset, manifest.source.onDemand]));
    await page.getByRole('button', { name: 'Copy On-demand srcset (auto=format)' }).click();
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe(manifest.onDemand.srcset);
  });

  it('reaches the file picker and the slider from the keyboard alone', async () => {
    await page.locator('body').focus();
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    const reached: string[] = [];
    for (let i = 0; i < 60 && !reached.includes('compare'); i++) {
      await page.keyboard.press('Tab');
      const id = await page.evaluate(() => {
        const el = document.activeElement as HTMLElement;
        return el.id || el.className;
      });
      reached.push(id);
    }
    expect(reached).toContain('file-input');
    expect(reached).toContain('compare');
    // Focus is visible: the focused slider draws an outline.
    expect(await page.locator('.compare').evaluate((el) => getComputedStyle(el).outlineStyle)).toBe('solid');
  });

  it('keeps text contrast at WCAG AA (4.5:1) or better', async () => {
    const ratios = await page.evaluate(() => {
      const rgb = (c: string) => (c.match(/[\d.]+/g) ?? []).map(Number);
      const luminance = ([r, g, b]: number[]) => {
        const lin = (v: number) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
        return 0.2126 * lin(r!) + 0.7152 * lin(g!) + 0.0722 * lin(b!);
      };
      const background = (el: HTMLElement): string => {
        for (let node = el; node; node = node.parentElement) {
          const c = getComputedStyle(node).backgroundColor;
          if (rgb(c)[3] !== 0) return c;
        }
        return 'rgb(255, 255, 255)';
      };
      const out: Record<string, number> = {};
      for (const selector of [
        'h2',
        '.hint',
        '#nav a:not([aria-current])',
        '#nav a[aria-current="page"]',
        'button.view',
        'button.copy',
        '#sign-out',
        '.state',
        '.step-completed',
        '.rendition dt',
        '.urls code',
        '.snippet code',
      ]) {
        const el = document.querySelector(selector);
        if (!el) continue;
        const [a, b] = [luminance(rgb(getComputedStyle(el).color)), luminance(rgb(background(el)))];
        out[selector] = Math.round(((Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)) * 10) / 10;
      }
      return out;
    });
    expect(Object.keys(ratios).length).toBeGreaterThanOrEqual(10);
    for (const [selector, ratio] of Object.entries(ratios)) expect(ratio, selector).toBeGreaterThanOrEqual(4.5);
  });

  it('says batch progress is not available for an unknown batch, and lists the real templates', async () => {
    await page.getByRole('link', { name: 'Batches' }).click();
    await page.getByLabel('Batch id').fill('batch-123');
    await page.getByRole('button', { name: 'Show' }).click();
    await expect.poll(() => page.locator('#batch-output').textContent()).toMatch(/^Batch progress is not available: /);
    await page.getByRole('link', { name: 'Templates' }).click();
    await expect.poll(() => page.locator('#templates-output').textContent()).toContain('Marketplace white');
  });

  it('lays out on a 375 px phone: sign in, pick a photo, follow it, compare', async () => {
    const phone = await context.newPage();
    await phone.setViewportSize({ width: 375, height: 812 });
    await signIn(phone, key);
    await phone.locator('#upload-view').waitFor({ state: 'visible' });
    const overflow = () => phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(await overflow()).toBeLessThanOrEqual(0);
    await phone.getByRole('radio', { name: /Responsive set/ }).check();
    await phone.getByLabel('SKU').fill('mug-blue-01');
    await phone.locator('#file-input').setInputFiles(fixturePath('d02_mug_woodtable.png'));
    await phone.locator('.card .state', { hasText: 'Completed' }).waitFor({ timeout: RUN_DONE_MS });
    await phone.getByRole('slider', { name: 'Compare original and result' }).waitFor();
    await phone.evaluate(async () => {
      for (const img of document.querySelectorAll('#result img')) {
        img.loading = 'eager';
        await img.decode().catch(() => undefined);
      }
    });
    expect(await overflow()).toBeLessThanOrEqual(0);
    expect(await phone.locator('.urls code').first().textContent()).toMatch(/manifest\.json$/);
    await phone.screenshot({ path: shot('phone.png'), fullPage: true });
    expect(await phone.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations)).toEqual([]);
    await phone.close();
  });

  it('broke no Content-Security-Policy rule, and signs out', async () => {
    expect(await page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations)).toEqual([]);
    await page.getByRole('link', { name: 'Upload' }).click();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('#sign-in-view').waitFor({ state: 'visible' });
    expect(await page.evaluate(() => sessionStorage.getItem('pipeline.apiKey'))).toBeNull();
    expect(await page.locator('#upload-view').isHidden()).toBe(true);
    expect(await page.locator('.card').count()).toBe(0);
    expect(await page.locator('#sign-in-error').textContent()).toBe('Signed out.');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('api-key');
  });
});

/** The templates and batch views against the service's real routes and a real catalog batch. */
describe('dashboard templates and batch views', () => {
  let service: TestService;
  let key: string;
  let browser: Browser;
  let page: Page;
  const api = keyedFetch(
    () => service,
    () => key,
  );

  beforeAll(async () => {
    browser = await launchChromium();
    service = await startTestService();
    ({ key } = await createTenant(service, 'Catalog shop'));
    page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    await page.goto(`${service.url}/`);
    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#upload-view').waitFor({ state: 'visible' });
  });
  afterAll(async () => {
    await browser?.close();
    await service?.stop();
  });

  it('offers templates in the upload form and sends generate right after remove-background', async () => {
    await page.locator('#template-field').waitFor({ state: 'visible' });
    await page.getByLabel('Scene template').selectOption('studio');
    // The request is read and then failed on purpose: this checks the recipe the form sends and
    // how a failed upload shows, not background removal (test/e2e/generate.test.ts runs that).
    let sent = '';
    await page.route('**/v1/assets', async (route) => {
      sent = route.request().postDataBuffer()?.toString('latin1') ?? '';
      await route.abort();
    });
    await page.locator('#file-input').setInputFiles(fixturePath('HappyFish.jpg'));
    await expect.poll(() => sent).toContain('"generate"');
    expect(sent).toContain(
      '{"steps":[{"name":"remove-background","options":{"output":"cutout"}},{"name":"generate","options":{"template":"studio"}},{"name":"render"}]}',
    );
    await page.locator('.card .error').waitFor();
    expect(await page.locator('.card .state').textContent()).toBe('Failed');
    await page.unroute('**/v1/assets');
  });

  it('shows each template with its preview, rendered by the service and fetched with the key', async () => {
    const { templates } = (await (await api('/v1/templates')).json()) as {
      templates: Array<{ id: string; name: string; version: string }>;
    };
    const studio = templates.find((t) => t.id === 'studio')!;
    await page.getByRole('link', { name: 'Templates' }).click();
    const img = page.getByRole('img', { name: `Preview of ${studio.name}` });
    await img.waitFor();
    await expect.poll(() => img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth), { timeout: 30_000 }).toBeGreaterThan(0);
    expect(await img.getAttribute('src')).toMatch(/^blob:/);
    expect(await page.locator('.template', { hasText: studio.name }).textContent()).toContain(`Version ${studio.version}`);
    expect(await page.locator('.template').count()).toBe(templates.length);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'templates.png') });
  });

  it('shows a real batch: counts, progress, throughput and the line it refused', async () => {
    const photo = await readFile(fixture('HappyFish.jpg'));
    const uploaded = await upload(service, key, photo, { filename: 'fish.jpg' });
    const { asset, run } = (await uploaded.json()) as { asset: { id: string }; run: { id: string } };
    await waitForRun(service, key, run.id);
    const lines = [
      { sku: 'fish-1', source: asset.id, options: { widths: [120], formats: ['webp'] } },
      { sku: '../not-a-sku', source: asset.id },
      { sku: 'fish-2', source: asset.id, options: { widths: [140], formats: ['webp'] } },
    ]
      .map((l) => JSON.stringify(l))
      .join('\n');
    const submitted = await api('/v1/batches', { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: `${lines}\n` });
    expect(submitted.status).toBe(202);
    const { batch } = (await submitted.json()) as { batch: { id: string } };
    const status = await waitForBatch(service, key, batch.id, RUN_DONE_MS);
    expect(status.state).toBe('completed');

    await page.getByRole('link', { name: 'Batches' }).click();
    await page.getByLabel('Batch id').fill(batch.id);
    await page.getByRole('button', { name: 'Show' }).click();
    await page.locator('.failures').waitFor();
    expect(await page.locator('[data-count="completed"]').textContent()).toBe(String(status.counts.completed));
    expect(status.counts.completed).toBe(2);
    expect(await page.locator('[data-count="failed"]').textContent()).toBe(String(status.counts.failed));
    expect(await page.getByRole('progressbar', { name: 'Batch progress' }).getAttribute('aria-valuenow')).toBe('100');
    expect(await page.locator('.rate').textContent()).toMatch(/^\d+ of \d+ finished · [\d.]+ per minute · ETA 0 s$/);
    const rows = await page.locator('.failures tbody tr').allTextContents();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatch(/^2\.\.\/not-a-skuINVALID_BATCH_ITEM`sku` is /); // line, SKU as given, code, message
    await page.screenshot({ path: path.join(SCREENSHOTS, 'batch.png') });
  });
});
