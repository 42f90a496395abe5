import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../harness.js';

/** The dashboard's files as the API serves them: types, caching, security headers. */
describe('dashboard files served by the API', () => {
  let service: TestService;
  let html: string;
  let assetBase: string;

  beforeAll(async () => {
    service = await startTestService();
    const res = await fetch(`${service.url}/`);
    html = await res.text();
    assetBase = /src="(\/dashboard\/[0-9a-f]{12})\/app\.js"/.exec(html)?.[1] ?? '';
  });
  afterAll(async () => service?.stop());

  it('serves the page at / with a strict Content-Security-Policy, revalidated on each visit', async () => {
    const res = await fetch(`${service.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    const csp = res.headers.get('content-security-policy') ?? '';
    for (const directive of [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      "connect-src 'self'",
      "frame-ancestors 'none'",
      "base-uri 'none'",
    ]) {
      expect(csp).toContain(directive);
    }
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    // Published files come from the storage origin (here the API's /files on localhost).
    expect(csp).toMatch(/img-src 'self' blob: data: http:\/\/localhost:\d+/);
    // No inline script or style the policy would block.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/\sstyle=/);
    expect(assetBase).not.toBe('');

    const etag = res.headers.get('etag')!;
    const again = await fetch(`${service.url}/`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
  });

  it('serves scripts and styles under a versioned path, cached as immutable, with their content types', async () => {
    const modules = [...html.matchAll(/(?:src|href)="\{?\/dashboard\/[0-9a-f]{12}\/([\w.-]+)"/g)].map((m) => m[1]);
    expect(modules).toEqual(expect.arrayContaining(['styles.css', 'app.js']));
    const types: Record<string, string> = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };
    let total = 0;
    for (const name of [
      'app.js',
      'api.js',
      'sse.js',
      'upload.js',
      'result.js',
      'slider.js',
      'clipboard.js',
      'batch.js',
      'templates.js',
      'recipes.js',
      'format.js',
      'styles.css',
    ]) {
      const res = await fetch(`${service.url}${assetBase}/${name}`);
      expect(res.status, name).toBe(200);
      expect(res.headers.get('content-type'), name).toBe(types[name.split('.').pop()!]);
      expect(res.headers.get('cache-control'), name).toBe('public, max-age=31536000, immutable');
      total += (await res.arrayBuffer()).byteLength;
    }
    // No framework: the whole dashboard stays small.
    expect(total + html.length).toBeLessThan(80_000);
  });

  it('answers 404 for other versions, the page template and unknown files', async () => {
    expect((await fetch(`${service.url}/dashboard/000000000000/app.js`)).status).toBe(404);
    expect((await fetch(`${service.url}${assetBase}/index.html`)).status).toBe(404);
    expect((await fetch(`${service.url}${assetBase}/nope.js`)).status).toBe(404);
    expect((await fetch(`${service.url}${assetBase}/..%2Fplugin.ts`)).status).toBe(404);
  });

  it('keeps /docs and the API document working, with the event stream route documented', async () => {
    const docs = await fetch(`${service.url}/docs`);
    expect(docs.status).toBe(200);
    expect(docs.headers.get('content-type')).toMatch(/text\/html/);
    const doc = (await (await fetch(`${service.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toContain('/v1/runs/{id}/events');
    expect(Object.keys(doc.paths)).not.toContain('/');
  });
});
