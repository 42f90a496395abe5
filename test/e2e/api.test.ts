import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, fixture, startTestService, upload, waitForRun, type TestService } from '../harness.js';

interface AssetBody {
  id: string;
  manifestUrl?: string;
  manifest?: { renditions: Array<{ url: string; width: number; format: string }> };
  runIds: string[];
}

/** The API on local-disk storage (the embedded default), served by its own /files origin. */
describe('API on local-disk storage', () => {
  let service: TestService;
  let shopA: { tenantId: string; key: string };
  let shopB: { tenantId: string; key: string };
  let assetId: string;

  const get = (path: string, key: string) => fetch(`${service.url}${path}`, { headers: { authorization: `Bearer ${key}` } });

  beforeAll(async () => {
    service = await startTestService({ MAX_OUTPUT_PIXELS: '1000000' });
    shopA = await createTenant(service, 'Shop A');
    shopB = await createTenant(service, 'Shop B');
    const res = await upload(service, shopA.key, await readFile(fixture('HappyFish.jpg')), { filename: 'fish.jpg' });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { asset: { id: string }; run: { id: string } };
    assetId = body.asset.id;
    expect((await waitForRun(service, shopA.key, body.run.id)).state).toBe('completed');
  });
  afterAll(async () => service?.stop());

  it('answers health, readiness and the OpenAPI document', async () => {
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${service.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', checks: { redis: { ok: true }, storage: { ok: true } } });
    const doc = (await (await fetch(`${service.url}/openapi.json`)).json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/v1/assets', '/v1/assets/{id}', '/v1/assets/{id}/runs', '/v1/runs/{id}', '/healthz', '/readyz']),
    );
  });

  it('exposes Prometheus metrics with the step histograms counted after a run', async () => {
    const res = await fetch(`${service.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await res.text();
    const count = (step: string) =>
      Number(new RegExp(`pipeline_step_duration_seconds_count\\{step="${step}",model=""\\} (\\d+)`).exec(text)?.[1] ?? 0);
    expect(count('render')).toBeGreaterThan(0);
    expect(count('publish')).toBeGreaterThan(0);
    expect(text).toMatch(/http_requests_total\{route="\/v1\/assets",method="POST",status="202"\} [1-9]/);
    expect(text).toMatch(/queue_jobs\{queue="render",state="waiting"\} \d+/);
    expect(text).toMatch(/queue_oldest_waiting_job_age_seconds\{queue="render"\} /);
    expect(text).toMatch(/pipeline_bytes_in_total [1-9]/);
  });

  it('serves renditions and the manifest from /files with their cache headers, never the original', async () => {
    const asset = (await (await get(`/v1/assets/${assetId}`, shopA.key)).json()) as AssetBody;
    expect(asset.manifest!.renditions.map((r) => r.width)).toEqual(expect.arrayContaining([259]));
    const manifest = await fetch(asset.manifestUrl!);
    expect(manifest.status).toBe(200);
    expect(manifest.headers.get('cache-control')).toMatch(/max-age=60/);
    const rendition = await fetch(asset.manifest!.renditions[0]!.url);
    expect(rendition.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await sharp(Buffer.from(await rendition.arrayBuffer())).metadata()).width).toBe(asset.manifest!.renditions[0]!.width);
    const original = await fetch(`${service.url}/files/t/${shopA.tenantId}/originals/`);
    expect(original.status).toBe(404);
  });

  it('runs a new recipe on an existing asset and republishes its manifest', async () => {
    const res = await fetch(`${service.url}/v1/assets/${assetId}/runs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${shopA.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ steps: [{ name: 'render', options: { widths: [100, 200], formats: ['webp'] } }] }),
    });
    expect(res.status).toBe(202);
    const run = (await res.json()) as { id: string };
    expect((await waitForRun(service, shopA.key, run.id)).state).toBe('completed');
    const asset = (await (await get(`/v1/assets/${assetId}`, shopA.key)).json()) as AssetBody;
    expect(asset.manifest!.renditions.map((r) => [r.format, r.width])).toEqual([
      ['webp', 100],
      ['webp', 200],
    ]);
    expect(asset.runIds).toHaveLength(2);
  });

  it('refuses malformed recipes with 4xx and a stable code', async () => {
    const send = (body: unknown) =>
      fetch(`${service.url}/v1/assets/${assetId}/runs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${shopA.key}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const unknownStep = await send({ steps: [{ name: 'sharpen' }] });
    // The same answer as from an upload's recipe field: one parser reads every recipe.
    expect(unknownStep.status).toBe(422);
    expect(((await unknownStep.json()) as { error: { code: string } }).error.code).toBe('INVALID_RECIPE');
    const badWidth = await send({ steps: [{ name: 'render', options: { widths: [-5] } }] });
    expect(badWidth.status).toBe(422);
    expect(((await badWidth.json()) as { error: { code: string } }).error.code).toBe('INVALID_RECIPE');
    const generate = await send({ steps: [{ name: 'generate' }, { name: 'render' }] }); // no template named
    expect(generate.status).toBe(422);
    expect(((await generate.json()) as { error: { code: string } }).error.code).toBe('INVALID_RECIPE');
    const badFactor = await send({ steps: [{ name: 'upscale', options: { factor: 5 } }, { name: 'render' }] });
    expect(badFactor.status).toBe(422);
    expect(((await badFactor.json()) as { error: { code: string } }).error.code).toBe('INVALID_RECIPE');
    // 259x194 upscaled 8x is 3.2 MP, over this suite's MAX_OUTPUT_PIXELS: refused before enqueueing.
    const tooBig = await send({ steps: [{ name: 'upscale', options: { factor: 8 } }, { name: 'render' }] });
    expect(tooBig.status).toBe(422);
    expect(((await tooBig.json()) as { error: { code: string } }).error.code).toBe('IMAGE_TOO_LARGE');
  });

  it("never lets one tenant read or re-run another tenant's asset or run", async () => {
    const asset = (await (await get(`/v1/assets/${assetId}`, shopA.key)).json()) as AssetBody;
    expect((await get(`/v1/assets/${assetId}`, shopB.key)).status).toBe(404);
    expect((await get(`/v1/runs/${asset.runIds[0]}`, shopB.key)).status).toBe(404);
    const rerun = await fetch(`${service.url}/v1/assets/${assetId}/runs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${shopB.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ steps: [{ name: 'render' }] }),
    });
    expect(rerun.status).toBe(404);
  });
});
