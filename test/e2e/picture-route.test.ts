import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_SIZES_LENGTH } from '../../cdn/picture.js';
import { createTenant, fixture, keyedFetch, startTestService, upload, waitForRun, type TestService } from '../harness.js';

const RECIPE = { steps: [{ name: 'render', options: { widths: [100, 200], formats: ['webp', 'jpeg'] } }] };

/** GET /v1/assets/:id/picture: the snippet with this request's loading, sizes, alt and channel. */
describe('the <picture> snippet per request', () => {
  let service: TestService;
  let key: string;
  let assetId: string;
  const api = keyedFetch(
    () => service,
    () => key,
  );

  beforeAll(async () => {
    service = await startTestService();
    ({ key } = await createTenant(service));
    const res = await upload(service, key, await readFile(fixture('HappyFish.jpg')), { recipe: RECIPE });
    const body = (await res.json()) as { asset: { id: string }; run: { id: string } };
    assetId = body.asset.id;
    expect((await waitForRun(service, key, body.run.id, 120_000)).state).toBe('completed');
  }, 180_000);
  afterAll(async () => service?.stop());

  it('answers the manifest snippet as text/html, lazy by default, and eager with fetchpriority on request', async () => {
    const lazy = await api(`/v1/assets/${assetId}/picture`);
    expect(lazy.status).toBe(200);
    expect(lazy.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await lazy.text();
    const manifest = ((await (await api(`/v1/assets/${assetId}`)).json()) as { manifest: { picture: string } }).manifest;
    expect(html).toBe(manifest.picture);
    expect(html).toContain('sizes="(max-width: 200px) 100vw, 200px"');
    const eager = await (
      await api(
        `/v1/assets/${assetId}/picture?loading=eager&sizes=${encodeURIComponent('(max-width: 600px) 50vw, 200px')}&alt=${encodeURIComponent('<b>"Fish" & co</b>')}`,
      )
    ).text();
    expect(eager).toContain('loading="eager" fetchpriority="high"');
    expect(eager.match(/sizes="\(max-width: 600px\) 50vw, 200px"/g)).toHaveLength(2);
    expect(eager).toContain('alt="&#60;b&#62;&#34;Fish&#34; &#38; co&#60;/b&#62;"');
  });

  it('refuses bad choices with 422, and answers 404 for an unknown asset or channel, 401 without a key', async () => {
    for (const query of [
      'loading=soon',
      'sizes=%3Cscript%3E',
      `sizes=${'1'.repeat(MAX_SIZES_LENGTH + 1)}`,
      'sizes=',
      'channel=Nope!',
      'fetch=high',
    ]) {
      const res = await api(`/v1/assets/${assetId}/picture?${query}`);
      expect(res.status, query).toBe(422);
      expect(((await res.json()) as { error: { code: string } }).error.code, query).toBe('INVALID_REQUEST');
    }
    expect((await api(`/v1/assets/${assetId}/picture?sizes=${'1'.repeat(MAX_SIZES_LENGTH)}`)).status).toBe(200);
    expect((await api(`/v1/assets/${assetId}/picture?channel=square`)).status).toBe(404);
    expect((await api('/v1/assets/ast_nope/picture')).status).toBe(404);
    expect((await fetch(`${service.url}/v1/assets/${assetId}/picture`)).status).toBe(401);
  });

  it('is listed in the OpenAPI document as text/html', async () => {
    const doc = (await (await fetch(`${service.url}/openapi.json`)).json()) as {
      paths: Record<string, { get?: { responses: Record<string, { content?: Record<string, unknown> }> } }>;
    };
    const route = doc.paths['/v1/assets/{id}/picture']?.get;
    expect(route).toBeDefined();
    expect(Object.keys(route!.responses['200']?.content ?? {})).toEqual(['text/html']);
  });

  it('refuses a recipe whose picture choices are invalid with 422 INVALID_RECIPE, as any bad recipe', async () => {
    for (const picture of [{ loading: 'soon' }, { sizes: 'a"b' }, { fetchpriority: 'high' }]) {
      const res = await upload(service, key, await readFile(fixture('coffee.png')), { recipe: { ...RECIPE, picture } });
      expect(res.status, JSON.stringify(picture)).toBe(422);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('INVALID_RECIPE');
    }
  });
});
