import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, createTenant, fixture, startTestService, waitForRun, type RunBody, type TestService } from '../harness.js';
import { startS3rver, type S3rverHandle } from '../s3rver.js';
import { freePort, startVarnish, type VarnishHandle } from '../varnish.js';

const RENDER = (widths: number[], formats: string[]) => ({ name: 'render', options: { widths, formats } });

interface Edge {
  varnish: VarnishHandle;
  service: TestService;
  stop(): Promise<void>;
}

async function inFrontOfFiles(): Promise<Edge> {
  const port = await freePort();
  const varnish = await startVarnish({ origin: `http://127.0.0.1:${port}`, keyPrefix: '/files/' });
  const service = await startTestService({
    PORT: String(port),
    PUBLIC_BASE_URL: `${varnish.url}/files`,
    CDN_INVALIDATOR: 'varnish',
    VARNISH_URL: varnish.url,
  });
  return {
    varnish,
    service,
    stop: async () => {
      await service.stop();
      await varnish.stop();
    },
  };
}

async function inFrontOfS3rver(): Promise<Edge> {
  const s3: S3rverHandle = await startS3rver();
  const bucket = await s3.bucket();
  const target = new URL(s3.endpoint);
  // s3rver reads a Host it does not know as a bucket name: send it its own.
  const varnish = await startVarnish({ origin: s3.endpoint, keyPrefix: `/${bucket}/`, originHost: target.host });
  const service = await startTestService({
    ...s3.serviceEnv(bucket),
    PUBLIC_BASE_URL: `${varnish.url}/${bucket}`,
    CDN_INVALIDATOR: 'varnish',
    VARNISH_URL: varnish.url,
  });
  return {
    varnish,
    service,
    stop: async () => {
      await service.stop();
      await varnish.stop();
      await s3.stop();
    },
  };
}

interface Manifest {
  renditions: Array<{ url: string }>;
  fallback: { url: string };
}

/**
 * Takedown end to end through a real varnishd, on the API's /files origin and on s3rver: every URL
 * an asset ever published (both rendition sets, manifest, `latest/` and `sku/` copies) is cached,
 * then `DELETE /v1/assets/:id` (or the tenant's) makes each answer 404 through Varnish; a run still
 * under way ends cancelled and publishes nothing; a repeated DELETE answers 204 again.
 */
for (const [origin, start] of [
  ['the /files route', inFrontOfFiles],
  ['s3rver', inFrontOfS3rver],
] as const) {
  describe(`takedown through Varnish in front of ${origin}`, () => {
    let edge: Edge;
    let fish: Buffer;
    beforeAll(async () => {
      edge = await start();
      fish = await readFile(fixture('HappyFish.jpg'));
    });
    afterAll(async () => edge?.stop());

    const call = (key: string, method: string, path: string, body?: unknown) =>
      fetch(`${edge.service.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });

    async function uploadWithSku(key: string, bytes: Buffer, sku: string, steps: unknown[]): Promise<{ assetId: string; runId: string }> {
      const form = new FormData();
      form.append('recipe', JSON.stringify({ steps }));
      form.append('sku', sku);
      form.append('file', new Blob([bytes]), 'photo.jpg');
      const res = await fetch(`${edge.service.url}/v1/assets`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form });
      expect(res.status).toBe(202);
      const body = (await res.json()) as { asset: { id: string }; run: { id: string } };
      return { assetId: body.asset.id, runId: body.run.id };
    }

    /** Every public URL of the asset's current manifest, the manifest itself and its stable copies. */
    async function publishedUrls(key: string, tenantId: string, assetId: string, sku: string): Promise<string[]> {
      const asset = (await (await call(key, 'GET', `/v1/assets/${assetId}`)).json()) as { manifest: Manifest; manifestUrl: string };
      const stable = asset.manifest.renditions.map((r) => r.url.split('/').pop()!);
      const base = asset.manifestUrl.slice(0, asset.manifestUrl.indexOf(`t/${tenantId}/`));
      return [
        asset.manifestUrl,
        ...asset.manifest.renditions.map((r) => r.url),
        ...stable.map((file) => `${base}t/${tenantId}/assets/${assetId}/latest/${file}`),
        ...stable.map((file) => `${base}t/${tenantId}/sku/${sku}/${file}`),
      ];
    }

    async function statuses(urls: string[]): Promise<number[]> {
      return Promise.all(urls.map(async (u) => (await fetch(u)).status));
    }

    async function allGone(urls: string[]): Promise<number[]> {
      const deadline = Date.now() + 15_000;
      let seen = await statuses(urls);
      while (seen.some((s) => s !== 404) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        seen = await statuses(urls);
      }
      return seen;
    }

    /** The tenant's deletion once it has ended (`GET /v1/tenants/:id/deletion`). */
    async function waitForDeletion(tenantId: string): Promise<{ tenantId: string; state: string; removed?: number }> {
      const deadline = Date.now() + 15_000;
      for (;;) {
        const body = (await (await call(ADMIN_KEY, 'GET', `/v1/tenants/${tenantId}/deletion`)).json()) as {
          tenantId: string;
          state: string;
        };
        if (body.state === 'completed' || body.state === 'failed' || Date.now() > deadline) return body;
        await new Promise((r) => setTimeout(r, 100));
      }
    }

    it('DELETE /v1/assets/:id: every URL the asset ever published answers 404; a run under way ends cancelled', async () => {
      const { key, tenantId } = await createTenant(edge.service, 'Takedown');
      const first = await uploadWithSku(key, fish, 'RECALL-1', [RENDER([200, 259], ['webp', 'jpeg'])]);
      expect((await waitForRun(edge.service, key, first.runId)).state).toBe('completed');
      const v1 = await publishedUrls(key, tenantId, first.assetId, 'RECALL-1');
      const second = await call(key, 'POST', `/v1/assets/${first.assetId}/runs`, { steps: [RENDER([200], ['avif'])] });
      expect((await waitForRun(edge.service, key, ((await second.json()) as { id: string }).id)).state).toBe('completed');
      const v2 = await publishedUrls(key, tenantId, first.assetId, 'RECALL-1');
      const urls = [...new Set([...v1.filter((u) => !u.includes('/latest/') && !u.includes('/sku/')), ...v2])];
      // Cached at the edge: the renditions for their year, the rest until purged.
      await statuses(urls);
      expect(await statuses(urls)).toEqual(urls.map(() => 200));

      // A slow run (background removal) still under way when the takedown comes.
      const running = await call(key, 'POST', `/v1/assets/${first.assetId}/runs`, {
        steps: [{ name: 'remove-background', options: { model: 'small' } }, RENDER([300], ['jpeg'])],
      });
      const runningId = ((await running.json()) as { id: string }).id;

      expect((await call(key, 'DELETE', `/v1/assets/${first.assetId}`)).status).toBe(204);
      expect(await allGone(urls)).toEqual(urls.map(() => 404));
      expect((await call(key, 'GET', `/v1/assets/${first.assetId}`)).status).toBe(404);
      expect((await call(key, 'DELETE', `/v1/assets/${first.assetId}`)).status).toBe(204);

      const cancelled = await waitForRun(edge.service, key, runningId);
      expect(cancelled.state).toBe('cancelled');
      // Its steps run out and its publish refuses: nothing reappears.
      const deadline = Date.now() + 90_000;
      let run: RunBody = cancelled;
      while (run.steps.at(-1)!.state !== 'failed' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250));
        run = (await (await call(key, 'GET', `/v1/runs/${runningId}`)).json()) as RunBody;
      }
      // Publish refused (CANCELLED), or never ran because a step before it lost its input (the
      // original is gone): either way it failed, and the run stays cancelled.
      expect(run.steps.at(-1)).toMatchObject({ name: 'publish', state: 'failed' });
      expect(run.state).toBe('cancelled');
      expect(await statuses(urls)).toEqual(urls.map(() => 404));
      expect(await statuses([urls[0]!.replace('manifest.json', 'latest/300.jpg')])).toEqual([404]);
    }, 240_000);

    it('a re-render that lists fewer files: the ones it dropped answer 404 through Varnish, under latest/ and the SKU', async () => {
      const { key, tenantId } = await createTenant(edge.service, 'Mirror');
      const first = await uploadWithSku(key, fish, 'MIRROR-1', [RENDER([200, 259], ['avif', 'webp', 'jpeg'])]);
      expect((await waitForRun(edge.service, key, first.runId)).state).toBe('completed');
      const before = await publishedUrls(key, tenantId, first.assetId, 'MIRROR-1');
      const stable = before.filter((u) => u.includes('/latest/') || u.includes('/sku/'));
      expect(stable).toHaveLength(12);
      await statuses(stable);
      expect(await statuses(stable)).toEqual(stable.map(() => 200));

      const again = await call(key, 'POST', `/v1/assets/${first.assetId}/runs`, { steps: [RENDER([200], ['webp'])] });
      expect((await waitForRun(edge.service, key, ((await again.json()) as { id: string }).id)).state).toBe('completed');
      const kept = stable.filter((u) => u.endsWith('/200.webp'));
      const dropped = stable.filter((u) => !u.endsWith('/200.webp'));
      expect(await allGone(dropped)).toEqual(dropped.map(() => 404));
      expect(await statuses(kept)).toEqual(kept.map(() => 200));
    }, 240_000);

    it('DELETE /v1/tenants/:id (admin) revokes the keys at once, takes down every asset in a job, and is idempotent', async () => {
      const { key, tenantId } = await createTenant(edge.service, 'Closing');
      const coffee = await readFile(fixture('coffee.png'));
      const a = await uploadWithSku(key, fish, 'SHOP-1', [RENDER([200], ['jpeg'])]);
      const b = await uploadWithSku(key, coffee, 'SHOP-2', [RENDER([200], ['webp'])]);
      for (const r of [a, b]) expect((await waitForRun(edge.service, key, r.runId)).state).toBe('completed');
      const urls = [
        ...(await publishedUrls(key, tenantId, a.assetId, 'SHOP-1')),
        ...(await publishedUrls(key, tenantId, b.assetId, 'SHOP-2')),
      ];
      await statuses(urls);
      expect(await statuses(urls)).toEqual(urls.map(() => 200));

      expect((await call(key, 'DELETE', `/v1/tenants/${tenantId}`)).status).toBe(403);
      const accepted = await call(ADMIN_KEY, 'DELETE', `/v1/tenants/${tenantId}`);
      expect(accepted.status).toBe(202);
      expect(accepted.headers.get('location')).toBe(`/v1/tenants/${tenantId}/deletion`);
      expect((await call(key, 'GET', `/v1/assets/${a.assetId}`)).status).toBe(401);
      expect(await allGone(urls)).toEqual(urls.map(() => 404));
      const deletion = await waitForDeletion(tenantId);
      expect(deletion).toMatchObject({ tenantId, state: 'completed' });
      expect(deletion.removed).toBeGreaterThan(0);
      expect((await call(ADMIN_KEY, 'DELETE', `/v1/tenants/${tenantId}`)).status).toBe(204);
    }, 240_000);

    it('both deletes are in the OpenAPI document', async () => {
      const doc = (await (await fetch(`${edge.service.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
      expect(doc.paths['/v1/assets/{id}']).toHaveProperty('delete');
      expect(doc.paths['/v1/tenants/{id}']).toHaveProperty('delete');
    });
  });
}
