import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import imgixModule from '@imgix/js-core';
import sharp from 'sharp';
import { transform as unpicImgix } from 'unpic/providers/imgix';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FS_OBJECTS_DIR } from '../../cdn/create-storage.js';
import { imgixDefaultWidths } from '../../cdn/imgix-params.js';
import { onDemandPath } from '../../cdn/on-demand-url.js';
import { createTenant, fixture, upload, waitForRun, type TestService } from '../harness.js';
import { startServiceBehindVarnish, type VarnishHandle } from '../varnish.js';

type ImgixClientClass = (typeof imgixModule)['default'];
const ImgixClient: ImgixClientClass =
  (imgixModule as unknown as { default?: ImgixClientClass }).default ?? (imgixModule as unknown as ImgixClientClass);

const RENDER = (widths: number[]) => ({ steps: [{ name: 'render', options: { widths, formats: ['jpeg'] } }] });
/** What a browser that takes AVIF sends. */
const CHROME_ACCEPT = 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8';

/** A Next.js `images.loader` written for imgix (next.config.js `loader: 'custom'`), as its docs show it. */
function nextImgixLoader(base: string) {
  return ({ src, width, quality }: { src: string; width: number; quality?: number }) => {
    const url = new URL(`${base}${src}`);
    url.searchParams.set('auto', 'format');
    url.searchParams.set('fit', 'max');
    url.searchParams.set('w', String(width));
    if (quality) url.searchParams.set('q', String(quality));
    return url.href;
  };
}

interface Got {
  status: number;
  headers: Headers;
  body: Buffer;
}
async function get(url: string, accept?: string): Promise<Got> {
  const res = await fetch(url, accept ? { headers: { accept } } : {});
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}
const size = async (body: Buffer) => {
  const meta = await sharp(body).metadata();
  return { width: meta.width, height: meta.height, format: meta.format };
};

/**
 * The on-demand endpoint end to end: a real service (API, workers, disk storage, Redis) behind a
 * real varnishd, driven by the clients storefronts use (@imgix/js-core, unpic, a Next.js loader).
 */
describe('on-demand rendering (/img) through Varnish', () => {
  let varnish: VarnishHandle;
  let service: TestService;
  let key: string;
  let tenantId: string;
  let assetId: string;
  let setId: string;
  const edge = (p: string) => `${varnish.url}${p}`;
  const api = (p: string, init: RequestInit = {}) =>
    fetch(`${service.url}${p}`, { ...init, headers: { authorization: `Bearer ${key}`, ...init.headers } });

  async function publish(recipe: unknown, bytes?: Buffer): Promise<string> {
    const res = bytes
      ? await upload(service, key, bytes, { recipe, filename: 'coffee.png' })
      : await api(`/v1/assets/${assetId}/runs`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(recipe),
        });
    expect(res.status, await res.clone().text()).toBe(202);
    const body = (await res.json()) as { asset?: { id: string }; run?: { id: string }; id?: string };
    if (body.asset) assetId = body.asset.id;
    const runId = body.run?.id ?? body.id!;
    expect((await waitForRun(service, key, runId)).state).toBe('completed');
    // The publish purges just after the run completes: wait for it, so it cannot land later.
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 50))) {
      const run = (await (await api(`/v1/runs/${runId}`)).json()) as { purge?: { state: string } };
      if (run.purge?.state === 'completed') break;
    }
    const asset = (await (await api(`/v1/assets/${assetId}`)).json()) as { manifest: { renditions: Array<{ key: string }> } };
    return /\/r\/([0-9a-f]{64})\//.exec(asset.manifest.renditions[0]!.key)![1]!;
  }

  beforeAll(async () => {
    ({ varnish, service } = await startServiceBehindVarnish({ MAX_OUTPUT_PIXELS: '4000000' }));
    ({ key, tenantId } = await createTenant(service));
    setId = await publish(RENDER([200]), await readFile(fixture('coffee.png')));
  }, 120_000);
  afterAll(async () => {
    await service?.stop();
    await varnish?.stop();
  });

  it('renders, caches at the edge (sorted query) and in storage, with tenant and asset surrogate keys', async () => {
    const url = edge(`${onDemandPath({ tenantId, assetId, source: 'cutout' })}?w=300&fm=webp`);
    const first = await get(url);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe('image/webp');
    expect(first.headers.get('x-cache')).toBe('MISS');
    expect(first.headers.get('x-on-demand-cache')).toBe('miss');
    // A first WebP is a provisional, cheaper encode, kept a minute under an ETag of its own.
    expect(first.headers.get('x-on-demand-provisional')).toBe('true');
    expect(first.headers.get('cache-control')).toBe('public, max-age=60');
    expect(first.headers.get('etag')).toMatch(/^W\/"[0-9a-f]{64}\.provisional"$/);
    // 300 rounds up to imgix's ladder: 328 (aspect of the 600x400 source kept).
    expect(await size(first.body)).toEqual({ width: 328, height: 219, format: 'webp' });
    expect(first.headers.get('surrogate-key')).toBeNull();
    const reordered = await get(edge(`${onDemandPath({ tenantId, assetId, source: 'cutout' })}?fm=webp&w=300`));
    expect(reordered.headers.get('x-cache')).toBe('HIT');
    // At the origin: stored just behind the first answer (shared from memory until then), then read from storage.
    let origin = await get(`${service.url}${onDemandPath({ tenantId, assetId, source: 'cutout' })}?w=300&fm=webp`);
    for (const deadline = Date.now() + 5000; origin.headers.get('x-on-demand-cache') !== 'hit' && Date.now() < deadline;) {
      expect(origin.headers.get('x-on-demand-cache')).toBe('coalesced');
      await new Promise((r) => setTimeout(r, 50));
      origin = await get(`${service.url}${onDemandPath({ tenantId, assetId, source: 'cutout' })}?w=300&fm=webp`);
    }
    expect(origin.headers.get('x-on-demand-cache')).toBe('hit');
    expect(origin.headers.get('surrogate-key')?.split(' ')).toEqual(
      expect.arrayContaining([`tenant:${tenantId}`, `asset:${tenantId}/${assetId}`]),
    );
    // Stored: the final encode of the same pixels, under the final ETag and cache headers.
    expect(origin.headers.get('x-on-demand-provisional')).toBeNull();
    expect(origin.headers.get('cache-control')).not.toBe('public, max-age=60');
    expect(origin.body.equals(first.body)).toBe(false);
    expect(await size(origin.body)).toEqual({ width: 328, height: 219, format: 'webp' });
    // A cache revalidating the provisional answer gets the final bytes, not a 304.
    const afterProvisional = await fetch(`${service.url}${onDemandPath({ tenantId, assetId, source: 'cutout' })}?w=300&fm=webp`, {
      headers: { 'if-none-match': first.headers.get('etag')! },
    });
    expect(afterProvisional.status).toBe(200);
    expect(Buffer.from(await afterProvisional.arrayBuffer()).equals(origin.body)).toBe(true);
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toMatch(/pipeline_on_demand_images_total\{cache="miss"\} [1-9]/);
    expect(metrics).toMatch(/pipeline_on_demand_transforms\{state="waiting"\} 0/);
    // Revalidation: the same ETag answers 304 without a body; HEAD answers the headers alone.
    const etag = origin.headers.get('etag')!;
    const revalidated = await fetch(`${service.url}${onDemandPath({ tenantId, assetId, source: 'cutout' })}?w=300&fm=webp`, {
      headers: { 'if-none-match': etag },
    });
    expect([revalidated.status, (await revalidated.arrayBuffer()).byteLength]).toEqual([304, 0]);
    const head = await fetch(`${service.url}${onDemandPath({ tenantId, assetId, source: 'cutout' })}?w=300&fm=webp`, { method: 'HEAD' });
    expect([head.status, head.headers.get('content-type')]).toEqual([200, 'image/webp']);
  });

  it('negotiates auto=format from Accept, varies on it, and keeps one edge variant per answer', async () => {
    const url = edge(`${onDemandPath({ tenantId, assetId, source: 'cutout' })}?w=200&auto=format`);
    const avif = await get(url, CHROME_ACCEPT);
    expect(avif.headers.get('content-type')).toBe('image/avif');
    expect(avif.headers.get('vary')).toMatch(/accept/i);
    const webp = await get(url, 'image/webp,*/*');
    expect(webp.headers.get('content-type')).toBe('image/webp');
    const plain = await get(url, 'image/png,*/*');
    expect(plain.headers.get('content-type')).toBe('image/jpeg');
    // Another browser string naming AVIF is the same edge variant.
    expect((await get(url, 'image/avif,*/*')).headers.get('x-cache')).toBe('HIT');
    // One that refuses AVIF (q=0) is not: it gets the WebP variant.
    const refusesAvif = await get(url, 'image/avif;q=0,image/webp,*/*');
    expect([refusesAvif.headers.get('content-type'), refusesAvif.headers.get('x-cache')]).toEqual(['image/webp', 'HIT']);
  });

  it('answers the URLs @imgix/js-core, unpic and a Next.js imgix loader build', async () => {
    const client = new ImgixClient({ domain: 'img.example.test', useHTTPS: false });
    const imgPath = onDemandPath({ tenantId, assetId, source: 'cutout' });
    const onEdge = (url: string) => url.replace('http://img.example.test', varnish.url);
    const built = await get(onEdge(client.buildURL(imgPath, { w: 400, h: 400, fit: 'crop', crop: 'focalpoint', 'fp-x': 0.3, fm: 'png' })));
    expect(built.status).toBe(200);
    expect(await size(built.body)).toEqual({ width: 441, height: 441, format: 'png' });
    // js-core's default srcset (100 to 8192 px): its widths are our default ladder, so each URL up to
    // the 600 px source answers exactly as wide as it claims (the larger ones would only upscale).
    const srcset = client.buildSrcSet(imgPath, { auto: 'format', fit: 'max' }).split(/,\s+/);
    expect(srcset).toHaveLength(imgixDefaultWidths().length);
    for (const entry of srcset.slice(0, 12)) {
      const [url, descriptor] = entry.split(' ');
      const got = await get(onEdge(url!), 'image/webp,*/*');
      expect(got.status).toBe(200);
      expect(`${(await size(got.body)).width}w`).toBe(descriptor);
    }
    const unpic = unpicImgix(edge(imgPath), { width: 250, height: 250 });
    const viaUnpic = await get(String(unpic), CHROME_ACCEPT);
    expect(viaUnpic.status).toBe(200);
    // fit=min crops to the box's aspect: 250x250, rounded up to the ladder's 283.
    expect(await size(viaUnpic.body)).toMatchObject({ width: 283, height: 283, format: 'heif' });
    const next = await get(nextImgixLoader(varnish.url)({ src: imgPath, width: 1080, quality: 70 }), 'image/webp');
    expect(next.status).toBe(200);
    // fit=max: the 600 px source is not enlarged.
    expect(await size(next.body)).toEqual({ width: 600, height: 400, format: 'webp' });
  });

  it('computes concurrent identical requests once', async () => {
    const url = `${service.url}${onDemandPath({ tenantId, assetId, source: 'cutout' })}?w=500&h=500&fit=fill&bg=00ff00&fm=jpg`;
    const answers = await Promise.all(Array.from({ length: 6 }, () => get(url)));
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    const how = answers.map((a) => a.headers.get('x-on-demand-cache'));
    expect(how.filter((h) => h === 'miss')).toHaveLength(1);
    expect(answers.every((a) => a.body.equals(answers[0]!.body))).toBe(true);
  });

  it('refuses unknown and out-of-range parameters with 400 in our error shape, uncached', async () => {
    for (const [query, param] of [
      ['blur=10', 'blur'],
      ['w=20000', 'w'],
      ['w=2000&h=2100', 'w'],
      ['crop=faces&fit=crop', 'crop'],
      ['w=100&w=200', 'w'],
    ]) {
      const res = await get(edge(`${onDemandPath({ tenantId, assetId, source: 'cutout' })}?${query}`));
      expect(res.status, query).toBe(400);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(JSON.parse(res.body.toString())).toMatchObject({ error: { code: 'BAD_REQUEST', details: { param } } });
    }
    expect((await get(edge(`/img/${tenantId}/${assetId}/nope-channel?w=100`))).status).toBe(404);
    expect((await get(edge(`/img/${tenantId}/${assetId}/cutout@${'0'.repeat(64)}`))).status).toBe(404);
    expect((await get(edge(`/img/${tenantId}/../cutout`))).status).toBe(404);
  });

  it('serves the original, metadata stripped, and pinned versions as immutable', async () => {
    const original = await get(edge(`${onDemandPath({ tenantId, assetId, source: 'original' })}?w=156&fm=jpg`));
    expect(original.status).toBe(200);
    expect((await sharp(original.body).metadata()).exif).toBeUndefined();
    const pinned = await get(edge(`${onDemandPath({ tenantId, assetId, source: 'cutout', version: setId })}?w=156`));
    expect(pinned.status).toBe(200);
    expect(pinned.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
  });

  it('signs with a per-tenant token: js-core-signed URLs pass, unsigned and tampered ones get 403', async () => {
    const issued = await api('/v1/on-demand/signing-token', { method: 'POST' });
    expect(issued.status).toBe(201);
    const { token } = (await issued.json()) as { token: string };
    const imgPath = onDemandPath({ tenantId, assetId, source: 'cutout' });
    const signer = new ImgixClient({ domain: 'img.example.test', useHTTPS: false, secureURLToken: token });
    const signed = signer.buildURL(imgPath, { w: 135, fm: 'webp' }).replace('http://img.example.test', varnish.url);
    expect((await get(signed)).status).toBe(200);
    expect((await get(edge(`${imgPath}?w=135&fm=webp`))).status).toBe(403);
    expect((await get(signed.replace('w=135', 'w=156'))).status).toBe(403);
    // The edge caches unsigned URLs under their sorted query, signed ones as sent: a reordered copy
    // of a cached signed URL still reaches the origin, whose signature check refuses it.
    expect((await get(signed)).headers.get('x-cache')).toBe('HIT');
    const url = new URL(signed);
    const pairs = url.search.slice(1).split('&');
    const reordered = `${url.origin}${url.pathname}?${[...pairs.slice(0, -1).reverse(), pairs.at(-1)].join('&')}`;
    expect(reordered).not.toBe(signed);
    expect((await get(reordered)).status).toBe(403);
    expect((await api('/v1/on-demand/signing-token', { method: 'DELETE' })).status).toBe(204);
    expect((await get(edge(`${imgPath}?w=135&fm=jpg`))).status).toBe(200);
  });

  it('a re-publish purges unpinned URLs only; a takedown purges and removes every transform', async () => {
    const unpinned = edge(`${onDemandPath({ tenantId, assetId, source: 'cutout' })}?w=116&fm=png`);
    const pinned = edge(`${onDemandPath({ tenantId, assetId, source: 'cutout', version: setId })}?w=116&fm=png`);
    await get(unpinned);
    await get(pinned);
    expect((await get(unpinned)).headers.get('x-cache')).toBe('HIT');
    const setId2 = await publish(RENDER([160]));
    expect(setId2).not.toBe(setId);
    expect((await get(unpinned)).headers.get('x-cache')).toBe('MISS');
    expect((await get(pinned)).headers.get('x-cache')).toBe('HIT');

    const transformsOf = async (folder: string) =>
      (await readdir(path.join(service.dataDir, FS_OBJECTS_DIR, folder), { recursive: true }).catch(() => [] as string[])).filter((f) =>
        /^od[/\\]./.test(f),
      );
    expect((await transformsOf(`t/${tenantId}/r/${setId}`)).length).toBeGreaterThan(0);
    expect((await api(`/v1/assets/${assetId}`, { method: 'DELETE' })).status).toBe(204);
    for (const url of [unpinned, pinned]) {
      let status = 0;
      for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
        status = (await get(url)).status;
        if (status === 404) break;
      }
      expect(status, url).toBe(404);
    }
    expect(await transformsOf(`t/${tenantId}/r/${setId}`)).toEqual([]);
    expect(await transformsOf(`t/${tenantId}/assets/${assetId}`)).toEqual([]);
  }, 60_000);
});
