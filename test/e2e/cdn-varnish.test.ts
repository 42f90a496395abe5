import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, fixture, startTestService, upload, waitForRun, type RunBody, type TestService } from '../harness.js';
import { freePort, startServiceBehindVarnish, type VarnishHandle } from '../varnish.js';

interface AssetBody {
  manifest: { renditions: Array<{ url: string; width: number; format: string }> };
}

const JPEG_200 = { steps: [{ name: 'render', options: { widths: [200], formats: ['jpeg'] } }] };

async function get(url: string): Promise<{ cache: string | null; body: Buffer; status: number }> {
  const res = await fetch(url);
  return { cache: res.headers.get('x-cache'), body: Buffer.from(await res.arrayBuffer()), status: res.status };
}

/**
 * Publishing through a real Varnish (Debian's varnish + varnish-modules xkey) in front of the
 * API's /files origin: stable URLs are cached until they change, then purged by surrogate key
 * within seconds; immutable renditions and other assets stay cached.
 */
describe('stable URLs through a real Varnish', () => {
  let varnish: VarnishHandle;
  let service: TestService;
  let key: string;
  let tenantId: string;
  const stableUrl = (assetId: string) => `${varnish.url}/files/t/${tenantId}/assets/${assetId}/latest/200.jpg`;

  beforeAll(async () => {
    ({ varnish, service } = await startServiceBehindVarnish());
    ({ key, tenantId } = await createTenant(service));
  });
  afterAll(async () => {
    await service?.stop();
    await varnish?.stop();
  });

  async function publish(bytes: Buffer, fields: { sku?: string } = {}): Promise<{ assetId: string; run: RunBody }> {
    const form = new FormData();
    form.append('recipe', JSON.stringify(JPEG_200));
    if (fields.sku) form.append('sku', fields.sku);
    form.append('file', new Blob([bytes]), 'photo');
    const res = await fetch(`${service.url}/v1/assets`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { asset: { id: string }; run: { id: string } };
    const run = await waitForRun(service, key, body.run.id);
    await waitForPurge(run.id);
    return { assetId: body.asset.id, run };
  }

  /** Purges are sent just after a run completes; wait for this run's so it cannot land later. */
  async function waitForPurge(runId: string): Promise<{ state: string; result?: { driver: string } }> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const run = (await (await fetch(`${service.url}/v1/runs/${runId}`, { headers: { authorization: `Bearer ${key}` } })).json()) as {
        purge?: { state: string; result?: { driver: string } };
      };
      if (run.purge?.state === 'completed' || Date.now() > deadline) return run.purge ?? { state: 'none' };
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('caches v1, serves v2 within 5 s of the re-render, and purges nothing else', async () => {
    const fish = await publish(await readFile(fixture('HappyFish.jpg')), { sku: 'FISH-1' });
    const other = await publish(await readFile(fixture('coffee.png')));
    expect(fish.run.state).toBe('completed');

    const first = await get(stableUrl(fish.assetId));
    expect(first.status).toBe(200);
    expect(first.cache).toBe('MISS');
    expect((await get(stableUrl(fish.assetId))).cache).toBe('HIT');
    const skuUrl = `${varnish.url}/files/t/${tenantId}/sku/FISH-1/200.jpg`;
    await get(skuUrl);
    expect((await get(skuUrl)).cache).toBe('HIT');
    await get(stableUrl(other.assetId));
    expect((await get(stableUrl(other.assetId))).cache).toBe('HIT');
    const v1 = (await (
      await fetch(`${service.url}/v1/assets/${fish.assetId}`, { headers: { authorization: `Bearer ${key}` } })
    ).json()) as AssetBody;
    const v1Rendition = v1.manifest.renditions[0]!.url;
    expect(v1Rendition.startsWith(varnish.url)).toBe(true);
    await get(v1Rendition);
    expect((await get(v1Rendition)).cache).toBe('HIT');

    // v2: another recipe (the cut-out's mask) gives other bytes at the same stable URL.
    const res = await fetch(`${service.url}/v1/assets/${fish.assetId}/runs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ steps: [{ name: 'remove-background', options: { model: 'small', output: 'mask' } }, ...JPEG_200.steps] }),
    });
    expect(res.status).toBe(202);
    const run2 = await waitForRun(service, key, ((await res.json()) as { id: string }).id, 120_000);
    expect(run2.state).toBe('completed');
    const finished = Date.now();
    let served = await get(stableUrl(fish.assetId));
    while (served.body.equals(first.body) && Date.now() - finished < 5000) {
      await new Promise((r) => setTimeout(r, 100));
      served = await get(stableUrl(fish.assetId));
    }
    expect(served.body.equals(first.body), 'the stable URL still serves v1 5 s after the run').toBe(false);
    expect(Date.now() - finished).toBeLessThan(5000);
    const skuNow = await get(skuUrl);
    expect(skuNow.body.equals(served.body)).toBe(true);

    // Immutable v1 renditions were never purged, and neither was the other asset.
    expect((await get(v1Rendition)).cache).toBe('HIT');
    expect((await get(stableUrl(other.assetId))).cache).toBe('HIT');

    expect(await waitForPurge(run2.id)).toMatchObject({ state: 'completed', result: { driver: 'varnish' } });
    // Two uploads and a background removal: 80 s on the loaded 2-core build machine.
  }, 240_000);
});

describe('a CDN that cannot be reached', () => {
  let service: TestService;

  beforeAll(async () => {
    // Nothing listens on this port: every purge fails as a network fault.
    service = await startTestService({ CDN_INVALIDATOR: 'varnish', VARNISH_URL: `http://127.0.0.1:${await freePort()}` });
  });
  afterAll(async () => service?.stop());

  it('never fails or loses the render; the purge is retried and visible in the run', async () => {
    const { key } = await createTenant(service);
    const res = await upload(service, key, await readFile(fixture('HappyFish.jpg')), { recipe: JPEG_200 });
    const run = await waitForRun(service, key, ((await res.json()) as { run: { id: string } }).run.id);
    expect(run.state).toBe('completed');
    const deadline = Date.now() + 10_000;
    let purge: { state: string; attempts: number; error?: { code: string } } | undefined;
    while (Date.now() < deadline) {
      purge = (
        (await (await fetch(`${service.url}/v1/runs/${run.id}`, { headers: { authorization: `Bearer ${key}` } })).json()) as {
          purge?: typeof purge;
        }
      ).purge;
      if (purge?.state === 'retrying') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(purge).toMatchObject({ state: 'retrying', error: { code: 'CDN_PURGE_FAILED' } });
    const manifest = await fetch(run.outputs!.manifestUrl);
    expect(manifest.status).toBe(200);
    expect(((await manifest.json()) as { assetId: string }).assetId).toBe(run.assetId);
  });
});
