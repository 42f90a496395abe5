import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assignVariant, cutPoints } from '../../lib/experiment-assignment.js';
import { createTenant, fixture, jsonApi, waitForBatch, waitForRun, type TestService } from '../harness.js';
import { startServiceBehindVarnish, type VarnishHandle } from '../varnish.js';

const render = { name: 'render', options: { widths: [64], formats: ['webp'] } };
const variants = [
  { id: 'plain', control: true, weight: 2, recipe: { steps: [render] } },
  { id: 'flat', weight: 1, recipe: { steps: [{ name: 'generate', options: { template: 'brand-colour' } }, render] } },
  {
    id: 'grey',
    weight: 1,
    recipe: { steps: [{ name: 'generate', options: { template: 'brand-colour', params: { colour: '#dddddd' } } }, render] },
  },
];
const ORIGIN_ROUTE = '/files/t/:tenantId/x/:experimentId/:sku/:file';

/**
 * The edge's assignment through a real varnishd (cdn/varnish/default.vcl): the VCL hashes the
 * visitor exactly as lib/experiment-assignment.ts does, so each visitor always gets the variant
 * the origin would pick, and after the first view nothing reaches the origin.
 */
describe('experiment assignment at the Varnish edge', () => {
  let varnish: VarnishHandle;
  let service: TestService;
  let key: string;
  const api = jsonApi(
    () => service,
    () => key,
  );
  /** How many requests an origin route has answered (its request counter). */
  const originHits = async (route = ORIGIN_ROUTE) => {
    const text = await (await fetch(`${service.url}/metrics`)).text();
    return text
      .split('\n')
      .filter((l) => l.startsWith('http_requests_total{') && l.includes(`route="${route}"`))
      .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
  };

  beforeAll(async () => {
    ({ varnish, service } = await startServiceBehindVarnish());
    ({ key } = await createTenant(service));
  });
  afterAll(async () => {
    await service?.stop();
    await varnish?.stop();
  });

  it('gives each visitor the same variant as the origin would, and serves repeat views from the edge', async () => {
    const form = new FormData();
    form.append('recipe', JSON.stringify({ steps: [render] }));
    form.append('sku', 'CUP-1');
    const photo = await sharp(await readFile(fixture('coffee.png')))
      .resize(96)
      .png()
      .toBuffer();
    form.append('file', new Blob([photo]), 'cup.png');
    const uploaded = (await (
      await fetch(`${service.url}/v1/assets`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form })
    ).json()) as {
      run: { id: string };
    };
    expect((await waitForRun(service, key, uploaded.run.id)).state).toBe('completed');
    const created = await api('POST', '/v1/experiments', { name: 'Backdrops', skus: ['CUP-1'], variants, visitorCookie: 'vid' });
    const experiment = (await created.json()) as { id: string; batchId: string; skus: Array<{ url: string }> };
    expect(created.status, JSON.stringify(experiment)).toBe(202);
    await waitForBatch(service, key, experiment.batchId);
    expect(((await (await api('GET', `/v1/experiments/${experiment.id}`)).json()) as { state: string }).state).toBe('live');
    const url = `${experiment.skus[0]!.url}64.webp`;
    expect(url.startsWith(varnish.url)).toBe(true);

    const cuts = cutPoints(variants.map((v) => v.weight));
    const expected = (visitor: string) => variants[assignVariant(experiment.id, visitor, cuts)!]!.id;
    const view = async (headers: Record<string, string>) => {
      const res = await fetch(url, { headers });
      const body = Buffer.from(await res.arrayBuffer());
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/webp');
      expect(res.headers.get('cache-control')).toBe('private, max-age=60');
      return { variant: res.headers.get('x-experiment-variant'), body };
    };

    // At least 12 visitors, and as many more as it takes for every variant to have one: the
    // experiment id is random, so a fixed list could leave a quarter-weight variant unseen.
    const visitors: string[] = [];
    for (let i = 0; visitors.length < 12 || new Set(visitors.map(expected)).size < variants.length; i++) visitors.push(`visitor-${i}`);
    const bodies = new Map<string, Buffer>();
    for (const visitor of visitors) {
      for (let i = 0; i < 3; i++) {
        const seen = await view({ 'x-visitor-id': visitor });
        expect(seen.variant, visitor).toBe(expected(visitor));
        // The same variant is the same bytes, wherever it was fetched from.
        if (!bodies.has(seen.variant!)) bodies.set(seen.variant!, seen.body);
        expect(seen.body.equals(bodies.get(seen.variant!)!)).toBe(true);
      }
      // The merchant's cookie carries the same id to the same variant.
      expect((await view({ cookie: `other=1; vid=${visitor}` })).variant).toBe(expected(visitor));
    }
    // No id (or a malformed one): the control.
    expect((await view({})).variant).toBe('plain');
    expect((await view({ 'x-visitor-id': 'bad id' })).variant).toBe('plain');
    // One routing answer from the origin for every visitor and view, and one fetch per variant's rendition.
    expect(await originHits()).toBe(1);
    expect(await originHits('/files/*')).toBe(variants.length);

    // Stopping purges the routing answer: the next view asks the origin again and everyone sees the control.
    expect((await api('POST', `/v1/experiments/${experiment.id}/stop`)).status).toBe(200);
    const changed = visitors.find((v) => expected(v) !== 'plain')!;
    const deadline = Date.now() + 5000;
    while ((await view({ 'x-visitor-id': changed })).variant !== 'plain' && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    expect((await view({ 'x-visitor-id': changed })).variant).toBe('plain');
    expect(await originHits()).toBe(2);
  }, 120_000);
});
