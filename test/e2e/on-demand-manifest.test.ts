import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AssetManifest } from '../../cdn/manifest.js';
import { setIdOfKey } from '../../cdn/on-demand-url.js';
import { TOKEN_CACHE_MS } from '../../api/on-demand/signing-tokens.js';
import { createTenant, fixture, keyedFetch, startTestService, upload, waitForRun, type TestService } from '../harness.js';

const RECIPE = { steps: [{ name: 'render', options: { widths: [100, 200], formats: ['webp', 'jpeg'] } }] };

/** `url 100w, url 116w` → [[url, 100], …] */
const candidates = (srcset: string) =>
  srcset.split(', ').map((c) => {
    const [url, w] = c.split(' ');
    return [url!, Number(w!.slice(0, -1))] as const;
  });

/**
 * The on-demand URLs a published manifest offers (HappyFish.jpg, 259×194, on the local-disk
 * service): they are served by the real endpoint at the widths they claim, the picture route
 * builds on them, and once the tenant signs its URLs a re-publish offers signed ones.
 */
describe('on-demand URLs in published manifests', () => {
  let service: TestService;
  let key: string;
  let tenantId: string;
  let assetId: string;
  const api = keyedFetch(
    () => service,
    () => key,
  );
  const manifestOf = async () => ((await (await api(`/v1/assets/${assetId}`)).json()) as { manifest: AssetManifest }).manifest;

  beforeAll(async () => {
    service = await startTestService();
    ({ key, tenantId } = await createTenant(service));
    const res = await upload(service, key, await readFile(fixture('HappyFish.jpg')), { recipe: RECIPE });
    const body = (await res.json()) as { asset: { id: string }; run: { id: string } };
    assetId = body.asset.id;
    expect((await waitForRun(service, key, body.run.id, 120_000)).state).toBe('completed');
  }, 180_000);
  afterAll(async () => service?.stop());

  it('offers the result pinned to its set, and every srcset URL answers an image of the width it claims', async () => {
    const m = await manifestOf();
    const setId = setIdOfKey(m.renditions[0]!.key);
    const port = new URL(service.url).port;
    expect(m.onDemand?.base).toBe(`http://localhost:${port}/img/${tenantId}/${assetId}/cutout@${setId}`);
    // imgix's ladder up to the source's 259 px.
    expect(m.onDemand?.widths).toEqual([100, 116, 135, 156, 181, 210, 244]);
    for (const [url, width] of candidates(m.onDemand!.srcset)) {
      const res = await fetch(url, { headers: { accept: 'image/webp,*/*' } });
      expect(res.status, url).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/webp');
      const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
      expect(meta.width, url).toBe(width);
    }
    const fallback = await fetch(m.onDemand!.fallback.url);
    expect(fallback.headers.get('content-type')).toBe('image/jpeg');
    const meta = await sharp(Buffer.from(await fallback.arrayBuffer())).metadata();
    expect([meta.width, meta.height]).toEqual([m.onDemand!.fallback.width, m.onDemand!.fallback.height]);
    // The original, pinned to its sha256, takes imgix parameters too.
    const original = await fetch(`${m.source.onDemand}?w=100&fm=png`);
    expect(original.status).toBe(200);
    expect((await sharp(Buffer.from(await original.arrayBuffer())).metadata()).width).toBe(100);
  });

  it('answers the on-demand <picture> from the picture route, with this request’s choices', async () => {
    const m = await manifestOf();
    const plain = await api(`/v1/assets/${assetId}/picture?urls=on-demand`);
    expect(plain.status).toBe(200);
    expect(await plain.text()).toBe(m.onDemand!.picture);
    const eager = await (await api(`/v1/assets/${assetId}/picture?urls=on-demand&loading=eager&alt=Fish`)).text();
    expect(eager).toContain('alt="Fish" loading="eager" fetchpriority="high"');
    expect(eager).toContain(`src="${m.onDemand!.fallback.url.replace(/&/g, '&#38;')}"`);
    // The pre-rendered snippet stays the default.
    expect(await (await api(`/v1/assets/${assetId}/picture`)).text()).toBe(m.picture);
    expect((await api(`/v1/assets/${assetId}/picture?urls=elsewhere`)).status).toBe(422);
    expect((await api(`/v1/assets/${assetId}/picture?urls=on-demand&channel=marketplace`)).status).toBe(404);
  });

  it('offers signed URLs once the tenant signs them (after the next publish), which the endpoint accepts', async () => {
    const issued = await api('/v1/on-demand/signing-token', { method: 'POST' });
    expect(issued.status).toBe(201);
    const { token } = (await issued.json()) as { token: string };
    expect(token.length).toBeGreaterThan(10);
    const before = await manifestOf();
    // The unsigned URLs of the manifest published before the token are refused now.
    expect((await fetch(candidates(before.onDemand!.srcset)[0]![0])).status).toBe(403);
    // Each process trusts its copy of a token for TOKEN_CACHE_MS: the publisher sees the new one after it.
    await new Promise((r) => setTimeout(r, TOKEN_CACHE_MS + 100));

    const rerun = await api(`/v1/assets/${assetId}/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(RECIPE),
    });
    expect(rerun.status).toBe(202);
    expect((await waitForRun(service, key, ((await rerun.json()) as { id: string }).id, 120_000)).state).toBe('completed');
    const after = await manifestOf();
    const [url] = candidates(after.onDemand!.srcset).at(-1)!;
    expect(new URL(url).searchParams.get('s')).toMatch(/^[0-9a-f]{32}$/);
    expect((await fetch(url)).status).toBe(200);
    expect((await fetch(after.onDemand!.fallback.url)).status).toBe(200);
    expect((await fetch(`${after.onDemand!.base}?w=100`)).status).toBe(403);
  });
});
