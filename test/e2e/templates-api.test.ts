import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, startTestService, type TestService } from '../harness.js';

const mine = {
  name: 'Shop teal',
  description: 'Teal backdrop with a drop shadow',
  backdrop: { type: 'solid', colour: '#008080' },
  layout: { fill: 0.7, padding: 0.05 },
  shadows: { drop: { azimuth: 120 } },
};

describe('templates API', () => {
  let service: TestService;
  let key: string;
  let other: string;
  const call = (method: string, path: string, body?: unknown, as = key) =>
    fetch(`${service.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${as}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });

  beforeAll(async () => {
    service = await startTestService({ MAX_TEMPLATES_PER_TENANT: '2' });
    ({ key } = await createTenant(service, 'Shop A'));
    ({ key: other } = await createTenant(service, 'Shop B'));
  });
  afterAll(async () => service?.stop());

  it("lists the built-ins, then the tenant's own next to them, visible to that tenant only", async () => {
    const before = (await (await call('GET', '/v1/templates')).json()) as {
      templates: Array<{ id: string; builtin: boolean; backdrop: string; version: string }>;
    };
    expect(before.templates.map((t) => t.id)).toEqual(['backplate', 'brand-colour', 'gradient', 'marketplace-white', 'studio']);
    expect(before.templates.every((t) => t.builtin && /^[0-9a-f]{64}$/.test(t.version))).toBe(true);

    const put = await call('PUT', '/v1/templates/shop-teal', mine);
    expect(put.status).toBe(201);
    const created = (await put.json()) as { id: string; version: string; builtin: boolean; template: { layout: { anchor: unknown } } };
    expect(created).toMatchObject({ id: 'shop-teal', builtin: false, backdrop: 'solid' });
    expect(created.template.layout.anchor).toEqual({ x: 0.5, y: 0.5 }); // defaults filled

    const again = await call('PUT', '/v1/templates/shop-teal', { ...mine, name: 'Shop teal 2' });
    expect(again.status).toBe(200);
    expect(((await again.json()) as { version: string }).version).not.toBe(created.version);

    const list = (await (await call('GET', '/v1/templates')).json()) as { templates: Array<{ id: string; builtin: boolean }> };
    expect(list.templates.find((t) => t.id === 'shop-teal')).toMatchObject({ builtin: false });
    expect((await call('GET', '/v1/templates/shop-teal', undefined, other)).status).toBe(404);
  });

  it('overrides a built-in id for one tenant, and deleting the override restores it', async () => {
    const override = await call('PUT', '/v1/templates/studio', { ...mine, name: 'Our studio' });
    expect(override.status).toBe(201);
    expect((await (await call('GET', '/v1/templates/studio')).json()) as { name: string; builtin: boolean }).toMatchObject({
      name: 'Our studio',
      builtin: false,
    });
    expect(((await (await call('GET', '/v1/templates/studio', undefined, other)).json()) as { builtin: boolean }).builtin).toBe(true);
    expect((await call('DELETE', '/v1/templates/studio')).status).toBe(204);
    expect(((await (await call('GET', '/v1/templates/studio')).json()) as { builtin: boolean }).builtin).toBe(true);
    const builtinDelete = await call('DELETE', '/v1/templates/studio');
    expect(builtinDelete.status).toBe(404);
  });

  it.each([
    ['padding of half the canvas', { ...mine, layout: { padding: 0.5 } }, 'layout.padding'],
    ['a fill over 1', { ...mine, layout: { fill: 1.5 } }, 'layout.fill'],
    ['a colour out of range', { ...mine, backdrop: { type: 'solid', colour: [0, 0, 256] } }, 'backdrop.colour.2'],
    ['an unknown field', { ...mine, sparkle: true }, 'sparkle'],
    ["an id that is not the URL's", { ...mine, id: 'something-else' }, 'id'],
  ])('refuses %s with 422 INVALID_TEMPLATE naming the field', async (_what, body, field) => {
    const res = await call('PUT', '/v1/templates/bad-one', body);
    expect(res.status).toBe(422);
    const error = ((await res.json()) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe('INVALID_TEMPLATE');
    expect(error.message).toContain(field);
    expect((await call('GET', '/v1/templates/bad-one')).status).toBe(404);
  });

  it('limits how many templates a tenant defines (MAX_TEMPLATES_PER_TENANT)', async () => {
    expect((await call('PUT', '/v1/templates/second', mine)).status).toBe(201);
    const third = await call('PUT', '/v1/templates/third', mine);
    expect(third.status).toBe(422);
    expect(((await third.json()) as { error: { code: string } }).error.code).toBe('TOO_MANY_TEMPLATES');
    expect((await call('PUT', '/v1/templates/second', { ...mine, name: 'replacing is fine' })).status).toBe(200);
  });

  it('renders a preview PNG, cached by version (ETag)', async () => {
    const res = await call('GET', '/v1/templates/marketplace-white/preview.png');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    const png = Buffer.from(await res.arrayBuffer());
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    expect(info.width).toBe(info.height);
    expect(Array.from(data.subarray(0, 3))).toEqual([255, 255, 255]);
    const etag = res.headers.get('etag')!;
    const cached = await fetch(`${service.url}/v1/templates/marketplace-white/preview.png`, {
      headers: { authorization: `Bearer ${key}`, 'if-none-match': etag },
    });
    expect(cached.status).toBe(304);
  });

  it('documents the routes in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${service.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/v1/templates', '/v1/templates/{id}', '/v1/templates/{id}/preview.png']),
    );
  });
});
