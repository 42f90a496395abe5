import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, fixture, jsonApi, startTestService, upload, waitForBatch, waitForRun, type TestService } from '../harness.js';

interface ManifestBody {
  runId: string;
  renditions: Array<{ key: string }>;
  template?: { id: string; version: string };
}
interface Rerender {
  batchId: string | null;
  assets: number;
  queued: number;
  unchanged: number;
}

/** A template edit re-renders, through the catalog lane, exactly the assets whose renditions change. */
describe('catalog re-render on a template change', () => {
  let service: TestService;
  let key: string;
  const api = jsonApi(
    () => service,
    () => key,
  );
  const manifestOf = async (assetId: string) =>
    ((await (await api('GET', `/v1/assets/${assetId}`)).json()) as { manifest: ManifestBody }).manifest;
  const shop = (colour: string) => ({
    name: 'Shop',
    description: 'Flat shop colour',
    backdrop: { type: 'solid', colour },
    layout: { fill: 0.8, padding: 0.05, anchor: { x: 0.5, y: 0.5 }, trim: true },
    channels: ['thumbnail'],
  });
  const recipe = (params?: Record<string, unknown>) => ({
    steps: [
      { name: 'generate', options: { template: 'shop', ...(params ? { params } : {}) } },
      { name: 'render', options: { widths: [96], formats: ['webp'] } },
    ],
  });
  beforeAll(async () => {
    service = await startTestService();
    ({ key } = await createTenant(service));
  });
  afterAll(async () => service?.stop());

  it('queues the assets whose renditions change, leaves the others, and does nothing on an identical save', async () => {
    expect((await api('PUT', '/v1/templates/shop', shop('#203040'))).status).toBe(201);
    const photo = await sharp(await readFile(fixture('coffee.png')))
      .resize(128)
      .png()
      .toBuffer();
    const other = await sharp(photo).flop().png().toBuffer();
    // A follows the template's colour; B overrides it with its own, so a colour edit changes only A.
    const started = await Promise.all([
      upload(service, key, photo, { recipe: recipe(), filename: 'a.png' }),
      upload(service, key, other, { recipe: recipe({ colour: '#aa5500' }), filename: 'b.png' }),
    ]);
    const [a, b] = await Promise.all(
      started.map(async (res) => {
        expect(res.status).toBe(202);
        const body = (await res.json()) as { asset: { id: string }; run: { id: string } };
        expect((await waitForRun(service, key, body.run.id)).state).toBe('completed');
        return body.asset.id;
      }),
    );
    const before = { a: await manifestOf(a!), b: await manifestOf(b!) };

    const edited = await api('PUT', '/v1/templates/shop', shop('#405060'));
    expect(edited.status).toBe(200);
    const { rerender } = (await edited.json()) as { rerender: Rerender };
    expect(rerender).toMatchObject({ assets: 2, queued: 1, unchanged: 1 });
    const batch = await waitForBatch(service, key, rerender.batchId!);
    expect(batch).toMatchObject({ state: 'completed', counts: { total: 1, completed: 1, failed: 0 } });

    const after = { a: await manifestOf(a!), b: await manifestOf(b!) };
    expect(after.a.runId).not.toBe(before.a.runId);
    expect(after.a.template?.version).not.toBe(before.a.template?.version);
    expect(after.a.renditions.map((r) => r.key)).not.toEqual(before.a.renditions.map((r) => r.key));
    expect(after.b).toEqual(before.b);

    // Saving the same template again changes no rendition key: nothing is queued.
    const same = await api('PUT', '/v1/templates/shop', shop('#405060'));
    expect(((await same.json()) as { rerender: Rerender }).rerender).toEqual({ batchId: null, assets: 2, queued: 0, unchanged: 2 });
    // Asking explicitly works the same way.
    const asked = await api('POST', '/v1/templates/shop/rerender');
    expect(asked.status).toBe(202);
    expect(((await asked.json()) as Rerender).queued).toBe(0);
  }, 240_000);
});
